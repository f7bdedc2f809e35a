"""The paper's tables from cached cell files (no scoring, no training): CSV + Markdown.

A table *spec* (JSON, built by ``pipeline.targets`` from the config) names every cell file:

    {"name": "table1", "title": "...", "kind": "plain" | "ablation" | "cross",
     "tasks": ["sst2", ...], "columns": ["generated", "original", "soup"],
     "rows": [{"label": {"backbone": "bert", "rank": 1},
               "cells": {"sst2": {"generated": "<path>", ...}, ...}}, ...]}

A cell entry is a path (its ``score`` is read) or ``{"path": ..., "field": "mean"}``. A missing
entry is an empty cell. The CSV is wide and numeric (``<task>/<column>`` and ``avg/<column>``).
The Markdown shows per task ``generated / original / soup`` (the paper's Table 1 layout), one
decimal, plus the average over tasks, and bolds the best value in the direction each cell
records (``higher_is_better``; FID: lower): within a cell of a plain table, down the first
column of an ablation table, down each column of the cross-task table, whose diagonal must win.
"""

from __future__ import annotations

import argparse
import html
import json
import math
from pathlib import Path

import pandas as pd

from condpdiff.evaluate.cells import CELL_FORMAT, best_index
from condpdiff.pipeline.artifacts import load_json
from condpdiff.util.atomic import write_text


def read_cell(entry) -> tuple[float, bool | None]:
    """(value, higher_is_better) of a cell entry; (nan, None) for a missing entry."""
    if entry is None:
        return math.nan, None
    path, field = (entry, "score") if isinstance(entry, str) else (entry["path"], entry.get("field", "score"))
    cell = load_json(path, "table cell", CELL_FORMAT, keys=("score", "higher_is_better", field))
    value = cell[field]
    return (math.nan if value is None else float(value)), bool(cell["higher_is_better"])


def build(spec: dict) -> tuple[pd.DataFrame, dict[str, bool]]:
    """The numeric table (one row per spec row: label columns, ``<task>/<column>``, ``avg/<column>``)
    and the direction of each task's metric."""
    tasks, columns = spec["tasks"], spec["columns"]
    records, direction = [], {}
    for row in spec["rows"]:
        rec = dict(row["label"])
        for col in columns:
            values = []
            for task in tasks:
                v, higher = read_cell(row["cells"].get(task, {}).get(col))
                if higher is not None:
                    if direction.setdefault(task, higher) != higher:
                        raise ValueError(f"table {spec.get('name')}: task {task!r} mixes higher- and lower-is-better cells")
                rec[f"{task}/{col}"] = v
                values.append(v)
            rec[f"avg/{col}"] = math.nan if any(math.isnan(v) for v in values) else sum(values) / len(values)
        records.append(rec)
    return pd.DataFrame.from_records(records), direction


def _bold_positions(df: pd.DataFrame, spec: dict, direction: dict[str, bool]) -> set[tuple[int, str, str]]:
    """(row index, task, column) of every value shown in bold."""
    kind, columns, out = spec.get("kind", "plain"), spec["columns"], set()
    if not spec.get("bold", True):
        return out
    for task in spec["tasks"]:
        higher = direction.get(task, True)
        if kind == "plain":
            for i, r in df.iterrows():
                values = [r[f"{task}/{c}"] for c in columns]
                if not all(math.isnan(v) for v in values):
                    out.add((i, task, columns[best_index(values, higher)]))
        else:
            col = columns[0]
            values = list(df[f"{task}/{col}"])
            if values and not all(math.isnan(v) for v in values):
                out.add((best_index(values, higher), task, col))
    return out


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


