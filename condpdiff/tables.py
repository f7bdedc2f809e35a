"""The paper's tables from cached cell files (no scoring, no training): CSV + Markdown.

A table *spec* (JSON, built by the workflow from the config) names every cell file:

    {"name": "table1", "title": "...", "tasks": ["sst2", ...], "columns": ["generated", "original", "soup"],
     "rows": [{"label": {"backbone": "bert", "rank": 1},
               "cells": {"sst2": {"generated": "<path>", ...}, ...}}, ...]}

A cell entry is a path (its ``score`` is read) or ``{"path": ..., "field": "mean"}``. A missing
entry is an empty cell. The CSV is wide and numeric (``<task>/<column>`` and ``avg/<column>``);
the Markdown shows per task ``generated / original / soup`` (the paper's Table 1 layout), one
decimal, plus the average over tasks.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import pandas as pd

from condpdiff.atomic import write_text


def read_cell(entry) -> float:
    if entry is None:
        return math.nan
    path, field = (entry, "score") if isinstance(entry, str) else (entry["path"], entry.get("field", "score"))
    with open(path) as fh:
        value = json.load(fh)[field]
    return math.nan if value is None else float(value)


def build(spec: dict) -> pd.DataFrame:
    """One row per spec row: label columns, then ``<task>/<column>`` and ``avg/<column>`` (numeric)."""
    tasks, columns = spec["tasks"], spec["columns"]
    records = []
    for row in spec["rows"]:
        rec = dict(row["label"])
        for col in columns:
            values = []
            for task in tasks:
                v = read_cell(row["cells"].get(task, {}).get(col))
                rec[f"{task}/{col}"] = v
                values.append(v)
            rec[f"avg/{col}"] = math.nan if any(math.isnan(v) for v in values) else sum(values) / len(values)
        records.append(rec)
    return pd.DataFrame.from_records(records)


def to_markdown(df: pd.DataFrame, spec: dict, digits: int = 1) -> str:
    tasks, columns = spec["tasks"], spec["columns"]
    label_cols = [c for c in df.columns if "/" not in c]

    def fmt(v: float) -> str:
        return "-" if math.isnan(v) else f"{v:.{digits}f}"

    shown = pd.DataFrame({c: df[c].astype(str) for c in label_cols})
    for task in [*tasks, "avg"]:
        shown[task] = [" / ".join(fmt(r[f"{task}/{c}"]) for c in columns) for _, r in df.iterrows()]
    title = spec.get("title", spec.get("name", "table"))
    legend = "cells: " + " / ".join(columns) + " (dev, x100)"
    note = f"\n{spec['note']}\n" if spec.get("note") else ""
    return f"## {title}\n\n{legend}\n{note}\n{shown.to_markdown(index=False)}\n"


def write(spec: dict, csv_path: str | Path, md_path: str | Path) -> pd.DataFrame:
    df = build(spec)
    write_text(csv_path, df.to_csv(index=False, float_format="%.4f"))
    write_text(md_path, to_markdown(df, spec))
    return df


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--spec", required=True, help="table spec: a JSON string, or @file to read it from a file")
    p.add_argument("--csv", required=True)
    p.add_argument("--md", required=True)
    a = p.parse_args(argv)
    spec = json.loads(Path(a.spec[1:]).read_text() if a.spec.startswith("@") else a.spec)
    df = write(spec, a.csv, a.md)
    print(to_markdown(df, spec))


if __name__ == "__main__":
    main()
