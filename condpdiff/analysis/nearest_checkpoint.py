"""Does a candidate work because it copies a checkpoint? Its distance to the nearest one against its
score.

The paper plots the L2 distance of generated to original parameters against accuracy. For one
generator setting and each task, this measures every candidate's L2 distance, in raw parameter
units, to its nearest harvested checkpoint (among the last n, what the generator was trained
on), and puts it beside the candidate's score:

- text (``--domain text``): the dev score of every candidate, from ``candidate_scores.json``
  (``condpdiff.text.score``; rule ``score_candidates`` makes it on demand);
- image (``--domain image``): each candidate's FID against the style's held-out reference images
  and against its train images, from the cached image features (no generation).

For scale: ``spread`` = the checkpoints' RMS distance to their own mean (each candidate's
distance is also reported relative to it), and ``spacing`` = the median distance of a checkpoint
to its nearest other checkpoint (consecutive training steps). The checkpoints' mean score
(scored rows among the last n: ``harvest_scores.json``) is drawn as a horizontal line. Outputs
a PNG (one panel per task), a CSV (one row per candidate) and a JSON (per task: spread,
spacing, median distance, Spearman's rho of distance vs score).

    python -m condpdiff.analysis.nearest_checkpoint --domain text --tasks a b --harvests A B \\
        --candidates cA cB --scores sA sB --harvest-scores hA hB --n 20 --setting "..." \\
        --out nearest_checkpoint.png --data nearest_checkpoint.csv --summary nearest_checkpoint.json
"""

from __future__ import annotations

import argparse
import math

import pandas as pd
from scipy.stats import spearmanr

from condpdiff.analysis.figures import finite_or_none, panel_grid, save_csv, save_figure
from condpdiff.analysis.task_params import TaskParams, load_task_params
from condpdiff.params.distances import nearest, spacing, spread
from condpdiff.pipeline.artifacts import SCORES_FORMAT, artifact_error, load_json
from condpdiff.util.atomic import write_json

DOMAINS = ("text", "image")


def _scores_by_step(
    path: str, split: str, task: str | None = None
) -> tuple[dict, dict[int, float]]:
    """A score cache (of `task`) and its `split` scores keyed by the scored rows' steps."""
    cache = load_json(
        path, "score cache", SCORES_FORMAT, keys=("scores", "steps"), expect={"task": task}
    )
    rows = cache["scores"].get(split)
    if rows is None or len(rows) != len(cache["steps"]):
        raise artifact_error(
            path,
            f"score cache without one {split!r} score per row",
            f"{len(cache['steps'])} {split} scores",
            f"splits {sorted(cache['scores'])}",
        )
    return cache, {int(s): float(r["score"]) for s, r in zip(cache["steps"], rows)}


def text_scores(item: TaskParams, path: str) -> tuple[dict[str, list[float]], dict]:
    """Text: every candidate's dev score from its ``candidate_scores.json`` (in candidate row
    order)."""
    cache, by_step = _scores_by_step(path, "dev", item.task)
    steps = [int(s) for s in item.candidates.steps]
    missing = [s for s in steps if s not in by_step]
    if missing:
        raise artifact_error(
            path,
            f"dev scores of only some candidates of {item.candidates_path}",
            f"a score for each of its {len(steps)} rows",
            f"none for rows {missing[:5]}",
        )
    metric = cache.get("metric", "score")
    return {"dev": [by_step[s] for s in steps]}, {
        "metric": metric,
        "higher_is_better": cache.get("higher_is_better", True),
        "label": f"dev {metric} (x100)",
    }


