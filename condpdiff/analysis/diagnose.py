"""Why does `generated` differ from `original`? A diagnosis from the score caches (no scoring).

For one generator setting and each task (built with ``scoring.dev_all_candidates: true``, so
that every candidate has a dev score) it compares the 20 candidates with the harvested
checkpoints on dev: the selected candidate, the candidates' mean / min / max, the checkpoints'
mean / min / max, and how well the selection split ranks the candidates (Spearman's rho
between selection and dev scores over the candidates, and how many distinct selection
scores there are: ties mean the split is too small to tell the candidates apart).

``max`` over candidates picks on dev: shown only as a diagnostic of what the candidates
contain, never as a result. ``--vary FIELD V1 V2 ...`` prints instead one line per value of
one generator field (an ablation table), each cell ``generated (candidates' mean)``: the mean
is selection-free, so settings compare on it without the selection split's noise. Usage
(paths as in docs/formats.md):

    python -m condpdiff.analysis.diagnose --results results/demo_cpu --backbone minilm --rank 1 \\
        --n 150 --layers all --norm task --condition sentence-twoshot --sampler ddim50 \\
        --selection-examples 1000 --selection-seed 0 --selection-from train \\
        --tasks sst2 rte mrpc cola stsb
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import pandas as pd
from scipy.stats import spearmanr

from condpdiff.evaluate.cells import best_index, higher_is_better, last_n_dev
from condpdiff.pipeline.artifacts import load_json
from condpdiff.pipeline.names import GENERATOR_KINDS, SELECTION_FROM
from condpdiff.pipeline.paths import selection_part
from condpdiff.pipeline.targets import cell_path


def load_cached(path: str, task: str | None = None) -> dict:
    """A cached JSON file (of `task`: its ``task`` key is checked), or a clear exit naming the
    target that builds it."""
    p = Path(path)
    if not p.is_file():
        raise SystemExit(f"{p}: missing (build it first, e.g. `snakemake {p}`)")
    return load_json(p, "cached result", expect={"task": task})


def _scores(cache: dict, split: str) -> list[float]:
    return [float(r["score"]) for r in cache["scores"][split]]


def task_row(results: str, backbone: str, rank: int, task: str, setting: dict) -> dict:
    """The diagnosis of one task (one row of the table)."""
    generated_path = cell_path(results, "generated", backbone, rank, task, setting)
    generated = load_cached(generated_path, task)
    original = load_cached(cell_path(results, "original", backbone, rank, task, setting), task)
    # every candidate's dev score: .../{task}/candidate_scores.json beside the sel*/ folder of the
    # cell
    all_dev = Path(generated_path).parents[1] / "candidate_scores.json"
    if not all_dev.is_file():
        raise SystemExit(
            f"{all_dev}: missing: the diagnosis needs every candidate's dev score; set"
            f" scoring.dev_all_candidates: true in the config and rebuild (`snakemake {all_dev}`)"
        )
    candidates = load_cached(all_dev, task)
    selection = load_cached(generated.get("selection_file") or generated["scores_file"], task)
    checkpoints = load_cached(original["scores_file"], task)
    dev, sel = _scores(candidates, "dev"), _scores(selection, "selection")
    ck = [float(r["score"]) for r in last_n_dev(checkpoints, int(setting["n"]))[0]]
    constant = len(set(sel)) < 2 or len(set(dev)) < 2
    return {
        "task": task,
        "generated": generated["score"],
        "cand_mean": sum(dev) / len(dev),
        "cand_min": min(dev),
        "cand_best (dev-picked)": dev[
            best_index(dev, higher_is_better(candidates), f"{all_dev}: dev scores")
        ],
        "original": original["score"],
        "ckpt_mean": sum(ck) / len(ck),
        "ckpt_min": min(ck),
        "ckpt_last": original["last_checkpoint"]["score"],
        "rho(sel, dev)": math.nan if constant else float(spearmanr(sel, dev).statistic),
        "distinct_sel": len(set(sel)),
        "sel_examples": generated.get("selection_examples"),
    }


def diagnose(
    results: str, backbone: str, rank: int, tasks: list[str], setting: dict
) -> pd.DataFrame:
    df = pd.DataFrame([task_row(results, backbone, rank, t, setting) for t in tasks])
    avg = {
        "task": "avg",
        **{
            c: df[c].mean() for c in df.columns if c not in ("task", "distinct_sel", "sel_examples")
        },
    }
    return pd.concat([df, pd.DataFrame([avg])], ignore_index=True)


def vary(
    results: str, backbone: str, rank: int, tasks: list[str], setting: dict, field: str, values
) -> pd.DataFrame:
    """One row per value of `field`: ``generated (candidates' mean)`` per task and on average; 'not
    run' if absent."""
    rows = []
    for value in values:
        row, gen, mean = {field: value}, [], []
        for t in tasks:
            try:
                r = task_row(results, backbone, rank, t, {**setting, field: value})
            except SystemExit:
                row[t] = "not run"
                continue
            gen.append(r["generated"])
            mean.append(r["cand_mean"])
            row[t] = f"{r['generated']:.1f} ({r['cand_mean']:.1f})"
        complete = len(gen) == len(tasks)
        row["avg"] = f"{sum(gen) / len(gen):.1f} ({sum(mean) / len(mean):.1f})" if complete else "-"
        rows.append(row)
    return pd.DataFrame(rows)


def setting_parser(description: str) -> argparse.ArgumentParser:
    """The CLI of one generator setting, shared by this module and
    ``condpdiff.analysis.param_spread``."""
    p = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--results", required=True, help="results_dir")
    p.add_argument("--backbone", required=True)
    p.add_argument("--rank", type=int, required=True)
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--layers", default="all")
    p.add_argument("--norm", default="task")
    p.add_argument("--condition", required=True)
    p.add_argument("--sampler", required=True)
    p.add_argument(
        "--kind", choices=GENERATOR_KINDS, default=GENERATOR_KINDS[0], help="generator kind"
    )
    p.add_argument(
        "--selection-examples", type=int, required=True, help="config scoring.selection_examples"
    )
    p.add_argument(
        "--selection-seed", type=int, required=True, help="config scoring.selection_seed"
    )
    p.add_argument(
        "--selection-from",
        choices=SELECTION_FROM,
        required=True,
        help="config scoring.selection_from",
    )
    p.add_argument(
        "--selection-race", type=int, default=0, help="config scoring.selection_race (0: none)"
    )
    p.add_argument("--tasks", nargs="+", required=True)
    p.add_argument(
        "--vary",
        nargs="+",
        metavar=("FIELD", "VALUE"),
        help="an ablation: generator field and its values",
    )
    return p


def parse_setting(p: argparse.ArgumentParser, argv=None):
    """Parse ``argv``; return the arguments, the setting dict, and the --vary field and values (or
    None, [])."""
    a = p.parse_args(argv)
    setting = {
        "n": a.n,
        "layers": a.layers,
        "norm": a.norm,
        "kind": a.kind,
        "condition": a.condition,
        "sampler": a.sampler,
    }
    setting["selection"] = selection_part(
        a.selection_examples, a.selection_seed, a.selection_from, a.selection_race
    )
    if not a.vary:
        return a, setting, None, []
    field, values = a.vary[0], a.vary[1:]
    if field not in setting or field in ("selection", "kind") or not values:
        p.error(
            "--vary takes a generator field (n, layers, norm, condition, sampler) and its values, "
            f"got {a.vary}"
        )
    return a, setting, field, [int(v) for v in values] if field == "n" else values


def main(argv=None) -> None:
    a, setting, field, values = parse_setting(setting_parser(__doc__), argv)
    if field is not None:
        print(
            vary(a.results, a.backbone, a.rank, a.tasks, setting, field, values).to_markdown(
                index=False
            )
        )
        return
    df = diagnose(a.results, a.backbone, a.rank, a.tasks, setting)
    print(df.to_markdown(index=False, floatfmt=".1f"))


if __name__ == "__main__":
    main()
