"""The paper's tables from cached cell files (no scoring, no training): CSV + Markdown + HTML.

A table *spec* (JSON, built by ``pipeline.targets`` from the config) names every cell file:

    {"name": "table3", "title": "...", "kind": "plain" | "ablation" | "cross",
     "tasks": ["sst2", ...], "columns": ["generated", "original", "soup"],
     "rows": [{"label": {"backbone": "bert", "rank": 1},
               "cells": {"sst2": {"generated": "<path>", ...}, ...}}, ...]}

A cell entry is a path (its ``score`` is read) or ``{"path": ..., "field": "mean"}`` (with an
optional ``"metric"`` naming what that field measures, where it is not the cell's ``metric``). A
missing entry is an empty cell. The CSV is wide and numeric (``<task>/<column>``,
``avg/<column>``) plus one ``<task>/metric`` column per task (the cells' metric names). The
Markdown shows per task ``generated / original / soup`` (the paper's Table 1 layout), one
decimal, plus the average over tasks. Each task's header names its metric and direction
(``sst2 (acc ↑)``, ``stl06 (FID ↓)``); a task column whose every cell shows the same value (a
majority-class predictor scores the same everywhere) is marked and named in a note.

Bold marks the best value of a group, in the direction its cells record (``higher_is_better``),
compared at the shown precision: every tied best is bold, and a group whose values all tie (or
that holds one value) has no bold. The group is stated in each table's legend: the arms of one
row and task (plain), the rows of a task's first column (ablation), the rows of a task column
(cross-task, whose diagonal must win).

Kind ``"arms"`` (Table 1 and Table 2: one row per arm, each cell a mean over seeds with its 95%
interval, paired-difference rows) is laid out by ``condpdiff.evaluate.arms_table``.
"""

from __future__ import annotations

import argparse
import html
import json
import math
from pathlib import Path

import pandas as pd

from condpdiff.evaluate import arms_table
from condpdiff.evaluate.cells import best_index
from condpdiff.evaluate.table_cells import ARROWS, METRIC_LABELS, read_cell
from condpdiff.evaluate.table_cells import best_in as _best_in
from condpdiff.evaluate.table_cells import shown as _shown
from condpdiff.util.atomic import write_text

CONSTANT = "†"  # marks a task column whose every cell shows the same value
BOLD_GROUPS = {
    "plain": "the best of {arms} in each row and task",
    "ablation": "the best {first} of each task, down the rows",
    "cross": "the best row of each task column",
}


def build(spec: dict) -> tuple[pd.DataFrame, dict[str, bool]]:
    """The numeric table (one row per spec row: label columns, ``<task>/<column>``,
    ``avg/<column>``, then ``<task>/metric``, the metric names of the task's cells) and the
    direction of each task's metric."""
    tasks, columns = spec["tasks"], spec["columns"]
    records, direction, metrics = [], {}, {}
    for row in spec["rows"]:
        rec = dict(row["label"])
        for col in columns:
            values = []
            for task in tasks:
                v, higher, metric = read_cell(row["cells"].get(task, {}).get(col))
                if higher is not None:
                    if direction.setdefault(task, higher) != higher:
                        raise ValueError(
                            f"table {spec.get('name')}: task {task!r} mixes higher- and"
                            " lower-is-better cells"
                        )
                    known = metrics.setdefault(task, {}).setdefault(col, metric)
                    if known != metric:
                        raise ValueError(
                            f"table {spec.get('name')}: task {task!r}, column {col!r} mixes metrics"
                            f" {known!r} and {metric!r}: expected one metric per column"
                        )
                rec[f"{task}/{col}"] = v
                values.append(v)
            rec[f"avg/{col}"] = (
                math.nan if any(math.isnan(v) for v in values) else sum(values) / len(values)
            )
        records.append(rec)
    for task in tasks:  # one name, or one per column where they differ (a missing column: empty)
        per_col = [metrics.get(task, {}).get(c, "") for c in columns]
        named = {m for m in per_col if m}
        for rec in records:
            rec[f"{task}/metric"] = " / ".join(per_col) if len(named) > 1 else "".join(named)
    return pd.DataFrame.from_records(records), direction


def _digits(spec: dict) -> int:
    return spec.get("digits", 1)


def _bold_positions(
    df: pd.DataFrame, spec: dict, direction: dict[str, bool]
) -> set[tuple[int, str, str]]:
    """(row index, task, column) of every value shown in bold (see the module docstring)."""
    kind, columns, digits, out = spec.get("kind", "plain"), spec["columns"], _digits(spec), set()
    if not spec.get("bold", True):
        return out
    for task in spec["tasks"]:
        higher = direction.get(task, True)
        if kind == "plain":
            for i, r in df.iterrows():
                out |= {
                    (i, task, columns[j])
                    for j in _best_in([r[f"{task}/{c}"] for c in columns], higher, digits)
                }
        else:
            col = columns[0]
            out |= {
                (int(df.index[i]), task, col)
                for i in _best_in(list(df[f"{task}/{col}"]), higher, digits)
            }
    return out


