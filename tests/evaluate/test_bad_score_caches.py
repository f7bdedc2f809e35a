"""A cell is never made from a bad score cache: the error names the cache and what it lacks,
and no cell is written."""

from __future__ import annotations

import json
import re

import pytest

from condpdiff.evaluate import cells
from condpdiff.evaluate.cells import CELL_FORMAT
from condpdiff.evaluate.make_table import read_cell
from condpdiff.pipeline.artifacts import SCORES_FORMAT, ArtifactError
from condpdiff.util.atomic import write_json

CACHE = {
    "format": SCORES_FORMAT,
    "task": "sst2",
    "metric": "accuracy",
    "higher_is_better": True,
    "steps": [0, 1, 2],
    "splits": {"selection": {"n_examples": 100}, "dev": {"n_examples": 50}},
    "scores": {
        "selection": [{"score": s} for s in (1.0, 3.0, 2.0)],
        "dev": [{"score": s} for s in (5.0, 4.0, 6.0)],
    },
    "info": {},
}


@pytest.fixture
def paths(tmp_path):
    """(score cache, cell) where the workflow keeps them, so the rebuild hint names the rule."""
    return (
        tmp_path / "results" / "tiny_r2" / "sst2" / "candidate_scores.json",
        tmp_path / "results" / "tiny_r2" / "sst2" / "cells" / "generated.json",
    )


def make_cell(cache, out):
    cells.main(["generated", "--scores", str(cache), "--out", str(out)])


def test_a_good_cache_makes_a_cell(paths):
    cache, out = paths
    write_json(cache, CACHE)
    make_cell(cache, out)
    assert json.loads(out.read_text())["score"] == 4.0


def test_a_truncated_score_cache(paths, assert_not_written):
    cache, out = paths
    write_json(cache, CACHE)
    cache.write_text(
        cache.read_text()[:200]
    )  # cut short mid-write by something other than write_json
    with pytest.raises(ArtifactError) as e:
        make_cell(cache, out)
    msg = str(e.value)
    print(msg)
    assert msg.startswith(f"{cache}: unreadable score cache (truncated or not JSON); found")
    assert "reruns rule score_candidates" in msg
    assert_not_written(out)


def test_a_score_cache_that_is_not_json(paths, assert_not_written):
    cache, out = paths
    cache.parent.mkdir(parents=True)
    cache.write_bytes(b"\x00\x01 not json \xff")
    with pytest.raises(
        ArtifactError, match=re.escape(f"{cache}: unreadable score cache (truncated or not JSON)")
    ) as e:
        make_cell(cache, out)
    print(e.value)
    cache.write_text("[1, 2, 3]\n")  # JSON, but not a score cache
    with pytest.raises(
        ArtifactError,
        match=re.escape(f"{cache}: not a score cache; expected a JSON object; found list"),
    ):
        make_cell(cache, out)
    assert_not_written(out)


def test_a_score_cache_without_higher_is_better(paths, assert_not_written):
    cache, out = paths
    write_json(cache, {k: v for k, v in CACHE.items() if k != "higher_is_better"})
    with pytest.raises(ArtifactError) as e:
        make_cell(cache, out)
    msg = str(e.value)
    print(msg)
    assert msg.startswith(
        f"{cache}: incomplete score cache; expected keys ['task', 'metric', 'higher_is_better', "
        "'scores', 'steps']; found no ['higher_is_better']"
    )
    assert "reruns rule score_candidates" in msg
    assert_not_written(out)


def test_a_score_cache_of_another_format(paths, assert_not_written):
    cache, out = paths
    write_json(cache, {**CACHE, "format": "condpdiff-scores/0"})
    with pytest.raises(
        ArtifactError,
        match=re.escape(
            f"{cache}: not a score cache; expected format "
            f"'{SCORES_FORMAT}'; found 'condpdiff-scores/0'"
        ),
    ):
        make_cell(cache, out)
    assert_not_written(out)


def test_a_bad_selection_cache(paths, assert_not_written):
    cache, out = paths
    write_json(cache, CACHE)
    selection = cache.parent / "selection_scores.json"
    write_json(selection, {k: v for k, v in CACHE.items() if k != "scores"})
    with pytest.raises(
        ArtifactError,
        match=re.escape(f"{selection}: incomplete score cache")
        + ".*no \\['scores'\\].*reruns rule score_selection",
    ):
        cells.main(
            ["generated", "--scores", str(cache), "--selection", str(selection), "--out", str(out)]
        )
    assert_not_written(out)


def test_a_missing_score_cache(paths, assert_not_written):
    cache, out = paths
    with pytest.raises(
        FileNotFoundError,
        match=re.escape(
            f"{cache}: score cache not found. To rebuild: run `snakemake {cache} --force --cores "
            "all"
        ),
    ):
        make_cell(cache, out)
    assert_not_written(out)


def test_a_truncated_cell(tmp_path):
    cell = tmp_path / "results" / "generated.json"
    write_json(cell, {"format": CELL_FORMAT, "score": 1.0, "higher_is_better": True})
    cell.write_text(cell.read_text()[:20])
    with pytest.raises(
        ArtifactError,
        match=re.escape(f"{cell}: unreadable table cell (truncated or not JSON)")
        + ".*make_generated_cell",
    ):
        read_cell(str(cell))


def test_a_cell_holding_nan_is_named_not_shown_as_a_dash(tmp_path):
    """Cells refuse NaN (evaluate.cells); one written by older code is an error naming it, not an
    empty '-'."""
    cell = tmp_path / "results" / "sst2" / "generated.json"
    write_json(
        cell,
        {
            "format": CELL_FORMAT,
            "score": float("nan"),
            "higher_is_better": True,
            "metric": "accuracy",
        },
    )
    with pytest.raises(
        ArtifactError,
        match=re.escape(f"{cell}: table cell whose 'score' is NaN; expected a number; found NaN")
        + ".*reruns rule make_generated_cell",
    ):
        read_cell(str(cell))


def test_a_nan_score_cache_makes_no_cell(paths, assert_not_written):
    from condpdiff.util.ranking import NaNScoreError

    cache, out = paths
    selection = [{"score": s} for s in (1.0, float("nan"), 2.0)]
    write_json(cache, {**CACHE, "scores": {**CACHE["scores"], "selection": selection}})
    with pytest.raises(
        NaNScoreError,
        match=re.escape(f"{cache}: selection split: 1 of 3 scores are NaN (candidate 1)"),
    ):
        make_cell(cache, out)
    assert_not_written(out)
