"""Table cells from score caches: the generated candidate (selected without leakage) and the
baselines.

Every table cell is one small JSON file (see docs/formats.md) with at least ``score`` (the
task's main dev metric, x100) and ``metrics`` (all dev metrics of the reported row):

- ``generated``: the candidate that is best on the SELECTION split (a seeded subset of the
  training split), reported on dev. ``best_index`` receives selection-split scores only and
  returns an index; dev is read afterwards, for that one row. Dev never chooses. The selection
  scores may come from their own cache (``--selection``), so that another selection size or
  seed re-scores the candidates on the selection split only.
- ``original``: the paper's definition: the best dev score among the last n harvested
  checkpoints; the last checkpoint's and the mean dev score are stored alongside.
- ``recon``: autoencoder reconstructions of the training checkpoints: best, mean and last dev score.
- ``cross``: the candidate selected for task B, scored on task A with A's head (the diagonal of
  this matrix must win, or the condition is ignored).
- ``soup`` cells are written by ``condpdiff.text.score --soup`` + ``soup`` below.

A cell never holds NaN: a NaN score among those a row is chosen from, or in the reported row,
is a ``NaNScoreError`` naming the cache file and the rows (``util.ranking``), never a skipped
row, row 0 or an empty table cell. Each cell also checks what its cache scored: the kind of
parameter file (``SCORED_KINDS``: a generated cell is made from candidates, ``original`` from
checkpoints, ...) and, but for ``cross``, that it is the cache's own task (``check_scored``).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from condpdiff.pipeline.artifacts import (
    CANDIDATES,
    CELL_FORMAT,
    HARVEST_KINDS,
    RECONSTRUCTIONS,
    SCORES_FORMAT,
    artifact_error,
    check_provenance,
    load_json,
    param_provenance,
)
from condpdiff.util.atomic import write_json
from condpdiff.util.ranking import best_index, check_scores, selected_row

SCORE_KEYS = ("task", "metric", "higher_is_better", "scores", "steps")
# The kind of parameter file each cell is made from (its score cache's info records it).
SCORED_KINDS = {
    "generated": (CANDIDATES,),
    "cross": (CANDIDATES,),
    "original": HARVEST_KINDS,
    "recon": (RECONSTRUCTIONS,),
    "soup": ("soup",),
    "nolora": ("nolora",),
}


def check_scored(cache: dict, kind: str, where: str = "score cache") -> None:
    """The parameter file a score cache scored must be the kind `kind` cells are made from, and
    (but for a cross-task cache) of the cache's own task. A text cache records the file's info as
    ``info``; an FID cache records the features' info there, and the file's as ``params_info``
    (none for the base model alone, which is not checked)."""
    info = cache.get("info") or {}
    if "features_file" in cache:
        info = info.get("params_info") or {}
    expect = {"kind": SCORED_KINDS[kind], "task": None if kind == "cross" else cache.get("task")}
    check_provenance(
        where,
        f"score cache of a parameter file (its info) for a {kind} cell",
        param_provenance(info),
        expect,
        f"a {kind} cell",
    )


def higher_is_better(cache: dict, where: str = "score cache") -> bool:
    """The direction of a score cache's metric, as the scoring step recorded it."""
    if "higher_is_better" not in cache:
        raise artifact_error(
            where,
            f"score cache of task {cache.get('task')!r} ({cache.get('params_file')}) that does not"
            " say whether higher is better ('higher_is_better'): it predates direction-aware "
            "scoring",
        )
    return bool(cache["higher_is_better"])


def _main_scores(rows: Sequence[dict]) -> list[float]:
    return [float(m["score"]) for m in rows]


def _base(cache: dict, kind: str, where: str) -> dict:
    return {
        "format": CELL_FORMAT,
        "kind": kind,
        "task": cache["task"],
        "metric": cache["metric"],
        "higher_is_better": higher_is_better(cache, where),
    }


def _one_row(cache: dict, kind: str, what: str, where: str) -> dict:
    """The dev metrics of a one-row cache (soup, no LoRA, cross-task), its score not NaN."""
    dev = cache["scores"]["dev"]
    if len(dev) != 1:
        raise artifact_error(
            where, f"a {kind} cache scores one row ({what})", "1 row", f"{len(dev)}"
        )
    check_scores([float(dev[0]["score"])], f"{where}: dev score", [what])
    return dev[0]