def constant_columns(df: pd.DataFrame, spec: dict) -> dict[str, str]:
    """Task columns whose every cell (at least two, every row and arm) shows the same value:
    {task: the value shown}."""
    out, digits = {}, _digits(spec)
    for task in spec["tasks"]:
        values = [v for c in spec["columns"] for v in df[f"{task}/{c}"] if not math.isnan(v)]
        if len(values) > 1 and len({_shown(v, digits) for v in values}) == 1:
            out[task] = f"{values[0]:.{digits}f}"
    return out


def metric_label(df: pd.DataFrame, task: str) -> str:
    """A task's metric as its header shows it (`acc`, `FID`; per arm, `FID / FID / ratio`, where
    they differ)."""
    names = str(df[f"{task}/metric"].iloc[0]) if len(df) and f"{task}/metric" in df else ""
    return " / ".join(METRIC_LABELS.get(m, m) for m in names.split(" / ")) if names else ""


def headers(df: pd.DataFrame, spec: dict, direction: dict[str, bool]) -> dict[str, str]:
    """Each task's (and avg's) column header: name, metric, direction, constant-column mark."""
    constant, arrows = constant_columns(df, spec), spec.get("bold", True)
    out = {}
    for task in spec["tasks"]:
        arrow = f" {ARROWS[direction[task]]}" if arrows and task in direction else ""
        named = (
            f" ({metric_label(df, task)}{arrow})" if metric_label(df, task) else ""
        )  # no cell: no metric
        out[task] = f"{task}{named}{CONSTANT if task in constant else ''}"
    labels = {metric_label(df, t) for t in spec["tasks"]}
    ways = {direction.get(t) for t in spec["tasks"]}
    if len(labels) == 1 and "" not in labels and len(ways) == 1 and None not in ways:
        arrow = f" {ARROWS[ways.pop()]}" if arrows else ""
        out["avg"] = f"avg ({labels.pop()}{arrow})"
    else:
        out["avg"] = "avg (mean of tasks)"
    return out


def legend(df: pd.DataFrame, spec: dict, direction: dict[str, bool]) -> str:
    """What the cells are, what the headers say, which values are bold and why, what avg is."""
    columns, kind = spec["columns"], spec.get("kind", "plain")
    text = f"cells: {' / '.join(columns)}, scored on {spec.get('scored_on', 'dev')};"
    text += " each column's header names its metric"
    ways = sorted({h for h in direction.values()}, reverse=True)
    if spec.get("bold", True):
        text += (
            " and direction ("
            + ", ".join(f"{ARROWS[h]} {'higher' if h else 'lower'} is better" for h in ways)
            + ")"
        )
        group = BOLD_GROUPS[kind].format(arms=" / ".join(columns), first=columns[0])
        text += (
            f". Bold: {group}, compared at the shown precision; every tied best is bold, none where"
            " all values"
            " tie"
        )
    else:
        text += ". No bold: the columns are not ranked"
    return text + ". avg: the mean over the task columns (none where a task's cell is missing)."


def constant_note(df: pd.DataFrame, spec: dict) -> str:
    """The note naming each constant task column (empty when there is none)."""
    constant = constant_columns(df, spec)
    if not constant:
        return ""
    cols = ", ".join(f"{t} (every cell {v})" for t, v in constant.items())
    return (
        f"{CONSTANT} constant column: {cols}. Every arm and row scores the same (text: e.g. every"
        " model predicts the majority class; images: e.g. no LoRA changes the images at this"
        " size); such a column says nothing about the arms or rows and shows no bold."
    )


def diagonal_check(df: pd.DataFrame, spec: dict, direction: dict[str, bool]) -> dict[str, str]:
    """Cross-task table: per column task, ``win`` (the row generated for it is strictly best),
    ``tie`` (best, shared with another row) or ``lose``."""
    rows = [r["label"]["generated_for"] for r in spec["rows"]]
    out = {}
    for task in spec["tasks"]:
        values = list(df[f"{task}/score"])
        if task not in rows or any(math.isnan(v) for v in values):
            continue
        best = values[best_index(values, direction.get(task, True))]
        diagonal = values[rows.index(task)]
        out[task] = "lose" if diagonal != best else ("win" if values.count(best) == 1 else "tie")
    return out


