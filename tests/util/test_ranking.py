"""Successive halving picks (nearly) what scoring every candidate on every example picks, for a
fraction of the evaluations; best_index / selected_row honour the metric's direction."""

from __future__ import annotations

import re

import numpy as np
import pytest

from condpdiff.util.ranking import NaNScoreError, best_index, selected_row, successive_halving


def race_on(matrix: np.ndarray, first: int, higher_is_better: bool = True):
    """Race over a [candidates, examples] matrix of per-example outcomes; count evaluations."""
    evaluated = {}

    def score(i: int, b: int) -> float:
        evaluated[i] = max(evaluated.get(i, 0), b)
        return float(matrix[i, :b].mean())

    winner, rounds = successive_halving(
        matrix.shape[0], matrix.shape[1], first, score, higher_is_better
    )
    return winner, rounds, sum(evaluated.values())


def test_rounds_halve_the_candidates_and_double_the_prefix():
    rng = np.random.default_rng(0)
    p = np.append(np.linspace(0.6, 0.7, 19), 0.95)  # candidate 19 is clearly the best
    matrix = (rng.random((20, 1000)) < p[:, None]).astype(float)
    winner, rounds, evaluations = race_on(matrix, 125)
    assert [r["examples"] for r in rounds] == [125, 250, 500, 1000]
    assert [len(r["alive"]) for r in rounds] == [20, 10, 5, 3]
    # each candidate is scored up to the prefix it was dropped at (predictions are extended,
    # not redone)
    assert evaluations == 10 * 125 + 5 * 250 + 2 * 500 + 3 * 1000 == 6500
    assert winner == 19  # the clearly best candidate survives every round


def test_stops_when_one_is_left_and_follows_the_direction():
    matrix = np.array([[5.0] * 8, [1.0] * 8, [3.0] * 8])  # e.g. FID-like: lower is better
    winner, rounds, _ = race_on(matrix, 2, higher_is_better=False)
    assert winner == 1
    assert [len(r["alive"]) for r in rounds] == [3, 2]  # then one is left: no third round
    winner, _, _ = race_on(matrix, 2, higher_is_better=True)
    assert winner == 0
    # a first slice as large as the split: one round, the best on all examples
    winner, rounds, _ = race_on(matrix, 100)
    assert winner == 0 and len(rounds) == 1 and rounds[0]["examples"] == 8


def test_ties_keep_the_lower_index():
    matrix = np.array([[0.5] * 4, [1.0] * 4, [1.0] * 4, [0.0] * 4])
    winner, rounds, _ = race_on(matrix, 1)
    assert winner == 1
    assert rounds[1]["alive"] == [1, 2]


def test_a_nan_score_stops_the_race_naming_the_candidate_and_round():
    """A NaN is never raced past (before: candidate 0 silently dropped as the worst)."""
    matrix = np.array([[1.0] * 4, [np.nan] * 4, [1.0] * 4, [0.0] * 4])
    with pytest.raises(
        NaNScoreError,
        match=re.escape(
            "cands.safetensors, race round on the first 1 examples: "
            "1 of 4 scores are NaN (candidate 1)"
        ),
    ):
        successive_halving(
            4, 4, 1, lambda i, b: float(matrix[i, :b].mean()), what="cands.safetensors"
        )
    # NaN only after the first round: named with the candidate's own index among the survivors
    late = np.array([[1.0, np.nan], [0.0, 0.0], [1.0, 1.0]])
    with pytest.raises(
        NaNScoreError,
        match=re.escape("race round on the first 2 examples: 1 of 2 scores are NaN (candidate 0)"),
    ):
        successive_halving(3, 2, 1, lambda i, b: float(late[i, :b].mean()))


@pytest.mark.parametrize("higher", [True, False])
def test_best_index_refuses_nan_instead_of_skipping_it(higher):
    # before: a NaN best row was skipped (the next one picked) and all NaN gave row 0
    with pytest.raises(NaNScoreError, match=re.escape("dev scores: 1 of 3 scores are NaN (row 1)")):
        best_index([1.0, float("nan"), 2.0], higher, "dev scores")
    with pytest.raises(
        NaNScoreError, match=re.escape("3 of 3 scores are NaN (step 10, step 20, step 30)")
    ):
        best_index([float("nan")] * 3, higher, rows=["step 10", "step 20", "step 30"])
    assert best_index([1.0, 3.0, 3.0, 0.5], higher) == (1 if higher else 3)


