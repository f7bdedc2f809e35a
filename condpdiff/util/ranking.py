"""Which of several scores is best (higher-is-better accuracy or lower-is-better FID), and racing
candidates by successive halving so that most of them are dropped after a few examples.

A NaN score is never ranked: it is not skipped (the next row would be reported as if it were
the best) and an all-NaN list does not give row 0. Every function here raises `NaNScoreError`
naming the scores (`what`), the rows and how many are NaN. Only a table passes
``missing_ok=True``: there a NaN is an entry the table does not have (an empty cell, shown as
such), and cells never hold NaN (``evaluate.cells``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence


class NaNScoreError(ValueError):
    """A NaN among scores that something is selected from."""


def nan_rows(values: Sequence[float]) -> list[int]:
    return [i for i, v in enumerate(values) if math.isnan(float(v))]


def check_scores(
    values: Sequence[float], what: str = "scores", rows: Sequence | None = None
) -> None:
    """`NaNScoreError` if any of `values` is NaN; `rows` names each value (default ``row <i>``)."""
    bad = nan_rows(values)
    if bad:
        names = [str(rows[i]) if rows is not None else f"row {i}" for i in bad]
        shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
        raise NaNScoreError(
            f"{what}: {len(bad)} of {len(values)} scores are NaN ({shown}): a NaN score cannot be"
            " ranked or reported, so nothing is selected from them; rescore them, or find why the"
            " metric is undefined"
        )


def best_index(
    values: Sequence[float],
    higher_is_better: bool = True,
    what: str = "scores",
    missing_ok: bool = False,
    rows: Sequence | None = None,
) -> int:
    """Index of the best value: the largest, or the smallest where lower is better (FID); the
    first wins ties.

    A NaN value is a `NaNScoreError` naming `what` and the row (`rows[i]`, default ``row i``). With
    ``missing_ok`` (tables: NaN = an entry the table does not have) NaN entries are passed over,
    but all of them missing is still an error.
    """
    if len(values) == 0:
        raise ValueError(f"{what}: no candidates to select from")
    if missing_ok:
        present = [i for i, v in enumerate(values) if not math.isnan(float(v))]
        if not present:
            raise NaNScoreError(
                f"{what}: all {len(values)} entries are missing (NaN): there is no best one"
            )
    else:
        check_scores(values, what, rows)
        present = range(len(values))
    sign = 1.0 if higher_is_better else -1.0
    best_i = present[0]
    for i in present:
        if sign * float(values[i]) > sign * float(values[best_i]):
            best_i = i
    return best_i


def successive_halving(
    n_candidates: int,
    n_examples: int,
    first: int,
    score: Callable[[int, int], float],
    higher_is_better: bool = True,
    what: str = "candidates",
) -> tuple[int, list[dict]]:
    """Pick the best candidate by successive halving over a growing prefix of the examples.

    All candidates are scored on the first `first` examples; the better half (rounded up) goes
    on; the prefix doubles; and so on, until one candidate is left or the prefix is all
    `n_examples` (then the best on all of them wins); the last one standing is not scored
    further. `score(i, b)` is candidate i's metric on the first b examples: the caller caches
    predictions, so extending a prefix only computes the new examples. Ties keep the lower
    index; a NaN score is a `NaNScoreError` naming `what`, the round's prefix and the candidate.
    Returns the winner and the rounds (prefix size, candidates alive, their scores).
    """
    if n_candidates < 1 or n_examples < 1:
        raise ValueError(
            f"successive halving needs candidates and examples, got {n_candidates} and {n_examples}"
        )
    if first < 1:
        raise ValueError(f"the first slice must hold at least one example, got {first}")
    alive, b, rounds = list(range(n_candidates)), min(first, n_examples), []
    while True:
        values = [score(i, b) for i in alive]
        rounds.append({"examples": b, "alive": list(alive), "scores": values})
        round_what, names = (
            f"{what}, race round on the first {b} examples",
            [f"candidate {i}" for i in alive],
        )
        check_scores(values, round_what, names)
        if len(alive) == 1 or b == n_examples:
            return alive[best_index(values, higher_is_better, round_what)], rounds
        keep, order = (len(alive) + 1) // 2, []
        remaining = list(range(len(alive)))
        while len(order) < keep:  # best first; best_index breaks ties by position
            j = remaining[best_index([values[k] for k in remaining], higher_is_better, round_what)]
            order.append(j)
            remaining.remove(j)
        alive = [alive[j] for j in sorted(order)]
        if len(alive) == 1:  # the last one standing needs no more examples
            return alive[0], rounds
        b = min(2 * b, n_examples)


def selected_row(selection_cache: dict, where: str = "selection score cache") -> int:
    """The row a selection score cache picks: its race's winner (``scoring.selection_race``),
    else the best selection-split score in the cache's direction. A NaN among the scores it
    picks from is a `NaNScoreError` naming `where` (the cache's file) and the rows."""
    values = [float(m["score"]) for m in selection_cache["scores"]["selection"]]
    if "race" in selection_cache:
        race = selection_cache["race"]
        for r in race.get("rounds", []):
            check_scores(
                r["scores"],
                f"{where}: race round on the first {r['examples']} selection examples",
                [f"candidate {i}" for i in r["alive"]],
            )
        winner = int(race["winner"])
        if not 0 <= winner < len(values):
            raise ValueError(f"{where}: race winner {winner} is not one of its {len(values)} rows")
        check_scores(
            [values[winner]], f"{where}: selection split, the race winner", [f"candidate {winner}"]
        )
        return winner
    return best_index(
        values,
        bool(selection_cache["higher_is_better"]),
        f"{where}: selection split",
        rows=[f"candidate {i}" for i in range(len(values))],
    )
