"""Where do the generated LoRAs land, measured against the checkpoints they were trained on?

A score says whether a candidate works; this says whether it reproduces the harvest. For one
generator setting and each task it reads the cached parameter files behind the cells (no
scoring, no model) and prints:

- ``ckpt_var``: the checkpoints' per-coordinate variance (mean over coordinates) in raw units;
- ``ckpt_spread``: the checkpoints' mean L2 distance to their own mean, relative to that mean's
  norm;
- ``cand_dist``: the same distance for the candidates, and ``cand/spread`` its ratio to
  ``ckpt_spread`` (below 1: the candidates lie inside the checkpoints' cloud);
- ``ae_mse/var``: the autoencoder's reconstruction MSE in parameter units over ``ckpt_var``
  (from its ``report.json``; blank if that is missing).

The last `n` harvested rows are the checkpoints the generator was trained on. ``--vary norm none
batch task`` prints one block per value (Table 4a's explanation in docs/results/run3-e10.md):

    python -m condpdiff.analysis.param_spread --results results/demo_cpu_e10 --backbone minilm \
        --rank 1 --n 150 --condition sentence-twoshot --sampler ddim50 --selection-examples 1000 \
        --selection-seed 0 --selection-from train --tasks sst2 rte mrpc cola stsb \
        --vary norm none batch task
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import torch

from condpdiff.analysis.diagnose import load_cached, parse_setting, setting_parser
from condpdiff.params.paramfile import ParamSet
from condpdiff.pipeline.artifacts import CANDIDATES, HARVEST_KINDS
from condpdiff.pipeline.targets import cell_path


def _rel_dist(rows: torch.Tensor, centre: torch.Tensor) -> float:
    """Mean L2 distance of `rows` to `centre`, relative to ``|centre|``."""
    return float((rows - centre).norm(dim=1).mean() / centre.norm())


def spread_row(results: str, backbone: str, rank: int, task: str, setting: dict) -> dict:
    """One task: the checkpoints' spread, the candidates' distance, the autoencoder's error."""
    generated = load_cached(cell_path(results, "generated", backbone, rank, task, setting), task)
    original = load_cached(cell_path(results, "original", backbone, rank, task, setting), task)
    harvest_file = load_cached(original["scores_file"], task)["params_file"]
    want = {"task": task, "rank": rank, "backbone": backbone}
    ckpts = ParamSet.load(harvest_file, {**want, "kind": HARVEST_KINDS}, "analysis.param_spread")
    ckpts = ckpts.last(int(setting["n"])).params.double()
    cands = ParamSet.load(
        generated["params_file"], {**want, "kind": CANDIDATES}, "analysis.param_spread"
    ).params.double()
    if cands.shape[1] != ckpts.shape[1]:
        raise SystemExit(
            f"{generated['params_file']}: {cands.shape[1]} parameters per row, "
            f"but the harvest {harvest_file} has {ckpts.shape[1]}"
        )
    centre, var = ckpts.mean(0), float(ckpts.var(0).mean()) if len(ckpts) > 1 else 0.0
    spread = _rel_dist(ckpts, centre)
    dist = _rel_dist(cands, centre)
    # candidates/ -> {draw}/ -> cond-{c}/ -> {kind}/ holds autoencoder/report.json
    report = Path(generated["params_file"]).parents[3] / "autoencoder" / "report.json"
    ae = json.loads(report.read_text())["tasks"].get(task, {}) if report.is_file() else {}
    return {
        "task": task,
        "ckpt_var": var,
        "ckpt_spread": spread,
        "cand_dist": dist,
        "cand/spread": dist / spread if spread > 0 else float("nan"),
        "ae_mse/var": ae["mse_params"] / var if "mse_params" in ae and var > 0 else float("nan"),
    }


def spread_table(
    results: str, backbone: str, rank: int, tasks: list[str], setting: dict
) -> pd.DataFrame:
    return pd.DataFrame([spread_row(results, backbone, rank, t, setting) for t in tasks])


def main(argv=None) -> None:
    a, setting, field, values = parse_setting(setting_parser(__doc__), argv)
    for value in values or [None]:
        s = setting if field is None else {**setting, field: value}
        if field is not None:
            print(f"\n{field} = {value}\n")
        df = spread_table(a.results, a.backbone, a.rank, a.tasks, s)
        print(df.to_markdown(index=False, floatfmt=".3g"))


if __name__ == "__main__":
    main()