def _parts(df: pd.DataFrame, spec: dict, direction: dict[str, bool], bold_fmt, digits: int | None = None) -> dict:
    """Title, legend, note, the shown cells (strings; bold through `bold_fmt`) and the diagonal line."""
    tasks, columns = spec["tasks"], spec["columns"]
    digits = spec.get("digits", 1) if digits is None else digits
    label_cols = [c for c in df.columns if "/" not in c]
    bold = _bold_positions(df, spec, direction)

    def fmt(i: int, task: str, col: str, v: float) -> str:
        text = "-" if math.isnan(v) else f"{v:.{digits}f}"
        return bold_fmt(text) if (i, task, col) in bold else text

    shown = pd.DataFrame({c: df[c].astype(str) for c in label_cols})
    for task in [*tasks, "avg"]:
        shown[task] = [" / ".join(fmt(i, task, c, r[f"{task}/{c}"]) for c in columns) for i, r in df.iterrows()]
    ways = sorted({"higher" if h else "lower" for h in direction.values()})
    better = f"; {' or '.join(ways)} is better, best in bold" if ways and spec.get("bold", True) else ""
    diagonal = ""
    if spec.get("kind") == "cross":
        check = diagonal_check(df, spec, direction)
        wins = [t for t, r in check.items() if r == "win"]
        others = {r: [t for t, x in check.items() if x == r] for r in ("tie", "lose")}
        diagonal = f"Diagonal wins its column: {len(wins)} of {len(check)}"
        diagonal += "".join(f"; {r}: {', '.join(ts)}" for r, ts in others.items() if ts)
    return {"title": spec.get("title", spec.get("name", "table")), "shown": shown, "diagonal": diagonal,
            "legend": "cells: " + " / ".join(columns) + f" ({spec.get('scored_on', 'dev')}{better})",
            "note": spec.get("note", "")}


def to_markdown(df: pd.DataFrame, spec: dict, direction: dict[str, bool], digits: int | None = None) -> str:
    t = _parts(df, spec, direction, lambda x: f"**{x}**", digits)
    note = f"\n{t['note']}\n" if t["note"] else ""
    text = f"## {t['title']}\n\n{t['legend']}\n{note}\n{t['shown'].to_markdown(index=False)}\n"
    return text + (f"\n{t['diagonal']}\n" if t["diagonal"] else "")


WIDE = 5  # a plain table with more tasks than this is shown one task per line in HTML (the report's pane is narrow)


def to_html(df: pd.DataFrame, spec: dict, direction: dict[str, bool], digits: int | None = None) -> str:
    """The Markdown table as one small HTML page (what the Snakemake report shows); a plain or
    ablation table with many tasks (8 styles) is transposed, a task per line, so it fits the pane."""
    t = _parts(df, spec, direction, lambda x: f"<b>{x}</b>", digits)
    shown = t["shown"]
    if len(spec["tasks"]) > WIDE and spec.get("kind") != "cross":
        labels = [c for c in shown.columns if c not in (*spec["tasks"], "avg")]
        shown = shown.set_index(labels).T
        shown.columns = [" ".join(f"{k} {v}" for k, v in zip(labels, c if isinstance(c, tuple) else (c,)))
                         for c in shown.columns]
        shown = shown.rename_axis(spec.get("task_label", "task")).reset_index()
    table = shown.to_html(index=False, escape=False, border=0, classes="cells")
    extra = "".join(f"<p>{html.escape(x)}</p>" for x in (t["note"], t["diagonal"]) if x)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(t['title'])}</title><style>"
            "body{font-family:sans-serif;margin:1.5em;color:#222} table.cells{border-collapse:collapse}"
            " .cells th,.cells td{padding:.35em .8em;border-bottom:1px solid #ccc;text-align:right;white-space:nowrap}"
            " p{max-width:70em}</style></head><body>"
            f"<h2>{html.escape(t['title'])}</h2><p>{html.escape(t['legend'])}</p>{extra}{table}</body></html>\n")


def write(spec: dict, csv_path: str | Path, md_path: str | Path, html_path: str | Path | None = None) -> pd.DataFrame:
    df, direction = build(spec)
    write_text(csv_path, df.to_csv(index=False, float_format="%.4f"))
    write_text(md_path, to_markdown(df, spec, direction))
    if html_path is not None:
        write_text(html_path, to_html(df, spec, direction))
    return df


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--spec", required=True, help="table spec: a JSON string, or @file to read it from a file")
    p.add_argument("--csv", required=True)
    p.add_argument("--md", required=True)
    p.add_argument("--html", default=None, help="the same table as an HTML page (for the Snakemake report)")
    a = p.parse_args(argv)
    spec = json.loads(Path(a.spec[1:]).read_text() if a.spec.startswith("@") else a.spec)
    write(spec, a.csv, a.md, a.html)
    print(Path(a.md).read_text())


if __name__ == "__main__":
    main()
