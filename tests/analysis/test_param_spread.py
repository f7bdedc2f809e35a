"""condpdiff.analysis.param_spread measures candidates against the harvested checkpoints they came
from."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from condpdiff.analysis import param_spread
from condpdiff.params.paramfile import ParamSet
from condpdiff.pipeline.paths import Paths
from condpdiff.pipeline.targets import cell_path

SETTING = {"n": 2, "layers": "all", "norm": "task", "kind": "pdiff", "condition": "onehot",
           "sampler": "ddim20", "selection": "sel5-seed0"}  # fmt: skip
W = {
    "backbone": "b",
    "rank": 1,
    "task": "t",
    **{k: v for k, v in SETTING.items() if k != "selection"},
}
LAYOUT = [("w", (2,))]


def put(path, obj):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(obj))


def save(path, rows):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    p = torch.tensor(rows, dtype=torch.float32)
    ParamSet(
        params=p, layout=LAYOUT, steps=torch.arange(len(rows)), loss=torch.zeros(len(rows))
    ).save(path)


def write_cells(R: str, candidates, report: dict | None = None) -> None:
    # 3 harvested rows; n=2 keeps the last two, (9, 0) and (11, 0): mean (10, 0), spread 0.1
    save(f"{R}/finetune/harvest.safetensors", [[100.0, 100.0], [9.0, 0.0], [11.0, 0.0]])
    put(f"{R}/harvest_scores.json", {"params_file": f"{R}/finetune/harvest.safetensors"})
    put(cell_path(R, "original", "b", 1, "t", SETTING), {"scores_file": f"{R}/harvest_scores.json"})
    # where the workflow writes them: the candidates, and the autoencoder's report.json beside its
    # model
    P = Paths(R)
    save(P.candidates(**W), candidates)
    put(cell_path(R, "generated", "b", 1, "t", SETTING), {"params_file": P.candidates(**W)})
    if report is not None:
        put(f"{P.autoencoder_dir(**W)}/report.json", report)


def test_spread_distance_and_autoencoder_error(tmp_path):
    R = str(tmp_path)
    write_cells(R, [[10.0, 0.5], [10.0, -0.5]], {"tasks": {"t": {"mse_params": 0.5}}})
    row = param_spread.spread_table(R, "b", 1, ["t"], SETTING).set_index("task").loc["t"]
    assert row["ckpt_var"] == pytest.approx(1.0)  # per coordinate: var(9, 11) = 2 and 0 -> mean 1
    assert row["ckpt_spread"] == pytest.approx(0.1)  # distance 1 to (10, 0), |mean| 10
    assert row["cand_dist"] == pytest.approx(0.05)
    assert row["cand/spread"] == pytest.approx(0.5)
    assert row["ae_mse/var"] == pytest.approx(0.5)


def test_missing_report_leaves_ae_blank_and_missing_cell_is_named(tmp_path):
    R = str(tmp_path)
    write_cells(R, [[10.0, 0.5]])
    row = param_spread.spread_table(R, "b", 1, ["t"], SETTING).iloc[0]
    assert row["cand/spread"] == pytest.approx(0.5) and math.isnan(row["ae_mse/var"])
    with pytest.raises(SystemExit, match="generated.json"):
        param_spread.spread_table(R, "b", 1, ["u"], SETTING)


def test_mismatched_widths_are_an_error(tmp_path):
    R = str(tmp_path)
    write_cells(R, [[10.0, 0.5]])
    gen = json.loads(Path(cell_path(R, "generated", "b", 1, "t", SETTING)).read_text())[
        "params_file"
    ]
    Path(gen).unlink()
    ParamSet(
        params=torch.zeros(1, 3), layout=[("w", (3,))], steps=torch.arange(1), loss=torch.zeros(1)
    ).save(gen)
    with pytest.raises(SystemExit, match="3 parameters per row"):
        param_spread.spread_table(R, "b", 1, ["t"], SETTING)


def test_cli_prints_one_block_per_value(tmp_path, capsys):
    R = str(tmp_path)
    write_cells(R, [[10.0, 0.5]])
    param_spread.main(
        [
            "--results",
            R,
            "--backbone",
            "b",
            "--rank",
            "1",
            "--n",
            "2",
            "--condition",
            "onehot",
            "--sampler",
            "ddim20",
            "--selection-examples",
            "5",
            "--selection-seed",
            "0",
            "--selection-from",
            "train",
            "--tasks",
            "t",
            "--vary",
            "norm",
            "task",
        ]
    )
    out = capsys.readouterr().out
    assert "norm = task" in out and "cand/spread" in out and "0.5" in out
