"""Cells and tables for a metric where lower is better (FID): every 'best' is the smallest, and a
cache that does not say which way is better is refused."""

from __future__ import annotations

import json

import pytest

from condpdiff.evaluate import cells, make_table
from condpdiff.evaluate.cells import (
    cross_cell,
    generated_cell,
    original_cell,
    recon_cell,
    soup_cell,
)
from condpdiff.pipeline.artifacts import SCORES_FORMAT
from condpdiff.util.atomic import write_json


def fid_cache(sel, dev, **extra):
    """A score cache of a lower-is-better metric."""
    return {
        "format": SCORES_FORMAT,
        "task": "style",
        "metric": "fid",
        "higher_is_better": False,
        "steps": list(range(len(dev))),
        "splits": {"selection": {"n_examples": 100, "seed": 0}, "dev": {"n_examples": 50}},
        "scores": {
            "selection": [{"score": s, "fid": s} for s in sel],
            "dev": [{"score": d, "fid": d} for d in dev],
        },
        "info": {"soup_of": 5},
        **extra,
    }


def test_generated_picks_the_smallest_on_the_selection_split():
    c = fid_cache(
        sel=[30.0, 12.0, 20.0, 12.0], dev=[5.0, 40.0, 8.0, 1.0]
    )  # dev would pick row 3 (or 0)
    cell = generated_cell(c)
    assert (cell["selected_row"], cell["selection_score"], cell["score"]) == (
        1,
        12.0,
        40.0,
    )  # first of the tie
    assert cell["higher_is_better"] is False and cell["metric"] == "fid"


def test_generated_with_a_separate_selection_cache():
    dev = fid_cache(sel=[], dev=[5.0, 40.0, 8.0], params_file="c", n_rows=3, head="file")
    del dev["scores"]["selection"]
    sel = fid_cache(sel=[9.0, 7.0, 3.0], dev=[], params_file="c", n_rows=3, head="file")
    cell = generated_cell(dev, sel)
    assert (cell["selected_row"], cell["score"]) == (2, 8.0)


def test_original_and_recon_pick_the_smallest_dev():
    c = fid_cache(sel=[0] * 5, dev=[1.0, 30.0, 20.0, 25.0, 22.0])
    cell = original_cell(c, n=3)  # steps 2..4
    assert (cell["score"], cell["best_step"]) == (20.0, 2) and cell["higher_is_better"] is False
    assert cell["last_checkpoint"]["score"] == 22.0 and cell["mean"] == pytest.approx(67 / 3)
    assert original_cell(c)["score"] == 1.0
    r = recon_cell(fid_cache(sel=[0, 0, 0], dev=[50.0, 70.0, 10.0]))
    assert (r["score"], r["best_row"], r["last"]) == (10.0, 2, 10.0) and r[
        "higher_is_better"
    ] is False


def test_soup_and_cross_cells_carry_the_direction():
    assert soup_cell(fid_cache(sel=[0], dev=[12.5]))["higher_is_better"] is False
    c = fid_cache(sel=[], dev=[9.5], rows={"row": 2})
    assert cross_cell(c)["higher_is_better"] is False


@pytest.mark.parametrize("kind", sorted(cells.CELLS))
def test_a_cache_without_direction_is_refused_naming_the_fix(kind):
    c = fid_cache(sel=[1.0], dev=[2.0], rows={"row": 0}, params_file="old_scores.json")
    del c["higher_is_better"]
    with pytest.raises(
        ValueError,
        match=r"old_scores\.json: score cache .*'higher_is_better'.*"
        r"To rebuild: .*`snakemake old_scores\.json --force",
    ):
        cells.CELLS[kind](c, where="old_scores.json")


def test_a_selection_cache_without_direction_is_refused():
    dev = fid_cache(sel=[], dev=[5.0, 4.0], params_file="c", n_rows=2)
    sel = fid_cache(sel=[1.0, 2.0], dev=[], params_file="c", n_rows=2)
    del sel["higher_is_better"]
    with pytest.raises(ValueError, match="higher_is_better"):
        generated_cell(dev, sel)


def test_cell_cli_keeps_the_direction(tmp_path):
    write_json(tmp_path / "s.json", fid_cache(sel=[3.0, 1.0], dev=[7.0, 9.0]))
    cells.main(
        ["generated", "--scores", str(tmp_path / "s.json"), "--out", str(tmp_path / "g.json")]
    )
    cell = json.loads((tmp_path / "g.json").read_text())
    assert cell["higher_is_better"] is False and cell["selected_row"] == 1 and cell["score"] == 9.0


# --- tables ---


def put_cell(path, score, higher_is_better=False):
    metric = "accuracy" if higher_is_better else "fid"
    write_json(
        path,
        {
            "format": cells.CELL_FORMAT,
            "score": score,
            "mean": score + 1,
            "metric": metric,
            "higher_is_better": higher_is_better,
        },
    )
    return str(path)


