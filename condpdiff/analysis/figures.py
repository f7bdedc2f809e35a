"""What every analysis figure shares: a non-interactive matplotlib, atomic PNG writes, task colours.

matplotlib is imported here with the Agg backend before pyplot, so the figures render on a
cluster node without a display.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from condpdiff.util.atomic import atomic_path  # noqa: E402

DPI = 120


def task_colours(tasks: list[str]) -> dict[str, tuple]:
    """One distinct colour per task (tab10, then tab20 beyond 10 tasks), in task order."""
    cmap = plt.get_cmap("tab10" if len(tasks) <= 10 else "tab20")
    return {t: cmap(i % cmap.N) for i, t in enumerate(tasks)}


def panel_grid(n: int, max_cols: int = 4, size: tuple[float, float] = (4.2, 3.4)):
    """A figure with `n` panels on a grid at most `max_cols` wide; returns (figure, the n axes in
    order)."""
    cols = min(n, max_cols)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(size[0] * cols, size[1] * rows), squeeze=False)
    flat = list(axes.flat)
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def save_figure(fig, path: str | Path) -> None:
    """Write `fig` as a PNG through a temporary file (complete or absent), then close it."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(fig)


def finite_or_none(obj):
    """`obj` with every non-finite float (NaN, inf) replaced by None, so its JSON is strict JSON."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite_or_none(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite_or_none(v) for v in obj]
    return obj


def save_csv(df, path: str | Path) -> None:
    """A data frame as CSV through a temporary file (no index column)."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False)
