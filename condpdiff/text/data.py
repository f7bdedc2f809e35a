"""Loading a task's train/dev split from a local classic-GLUE folder or from the hub.

The local reader handles the real GLUE tsv quirks: CoLA has no header, MRPC's header
starts with a byte-order mark, and quote characters inside sentences are text (quoting off).
Both readers check every label against the task (a class index, or a finite number for a
regression task) as they read, so bad data fails with its file, line and column, not in training.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import random
from dataclasses import dataclass
from pathlib import Path

from condpdiff.text.tasks import Task

SPLIT_FILES = {"train": "train.tsv", "dev": "dev.tsv"}


@dataclass
class Examples:
    texts: list[tuple[str, ...]]  # one tuple of 1 or 2 texts per example
    labels: list[float]  # int-valued for classification, float for regression

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, indices) -> Examples:
        return Examples([self.texts[i] for i in indices], [self.labels[i] for i in indices])


def read_glue_tsv(path: str | Path, task: Task) -> Examples:
    """Read one split file in the classic GLUE layout.

    Every problem is a ``ValueError`` naming ``file:line``, the column and what was expected:
    bytes that are not UTF-8, a file with no examples, a row with more or fewer fields than the
    header (a tab inside a text would shift the columns), header columns the layout does not
    declare (where it declares them all, ``TsvLayout.columns``), a label outside the task's
    classes or of the wrong type. So bad data stops the step that reads it, before training.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"task {task.name!r}: data file not found: {path}")
    layout = task.tsv
    reader = csv.reader(
        io.StringIO(_decode(path), newline=""), delimiter="\t", quoting=csv.QUOTE_NONE
    )
    rows = [(reader.line_num, r) for r in reader if r and any(c.strip() for c in r)]
    if layout.header:
        if not rows:
            raise ValueError(f"{path}:1: empty file, expected a header row (task {task.name!r})")
        header_line, header = rows[0][0], [h.strip() for h in rows[0][1]]
        _check_header(path, header_line, header, task)
        names = header
        text_idx = [header.index(c) for c in layout.text_columns]
        label_idx = header.index(layout.label_column)
        rows = rows[1:]
        expected = f"{len(header)} (the header's: {', '.join(header)})"
    else:
        header_line, names = 0, None
        text_idx = [int(c) for c in layout.text_columns]
        label_idx = int(layout.label_column)
        width = len(layout.columns) if layout.columns else (len(rows[0][1]) if rows else 0)
        header = [str(i) for i in range(width)]
        if layout.columns:
            expected = f"{width} (the layout's: {', '.join(layout.columns)})"
        else:
            expected = f"{width} (as on line {rows[0][0]}, the first row)" if rows else ""
        beyond = [i for i in [*text_idx, label_idx] if i >= width]
        if rows and beyond:
            raise ValueError(
                f"{path}:{rows[0][0]}: task {task.name!r} reads column(s) {beyond} (0-based), "
                f"but the file has {expected} fields"
            )
    if not rows:
        what = "only a header" if layout.header else "no rows"
        raise ValueError(
            f"{path}:{header_line or 1}: {what}, expected at least one example (task {task.name!r})"
        )
    label_col = _column(label_idx, names)
    texts, labels = [], []
    for line_no, row in rows:
        if len(row) != len(header):
            raise ValueError(
                f"{path}:{line_no}: {len(row)} tab-separated fields, expected {expected}; a tab "
                "inside a text, or a missing field, shifts the columns"
            )
        texts.append(tuple(row[i] for i in text_idx))
        labels.append(parse_label(row[label_idx], task, f"{path}:{line_no}: {label_col}"))
    return Examples(texts, labels)


def _decode(path: Path) -> str:
    """The file as text: UTF-8, a leading byte-order mark dropped (MRPC's); else an error naming
    the line, the field and the byte offset of the first byte that is not UTF-8."""
    raw = path.read_bytes()
    start = len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0
    try:
        return raw[start:].decode("utf-8")
    except UnicodeDecodeError as e:
        offset = start + e.start
        line_start = raw.rfind(b"\n", 0, offset) + 1
        line, field = raw.count(b"\n", 0, offset) + 1, raw.count(b"\t", line_start, offset) + 1
        bad = raw[offset : start + e.end]
        column = offset - line_start + 1
        raise ValueError(
            f"{path}:{line}: field {field}, byte offset {offset} (byte {column} of the "
            f"line): {bad!r} is not UTF-8 ({e.reason}); expected a UTF-8 text file (convert it, "
            "e.g. iconv -f latin1 -t utf-8)"
        ) from None


def _column(index: int, names: list[str] | None) -> str:
    """How an error names a column: by its header name, or by its index as the layout gives it."""
    return (
        f"column {names[index]!r} (field {index + 1})"
        if names
        else f"column {index} (field {index + 1})"
    )