def test_best_index_of_a_table_passes_over_missing_entries_but_not_all():
    nan = float("nan")
    assert best_index([nan, 1.0, 2.0], True, missing_ok=True) == 2
    assert best_index([nan, 1.0, 2.0], False, missing_ok=True) == 1
    with pytest.raises(NaNScoreError, match="table row: all 2 entries are missing"):
        best_index([nan, nan], True, "table row", missing_ok=True)


@pytest.mark.parametrize("bad", [(0, 10, 1), (3, 0, 1), (3, 10, 0)])
def test_refuses_empty_races(bad):
    with pytest.raises(ValueError):
        successive_halving(*bad, score=lambda i, b: 0.0)


def test_agrees_with_full_scoring_on_synthetic_score_matrices():
    """200 seeded races of 20 candidates whose accuracies lie within 5 points (like the demo's
    candidates), 1,000 selection examples, first slice 125: how often the race picks the
    full-split winner, and what it costs on the full split when it does not."""
    rng = np.random.default_rng(1)
    same, regrets, evaluations = 0, [], []
    for _ in range(200):
        p = rng.uniform(0.75, 0.80, size=20)
        matrix = (rng.random((20, 1000)) < p[:, None]).astype(float)
        full = matrix.mean(1)
        winner, _, n = race_on(matrix, 125)
        best = int(np.argmax(full))
        same += winner == best
        regrets.append(100 * (full[best] - full[winner]))
        evaluations.append(n)
    agreement, mean_regret = same / 200, float(np.mean(regrets))
    print(
        f"agreement {agreement:.2f}, mean regret {mean_regret:.2f} points, evaluations "
        f"{np.mean(evaluations):.0f} of 20000"
    )
    assert np.mean(evaluations) == 6500  # 3.1x fewer example evaluations than 20 x 1000
    assert (
        agreement >= 0.5
    )  # measured 0.66: a 5-point band of 20 candidates is hard to split on 125 examples
    assert (
        mean_regret < 1.0
    )  # measured 0.33 points: when it picks another candidate, that one is nearly as good
    assert max(regrets) < 3.5


def test_selected_row_reads_a_race_winner_or_the_best_score():
    cache = {
        "higher_is_better": True,
        "scores": {"selection": [{"score": 1.0}, {"score": 3.0}, {"score": 2.0}]},
    }
    assert selected_row(cache) == 1
    assert selected_row({**cache, "higher_is_better": False}) == 0
    assert selected_row({**cache, "race": {"winner": 2}}) == 2


def test_selected_row_refuses_nan_selection_scores_naming_the_cache():
    nan = float("nan")
    cache = {
        "higher_is_better": True,
        "scores": {"selection": [{"score": 1.0}, {"score": nan}, {"score": 2.0}]},
    }
    with pytest.raises(
        NaNScoreError,
        match=re.escape("sel.json: selection split: 1 of 3 scores are NaN (candidate 1)"),
    ):
        selected_row(cache, "sel.json")
    all_nan = {**cache, "scores": {"selection": [{"score": nan}] * 3}}
    with pytest.raises(NaNScoreError, match="3 of 3 scores are NaN"):  # before: row 0
        selected_row(all_nan, "sel.json")
    raced = {
        **cache,
        "race": {
            "winner": 2,
            "rounds": [{"examples": 4, "alive": [0, 1, 2], "scores": [1.0, nan, 2.0]}],
        },
    }
    with pytest.raises(
        NaNScoreError,
        match=re.escape(
            "sel.json: race round on the first 4 selection examples: "
            "1 of 3 scores are NaN (candidate 1)"
        ),
    ):
        selected_row(raced, "sel.json")
    with pytest.raises(ValueError, match="race winner 7 is not one of its 3 rows"):
        selected_row({**cache, "race": {"winner": 7, "rounds": []}}, "sel.json")
