"""Readers that compare a file's record with its path accept exactly the audit's mismatches: an
arm's candidates at that arm's draw, the null condition at its null path, and (for a sampler told
--control shuffled) another task's condition; every other pairing is refused."""

from __future__ import annotations

import pytest
import torch
from audit_toy import W, paramset

from condpdiff.conditions.condition import Condition, load_condition
from condpdiff.generator.direct import sample_direct
from condpdiff.generator.pdiff import sample_candidates
from condpdiff.params.norm_stats import compute
from condpdiff.params.paramfile import ParamSet
from condpdiff.pipeline.artifacts import ProvenanceError

ARMS = ["", "noise", "null", "shuffled"]


@pytest.mark.parametrize("recorded", ARMS)
@pytest.mark.parametrize("draw", ARMS)
def test_candidates_of_an_arm_only_at_that_arms_draw(toy, recorded, draw):
    path = toy["P"].candidates(**W, draw="ddim20" + (f"-{draw}" if draw else ""), task="a")
    info = {"control": recorded} if recorded else {}  # the generator's own record no control
    paramset(torch.zeros(2, 8), "a", "candidates", **info).save(path)
    if recorded == draw:
        assert ParamSet.load(path, {"kind": "candidates", "task": "a"}).n == 2
    else:
        with pytest.raises(ProvenanceError, match="parameter file made for another control"):
            ParamSet.load(path, {"kind": "candidates", "task": "a"})


@pytest.mark.parametrize("null_file", [False, True])
@pytest.mark.parametrize("null_path", [False, True])
def test_the_null_condition_only_at_its_null_path(toy, null_file, null_path):
    P = toy["P"]
    path = (P.null_condition if null_path else P.condition)(condition="onehot", task="a")
    Condition(
        "onehot", torch.zeros(2), "a", "onehot:2", "", "mlp", "null" if null_file else ""
    ).save(path)
    if null_file == null_path:
        assert load_condition(path, {"task": "a"}).control == ("null" if null_file else "")
    else:
        with pytest.raises(ProvenanceError, match="condition file made for another control"):
            load_condition(path, {"task": "a"})


@pytest.fixture
def sampler_inputs(toy, tmp_path):
    """Stats of tasks a and b, each task's condition, and (not written) model folders."""
    sets = {t: ParamSet.load(toy["harvests"][t]) for t in ("a", "b")}
    stats = str(tmp_path / "stats.safetensors")
    compute(sets, "task", 3).save(stats)
    conds = {}
    for i, t in enumerate(("a", "b")):
        conds[t] = toy["P"].condition(condition="onehot", task=t)
        Condition("onehot", torch.eye(2)[i], t, "onehot:2", "", "mlp").save(conds[t])
    conds["null"] = toy["P"].null_condition(condition="onehot", task="a")
    Condition("onehot", torch.zeros(2), "a", "onehot:2", "", "mlp", "null").save(conds["null"])
    return {"stats": stats, "conditions": conds, "harvest": toy["harvests"]["a"], "tmp": tmp_path}


def run_sampler(kind, inputs, condition, *flags):
    tmp = inputs["tmp"]
    common = ["--stats", inputs["stats"], "--harvest", inputs["harvest"], "--task", "a"]
    common += ["--condition", inputs["conditions"][condition], *flags]
    if kind == "pdiff":
        model = ["--diffusion", str(tmp / "no-diffusion"), "--autoencoder", str(tmp / "no-ae")]
        sample_candidates.main([*model, *common, "--sampler", "ddim2", "--out", str(tmp / "c")])
    else:
        model = ["--model", str(tmp / "no-model"), "--recipe", "k1-flat-w0"]
        sample_direct.main([*model, *common, "--out", str(tmp / "c")])


@pytest.mark.parametrize("kind", ["pdiff", "direct"])
@pytest.mark.parametrize(
    "condition, flags",
    [
        ("a", []),
        ("null", ["--control", "null"]),
        ("b", ["--control", "shuffled", "--condition-task", "b"]),
    ],
)
def test_a_sampler_accepts_its_controls_condition(sampler_inputs, kind, condition, flags):
    """Accepted: the sampler gets past the condition and stops at the model folder (none here)."""
    with pytest.raises((FileNotFoundError, ValueError)) as e:
        run_sampler(kind, sampler_inputs, condition, *flags)
    assert not isinstance(e.value, ProvenanceError)
    assert "no-diffusion" in str(e.value) or "no-ae" in str(e.value) or "no-model" in str(e.value)


@pytest.mark.parametrize("kind", ["pdiff", "direct"])
@pytest.mark.parametrize(
    "condition, flags, field",
    [
        ("b", [], "task"),  # another task's condition without --control shuffled
        ("null", [], "control"),  # the null condition as the task's own
        ("a", ["--control", "null"], "control"),  # the task's own as its null condition
        ("null", ["--control", "shuffled", "--condition-task", "b"], "task"),
        ("a", ["--control", "shuffled", "--condition-task", "b"], "task"),
    ],
)
def test_a_sampler_refuses_any_other_condition(sampler_inputs, kind, condition, flags, field):
    with pytest.raises(ProvenanceError, match=f"condition file made for another {field}"):
        run_sampler(kind, sampler_inputs, condition, *flags)
    assert not (sampler_inputs["tmp"] / "c").exists()
