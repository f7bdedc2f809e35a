"""What every table layout shares: reading one cell entry of a table spec, how a metric is named
in a header, and comparing values at the precision a table shows them (for bold and ties).

A cell entry is a path (its ``score`` is read) or ``{"path": ..., "field": "mean"}`` (with an
optional ``"metric"`` naming what that field measures, where it is not the cell's ``metric``).
"""

from __future__ import annotations

import math

from condpdiff.evaluate.cells import CELL_FORMAT
from condpdiff.pipeline.artifacts import artifact_error, load_json

# how a cell's metric is named in a table header (others: as recorded)
METRIC_LABELS = {
    "accuracy": "acc",
    "f1": "F1",
    "matthews": "MCC",
    "pearson": "Pearson",
    "spearman": "Spearman",
    "fid": "FID",
    "fid_ratio": "ratio",
}
ARROWS = {True: "↑", False: "↓"}


def read_cell(entry) -> tuple[float, bool | None, str | None]:
    """(value, higher_is_better, metric) of a cell entry; (nan, None, None) for a missing entry."""
    if entry is None:
        return math.nan, None, None
    path, field = (
        (entry, "score") if isinstance(entry, str) else (entry["path"], entry.get("field", "score"))
    )
    keys = tuple(dict.fromkeys(("score", "higher_is_better", "metric", field)))
    cell = load_json(path, "table cell", CELL_FORMAT, keys=keys)
    value = cell[field]
    if isinstance(value, float) and math.isnan(
        value
    ):  # cells refuse NaN (evaluate.cells): never a silent '-'
        raise artifact_error(path, f"table cell whose {field!r} is NaN", "a number", "NaN")
    metric = entry.get("metric", cell["metric"]) if isinstance(entry, dict) else cell["metric"]
    return (
        (math.nan if value is None else float(value)),
        bool(cell["higher_is_better"]),
        str(metric),
    )


def shown(v: float, digits: int) -> float:
    """The value as the table shows it (compared for ties and constant columns)."""
    return float(f"{v:.{digits}f}")


def best_in(values: list[float], higher: bool, digits: int) -> list[int]:
    """Indices of every tied best of `values` at the shown precision; none when fewer than two
    distinct values are shown (all tie, or one value): nothing is compared."""
    at = [math.nan if math.isnan(v) else shown(v, digits) for v in values]
    present = {v for v in at if not math.isnan(v)}
    if len(present) < 2:
        return []
    best = max(present) if higher else min(present)
    return [i for i, v in enumerate(at) if v == best]