def _check_header(path: Path, line: int, header: list[str], task: Task) -> None:
    layout = task.tsv
    where = f"{path}:{line}: header {header}"
    wanted = [*layout.text_columns, layout.label_column]
    missing = [c for c in wanted if c not in header]
    if missing:
        raise ValueError(
            f"{where}: columns {missing} not in the header (task {task.name!r} reads text "
            f"{list(layout.text_columns)} and label {layout.label_column!r})"
        )
    if layout.columns is not None and header != list(layout.columns):
        extra = [c for c in header if c not in layout.columns]
        absent = [c for c in layout.columns if c not in header]
        found = f"unexpected {extra}" if extra else (f"no {absent}" if absent else "another order")
        raise ValueError(
            f"{where}: expected exactly the columns {list(layout.columns)} (task {task.name!r}: "
            f"tsv.columns), found {found}"
        )


def parse_label(raw, task: Task, where: str) -> float:
    """A label as the task's loss takes it: a class index 0..num_labels-1 (an int) or, for a
    regression task, a finite float. `where` names the file, line and column (or hub row)."""
    text = str(raw).strip()
    if task.tsv.label_map is not None and not isinstance(raw, (int, float)):
        if text not in task.tsv.label_map:
            raise ValueError(
                f"{where}: label {text!r} not in label_map {sorted(task.tsv.label_map)} "
                f"(task {task.name!r})"
            )
        value = task.tsv.label_map[text]
    else:
        try:
            value = float(text)
        except ValueError:
            kind = (
                "a number (regression)"
                if task.is_regression
                else f"a class 0..{task.num_labels - 1}"
            )
            raise ValueError(
                f"{where}: label {text!r} is not {kind} (task {task.name!r})"
            ) from None
    if not math.isfinite(value):
        raise ValueError(f"{where}: label {text!r} is not a finite number (task {task.name!r})")
    if task.is_regression:
        return value
    if value != int(value) or not 0 <= value < task.num_labels:
        raise ValueError(
            f"{where}: label {text!r} is not a class of task {task.name!r}: expected a whole "
            f"number 0..{task.num_labels - 1} (num_labels {task.num_labels})"
        )
    return int(value)


def load_hub_split(task: Task, split: str) -> Examples:
    """The same split from the Hugging Face hub (``datasets.load_dataset``); needs network or a
    cache. Labels are checked as the tsv reader checks them, named by row and column."""
    import datasets

    if not task.hub_path:
        raise ValueError(
            f"task {task.name!r} has no hub dataset configured (custom_tasks.{task.name}.hub)"
        )
    hub_split = "train" if split == "train" else task.hub_dev_split
    ds = datasets.load_dataset(task.hub_path, task.hub_name, split=hub_split)
    where = f"hub dataset {task.hub_path}/{task.hub_name} split {hub_split!r}"
    missing = [
        c for c in [*task.hub_text_columns, task.hub_label_column] if c not in ds.column_names
    ]
    if missing:
        raise ValueError(
            f"{where}: columns {missing} not among {ds.column_names} (task {task.name!r})"
        )
    if len(ds) == 0:
        raise ValueError(f"{where}: no examples (task {task.name!r})")
    texts = list(zip(*[ds[c] for c in task.hub_text_columns]))
    col = task.hub_label_column
    labels = [
        parse_label(x, task, f"{where}, row {i}, column {col!r}") for i, x in enumerate(ds[col])
    ]
    return Examples(texts, labels)


def load_split(task: Task, split: str, source: str, glue_dir: str | Path | None = None) -> Examples:
    """Load `split` ('train' or 'dev') of `task` from `source` ('local' folder or 'hub')."""
    if split not in SPLIT_FILES:
        raise ValueError(f"split must be one of {sorted(SPLIT_FILES)}, got {split!r}")
    if source == "local":
        if glue_dir is None:
            raise ValueError("data.source is 'local' but data.glue_dir is not set")
        return read_glue_tsv(
            Path(glue_dir) / (task.glue_dir or task.name) / SPLIT_FILES[split], task
        )
    if source == "hub":
        return load_hub_split(task, split)
    raise ValueError(f"data.source must be 'local' or 'hub', got {source!r}")


def cap_indices(n: int, max_examples: int | None, seed: int) -> list[int]:
    """The indices `cap` keeps out of `n` examples, in order."""
    if max_examples is None or n <= max_examples:
        return list(range(n))
    return sorted(random.Random(seed).sample(range(n), max_examples))


def cap(examples: Examples, max_examples: int | None, seed: int) -> Examples:
    """A seeded random subset of at most `max_examples` (order kept), or all of them."""
    if max_examples is None or len(examples) <= max_examples:
        return examples
    return examples.subset(cap_indices(len(examples), max_examples, seed))


def held_out(examples: Examples, used_max_examples: int | None, used_seed: int) -> Examples:
    """The examples that ``cap(examples, used_max_examples, used_seed)`` left out (order kept).

    Fine-tuning trains on such a cap of the training split; what it left out is training data
    the fine-tuned models never saw, an unbiased split to select candidates on.
    """
    used = set(cap_indices(len(examples), used_max_examples, used_seed))
    return examples.subset([i for i in range(len(examples)) if i not in used])
