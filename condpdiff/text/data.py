"""Loading a task's train/dev split from a local classic-GLUE folder or from the hub.

The local reader handles the real GLUE tsv quirks: CoLA has no header, MRPC's header
starts with a byte-order mark, and quote characters inside sentences are text (quoting off).
"""

from __future__ import annotations

import csv
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

    def subset(self, indices) -> "Examples":
        return Examples([self.texts[i] for i in indices], [self.labels[i] for i in indices])


def read_glue_tsv(path: str | Path, task: Task) -> Examples:
    """Read one split file in the classic GLUE layout, with a clear error on a bad layout."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"task {task.name!r}: data file not found: {path}")
    layout = task.tsv
    with open(path, encoding="utf-8-sig", newline="") as fh:  # utf-8-sig drops MRPC's BOM
        rows = list(csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))
    rows = [r for r in rows if r and any(c.strip() for c in r)]
    if layout.header:
        if not rows:
            raise ValueError(f"{path}: empty file, expected a header row")
        header = [h.strip() for h in rows[0]]
        wanted = [*layout.text_columns, layout.label_column]
        missing = [c for c in wanted if c not in header]
        if missing:
            raise ValueError(f"{path}: columns {missing} not in header {header} (task {task.name!r})")
        text_idx = [header.index(c) for c in layout.text_columns]
        label_idx = header.index(layout.label_column)
        rows = rows[1:]
    else:
        text_idx = [int(c) for c in layout.text_columns]
        label_idx = int(layout.label_column)
    texts, labels = [], []
    width = max([*text_idx, label_idx]) + 1
    for line_no, row in enumerate(rows, start=2 if layout.header else 1):
        if len(row) < width:
            raise ValueError(f"{path}:{line_no}: {len(row)} columns, expected at least {width}")
        texts.append(tuple(row[i] for i in text_idx))
        labels.append(_parse_label(row[label_idx], task, f"{path}:{line_no}"))
    return Examples(texts, labels)


def _parse_label(raw: str, task: Task, where: str) -> float:
    raw = raw.strip()
    if task.tsv.label_map is not None:
        if raw not in task.tsv.label_map:
            raise ValueError(f"{where}: label {raw!r} not in label_map {sorted(task.tsv.label_map)}")
        return task.tsv.label_map[raw]
    try:
        value = float(raw)
    except ValueError as e:
        raise ValueError(f"{where}: label {raw!r} is not a number (task {task.name!r})") from e
    return value if task.is_regression else int(value)


def load_hub_split(task: Task, split: str) -> Examples:
    """The same split from the Hugging Face hub (``datasets.load_dataset``); needs network or a cache."""
    import datasets

    if not task.hub_path:
        raise ValueError(f"task {task.name!r} has no hub dataset configured (custom_tasks.{task.name}.hub)")
    hub_split = "train" if split == "train" else task.hub_dev_split
    ds = datasets.load_dataset(task.hub_path, task.hub_name, split=hub_split)
    texts = list(zip(*[ds[c] for c in task.hub_text_columns]))
    labels = [float(x) if task.is_regression else int(x) for x in ds[task.hub_label_column]]
    return Examples(texts, labels)


def load_split(task: Task, split: str, source: str, glue_dir: str | Path | None = None) -> Examples:
    """Load `split` ('train' or 'dev') of `task` from `source` ('local' folder or 'hub')."""
    if split not in SPLIT_FILES:
        raise ValueError(f"split must be one of {sorted(SPLIT_FILES)}, got {split!r}")
    if source == "local":
        if glue_dir is None:
            raise ValueError("data.source is 'local' but data.glue_dir is not set")
        return read_glue_tsv(Path(glue_dir) / (task.glue_dir or task.name) / SPLIT_FILES[split], task)
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
