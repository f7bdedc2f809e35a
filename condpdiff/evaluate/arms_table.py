"""The arms layout (spec kind ``"arms"``: Table 1 and Table 2): one row per arm, each cell the
mean over seeds with its 95% interval, ``64.0 [63.2, 64.8]`` (one replicate: ``64.0 (one seed)``).

    {"name": "table1", "kind": "arms", "tasks": ["sst2", ...], "columns": ["score"],
     "rows": [{"label": {"backbone": "bert", "rank": 1, "arm": "generated"},
               "role": "arm" | "difference" | "measure",
               "cells": {"sst2": {"score": ENTRY}, ...}}, ...]}

ENTRY is a plain cell entry (a path or ``{"path", "field"}``: one replicate),
``{"replicates": [entry, ...], "groups": [f, ...]}`` (one fine-tune seed f per replicate) or, in
a difference row, ``{"diff": [[entry_a, entry_b], ...], "groups": [f, ...]}`` (a - b per paired
replicate). The interval is ``intervals.nested_interval`` over the replicates (two or more
fine-tune seeds: over their means; otherwise over the generator seeds). The avg column takes the
mean over tasks per replicate, then the same rule.

Rows that share every label but ``arm`` form a block (one backbone x rank x generator setting).
Bold: the best mean of each block and task among its ``arm`` rows (never a difference or
measure row), in the task's direction, at the shown precision (every tied best; none where all
tie). A difference row's interval that excludes zero gets a ``*``. A ``measure`` row (the
memorisation ratio) is shown with its own ``digits`` (default 2) and never bold.

The CSV holds per row the labels, ``<task>/mean``, ``<task>/lo``, ``<task>/hi``, ``<task>/n``
(``n``: the independent units of the interval), the same for ``avg``, then ``<task>/metric``.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

import pandas as pd

from condpdiff.evaluate.intervals import Interval, nested_interval
from condpdiff.evaluate.table_cells import ARROWS, METRIC_LABELS, best_in, read_cell, shown

ROLES = ("arm", "difference", "measure")
STATS = ("mean", "lo", "hi", "n")
MISSING = Interval(math.nan, math.nan, math.nan, 0)
CONSTANT = "†"
MEASURE_DIGITS = 2


@dataclass(frozen=True)
class Cell:
    """One shown cell: its interval, the per-replicate values and fine-tune seeds (for avg), and
    what its cells measure."""

    interval: Interval
    values: tuple[float, ...] = ()
    groups: tuple = ()
    higher: bool | None = None
    metric: str | None = None


def _same_measure(reads: list[tuple[float, bool | None, str | None]], entries: list) -> tuple:
    """(higher_is_better, metric) shared by every read cell; a mix is a named error."""
    kinds = {(h, m) for _, h, m in reads}
    if len(kinds) > 1:
        raise ValueError(
            f"the replicates {entries!r} mix metrics or directions {sorted(kinds, key=str)}:"
            " expected one metric per cell"
        )
    return kinds.pop()


def read_entry(entry, role: str) -> tuple[list[float], list, bool | None, str | None]:
    """(values, groups, higher_is_better, metric) of one ENTRY (see the module docstring); a
    missing entry has no values."""
    if entry is None:
        return [], [], None, None
    is_diff = isinstance(entry, dict) and "diff" in entry
    if is_diff != (role == "difference"):
        raise ValueError(
            f"a row of role {role!r} holds {'a diff' if is_diff else 'a plain'} entry {entry!r}:"
            " expected"
            f" {'diff entries' if role == 'difference' else 'plain or replicates entries'}"
        )
    if is_diff:
        pairs = entry["diff"]
        bad = [p for p in pairs if not isinstance(p, (list, tuple)) or len(p) != 2]
        if bad:
            raise ValueError(f"a diff entry's pairs must be [a, b]; found {bad!r}")
        a_reads, b_reads = [read_cell(a) for a, _ in pairs], [read_cell(b) for _, b in pairs]
        higher, metric = _same_measure(a_reads + b_reads, pairs)
        values = [a[0] - b[0] for a, b in zip(a_reads, b_reads)]
        return values, list(entry.get("groups", [])), higher, metric
    if isinstance(entry, dict) and "replicates" in entry:
        reads = [read_cell(e) for e in entry["replicates"]]
        higher, metric = _same_measure(reads, entry["replicates"]) if reads else (None, None)
        return [v for v, _, _ in reads], list(entry.get("groups", [])), higher, metric
    value, higher, metric = read_cell(entry)
    return [value], [0], higher, metric


def _interval(values: list[float], groups: list, where: str) -> Interval:
    try:
        return nested_interval(values, groups)
    except ValueError as e:
        raise ValueError(f"{where}: {e}") from e


def _where(spec: dict, row: dict, task: str) -> str:
    label = ", ".join(f"{k} {v}" for k, v in row["label"].items())
    return f"table {spec.get('name')}, row ({label}), column {task}"


def read_rows(spec: dict) -> tuple[list[dict[str, Cell]], dict[str, bool]]:
    """Per row, {task or "avg": Cell}; and each task's direction (from its arm and difference
    rows; a measure row keeps its own)."""
    tasks, column = spec["tasks"], spec["columns"][0]
    rows, direction = [], {}
    for row in spec["rows"]:
        role = row.get("role", "arm")
        if role not in ROLES:
            raise ValueError(
                f"table {spec.get('name')}: row {row['label']!r} has role {role!r}; expected one"
                f" of {ROLES}"
            )
        cells = {}
        for task in tasks:
            values, groups, higher, metric = read_entry(
                row["cells"].get(task, {}).get(column), role
            )
            if not values:
                cells[task] = Cell(MISSING)
                continue
            if role != "measure" and higher is not None:
                if direction.setdefault(task, higher) != higher:
                    raise ValueError(
                        f"table {spec.get('name')}: task {task!r} mixes higher- and"
                        " lower-is-better cells"
                    )
            where = _where(spec, row, task)
            cells[task] = Cell(
                _interval(values, groups, where), tuple(values), tuple(groups), higher, metric
            )
        cells["avg"] = _average(cells, tasks, _where(spec, row, "avg"))
        rows.append(cells)
    return rows, direction


def _average(cells: dict[str, Cell], tasks: list[str], where: str) -> Cell:
    """Per replicate the mean over tasks, then the interval rule; none where a task is missing
    (the replicates must line up: the same fine-tune seeds in the same order in every task)."""
    present = [cells[t] for t in tasks]
    if any(not c.values for c in present):
        return Cell(MISSING)
    first = present[0]
    for task, c in zip(tasks, present):
        if c.groups != first.groups:
            raise ValueError(
                f"{where}: the replicates of {task} (fine-tune seeds {list(c.groups)}) do not line"
                f" up with those of {tasks[0]} ({list(first.groups)}): expected the same"
                " replicates in the same order in every task"
            )
    values = [sum(c.values[i] for c in present) / len(present) for i in range(len(first.values))]
    return Cell(_interval(values, list(first.groups), where), tuple(values), first.groups)


def _digits(spec: dict, row: dict) -> int:
    default = MEASURE_DIGITS if row.get("role") == "measure" else spec.get("digits", 1)
    return row.get("digits", default)


def build(spec: dict) -> tuple[pd.DataFrame, dict[str, bool], list[dict[str, Cell]]]:
    """The numeric table (labels, ``<task>/{mean,lo,hi,n}``, ``avg/...``, ``<task>/metric``), each
    task's direction and the cells per row."""
    rows, direction = read_rows(spec)
    records = []
    for row, cells in zip(spec["rows"], rows):
        rec = {k: v for k, v in row["label"].items() if k != "arm"}  # the block, then its arm
        rec["arm"] = row["label"].get("arm", "")
        for task in [*spec["tasks"], "avg"]:
            iv = cells[task].interval
            rec.update({f"{task}/{s}": getattr(iv, s) for s in STATS})
        for task in spec["tasks"]:
            rec[f"{task}/metric"] = cells[task].metric or ""
        records.append(rec)
    return pd.DataFrame.from_records(records), direction, rows