def image_scores(
    item: TaskParams, features: str, reference: str, train: str
) -> tuple[dict[str, list[float]], dict]:
    """Image: every candidate's FID against the style's reference images and against its train
    images."""
    from condpdiff.image.fid.features import fid_between, load_features, require_comparable

    gen, ref, tr = load_features(features), load_features(reference), load_features(train)
    require_comparable(gen, features, ref, reference)
    require_comparable(gen, features, tr, train)
    rows = [int(r) for r in gen.info["rows"]]
    if sorted(rows) != list(range(item.candidates.n)):
        raise artifact_error(
            features,
            f"features of only some candidates of {item.candidates_path}",
            f"rows 0..{item.candidates.n - 1}",
            f"rows {rows[:8]}{'...' if len(rows) > 8 else ''}",
        )
    order = {r: i for i, r in enumerate(rows)}
    fid_ref = [fid_between(gen.row(order[r]), ref.row(0)) for r in range(item.candidates.n)]
    fid_train = [fid_between(gen.row(order[r]), tr.row(0)) for r in range(item.candidates.n)]
    return {"fid_reference": fid_ref, "fid_train": fid_train}, {
        "metric": "fid",
        "higher_is_better": False,
        "label": "FID (lower is better)",
    }


def harvest_level(item: TaskParams, path: str) -> float:
    """Mean dev score (text) / reference FID (image) of the scored checkpoints among the last n."""
    _, by_step = _scores_by_step(path, "dev", item.task)
    kept = [by_step[int(s)] for s in item.harvest.steps if int(s) in by_step]
    if not kept:
        raise artifact_error(
            path,
            f"no scored checkpoint among the last {item.harvest.n} of {item.harvest_path}",
            "scores at some of the steps "
            f"{int(item.harvest.steps[0])}..{int(item.harvest.steps[-1])}",
            f"steps {sorted(by_step)[:3]}...{sorted(by_step)[-1:]}",
        )
    return sum(kept) / len(kept)


def measure(item: TaskParams, scores: dict[str, list[float]]) -> tuple[pd.DataFrame, dict]:
    """One row per candidate (distance, nearest checkpoint, scores) and the task's summary
    numbers."""
    dist, idx = nearest(item.candidates.params, item.harvest.params)
    s, gap = spread(item.harvest.params), spacing(item.harvest.params)
    df = pd.DataFrame(
        {
            "task": item.task,
            "row": range(item.candidates.n),
            "nearest_l2": dist.numpy(),
            "nearest_rel_spread": (dist / s).numpy() if s > 0 else math.nan,
            "nearest_row": idx.numpy(),
            "nearest_step": item.harvest.steps[idx].numpy(),
            **scores,
        }
    )
    first = next(iter(scores))
    constant = df[first].nunique() < 2 or df["nearest_l2"].nunique() < 2
    rho = math.nan if constant else float(spearmanr(df["nearest_l2"], df[first]).statistic)
    return df, {
        "spread": s,
        "spacing": gap,
        "median_nearest_l2": float(dist.median()),
        "median_nearest_rel_spread": float(dist.median()) / s if s > 0 else math.nan,
        "spearman_l2_vs_" + first: rho,
        "n_checkpoints": item.harvest.n,
        "n_candidates": item.candidates.n,
    }


