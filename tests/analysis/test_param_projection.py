"""condpdiff.analysis.param_projection: a PCA fitted on the checkpoints,
the candidates projected into it."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import torch

from condpdiff.analysis import param_projection
from condpdiff.analysis.param_projection import Projection, captured, fit
from condpdiff.params.paramfile import ParamSet

LAYOUT = [("w", (3,))]


def test_fit_finds_the_axes_of_largest_variance_with_fixed_signs(tmp_path):
    g = torch.Generator().manual_seed(0)
    rows = torch.zeros(200, 3)
    rows[:, 0] = -3 * torch.randn(200, generator=g)  # the widest axis
    rows[:, 1] = 1 * torch.randn(200, generator=g)
    rows += torch.tensor([5.0, 1.0, 2.0])
    proj = fit(rows, 2, {"n": 200})
    assert torch.allclose(
        proj.components.abs(),
        torch.tensor([[1.0, 0, 0], [0, 1.0, 0]], dtype=torch.float64),
        atol=0.05,
    )
    assert (proj.components.gather(1, proj.components.abs().argmax(1, keepdim=True)) > 0).all()
    assert float(proj.explained_variance_ratio.sum()) == pytest.approx(
        1.0
    )  # no variance on the third axis
    assert float(proj.explained_variance_ratio[0]) > 0.8
    off = proj.mean + torch.tensor(
        [0.0, 0.0, 7.0], dtype=torch.float64
    )  # off the mean along the third axis only
    assert captured(proj, off[None]) == pytest.approx(0.0, abs=1e-9)
    inside = proj.mean + torch.tensor([3.0, -1.0, 0.0], dtype=torch.float64)
    assert captured(proj, inside[None]) == pytest.approx(1.0)
    proj.save(tmp_path / "pca.safetensors")
    back = Projection.load(tmp_path / "pca.safetensors")
    assert torch.equal(back.components, proj.components) and back.info == {"n": 200}
    with pytest.raises(ValueError, match="width 4"):
        proj.project(torch.zeros(1, 4))
    with pytest.raises(ValueError, match="at least 2 components"):
        fit(rows, 1, {})


def save(path, rows, task, steps=None):
    p = torch.tensor(rows, dtype=torch.float32)
    steps = torch.arange(len(rows)) if steps is None else torch.tensor(steps)
    ParamSet(p, LAYOUT, steps, torch.zeros(len(rows)), info={"task": task}).save(path)
    return str(path)


def test_cli_writes_coordinates_summary_and_pca(tmp_path):
    h = [
        save(
            tmp_path / "ha.safetensors",
            [[99, 99, 99], [0, 0, 0], [2, 0, 0], [0, 1, 0]],
            "a",
            [1, 2, 3, 4],
        ),
        save(tmp_path / "hb.safetensors", [[10, 0, 0], [12, 0, 0], [10, 1, 0]], "b", [7, 8, 9]),
    ]
    c = [
        save(tmp_path / "ca.safetensors", [[1, 0, 0], [1, 0.5, 0]], "a"),
        save(tmp_path / "cb.safetensors", [[11, 0, 0]], "b"),
    ]
    out = {k: str(tmp_path / f"x.{k}") for k in ("png", "csv", "json")}
    param_projection.main(
        [
            "--tasks",
            "a",
            "b",
            "--harvests",
            *h,
            "--candidates",
            *c,
            "--n",
            "3",
            "--components",
            "2",
            "--setting",
            "s",
            "--out",
            out["png"],
            "--data",
            out["csv"],
            "--summary",
            out["json"],
            "--pca",
            str(tmp_path / "pca.safetensors"),
        ]
    )
    df = pd.read_csv(out["csv"])
    assert (
        len(df) == 3 + 3 + 2 + 1
    )  # the first harvested row of 'a' (99, 99, 99) is not among the last n=3
    assert list(df[df.source == "harvested"].step) == [2, 3, 4, 7, 8, 9]
    assert set(df.columns) >= {"task", "source", "row", "step", "pc1", "pc2"}
    summary = json.loads(open(out["json"]).read())
    assert (
        summary["n"] == 3
        and summary["k"] == 3
        and summary["tasks"]["b"]
        == {"harvested": 3, "generated": 1, "harvest_file": h[1], "candidates_file": c[1]}
    )
    assert summary["explained_variance_ratio"][0] > 0.9  # task a vs b: ~10 apart on the first axis
    # the tasks sit at opposite ends of PC1, candidates beside their own task's checkpoints
    a = df[(df.task == "a") & (df.source == "generated")].pc1.mean()
    b = df[(df.task == "b") & (df.source == "generated")].pc1.mean()
    assert abs(a - b) > 5


def test_a_layout_mismatch_between_tasks_is_an_error(tmp_path):
    h = [save(tmp_path / "ha.safetensors", [[0, 0, 0], [1, 0, 0]], "a")]
    other = tmp_path / "hb.safetensors"
    ParamSet(
        torch.zeros(2, 2), [("v", (2,))], torch.arange(2), torch.zeros(2), info={"task": "b"}
    ).save(other)
    c = [save(tmp_path / "ca.safetensors", [[0, 0, 0]], "a"), str(other)]
    with pytest.raises(ValueError, match="LoRA layout differs"):
        param_projection.main(
            [
                "--tasks",
                "a",
                "b",
                "--harvests",
                h[0],
                str(other),
                "--candidates",
                *c,
                "--n",
                "2",
                "--components",
                "2",
                "--setting",
                "s",
                "--out",
                str(tmp_path / "x.png"),
                "--data",
                str(tmp_path / "x.csv"),
                "--summary",
                str(tmp_path / "x.json"),
                "--pca",
                str(tmp_path / "pca.safetensors"),
            ]
        )
    assert not (tmp_path / "x.png").exists()


def test_a_harvest_shorter_than_n_or_candidates_of_another_task_are_named(tmp_path):
    from condpdiff.analysis.task_params import load_task_params

    h = save(tmp_path / "ha.safetensors", [[0, 0, 0], [1, 0, 0]], "a")
    c = save(tmp_path / "cb.safetensors", [[0, 0, 0]], "b")
    with pytest.raises(
        ValueError, match=r"ha.safetensors: harvest too short for the generator setting n=3"
    ):
        load_task_params(["a"], [h], [c], 3)
    with pytest.raises(
        ValueError, match=r"cb.safetensors: candidates of another task \(given as 'a'\)"
    ):
        load_task_params(["a"], [h], [c], 2)
    with pytest.raises(ValueError, match="one harvest and one candidates file per task"):
        load_task_params(["a", "b"], [h], [c], 2)
    with pytest.raises(
        ValueError,
        match=r"ha.safetensors: parameter file made for another task; "
        r"expected task 'b'",
    ):
        load_task_params(["b"], [h], [c], 1)  # a's harvest given as b's
    ca = save(tmp_path / "ca.safetensors", [[0, 0, 0]], "a")
    (item,) = load_task_params(["a"], [h], [ca], 1)
    assert item.harvest.n == 1 and item.harvest.params[0, 0] == 1.0  # the last row only