def _block(row: dict) -> tuple:
    return tuple((k, str(v)) for k, v in row["label"].items() if k != "arm")


def bold_positions(spec: dict, rows: list[dict[str, Cell]], direction: dict[str, bool]) -> set:
    """(row index, task) of every bold mean (see the module docstring)."""
    out = set()
    if not spec.get("bold", True):
        return out
    arm_rows = [i for i, r in enumerate(spec["rows"]) if r.get("role", "arm") == "arm"]
    blocks: dict[tuple, list[int]] = {}
    for i in arm_rows:
        blocks.setdefault(_block(spec["rows"][i]), []).append(i)
    constant = constant_columns(spec, rows)
    for task in spec["tasks"]:
        if task in constant:
            continue
        for members in blocks.values():
            means = [rows[i][task].interval.mean for i in members]
            digits = spec.get("digits", 1)
            out |= {(members[j], task) for j in best_in(means, direction.get(task, True), digits)}
    return out


def constant_columns(spec: dict, rows: list[dict[str, Cell]]) -> dict[str, str]:
    """Task columns whose every arm row (at least two) shows the same mean: {task: that mean}."""
    out, digits = {}, spec.get("digits", 1)
    arms = [i for i, r in enumerate(spec["rows"]) if r.get("role", "arm") == "arm"]
    for task in spec["tasks"]:
        means = [rows[i][task].interval.mean for i in arms]
        means = [m for m in means if not math.isnan(m)]
        if len(means) > 1 and len({shown(m, digits) for m in means}) == 1:
            out[task] = f"{means[0]:.{digits}f}"
    return out