def plot(
    table: pd.DataFrame, summaries: dict, meta: dict, tasks: list[str], setting: str, domain: str
):
    fig, axes = panel_grid(len(tasks))
    first = "dev" if domain == "text" else "fid_reference"
    for ax, t in zip(axes, tasks):
        df, s = table[table.task == t], summaries[t]
        if domain == "text":
            ax.scatter(df.nearest_l2, df.dev, s=26, color="tab:blue", label="candidate: dev score")
        else:
            ax.scatter(
                df.nearest_l2,
                df.fid_reference,
                s=26,
                color="tab:red",
                label="candidate: FID vs reference images",
            )
            ax.scatter(
                df.nearest_l2,
                df.fid_train,
                s=26,
                facecolor="none",
                edgecolor="tab:red",
                label="candidate: FID vs train images",
            )
        ax.axhline(
            s["harvest_mean_score"],
            color="black",
            ls="--",
            lw=1,
            label=(
                f"checkpoints' mean ({'dev' if domain == 'text' else 'FID vs reference'}, last n)"
            ),
        )
        if not math.isnan(s["spacing"]):
            ax.axvline(
                s["spacing"],
                color="grey",
                ls=":",
                lw=1,
                label="median checkpoint-to-nearest-checkpoint distance",
            )
        if s["spread"] > 0:
            top = ax.secondary_xaxis(
                "top", functions=(lambda x, k=s["spread"]: x / k, lambda x, k=s["spread"]: x * k)
            )
            top.set_xlabel("relative to the checkpoints' spread", fontsize=8)
            top.tick_params(labelsize=7)
        ax.set_xlabel("L2 distance to the nearest checkpoint (raw parameters)", fontsize=9)
        ax.set_ylabel(meta[t]["label"], fontsize=9)
        rho = s[f"spearman_l2_vs_{first}"]
        rho_text = "n/a (constant)" if math.isnan(rho) else f"{rho:.2f}"
        ax.set_title(
            f"{t}: spread {s['spread']:.3g}, rho(distance, "
            f"{'dev' if domain == 'text' else 'FID ref'}) {rho_text}",
            fontsize=9,
        )
        ax.tick_params(labelsize=8)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(
        handles, labels, loc="upper center", ncol=len(labels), fontsize=8, bbox_to_anchor=(0.5, 0.0)
    )
    what = "dev score" if domain == "text" else "FID"
    fig.suptitle(
        f"Candidates: distance to the nearest harvested checkpoint vs {what}\n{setting}",
        fontsize=11,
    )
    fig.tight_layout()
    return fig


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--domain", choices=DOMAINS, required=True)
    p.add_argument("--tasks", nargs="+", required=True)
    p.add_argument(
        "--harvests", nargs="+", required=True, help="one harvest file per task, in task order"
    )
    p.add_argument(
        "--candidates", nargs="+", required=True, help="one candidates file per task, in task order"
    )
    p.add_argument(
        "--harvest-scores", nargs="+", required=True, help="each task's harvest_scores.json"
    )
    p.add_argument("--scores", nargs="+", help="text: each task's candidate_scores.json")
    p.add_argument("--features", nargs="+", help="image: each style's candidate features file")
    p.add_argument(
        "--reference",
        nargs="+",
        help="image: each style's reference features (E/real/{task}/reference)",
    )
    p.add_argument(
        "--train", nargs="+", help="image: each style's train features (E/real/{task}/train)"
    )
    p.add_argument(
        "--n",
        type=int,
        required=True,
        help="the generator's n: the last n checkpoints of each harvest",
    )
    p.add_argument("--setting", required=True, help="the generator setting, for the title")
    p.add_argument("--out", required=True, help="the figure (.png)")
    p.add_argument("--data", required=True, help="one row per candidate (.csv)")
    p.add_argument("--summary", required=True, help="per task numbers (.json)")
    a = p.parse_args(argv)
    need = ["scores"] if a.domain == "text" else ["features", "reference", "train"]
    for name in need + ["harvest_scores"]:
        given = getattr(a, name) or []
        if len(given) != len(a.tasks):
            p.error(
                f"--domain {a.domain} needs one --{name.replace('_', '-')} file per task: "
                f"{len(a.tasks)} tasks, {len(given)} files"
            )
    items = load_task_params(a.tasks, a.harvests, a.candidates, a.n)
    tables, summaries, meta = [], {}, {}
    for i, item in enumerate(items):
        if a.domain == "text":
            scores, meta[item.task] = text_scores(item, a.scores[i])
        else:
            scores, meta[item.task] = image_scores(item, a.features[i], a.reference[i], a.train[i])
        df, summaries[item.task] = measure(item, scores)
        summaries[item.task]["harvest_mean_score"] = harvest_level(item, a.harvest_scores[i])
        summaries[item.task].update(meta[item.task])
        tables.append(df)
    table = pd.concat(tables, ignore_index=True)
    save_csv(table, a.data)
    write_json(
        a.summary,
        finite_or_none({"domain": a.domain, "n": a.n, "setting": a.setting, "tasks": summaries}),
    )
    save_figure(plot(table, summaries, meta, a.tasks, a.setting, a.domain), a.out)


if __name__ == "__main__":
    main()
