"""Table cells from score caches: the generated candidate (selected without leakage) and the baselines.

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
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Sequence

from condpdiff.pipeline.artifacts import CELL_FORMAT, SCORES_FORMAT, load_json
from condpdiff.util.ranking import best_index, selected_row
from condpdiff.util.atomic import write_json

SCORE_KEYS = ("task", "metric", "higher_is_better", "scores", "steps")


def higher_is_better(cache: dict) -> bool:
    """The direction of a score cache's metric, as the scoring step recorded it."""
    if "higher_is_better" not in cache:
        raise KeyError(
            f"score cache of task {cache.get('task')!r} ({cache.get('params_file')}) does not say whether higher"
            " is better ('higher_is_better'): it predates direction-aware scoring; delete it and rebuild it"
        )
    return bool(cache["higher_is_better"])


def _main_scores(rows: Sequence[dict]) -> list[float]:
    return [float(m["score"]) for m in rows]


def _base(cache: dict, kind: str) -> dict:
    return {
        "format": CELL_FORMAT,
        "kind": kind,
        "task": cache["task"],
        "metric": cache["metric"],
        "higher_is_better": higher_is_better(cache),
    }


def generated_cell(cache: dict, selection_cache: dict | None = None) -> dict:
    """The reported generated score: dev score of the candidate best on the selection split.

    `cache` holds dev scores: of every candidate, or of the selected one only (a one-row cache
    written by ``text.score --best-of``, the default: ``scoring.dev_all_candidates: false``).
    The selection-split scores are read from `selection_cache` when given (a cache of the same
    parameter file), else from `cache`.
    """
    source = cache if selection_cache is None else selection_cache
    if "selection" not in source["scores"]:
        raise ValueError("score cache has no 'selection' split: candidates must be scored on it to be selected")
    selection = _main_scores(source["scores"]["selection"])
    higher_is_better(source)  # a cache without a direction is refused
    i = selected_row(source)
    one_row = (cache.get("rows") or {}).get("row") is not None
    if selection_cache is not None:
        for key in ("params_file", "head") if one_row else ("params_file", "n_rows", "head"):
            if selection_cache.get(key) != cache.get(key):
                raise ValueError(
                    f"the selection and dev score caches disagree on {key!r}"
                    f" ({selection_cache.get(key)!r} vs {cache.get(key)!r}): they must score the same candidates"
                )
    if one_row and int(cache["rows"]["row"]) != i:
        raise ValueError(
            f"the dev score cache holds row {cache['rows']['row']} but the selection split picks row {i}:"
            " it was scored for another selection; delete it and rebuild it"
        )
    dev = cache["scores"]["dev"][0 if one_row else i]  # the only dev row read
    split = source["splits"]["selection"]
    return {
        **_base(cache, "generated"),
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
    """Dev metrics and steps of the scored checkpoints among the last `n` harvested steps (all if None)."""
    dev = cache["scores"]["dev"]
    steps = [int(s) for s in cache["steps"]]
    if n is None:
        return dev, steps
    rows = cache.get("rows") or {}
    held = int(rows.get("in_file") or len(dev))
    if n > held:
        raise ValueError(f"asked for the last {n} checkpoints but the harvest holds {held}")
    every = int(rows.get("every") or 1)
    index = list(range((held - 1) % every, held, every))  # the scored rows' indices in the harvest file
    if len(index) != len(dev):
        raise ValueError(f"score cache of {cache.get('params_file')}: expected {len(index)} scored rows (every"
                         f" {every}th of {held}), found {len(dev)}")
    keep = [i for i, row in enumerate(index) if row >= held - n]  # rows, not steps: harvests may skip steps
    return [dev[i] for i in keep], [steps[i] for i in keep]


def original_cell(cache: dict, n: int | None = None) -> dict:
    """Best dev score among the last `n` harvested checkpoints (paper's 'original'), with last and mean.

    "The last n" are the last n harvested checkpoints: rows of the harvest file, counted from the
    cache's ``rows`` record, so a cache that scored only every k-th checkpoint
    (``scoring.harvest_every``) and a harvest taken every few steps (images) are both sliced right.
    """
    dev, steps = last_n_dev(cache, n)
    values = _main_scores(dev)
    best = best_index(values, higher_is_better(cache))  # best on dev: the paper's definition of these baselines
    return {
        **_base(cache, "original"),
        "score": values[best],
        "metrics": dict(dev[best]),
        "best_step": steps[best],
        "last_checkpoint": {"score": values[-1], "metrics": dict(dev[-1]), "step": steps[-1]},
        "mean": sum(values) / len(values),
        "n": n if n is not None else len(values),
        "n_scored": len(values),
    }


def recon_cell(cache: dict) -> dict:
    """Dev scores of the autoencoder's reconstructions: best (as 'original' is defined), mean and last."""
    dev = cache["scores"]["dev"]
    values = _main_scores(dev)
    best = best_index(values, higher_is_better(cache))  # best on dev: the paper's definition of these baselines
    return {
        **_base(cache, "recon"),
        "score": values[best],
        "metrics": dict(dev[best]),
        "best_row": best,
        "mean": sum(values) / len(values),
        "last": values[-1],
        "n": len(values),
        "head": cache.get("head"),
    }


def soup_cell(cache: dict) -> dict:
    """The one scored row of a soup cache."""
    dev = cache["scores"]["dev"]
    if len(dev) != 1:
        raise ValueError(f"a soup cache scores one row, this one {len(dev)}")
    return {**_base(cache, "soup"), "score": float(dev[0]["score"]), "metrics": dict(dev[0]), "n": cache["info"].get("soup_of")}


def nolora_cell(cache: dict) -> dict:
    """The one scored row of a no-LoRA cache (the base model alone; image branch)."""
    dev = cache["scores"]["dev"]
    if len(dev) != 1:
        raise ValueError(f"a no-LoRA cache scores one row (the base model), this one {len(dev)}")
    return {**_base(cache, "nolora"), "score": float(dev[0]["score"]), "metrics": dict(dev[0])}


def cross_cell(cache: dict) -> dict:
    """One task's selected generated LoRA scored on another task (cross-task condition check)."""
    dev = cache["scores"]["dev"]
    if len(dev) != 1:
        raise ValueError(f"a cross-task cache scores one row (the selected candidate), this one {len(dev)}")
    rows = cache.get("rows") or {}
    return {
        **_base(cache, "cross"),
        "score": float(dev[0]["score"]),
        "metrics": dict(dev[0]),
        "params_file": cache.get("params_file"),
        "selected_row": rows.get("row"),
        "head": cache.get("head"),
    }


CELLS = {"cross": cross_cell, "generated": generated_cell, "nolora": nolora_cell, "original": original_cell, "recon": recon_cell, "soup": soup_cell}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("kind", choices=sorted(CELLS))
    p.add_argument("--scores", required=True, help="score cache written by condpdiff.text.score")
    p.add_argument("--selection", default=None, help="generated: the selection-split score cache (else in --scores)")
    p.add_argument("--n", type=int, default=None, help="original: the last n checkpoints")
    p.add_argument("--out", required=True, help="cell JSON")
    a = p.parse_args(argv)
    cache = load_json(a.scores, "score cache", SCORES_FORMAT, SCORE_KEYS)
    if a.selection is not None and a.kind != "generated":
        p.error("--selection applies to 'generated' only")
    if a.kind == "original":
        cell = original_cell(cache, a.n)
    elif a.kind == "generated" and a.selection is not None:
        cell = generated_cell(cache, load_json(a.selection, "score cache", SCORES_FORMAT, SCORE_KEYS))
        cell["selection_file"] = a.selection
    else:
        cell = CELLS[a.kind](cache)
    cell["scores_file"] = a.scores
    write_json(a.out, cell)


if __name__ == "__main__":
    main()