def _metric_name(rows: list[dict[str, Cell]], spec: dict, task: str) -> str:
    names = {
        rows[i][task].metric
        for i, r in enumerate(spec["rows"])
        if r.get("role", "arm") != "measure" and rows[i][task].metric
    }
    return " / ".join(METRIC_LABELS.get(m, m) for m in sorted(names))


def headers(spec: dict, rows: list[dict[str, Cell]], direction: dict[str, bool]) -> dict:
    constant, out = constant_columns(spec, rows), {}
    for task in spec["tasks"]:
        name = _metric_name(rows, spec, task)
        arrow = f" {ARROWS[direction[task]]}" if task in direction else ""
        out[task] = (
            f"{task}{f' ({name}{arrow})' if name else ''}{CONSTANT if task in constant else ''}"
        )
    names = {_metric_name(rows, spec, t) for t in spec["tasks"]}
    ways = {direction.get(t) for t in spec["tasks"]}
    if len(names) == 1 and "" not in names and len(ways) == 1 and None not in ways:
        out["avg"] = f"avg ({names.pop()} {ARROWS[ways.pop()]})"
    else:
        out["avg"] = "avg (mean of tasks)"
    return out


def legend(spec: dict, rows: list[dict[str, Cell]], direction: dict[str, bool]) -> str:
    """What a cell is, how its interval is taken, what is bold, what `*` and avg mean."""
    text = (
        f"cells: mean over seeds [95% t interval], scored on {spec.get('scored_on', 'dev')}; with"
        " two or more fine-tune seeds the interval is over the fine-tune seeds' means (each the"
        " mean over its generator seeds), otherwise over the generator seeds; 'x (one seed)': one"
        " replicate, no interval. Each column's header names its metric and direction"
    )
    ways = sorted(set(direction.values()), reverse=True)
    text += (
        " (" + ", ".join(f"{ARROWS[h]} {'higher' if h else 'lower'} is better" for h in ways) + ")."
    )
    if spec.get("bold", True):
        text += (
            " Bold: the best mean among the arms of each block (rows with the same labels but"
            " arm) and task, not the difference or measure rows, compared at the shown precision;"
            " every tied best is bold, none where all tie."
        )
    if any(r.get("role") == "difference" for r in spec["rows"]):
        favour = []
        for h in ways:
            names = sorted({_metric_name(rows, spec, t) for t, d in direction.items() if d == h})
            sign = "positive" if h else "negative"
            favour.append(f"for {', '.join(n for n in names if n)} ({ARROWS[h]}) a {sign} one")
        text += (
            " Difference rows (a - b): the mean of the per-replicate paired differences with the"
            " same interval rule; * marks an interval that excludes zero (a difference outside"
            f" seed noise); {'; '.join(favour)} favours a."
        )
    measures = [r["label"].get("arm", "") for r in spec["rows"] if r.get("role") == "measure"]
    if measures:
        digits = {_digits(spec, r) for r in spec["rows"] if r.get("role") == "measure"}
        text += (
            f" {', '.join(sorted(set(measures)))}: a measure of the generated arm, not an arm:"
            f" {'/'.join(map(str, sorted(digits)))} decimals, never bold."
        )
    return text + (
        " avg: per replicate the mean over the task columns, then the same interval rule (none"
        " where a task's cell is missing)."
    )