def generated_cell(
    cache: dict,
    selection_cache: dict | None = None,
    where: str = "score cache",
    selection_where: str | None = None,
) -> dict:
    """The reported generated score: dev score of the candidate best on the selection split.

    `cache` holds dev scores: of every candidate, or of the selected one only (a one-row cache
    written by ``text.score --best-of``, the default: ``scoring.dev_all_candidates: false``).
    The selection-split scores are read from `selection_cache` when given (a cache of the same
    parameter file), else from `cache`. `where` and `selection_where` name the files in errors.
    """
    source = cache if selection_cache is None else selection_cache
    source_where = (
        where if selection_cache is None else (selection_where or "selection score cache")
    )
    if "selection" not in source["scores"]:
        raise artifact_error(
            source_where,
            "score cache without the selection split: candidates must be scored"
            " on it to be selected",
            "scores['selection']",
            f"splits {sorted(source['scores'])}",
        )
    selection = _main_scores(source["scores"]["selection"])
    higher_is_better(source, source_where)  # a cache without a direction is refused
    check_scored(cache, "generated", where)
    if selection_cache is not None:
        check_scored(selection_cache, "generated", source_where)
    i = selected_row(source, source_where)
    one_row = (cache.get("rows") or {}).get("row") is not None
    if selection_cache is not None:
        for key in (
            ("task", "params_file", "head")
            if one_row
            else ("task", "params_file", "n_rows", "head")
        ):
            if selection_cache.get(key) != cache.get(key):
                raise artifact_error(
                    where,
                    f"dev score cache that disagrees with the selection cache {source_where}"
                    f" on {key!r} (they must score the same candidates)",
                    repr(selection_cache.get(key)),
                    repr(cache.get(key)),
                )
    if one_row and int(cache["rows"]["row"]) != i:
        raise artifact_error(
            where,
            "dev score cache of another selection",
            f"row {i} (the selection split's pick)",
            f"row {cache['rows']['row']}",
        )
    dev = cache["scores"]["dev"][0 if one_row else i]  # the only dev row read
    check_scores(
        [float(dev["score"])], f"{where}: dev score of the selected candidate", [f"candidate {i}"]
    )
    split = source["splits"]["selection"]
    return {
        **_base(cache, "generated", where),
        "score": float(dev["score"]),
        "metrics": dict(dev),
        "selected_row": i,
        "selection_score": selection[i],
        "selection_examples": split["n_examples"],
        "selection_race": (source.get("race") or {}).get("first", 0),
        "selection_seed": split.get("seed"),
        "selection_from": split.get("pool", "train"),
        "n_candidates": len(selection),
        "head": cache.get("head"),
        "params_file": cache.get("params_file"),
    }


def last_n_dev(cache: dict, n: int | None = None) -> tuple[list[dict], list[int]]:
    """Dev metrics and steps of the scored checkpoints among the last `n` harvested steps (all if
    None)."""
    dev = cache["scores"]["dev"]
    steps = [int(s) for s in cache["steps"]]
    if n is None:
        return dev, steps
    rows = cache.get("rows") or {}
    held = int(rows.get("in_file") or len(dev))
    if n > held:
        raise ValueError(f"asked for the last {n} checkpoints but the harvest holds {held}")
    every = int(rows.get("every") or 1)
    index = list(
        range((held - 1) % every, held, every)
    )  # the scored rows' indices in the harvest file
    if len(index) != len(dev):
        raise ValueError(
            f"score cache of {cache.get('params_file')}: expected {len(index)} scored rows (every"
            f" {every}th of {held}), found {len(dev)}"
        )
    keep = [
        i for i, row in enumerate(index) if row >= held - n
    ]  # rows, not steps: harvests may skip steps
    return [dev[i] for i in keep], [steps[i] for i in keep]


