"""Tables from fixture cell files: layout, metric per column, averages, missing cells, bold best
values (ties, stated rule), constant columns, CLI, HTML."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from condpdiff.evaluate import make_table as tables
from condpdiff.evaluate.cells import CELL_FORMAT
from condpdiff.util.atomic import write_json

METRICS = {"sst2": "accuracy", "cola": "matthews", "mrpc": "f1", "stsb": "pearson", "stl06": "fid"}


def put(path, value, metric="accuracy", higher=True, **extra) -> str:
    write_json(
        path,
        {
            "format": CELL_FORMAT,
            "score": value,
            "mean": value - 1,
            "metric": metric,
            "higher_is_better": higher,
            **extra,
        },
    )
    return str(path)


def make_spec(
    tmp_path, values: dict, kind: str = "plain", columns=("generated", "original", "soup")
) -> dict:
    """values: {(backbone, rank): {task: (a value per column)}}; each task's metric from METRICS."""
    rows = []
    for (backbone, rank), per_task in values.items():
        cells = {}
        for task, vals in per_task.items():
            metric = METRICS[task]
            cells[task] = {
                k: put(tmp_path / f"{backbone}_{rank}_{task}_{k}.json", v, metric, metric != "fid")
                for k, v in zip(columns, vals)
            }
        rows.append({"label": {"backbone": backbone, "rank": rank}, "cells": cells})
    tasks = list(next(iter(values.values())))
    return {
        "name": "table1",
        "title": "Table 1",
        "kind": kind,
        "tasks": tasks,
        "columns": list(columns),
        "rows": rows,
    }


@pytest.fixture
def spec(tmp_path):
    return make_spec(
        tmp_path,
        {
            ("bert", 1): {"sst2": (91.6, 91.6, 90.8), "cola": (57.4, 58.9, 57.9)},
            ("bert", 16): {"sst2": (92.0, 91.0, 90.0), "cola": (60.0, 61.0, 59.0)},
        },
    )


def markdown(spec) -> str:
    df, direction = tables.build(spec)
    return tables.to_markdown(df, spec, direction)


def cells_of(md: str) -> list[list[str]]:
    """The Markdown table's lines as stripped cells (header first, the |---| line dropped)."""
    lines = [line for line in md.splitlines() if line.startswith("|") and not line.startswith("|:")]
    return [[c.strip() for c in line.strip("|").split("|")] for line in lines]


def test_build_numeric(spec):
    df, direction = tables.build(spec)
    assert direction == {"sst2": True, "cola": True}
    assert list(df["backbone"]) == ["bert", "bert"] and list(df["rank"]) == [1, 16]
    assert df.loc[0, "sst2/generated"] == 91.6 and df.loc[1, "cola/soup"] == 59.0
    assert df.loc[0, "avg/generated"] == pytest.approx((91.6 + 57.4) / 2)
    assert df.loc[0, "avg/original"] == pytest.approx((91.6 + 58.9) / 2)
    assert (
        list(df["sst2/metric"]) == ["accuracy"] * 2 and list(df["cola/metric"]) == ["matthews"] * 2
    )


def test_markdown_layout(spec):
    md = markdown(spec)
    assert cells_of(md)[0] == [
        "backbone",
        "rank",
        "sst2 (acc ↑)",
        "cola (MCC ↑)",
        "avg (mean of tasks)",
    ]  # metric
    # the best of each row and task in bold, higher is better; a tie bolds every tied best
    assert "**91.6** / **91.6** / 90.8" in md and "57.4 / **58.9** / 57.9" in md
    assert (
        cells_of(md)[1][-1] == "74.5 / 75.2 / 74.3"
    )  # the paper-style average entry (never bold: tasks may differ in direction)
    legend = md.splitlines()[2]
    assert legend.startswith("cells: generated / original / soup, scored on dev")
    assert "↑ higher is better" in legend and "lower" not in legend
    assert "Bold: the best of generated / original / soup in each row and task" in legend
    assert "every tied best is bold, none where all values tie" in legend
    assert "Diagonal" not in md and tables.CONSTANT not in md


def test_every_glue_metric_and_fid_are_named(tmp_path):
    spec = make_spec(
        tmp_path,
        {
            ("bert", 1): {
                "sst2": (1, 2),
                "mrpc": (3, 4),
                "cola": (5, 6),
                "stsb": (7, 8),
                "stl06": (9, 10),
            }
        },
        columns=("generated", "original"),
    )
    md = markdown(spec)
    assert cells_of(md)[0][2:-1] == [
        "sst2 (acc ↑)",
        "mrpc (F1 ↑)",
        "cola (MCC ↑)",
        "stsb (Pearson ↑)",
        "stl06 (FID ↓)",
    ]
    assert "↑ higher is better, ↓ lower is better" in md
    assert "**9.0** / 10.0" in md  # FID: the smaller is bold