def constant_note(spec: dict, rows: list[dict[str, Cell]]) -> str:
    constant = constant_columns(spec, rows)
    if not constant:
        return ""
    cols = ", ".join(f"{t} (every arm {v})" for t, v in constant.items())
    return (
        f"{CONSTANT} constant column: {cols}. Every arm scores the same (text: e.g. every model"
        " predicts the majority class); such a column says nothing about the arms and shows no"
        " bold."
    )


def cell_text(cell: Cell, digits: int, role: str) -> str:
    """``mean [lo, hi]`` (``*`` after a difference's interval that excludes zero), ``x (one
    seed)``, or ``-`` for a missing cell."""
    iv = cell.interval
    if iv.n == 0:
        return "-"
    star = "*" if role == "difference" and iv.excludes_zero else ""
    return iv.format(digits) + star


def parts(spec: dict, df: pd.DataFrame, rows, direction, bold_fmt, escape=str) -> dict:
    """Title, legend, notes and the shown cells (strings; labels through `escape`)."""
    names = headers(spec, rows, direction)
    bold = bold_positions(spec, rows, direction)
    label_cols = [c for c in df.columns if "/" not in c]
    shown_df = pd.DataFrame(
        {c: df[c].map(lambda v: "" if pd.isna(v) else escape(str(v))) for c in label_cols}
    )
    for task in [*spec["tasks"], "avg"]:
        texts = []
        for i, (row, cells) in enumerate(zip(spec["rows"], rows)):
            text = cell_text(cells[task], _digits(spec, row), row.get("role", "arm"))
            texts.append(bold_fmt(text) if (i, task) in bold else text)
        shown_df[names[task]] = texts
    return {
        "title": spec.get("title", spec.get("name", "table")),
        "shown": shown_df,
        "legend": legend(spec, rows, direction),
        "notes": [x for x in (spec.get("note", ""), constant_note(spec, rows)) if x],
    }


def render(spec: dict) -> tuple[pd.DataFrame, str, str]:
    """(numeric table, Markdown, HTML) of an arms spec."""
    df, direction, rows = build(spec)
    md = parts(spec, df, rows, direction, lambda x: f"**{x}**")
    notes = "".join(f"\n{n}\n" for n in md["notes"])
    markdown = (
        f"## {md['title']}\n\n{md['legend']}\n{notes}\n{md['shown'].to_markdown(index=False)}\n"
    )
    page = parts(spec, df, rows, direction, lambda x: f"<b>{html.escape(x)}</b>", html.escape)
    table = page["shown"].to_html(index=False, escape=False, border=0, classes="cells")
    extra = "".join(f"<p>{html.escape(x)}</p>" for x in page["notes"])
    html_page = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(page['title'])}</title><style>"
        "body{font-family:sans-serif;margin:1.5em;color:#222} table.cells{border-collapse:collapse}"
        " .cells th,.cells td{padding:.35em .8em;border-bottom:1px solid #ccc;text-align:right;"
        "white-space:nowrap} .wide{overflow-x:auto} p{max-width:70em}</style></head><body>"
        f"<h2>{html.escape(page['title'])}</h2><p>{html.escape(page['legend'])}</p>{extra}"
        f"<div class='wide'>{table}</div></body></html>\n"
    )
    return df, markdown, html_page