def _parts(
    df: pd.DataFrame, spec: dict, direction: dict[str, bool], bold_fmt, digits: int | None = None
) -> dict:
    """Title, legend, notes, the shown cells (strings; bold through `bold_fmt`; columns named by
    `headers`) and the diagonal line."""
    tasks, columns = spec["tasks"], spec["columns"]
    digits = _digits(spec) if digits is None else digits
    label_cols = [c for c in df.columns if "/" not in c]
    bold = _bold_positions(df, spec, direction)
    names = headers(df, spec, direction)

    def fmt(i: int, task: str, col: str, v: float) -> str:
        text = "-" if math.isnan(v) else f"{v:.{digits}f}"
        return bold_fmt(text) if (i, task, col) in bold else text

    shown = pd.DataFrame({c: df[c].astype(str) for c in label_cols})
    for task in [*tasks, "avg"]:
        shown[names[task]] = [
            " / ".join(fmt(i, task, c, r[f"{task}/{c}"]) for c in columns) for i, r in df.iterrows()
        ]
    diagonal = ""
    if spec.get("kind") == "cross":
        check = diagonal_check(df, spec, direction)
        wins = [t for t, r in check.items() if r == "win"]
        others = {r: [t for t, x in check.items() if x == r] for r in ("tie", "lose")}
        diagonal = f"Diagonal wins its column: {len(wins)} of {len(check)}"
        diagonal += "".join(f"; {r}: {', '.join(ts)}" for r, ts in others.items() if ts)
    return {
        "title": spec.get("title", spec.get("name", "table")),
        "shown": shown,
        "diagonal": diagonal,
        "legend": legend(df, spec, direction),
        "notes": [x for x in (spec.get("note", ""), constant_note(df, spec)) if x],
        "task_headers": [names[t] for t in [*tasks, "avg"]],
    }


def to_markdown(
    df: pd.DataFrame, spec: dict, direction: dict[str, bool], digits: int | None = None
) -> str:
    t = _parts(df, spec, direction, lambda x: f"**{x}**", digits)
    notes = "".join(f"\n{n}\n" for n in t["notes"])
    text = f"## {t['title']}\n\n{t['legend']}\n{notes}\n{t['shown'].to_markdown(index=False)}\n"
    return text + (f"\n{t['diagonal']}\n" if t["diagonal"] else "")


# a plain table with more tasks than this is shown one task per line in HTML (the report's pane
# is narrow)
WIDE = 5


def to_html(
    df: pd.DataFrame, spec: dict, direction: dict[str, bool], digits: int | None = None
) -> str:
    """The Markdown table as one small HTML page (what the Snakemake report shows); a plain or
    ablation table with many tasks (8 styles) is transposed, a task per line, to fit the pane."""
    t = _parts(df, spec, direction, lambda x: f"<b>{x}</b>", digits)
    shown = t["shown"]
    if len(spec["tasks"]) > WIDE and spec.get("kind") != "cross":
        labels = [c for c in shown.columns if c not in t["task_headers"]]
        shown = shown.set_index(labels).T
        shown.columns = [
            " ".join(f"{k} {v}" for k, v in zip(labels, c if isinstance(c, tuple) else (c,)))
            for c in shown.columns
        ]
        shown = shown.rename_axis(spec.get("task_label", "task")).reset_index()
    table = shown.to_html(index=False, escape=False, border=0, classes="cells")
    extra = "".join(f"<p>{html.escape(x)}</p>" for x in (*t["notes"], t["diagonal"]) if x)
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(t['title'])}</title><style>"
        "body{font-family:sans-serif;margin:1.5em;color:#222} table.cells{border-collapse:collapse}"
        " .cells th,.cells td{padding:.35em .8em;border-bottom:1px solid #ccc;text-align:right;"
        "white-space:nowrap}"
        " p{max-width:70em}</style></head><body>"
        f"<h2>{html.escape(t['title'])}</h2><p>{html.escape(t['legend'])}</p>{extra}{table}"
        "</body></html>\n"
    )


def write(
    spec: dict, csv_path: str | Path, md_path: str | Path, html_path: str | Path | None = None
) -> pd.DataFrame:
    """CSV, Markdown and (given a path) HTML of a spec; kind ``arms`` is laid out by
    ``evaluate.arms_table``."""
    if spec.get("kind") == "arms":
        df, md, page = arms_table.render(spec)
    else:
        df, direction = build(spec)
        md, page = to_markdown(df, spec, direction), to_html(df, spec, direction)
    write_text(csv_path, df.to_csv(index=False, float_format="%.4f"))
    write_text(md_path, md)
    if html_path is not None:
        write_text(html_path, page)
    return df


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--spec", required=True, help="table spec: a JSON string, or @file to read it from a file"
    )
    p.add_argument("--csv", required=True)
    p.add_argument("--md", required=True)
    p.add_argument(
        "--html", default=None, help="the same table as an HTML page (for the Snakemake report)"
    )
    a = p.parse_args(argv)
    spec = json.loads(Path(a.spec[1:]).read_text() if a.spec.startswith("@") else a.spec)
    write(spec, a.csv, a.md, a.html)
    print(Path(a.md).read_text())


if __name__ == "__main__":
    main()
