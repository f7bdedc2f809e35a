"""Which of several scores is best (higher-is-better accuracy or lower-is-better FID), and racing
candidates by successive halving so that most of them are dropped after a few examples."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence


def best_index(values: Sequence[float], higher_is_better: bool = True) -> int:
    """Index of the best value: the largest, or the smallest where lower is better (FID).

    The first wins ties; NaN never wins (all NaN: index 0).
    """
    if len(values) == 0:
        raise ValueError("no candidates to select from")
    sign = 1.0 if higher_is_better else -1.0
    best, best_i = -math.inf, None
    for i, v in enumerate(values):
        v = float(v)
        if not math.isnan(v) and (best_i is None or sign * v > best):
            best, best_i = sign * v, i
    return 0 if best_i is None else best_i


def successive_halving(
    n_candidates: int,
    n_examples: int,
    first: int,
    score: Callable[[int, int], float],
    higher_is_better: bool = True,
) -> tuple[int, list[dict]]:
    """Pick the best candidate by successive halving over a growing prefix of the examples.

    All candidates are scored on the first `first` examples; the better half (rounded up) goes
    on; the prefix doubles; and so on, until one candidate is left or the prefix is all
    `n_examples` (then the best on all of them wins); the last one standing is not scored further. `score(i, b)` is candidate i's metric on
    the first b examples: the caller caches predictions, so extending a prefix only computes the
    new examples. Ties keep the lower index, NaN never survives a better value. Returns the
    winner and the rounds (prefix size, candidates alive, their scores).
    """
    if n_candidates < 1 or n_examples < 1:
        raise ValueError(f"successive halving needs candidates and examples, got {n_candidates} and {n_examples}")
    if first < 1:
        raise ValueError(f"the first slice must hold at least one example, got {first}")
    alive, b, rounds = list(range(n_candidates)), min(first, n_examples), []
    while True:
        values = [score(i, b) for i in alive]
        rounds.append({"examples": b, "alive": list(alive), "scores": values})
        if len(alive) == 1 or b == n_examples:
            return alive[best_index(values, higher_is_better)], rounds
        keep, order = (len(alive) + 1) // 2, []
        remaining = list(range(len(alive)))
        while len(order) < keep:  # best first; best_index breaks ties by position and skips NaN
            j = remaining[best_index([values[k] for k in remaining], higher_is_better)]
            order.append(j)
            remaining.remove(j)
        alive = [alive[j] for j in sorted(order)]
        if len(alive) == 1:  # the last one standing needs no more examples
            return alive[0], rounds
        b = min(2 * b, n_examples)


def selected_row(selection_cache: dict) -> int:
    """The row a selection score cache picks: its race's winner (``scoring.selection_race``),
    else the best selection-split score in the cache's direction."""
    if "race" in selection_cache:
        return int(selection_cache["race"]["winner"])
    values = [float(m["score"]) for m in selection_cache["scores"]["selection"]]
    return best_index(values, bool(selection_cache["higher_is_better"]))