def test_image_table_names_fid_and_its_average(tmp_path):
    spec = make_spec(tmp_path, {("pixart", 4): {"stl06": (30.0, 25.0, 28.0)}})
    spec.update(digits=2, scored_on="reference images")
    md = markdown(spec)
    assert (
        cells_of(md)[0][2:] == ["stl06 (FID ↓)", "avg (FID ↓)"]
        and "30.00 / **25.00** / 28.00" in md
    )
    assert "scored on reference images" in md and "↓ lower is better" in md and "higher" not in md


def test_a_field_names_its_own_metric_and_an_unranked_table_says_so(tmp_path):
    """image_screen: floor and nolora are FIDs, ratio is their ratio (the cell's metric); no bold,
    no arrows."""
    path = put(tmp_path / "screen.json", 2.0, "fid_ratio", True, floor=10.0, nolora=20.0, ratio=2.0)
    cells = {
        f: {"path": path, "field": f, "metric": m}
        for f, m in {"floor": "fid", "nolora": "fid"}.items()
    }
    cells["ratio"] = {"path": path, "field": "ratio"}
    spec = {
        "name": "image_screen",
        "kind": "plain",
        "bold": False,
        "tasks": ["stl06"],
        "digits": 2,
        "columns": ["floor", "nolora", "ratio"],
        "rows": [{"label": {"base": "b"}, "cells": {"stl06": cells}}],
    }
    df, direction = tables.build(spec)
    assert df.loc[0, "stl06/metric"] == "fid / fid / fid_ratio"
    md = tables.to_markdown(df, spec, direction)
    assert cells_of(md)[0][1] == "stl06 (FID / FID / ratio)" and "10.00 / 20.00 / 2.00" in md
    assert "No bold" in md and "**" not in md and "↑" not in md


def test_constant_column_is_marked_named_and_never_bold(tmp_path):
    """A majority-class predictor scores the same everywhere (smoke syn_topic: 65.3): flagged."""
    spec = make_spec(
        tmp_path,
        {
            ("bert", 1): {"sst2": (91.6, 91.0, 90.8), "mrpc": (65.3, 65.3, 65.3)},
            ("bert", 16): {"sst2": (92.0, 91.0, 90.0), "mrpc": (65.3, 65.3, 65.3)},
        },
    )
    df, direction = tables.build(spec)
    assert tables.constant_columns(df, spec) == {"mrpc": "65.3"}
    md = tables.to_markdown(df, spec, direction)
    assert cells_of(md)[0][2:4] == ["sst2 (acc ↑)", f"mrpc (F1 ↑){tables.CONSTANT}"]
    assert (
        f"{tables.CONSTANT} constant column: mrpc (every cell 65.3)" in md
        and "majority class" in md
    )
    assert [row[3] for row in cells_of(md)[1:]] == ["65.3 / 65.3 / 65.3"] * 2  # no bold in it
    page = tables.to_html(df, spec, direction)
    assert (
        f"<th>mrpc (F1 ↑){tables.CONSTANT}</th>" in page
        and "constant column: mrpc (every cell 65.3)" in page
    )


def test_one_different_value_is_not_a_constant_column(tmp_path):
    spec = make_spec(
        tmp_path,
        {("bert", 1): {"mrpc": (65.3, 65.3, 65.3)}, ("bert", 16): {"mrpc": (65.3, 70.0, 65.3)}},
    )
    df, direction = tables.build(spec)
    assert tables.constant_columns(df, spec) == {}
    md = tables.to_markdown(df, spec, direction)
    assert [row[2] for row in cells_of(md)[1:]] == [
        "65.3 / 65.3 / 65.3",
        "65.3 / **70.0** / 65.3",
    ]  # all tie: no bold
    assert tables.CONSTANT not in md


def test_ties_are_judged_at_the_shown_precision(tmp_path):
    spec = make_spec(tmp_path, {("bert", 1): {"sst2": (91.62, 91.58, 90.0)}})
    assert "**91.6** / **91.6** / 90.0" in markdown(spec)  # both show 91.6: both are best


def test_missing_cell_and_field(spec):
    del spec["rows"][0]["cells"]["cola"]["soup"]
    spec["rows"][1]["cells"]["sst2"]["generated"] = {
        "path": spec["rows"][1]["cells"]["sst2"]["generated"],
        "field": "mean",
    }
    df, direction = tables.build(spec)
    assert math.isnan(df.loc[0, "cola/soup"]) and math.isnan(df.loc[0, "avg/soup"])
    assert df.loc[1, "sst2/generated"] == pytest.approx(91.0)
    md = tables.to_markdown(df, spec, direction)
    assert "57.4 / **58.9** / -" in md  # the missing cell is a dash, and never the best
    assert (
        "**91.0** / **91.0** / 90.0" in md
    )  # the "mean" field of the generated cell, tied with original
    assert "cola (MCC ↑)" in md  # the metric is read from the cells that exist


