"""The noise arm: the nearest of the task's last n checkpoints to the selected candidate, copied
with noise of exactly the candidate's distance to it, seeded, in the candidates file format."""

from __future__ import annotations

import json

import pytest
import torch
from audit_toy import W

from condpdiff.audit import noise
from condpdiff.params.paramfile import ParamSet
from condpdiff.pipeline.artifacts import ArtifactError, ProvenanceError


def test_copies_lie_exactly_the_distance_from_the_checkpoint():
    ckpt = torch.tensor([1.0, -2.0, 0.5, 3.0])
    copies = noise.noise_copies(ckpt, 0.25, 20, seed=3)
    norms = (copies - ckpt.double()).norm(dim=1)
    assert copies.shape == (20, 4)
    assert torch.allclose(norms, torch.full((20,), 0.25, dtype=torch.float64), rtol=1e-12)
    assert len({tuple(r.tolist()) for r in copies}) == 20  # 20 directions, not one
    assert torch.equal(copies, noise.noise_copies(ckpt, 0.25, 20, seed=3))  # seeded
    assert not torch.equal(copies, noise.noise_copies(ckpt, 0.25, 20, seed=4))
    assert torch.equal(noise.noise_copies(ckpt, 0.0, 2, 0), ckpt.double().expand(2, -1))


def test_nearest_checkpoint_and_its_exact_distance():
    ckpts = torch.tensor([[0.0, 0.0], [3.0, 0.0], [3.0, 4.0]])
    assert noise.nearest_checkpoint(torch.tensor([2.0, 1.0]), ckpts) == (1, pytest.approx(2**0.5))
    assert noise.nearest_checkpoint(torch.tensor([3.0, 4.0]), ckpts) == (2, 0.0)


def test_noise_candidates_file_from_a_generated_cell(toy, tmp_path):
    """Candidate row 1 = 2 e0 + 0.5 e3; the last 3 checkpoints of task a are e0, 2 e0, 4 e0
    (steps 12..14; 10 e0 at step 10 is not among them): nearest 2 e0 at step 13, distance 0.5."""
    out = toy["P"].candidates(**W, draw="ddim20-noise", task="a")
    args = ["--cell", toy["cell"], "--candidates", toy["candidates"], "--harvest"]
    args += [toy["harvests"]["a"], "--task", "a", "--n", "3", "--num-candidates", "5"]
    noise.main([*args, "--seed", "7", "--out", out])
    got = ParamSet.load(out, {"kind": "candidates", "task": "a"})  # its path names control noise
    assert got.n == 5
    assert got.info["control"] == "noise" and got.info["nearest_step"] == 13
    assert got.info["distance"] == pytest.approx(0.5) and got.info["selected_row"] == 1
    assert got.info["sampler"] == "ddim20"  # the draw's own info is kept
    dist = (got.params.double() - 2 * toy["e"][0].double()).norm(dim=1)
    assert torch.allclose(dist, torch.full((5,), 0.5, dtype=torch.float64), rtol=1e-6)
    heads = got.heads["classifier.weight"]
    assert torch.equal(heads, torch.tensor([[[2.0, 3.0]]]).expand(5, 1, 2))  # row 1's head
    assert torch.isnan(got.loss).all() and got.steps.tolist() == list(range(5))


def test_a_cell_of_another_candidates_file_is_refused(toy, tmp_path):
    other = json.loads(open(toy["cell"]).read())
    other["params_file"] = toy["candidates"].replace("ddim20/", "ddim50/")
    cell = tmp_path / "generated.json"
    cell.write_text(json.dumps(other))
    out = tmp_path / "noise.safetensors"
    args = ["--cell", str(cell), "--candidates", toy["candidates"], "--harvest"]
    args += [toy["harvests"]["a"], "--task", "a", "--n", "3", "--num-candidates", "2"]
    with pytest.raises(ArtifactError, match="generated cell of another candidates file"):
        noise.main([*args, "--seed", "0", "--out", str(out)])
    assert not out.exists()


def test_an_arms_candidates_are_not_a_noise_source(toy, tmp_path):
    """The noise arm is made around the generator's own candidates: a file recording an arm (here
    null candidates put in the own draw's place) is refused by its path."""
    sel = ParamSet.load(toy["candidates"])
    sel.info["control"] = "null"
    sel.save(toy["candidates"])
    args = ["--cell", toy["cell"], "--candidates", toy["candidates"], "--harvest"]
    args += [toy["harvests"]["a"], "--task", "a", "--n", "3", "--num-candidates", "2"]
    with pytest.raises(ProvenanceError, match="made for another control"):
        noise.main([*args, "--seed", "0", "--out", str(tmp_path / "x.safetensors")])