def original_cell(cache: dict, n: int | None = None, where: str = "score cache") -> dict:
    """Best dev score among the last `n` harvested checkpoints (paper's 'original'), with last and
    mean.

    "The last n" are the last n harvested checkpoints: rows of the harvest file, counted from the
    cache's ``rows`` record, so a cache that scored only every k-th checkpoint
    (``scoring.harvest_every``) and a harvest taken every few steps (images) are both sliced right.
    """
    check_scored(cache, "original", where)
    dev, steps = last_n_dev(cache, n)
    values = _main_scores(dev)
    # best on dev: the paper's definition of these baselines
    best = best_index(
        values,
        higher_is_better(cache, where),
        f"{where}: dev scores of the last checkpoints",
        rows=[f"step {s}" for s in steps],
    )
    return {
        **_base(cache, "original", where),
        "score": values[best],
        "metrics": dict(dev[best]),
        "best_step": steps[best],
        "last_checkpoint": {"score": values[-1], "metrics": dict(dev[-1]), "step": steps[-1]},
        "mean": sum(values) / len(values),
        "n": n if n is not None else len(values),
        "n_scored": len(values),
    }


def recon_cell(cache: dict, where: str = "score cache") -> dict:
    """Dev scores of the autoencoder's reconstructions: best (as 'original' is defined), mean and
    last."""
    check_scored(cache, "recon", where)
    dev = cache["scores"]["dev"]
    values = _main_scores(dev)
    # best on dev: the paper's definition of these baselines
    best = best_index(
        values, higher_is_better(cache, where), f"{where}: dev scores of the reconstructions"
    )
    return {
        **_base(cache, "recon", where),
        "score": values[best],
        "metrics": dict(dev[best]),
        "best_row": best,
        "mean": sum(values) / len(values),
        "last": values[-1],
        "n": len(values),
        "head": cache.get("head"),
    }


def soup_cell(cache: dict, where: str = "score cache") -> dict:
    """The one scored row of a soup cache."""
    check_scored(cache, "soup", where)
    dev = _one_row(cache, "soup", "the soup", where)
    return {
        **_base(cache, "soup", where),
        "score": float(dev["score"]),
        "metrics": dict(dev),
        "n": cache["info"].get("soup_of"),
    }


def nolora_cell(cache: dict, where: str = "score cache") -> dict:
    """The one scored row of a no-LoRA cache (the base model alone; image branch)."""
    check_scored(cache, "nolora", where)
    dev = _one_row(cache, "no-LoRA", "the base model", where)
    return {**_base(cache, "nolora", where), "score": float(dev["score"]), "metrics": dict(dev)}


def cross_cell(cache: dict, where: str = "score cache") -> dict:
    """One task's selected generated LoRA scored on another task (cross-task condition check)."""
    check_scored(cache, "cross", where)
    dev = _one_row(cache, "cross-task", "the selected candidate", where)
    rows = cache.get("rows") or {}
    return {
        **_base(cache, "cross", where),
        "score": float(dev["score"]),
        "metrics": dict(dev),
        "params_file": cache.get("params_file"),
        "selected_row": rows.get("row"),
        "head": cache.get("head"),
    }


CELLS = {
    "cross": cross_cell,
    "generated": generated_cell,
    "nolora": nolora_cell,
    "original": original_cell,
    "recon": recon_cell,
    "soup": soup_cell,
}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("kind", choices=sorted(CELLS))
    p.add_argument("--scores", required=True, help="score cache written by condpdiff.text.score")
    p.add_argument(
        "--selection",
        default=None,
        help="generated: the selection-split score cache (else in --scores)",
    )
    p.add_argument("--n", type=int, default=None, help="original: the last n checkpoints")
    p.add_argument("--out", required=True, help="cell JSON")
    a = p.parse_args(argv)
    cache = load_json(a.scores, "score cache", SCORES_FORMAT, SCORE_KEYS)
    if a.selection is not None and a.kind != "generated":
        p.error("--selection applies to 'generated' only")
    if a.kind == "original":
        cell = original_cell(cache, a.n, where=a.scores)
    elif a.kind == "generated" and a.selection is not None:
        selection = load_json(
            a.selection, "score cache", SCORES_FORMAT, SCORE_KEYS, expect={"task": cache["task"]}
        )
        cell = generated_cell(cache, selection, where=a.scores, selection_where=a.selection)
        cell["selection_file"] = a.selection
    else:
        cell = CELLS[a.kind](cache, where=a.scores)
    cell["scores_file"] = a.scores
    write_json(a.out, cell)


if __name__ == "__main__":
    main()