def test_cli_writes_csv_md_and_the_csv_stays_numeric(spec, tmp_path):
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    tables.main(
        [
            "--spec",
            f"@{tmp_path / 'spec.json'}",
            "--csv",
            str(tmp_path / "t.csv"),
            "--md",
            str(tmp_path / "t.md"),
        ]
    )
    df = pd.read_csv(tmp_path / "t.csv")
    assert df.loc[1, "sst2/original"] == pytest.approx(91.0)
    assert all(
        df[c].dtype == float for c in df.columns if c.split("/")[-1] in spec["columns"]
    )  # values numeric
    assert df.loc[0, "cola/metric"] == "matthews" and df.columns[-2:].tolist() == [
        "sst2/metric",
        "cola/metric",
    ]
    assert (tmp_path / "t.md").read_text().startswith("## Table 1")


def test_a_cell_without_direction_or_metric_is_refused(spec):
    path = spec["rows"][0]["cells"]["sst2"]["generated"]
    write_json(path, {"format": CELL_FORMAT, "score": 91.6, "metric": "accuracy"})
    with pytest.raises(ValueError, match=r"sst2_generated\.json.*higher_is_better"):
        tables.build(spec)
    write_json(path, {"format": CELL_FORMAT, "score": 91.6, "higher_is_better": True})
    with pytest.raises(ValueError, match=r"sst2_generated\.json.*no \['metric'\]"):
        tables.build(spec)


def test_a_task_mixing_directions_is_refused(spec):
    path = spec["rows"][1]["cells"]["cola"]["soup"]
    put(path, 59.0, "matthews", False)
    with pytest.raises(ValueError, match="cola.*mixes"):
        tables.build(spec)


def test_a_column_mixing_metrics_is_refused(spec):
    put(spec["rows"][1]["cells"]["cola"]["soup"], 59.0, "accuracy")
    with pytest.raises(
        ValueError, match="task 'cola', column 'soup' mixes metrics 'matthews' and 'accuracy'"
    ):
        tables.build(spec)


def test_ablation_bolds_down_the_first_column_and_says_so(spec):
    spec = {**spec, "kind": "ablation", "columns": ["generated", "original"]}
    md = markdown(spec)
    lines = [line for line in md.splitlines() if line.startswith("| bert")]
    assert "91.6 / 91.6" in lines[0] and "**92.0** / 91.0" in lines[1]  # sst2: rank 16 wins
    assert "57.4 / 58.9" in lines[0] and "**60.0** / 61.0" in lines[1]  # original is never bold
    assert "Bold: the best generated of each task, down the rows" in md


def test_ablation_bolds_every_tied_row(tmp_path):
    values = {("bert", r): {"sst2": (g, 90.0)} for r, g in ((1, 91.0), (2, 93.0), (4, 93.0))}
    md = markdown(make_spec(tmp_path, values, kind="ablation", columns=("generated", "original")))
    assert [row[2] for row in cells_of(md)[1:]] == [
        "91.0 / 90.0",
        "**93.0** / 90.0",
        "**93.0** / 90.0",
    ]


def test_html_page_carries_the_markdown_cells_headers_and_bold(spec, tmp_path):
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    tables.main(
        [
            "--spec",
            f"@{tmp_path / 'spec.json'}",
            "--csv",
            str(tmp_path / "t.csv"),
            "--md",
            str(tmp_path / "t.md"),
            "--html",
            str(tmp_path / "t.html"),
        ]
    )
    page = (tmp_path / "t.html").read_text()
    md = (tmp_path / "t.md").read_text()
    assert page.startswith("<!doctype html>") and "<h2>Table 1" in page
    assert md.count("**") // 2 == page.count("<b>") > 0  # the same best cells in bold
    assert (
        "<table" in page and page.count("<tr") == len(spec["rows"]) + 1
    )  # header + one row per table row
    assert "<th>sst2 (acc ↑)</th>" in page and "<th>cola (MCC ↑)</th>" in page
    assert "Bold: the best of generated / original / soup in each row and task" in page


def test_html_shows_a_wide_table_one_task_per_line(spec):
    """More tasks than tables.WIDE (8 styles): the HTML page puts a task per line, the Markdown
    stays wide."""
    tasks = [f"t{i}" for i in range(tables.WIDE + 2)]
    spec = {
        **spec,
        "tasks": tasks,
        "task_label": "style",
        "rows": [
            {**row, "cells": {t: row["cells"]["sst2"] for t in tasks}} for row in spec["rows"]
        ],
    }
    df, direction = tables.build(spec)
    page = tables.to_html(df, spec, direction)
    assert page.count("<tr") == len(tasks) + 2  # header, a line per task, avg
    assert (
        "<th>style</th>" in page
        and "<th>backbone bert rank 1</th>" in page
        and "<th>backbone bert rank 16</th>" in page
    )
    assert (
        "<td>t0 (acc ↑)</td>" in page and "<td>avg (acc ↑)</td>" in page
    )  # the metric on each task's line
    assert page.count("<b>") == markdown(spec).count("**") // 2 > 0
    assert (
        markdown(spec).splitlines()[4].count("|") == len(tasks) + 4
    )  # 2 labels + tasks + avg, wide
