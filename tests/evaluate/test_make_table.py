"""Tables from fixture cell files: layout, averages, missing cells, bold best values, CLI."""

from __future__ import annotations

import json
import math

import pytest

from condpdiff.evaluate import make_table as tables
from condpdiff.evaluate.cells import CELL_FORMAT
from condpdiff.util.atomic import write_json


@pytest.fixture
def spec(tmp_path):
    values = {
        ("bert", 1): {"sst2": (91.6, 91.6, 90.8), "rte": (57.4, 58.9, 57.9)},
        ("bert", 16): {"sst2": (92.0, 91.0, 90.0), "rte": (60.0, 61.0, 59.0)},
    }
    rows = []
    for (backbone, rank), per_task in values.items():
        cells = {}
        for task, triple in per_task.items():
            cells[task] = {}
            for kind, v in zip(("generated", "original", "soup"), triple):
                path = tmp_path / f"{backbone}_{rank}_{task}_{kind}.json"
                write_json(path, {"format": CELL_FORMAT, "score": v, "mean": v - 1, "higher_is_better": True})
                cells[task][kind] = str(path)
        rows.append({"label": {"backbone": backbone, "rank": rank}, "cells": cells})
    return {"name": "table1", "title": "Table 1", "kind": "plain", "tasks": ["sst2", "rte"],
            "columns": ["generated", "original", "soup"], "rows": rows}  # fmt: skip


def markdown(spec) -> str:
    df, direction = tables.build(spec)
    return tables.to_markdown(df, spec, direction)


def test_build_numeric(spec):
    df, direction = tables.build(spec)
    assert direction == {"sst2": True, "rte": True}
    assert list(df["backbone"]) == ["bert", "bert"] and list(df["rank"]) == [1, 16]
    assert df.loc[0, "sst2/generated"] == 91.6 and df.loc[1, "rte/soup"] == 59.0
    assert df.loc[0, "avg/generated"] == pytest.approx((91.6 + 57.4) / 2)
    assert df.loc[0, "avg/original"] == pytest.approx((91.6 + 58.9) / 2)


def test_markdown_layout(spec):
    md = markdown(spec)
    # the best of each cell in bold (the first on ties), higher is better
    assert "**91.6** / 91.6 / 90.8" in md and "57.4 / **58.9** / 57.9" in md
    assert "| 74.5 / 75.2 / 74.3 |" in md  # the paper-style average entry (never bold: tasks may differ in direction)
    assert "generated / original / soup (dev; higher is better, best in bold)" in md
    assert "Diagonal" not in md


def test_missing_cell_and_field(spec, tmp_path):
    del spec["rows"][0]["cells"]["rte"]["soup"]
    spec["rows"][1]["cells"]["sst2"]["generated"] = {"path": spec["rows"][1]["cells"]["sst2"]["generated"],
                                                     "field": "mean"}  # fmt: skip
    df, direction = tables.build(spec)
    assert math.isnan(df.loc[0, "rte/soup"]) and math.isnan(df.loc[0, "avg/soup"])
    assert df.loc[1, "sst2/generated"] == pytest.approx(91.0)
    md = tables.to_markdown(df, spec, direction)
    assert "57.4 / **58.9** / -" in md  # the missing cell is a dash, and never the best
    assert "**91.0** / 91.0 / 90.0" in md  # the "mean" field of the generated cell


def test_cli_writes_csv_and_md(spec, tmp_path):
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    tables.main(["--spec", f"@{tmp_path / 'spec.json'}", "--csv", str(tmp_path / "t.csv"), "--md", str(tmp_path / "t.md")])
    import pandas as pd

    df = pd.read_csv(tmp_path / "t.csv")
    assert df.loc[1, "sst2/original"] == pytest.approx(91.0)
    assert (tmp_path / "t.md").read_text().startswith("## Table 1")


def test_a_cell_without_direction_is_refused(spec, tmp_path):
    path = spec["rows"][0]["cells"]["sst2"]["generated"]
    write_json(path, {"format": CELL_FORMAT, "score": 91.6})
    with pytest.raises(ValueError, match=r"sst2_generated\.json.*higher_is_better"):
        tables.build(spec)


def test_a_task_mixing_directions_is_refused(spec):
    path = spec["rows"][1]["cells"]["rte"]["soup"]
    write_json(path, {"format": CELL_FORMAT, "score": 59.0, "higher_is_better": False})
    with pytest.raises(ValueError, match="rte.*mixes"):
        tables.build(spec)


def test_ablation_bolds_down_the_first_column(spec):
    spec = {**spec, "kind": "ablation", "columns": ["generated", "original"]}
    md = markdown(spec)
    lines = [line for line in md.splitlines() if line.startswith("| bert")]
    assert "91.6 / 91.6" in lines[0] and "**92.0** / 91.0" in lines[1]  # sst2: rank 16 wins
    assert "57.4 / 58.9" in lines[0] and "**60.0** / 61.0" in lines[1]  # original is never bold


def test_html_page_carries_the_markdown_cells_and_bold(spec, tmp_path):
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    tables.main(["--spec", f"@{tmp_path / 'spec.json'}", "--csv", str(tmp_path / "t.csv"), "--md", str(tmp_path / "t.md"),
                 "--html", str(tmp_path / "t.html")])
    page = (tmp_path / "t.html").read_text()
    md = (tmp_path / "t.md").read_text()
    assert page.startswith("<!doctype html>") and "<h2>Table 1" in page
    assert md.count("**") // 2 == page.count("<b>") > 0  # the same best cells in bold
    assert "<table" in page and page.count("<tr") == len(spec["rows"]) + 1  # header + one row per table row


def test_html_shows_a_wide_table_one_task_per_line(spec):
    """More tasks than tables.WIDE (8 styles): the HTML page puts a task per line, the Markdown stays wide."""
    sst2 = spec["rows"][0]["cells"]["sst2"]
    tasks = [f"t{i}" for i in range(tables.WIDE + 2)]
    spec = {**spec, "tasks": tasks, "task_label": "style",
            "rows": [{**row, "cells": {t: row["cells"]["sst2"] for t in tasks}} for row in spec["rows"]]}
    df, direction = tables.build(spec)
    page = tables.to_html(df, spec, direction)
    assert page.count("<tr") == len(tasks) + 2  # header, a line per task, avg
    assert "<th>style</th>" in page and "<th>backbone bert rank 1</th>" in page and "<th>backbone bert rank 16</th>" in page
    assert page.count("<b>") == markdown(spec).count("**") // 2 and sst2
    assert markdown(spec).splitlines()[4].count("|") == len(tasks) + 4  # 2 labels + tasks + avg, wide
