"""The effect of bf16 autocast on scores: the same harvested checkpoints scored on dev in fp32
and under bf16 autocast, side by side, per task (``mixed_precision`` in docs/method.md's terms).

bf16 rounds the same way whether the CPU runs it natively (AVX512-BF16 / AMX) or emulates it,
so the score differences measured here hold on either; only the speed differs
(benchmarks/bench_bf16_cpu.py). Reads the cached harvests of a text run and its task files;
writes a CSV (one row per checkpoint and task) and prints per task the max and mean absolute
difference of the dev score (x100) and whether the best checkpoint changes. Example:

    python -m condpdiff.analysis.precision_effect --configfile config/demo_cpu.yaml --every 30 \\
        --out results/demo_cpu/analysis/precision_effect.csv
"""

from __future__ import annotations

import argparse
import logging
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd
import torch
from tqdm import tqdm

from condpdiff.params.paramfile import ParamSet
from condpdiff.pipeline.artifacts import HARVEST_KINDS
from condpdiff.pipeline.config import load_config
from condpdiff.pipeline.paths import Paths
from condpdiff.text.score import Scorer, ScoringConfig, load_splits
from condpdiff.text.tasks import get_task, load_task_file
from condpdiff.util import cli
from condpdiff.util.atomic import atomic_path

log = logging.getLogger("condpdiff.analysis.precision_effect")


def compare_task(
    config: dict, backbone: str, rank: int, task_name: str, every: int, threads: int
) -> pd.DataFrame:
    """Dev scores of every `every`-th harvested checkpoint (counted back from the last) in fp32 and
    bf16."""
    P = Paths(config["results_dir"])
    w = {"backbone": backbone, "rank": rank, "task": task_name}
    harvest = ParamSet.load(
        P.harvest(**w), {"kind": HARVEST_KINDS, **w}, "analysis.precision_effect"
    )
    rows = list(range(harvest.n - 1, -1, -every))[::-1]
    task = load_task_file(P.task(task=task_name))
    spec, ft, sc = config["backbones"][backbone], config["finetune"], config["scoring"]
    cfg = ScoringConfig(
        batch_size=sc["batch_size"],
        max_length=sc.get("max_length", ft.get("max_length", 128)),
        max_dev_examples=sc.get("max_dev_examples", ft.get("max_dev_examples")),
    )
    data = config["data"]
    splits = load_splits(task, data["source"], data.get("glue_dir"), cfg, splits=("dev",))
    torch.set_num_threads(threads)
    out = []
    for mode in ("no", "bf16"):
        scorer = Scorer(
            spec["model"],
            task,
            rank,
            config["lora"]["alpha"][rank],
            spec["target_modules"],
            splits,
            replace(cfg, mixed_precision=mode),
            device="cpu",
        )
        t0 = time.time()
        for i in tqdm(rows, desc=f"{task_name} {mode}", mininterval=5):
            score = scorer.score(harvest.lora_state_dict(i), harvest.head_state_dict(i))["dev"][
                "score"
            ]
            out.append(
                {
                    "task": task_name,
                    "row": i,
                    "step": int(harvest.steps[i]),
                    "mode": mode,
                    "score": score,
                }
            )
        log.info("%s %s: %d checkpoints in %.1fs", task_name, mode, len(rows), time.time() - t0)
    df = (
        pd.DataFrame(out)
        .pivot_table(index=["task", "row", "step"], columns="mode", values="score")
        .reset_index()
    )
    return df.rename(columns={"no": "fp32", "bf16": "bf16"})


def summarise(df: pd.DataFrame) -> pd.DataFrame:
    """Per task: checkpoints compared, max / mean |bf16 - fp32|, and the best checkpoint's step in
    each."""
    rows = []
    for task, g in df.groupby("task", sort=False):
        diff = (g["bf16"] - g["fp32"]).abs()
        rows.append(
            {
                "task": task,
                "checkpoints": len(g),
                "max_abs_diff": diff.max(),
                "mean_abs_diff": diff.mean(),
                "best_step_fp32": int(g.loc[g["fp32"].idxmax(), "step"]),
                "best_step_bf16": int(g.loc[g["bf16"].idxmax(), "step"]),
                "best_fp32": g["fp32"].max(),
                "best_bf16": g["bf16"].max(),
            }
        )
    return pd.DataFrame(rows)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--configfile", nargs="+", required=True, help="the text run's config(s)")
    p.add_argument("--backbone", default=None, help="default: the first configured")
    p.add_argument("--rank", type=int, default=None, help="default: the first configured")
    p.add_argument("--tasks", nargs="+", default=None, help="default: every configured task")
    p.add_argument(
        "--every", type=int, default=10, help="every k-th harvested checkpoint, back from the last"
    )
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", required=True, help="CSV: task, row, step, fp32, bf16")
    a = p.parse_args(argv)
    cli.setup_logging()
    config = load_config(a.configfile, get_task)
    if not config.get("tasks"):
        raise SystemExit(f"{a.configfile}: a text config is needed (no 'tasks')")
    backbone = a.backbone or next(iter(config["backbones"]))
    rank = a.rank if a.rank is not None else config["lora"]["ranks"][0]
    df = pd.concat(
        [
            compare_task(config, backbone, rank, t, a.every, a.threads)
            for t in (a.tasks or config["tasks"])
        ]
    )
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(a.out) as tmp:
        df.to_csv(tmp, index=False)
    print(summarise(df).to_markdown(index=False, floatfmt=".3f"))


if __name__ == "__main__":
    main()
