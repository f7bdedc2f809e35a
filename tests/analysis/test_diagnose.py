"""condpdiff.analysis.diagnose reads the caches behind a generated and an original cell."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from condpdiff.analysis import diagnose
from condpdiff.pipeline.targets import cell_path

SETTING = {"n": 3, "layers": "all", "norm": "task", "kind": "pdiff", "condition": "onehot",
           "sampler": "ddim20", "selection": "sel5-seed0"}  # fmt: skip


def put(path, obj):
    from pathlib import Path

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(obj))


def write_caches(R: str, higher_is_better: bool = True) -> None:
    # every candidate's dev score sits beside the cell's sel*/ folder
    # (scoring.dev_all_candidates: true)
    cand = str(
        Path(cell_path(R, "generated", "b", 1, "t", SETTING)).parents[1] / "candidate_scores.json"
    )
    put(
        cand,
        {
            "higher_is_better": higher_is_better,
            "scores": {"dev": [{"score": d} for d in (70, 90, 80)]},
        },
    )
    sel = f"{R}/sel.json"
    put(
        sel,
        {
            "higher_is_better": higher_is_better,
            "scores": {"selection": [{"score": s} for s in (1, 3, 2)]},
        },
    )
    ck = f"{R}/ck.json"
    # 4 checkpoints at steps 10..13; n=3 keeps steps 11..13
    put(ck, {"higher_is_better": higher_is_better, "steps": [10, 11, 12, 13],
             "scores": {"dev": [{"score": d} for d in (99, 60, 70, 80)]}})  # fmt: skip
    put(
        cell_path(R, "generated", "b", 1, "t", SETTING),
        {"score": 90.0, "scores_file": cand, "selection_file": sel, "selection_examples": 5},
    )
    put(
        cell_path(R, "original", "b", 1, "t", SETTING),
        {"score": 80.0, "scores_file": ck, "last_checkpoint": {"score": 80.0}},
    )


def test_diagnosis_of_one_task(tmp_path):
    R = str(tmp_path)
    write_caches(R)
    df = diagnose.diagnose(R, "b", 1, ["t"], SETTING).set_index("task")
    row = df.loc["t"]
    assert (
        row["cand_mean"] == pytest.approx(80.0)
        and row["cand_best (dev-picked)"] == 90
        and row["cand_min"] == 70
    )
    assert (
        row["ckpt_mean"] == pytest.approx(70.0) and row["ckpt_min"] == 60
    )  # step 10 (99) is outside n=3
    assert row["rho(sel, dev)"] == pytest.approx(1.0) and row["distinct_sel"] == 3
    assert df.loc["avg", "generated"] == pytest.approx(90.0)


def test_best_candidate_honours_a_lower_is_better_metric(tmp_path):
    write_caches(str(tmp_path), higher_is_better=False)
    row = diagnose.diagnose(str(tmp_path), "b", 1, ["t"], SETTING).set_index("task").loc["t"]
    assert row["cand_best (dev-picked)"] == 70


def test_vary_shows_generated_and_candidates_mean_and_not_run(tmp_path):
    write_caches(str(tmp_path))  # the cells of SETTING (condition onehot)
    df = diagnose.vary(
        str(tmp_path), "b", 1, ["t"], SETTING, "condition", ["onehot", "learnable"]
    ).set_index("condition")
    assert df.loc["onehot", "t"] == "90.0 (80.0)" and df.loc["onehot", "avg"] == "90.0 (80.0)"
    assert df.loc["learnable", "t"] == "not run" and df.loc["learnable", "avg"] == "-"


def test_missing_cell_is_named(tmp_path):
    with pytest.raises(SystemExit, match="generated.json"):
        diagnose.diagnose(str(tmp_path), "b", 1, ["t"], SETTING)


def test_cli_needs_the_whole_selection_split(tmp_path, capsys):
    write_caches(str(tmp_path))
    base = ["--results", str(tmp_path), "--backbone", "b", "--rank", "1", "--n", "3",
            "--condition", "onehot", "--sampler", "ddim20", "--tasks", "t",
            "--selection-examples", "5"]  # fmt: skip
    with pytest.raises(SystemExit):  # --selection-seed and --selection-from are required
        diagnose.main(base)
    capsys.readouterr()
    diagnose.main([*base, "--selection-seed", "0", "--selection-from", "train"])
    out = capsys.readouterr().out
    assert "cand_best (dev-picked)" in out and "90.0" in out
    with pytest.raises(SystemExit, match="sel5-seed0-heldout/generated.json"):
        diagnose.main([*base, "--selection-seed", "0", "--selection-from", "heldout"])


def test_diagnosis_needs_every_candidates_dev_score(tmp_path):
    R = str(tmp_path)
    write_caches(R)
    (
        Path(cell_path(R, "generated", "b", 1, "t", SETTING)).parents[1] / "candidate_scores.json"
    ).unlink()
    with pytest.raises(SystemExit, match="scoring.dev_all_candidates: true"):
        diagnose.diagnose(R, "b", 1, ["t"], SETTING)