def test_plain_table_bolds_the_smallest(tmp_path):
    cells_ = {
        "style_a": {k: put_cell(tmp_path / f"a_{k}.json", v)
                    for k, v in {"generated": 12.0, "original": 15.0, "soup": 13.0}.items()},
        "acc": {k: put_cell(tmp_path / f"b_{k}.json", v, True)
                for k, v in {"generated": 80.0, "original": 85.0, "soup": 70.0}.items()},
    }  # fmt: skip
    spec = {"name": "t", "title": "T", "kind": "plain", "tasks": ["style_a", "acc"],
            "columns": ["generated", "original", "soup"],
            "rows": [{"label": {"model": "m"}, "cells": cells_}]}  # fmt: skip
    df, direction = make_table.build(spec)
    assert direction == {"style_a": False, "acc": True}
    md = make_table.to_markdown(df, spec, direction)
    assert "**12.0** / 15.0 / 13.0" in md  # FID: the smallest
    assert "80.0 / **85.0** / 70.0" in md  # accuracy: the largest
    assert (
        "↑ higher is better, ↓ lower is better" in md
        and "style_a (FID ↓)" in md
        and "acc (acc ↑)" in md
    )


def test_ablation_bolds_the_smallest_down_the_first_column(tmp_path):
    rows = []
    for norm, (gen, orig) in {
        "none": (30.0, 10.0),
        "task": (12.0, 11.0),
        "batch": (14.0, 9.0),
    }.items():
        rows.append({"label": {"norm": norm}, "cells": {"style": {
            "generated": put_cell(tmp_path / f"{norm}_g.json", gen),
            "original": put_cell(tmp_path / f"{norm}_o.json", orig)}}})  # fmt: skip
    spec = {
        "name": "t4a",
        "kind": "ablation",
        "tasks": ["style"],
        "columns": ["generated", "original"],
        "rows": rows,
    }
    df, direction = make_table.build(spec)
    md = make_table.to_markdown(df, spec, direction)
    assert "**12.0** / 11.0" in md and "30.0 / 10.0" in md and "14.0 / 9.0" in md
    assert md.count("**") == 2  # one bold value: the original column is not ranked


def cross_spec(tmp_path, scores: dict[str, dict[str, float]], higher_is_better: bool) -> dict:
    tasks = list(scores)
    rows = [
        {"label": {"generated_for": src},
         "cells": {t: {"score": put_cell(tmp_path / f"{src}_{t}.json", scores[src][t],
                                         higher_is_better)}
                   for t in tasks}}
        for src in tasks
    ]  # fmt: skip
    return {
        "name": "table_cross",
        "title": "Cross",
        "kind": "cross",
        "tasks": tasks,
        "columns": ["score"],
        "rows": rows,
    }


def test_cross_table_diagonal_wins_when_smallest_for_lower_is_better(tmp_path):
    # row = generated for, column = task scored; FID: the diagonal is smallest in a and b, not in c
    scores = {
        "a": {"a": 10.0, "b": 30.0, "c": 25.0},
        "b": {"a": 20.0, "b": 12.0, "c": 8.0},
        "c": {"a": 40.0, "b": 35.0, "c": 9.0},
    }
    spec = cross_spec(tmp_path, scores, higher_is_better=False)
    df, direction = make_table.build(spec)
    assert make_table.diagonal_check(df, spec, direction) == {"a": "win", "b": "win", "c": "lose"}
    md = make_table.to_markdown(df, spec, direction)
    assert "Diagonal wins its column: 2 of 3; lose: c\n" in md
    assert "**10.0**" in md and "**12.0**" in md and "**8.0**" in md  # the smallest of each column
    assert "**9.0**" not in md


def test_cross_table_same_numbers_read_as_higher_is_better(tmp_path):
    scores = {
        "a": {"a": 10.0, "b": 30.0, "c": 25.0},
        "b": {"a": 20.0, "b": 12.0, "c": 8.0},
        "c": {"a": 40.0, "b": 35.0, "c": 9.0},
    }
    spec = cross_spec(tmp_path, scores, higher_is_better=True)
    df, direction = make_table.build(spec)
    assert make_table.diagonal_check(df, spec, direction) == {"a": "lose", "b": "lose", "c": "lose"}
    assert "Diagonal wins its column: 0 of 3; lose: a, b, c\n" in make_table.to_markdown(
        df, spec, direction
    )


def test_cross_table_tie_on_the_diagonal_is_not_a_win(tmp_path):
    # lower is better: column a's diagonal ties with row c;
    # b's and c's diagonals are strictly smallest
    scores = {
        "a": {"a": 5.0, "b": 9.0, "c": 9.0},
        "b": {"a": 7.0, "b": 1.0, "c": 9.0},
        "c": {"a": 5.0, "b": 9.0, "c": 2.0},
    }
    spec = cross_spec(tmp_path, scores, higher_is_better=False)
    df, direction = make_table.build(spec)
    assert make_table.diagonal_check(df, spec, direction) == {"a": "tie", "b": "win", "c": "win"}
    md = make_table.to_markdown(df, spec, direction)
    assert "Diagonal wins its column: 2 of 3; tie: a\n" in md
    all_win = {
        "a": {"a": 9.0, "b": 1.0, "c": 1.0},
        "b": {"a": 1.0, "b": 9.0, "c": 1.0},
        "c": {"a": 1.0, "b": 1.0, "c": 9.0},
    }
    spec = cross_spec(tmp_path, all_win, higher_is_better=True)
    df, direction = make_table.build(spec)
    assert "Diagonal wins its column: 3 of 3\n" in make_table.to_markdown(df, spec, direction)
