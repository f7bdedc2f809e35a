"""Intervals for table cells: a mean over seeds with its 95% interval, the paired difference of
two arms, and a bootstrap over tasks or styles.

Every headline number is a mean with its noise. Three cases:

- ``seed_interval``: the mean over independent seeds (generator or fine-tuning seeds) with a
  Student-t interval (scipy's ``ttest_1samp(...).confidence_interval``). One seed has no
  interval: the result says so (``n == 1``, bounds NaN) instead of inventing one.
- ``paired_interval``: arm A - arm B on the same seeds (e.g. generated - original), the t
  interval of the per-seed differences. Pairing removes the noise the two arms share.
- ``nested_interval``: replicates over two kinds of seed (fine-tune seed f x generator seed g).
  The fine-tune seeds are the independent units when there are two or more: the replicates are
  averaged over g within each f and the t interval is taken over those means; with one f, the t
  interval is over the generator seeds. A paired difference per replicate goes the same way.
- ``bootstrap_interval``: a percentile bootstrap (scipy's ``bootstrap``) of the mean over units
  that are not seeds (unseen styles, tasks), with a fixed seed so a table is reproducible.

``Interval.excludes_zero`` is what a claim needs: a difference whose interval contains zero is
"inside noise".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

LEVEL = 0.95


@dataclass(frozen=True)
class Interval:
    """A mean and its interval at ``level``; ``lo``/``hi`` are NaN when ``n`` < 2."""

    mean: float
    lo: float
    hi: float
    n: int
    level: float = LEVEL
    method: str = "t"

    @property
    def has_interval(self) -> bool:
        return self.n >= 2 and math.isfinite(self.lo) and math.isfinite(self.hi)

    @property
    def half_width(self) -> float:
        return (self.hi - self.lo) / 2 if self.has_interval else math.nan

    @property
    def excludes_zero(self) -> bool:
        """True when the whole interval lies on one side of zero (a one-seed value never does)."""
        return self.has_interval and (self.lo > 0 or self.hi < 0)

    def format(self, digits: int = 1) -> str:
        """``64.0 [63.2, 64.8]``; one value: ``64.0 (one seed)``."""
        if not self.has_interval:
            word = "one seed" if self.method == "t" else "one unit"
            return f"{self.mean:.{digits}f} ({word})" if self.n == 1 else f"{self.mean:.{digits}f}"
        return f"{self.mean:.{digits}f} [{self.lo:.{digits}f}, {self.hi:.{digits}f}]"

    def to_dict(self) -> dict:
        return {
            "mean": self.mean,
            "lo": self.lo,
            "hi": self.hi,
            "n": self.n,
            "level": self.level,
            "method": self.method,
        }


def _values(values: Sequence[float], what: str) -> np.ndarray:
    x = np.asarray(list(values), dtype=float)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"{what}: expected a non-empty list of numbers, found {list(values)!r}")
    bad = [i for i, v in enumerate(x) if not math.isfinite(v)]
    if bad:
        raise ValueError(
            f"{what}: value(s) at position(s) {bad} are not finite ({[x[i] for i in bad]}): an"
            " interval over them would be silently wrong; fix or drop the failed runs first"
        )
    return x


def seed_interval(values: Sequence[float], level: float = LEVEL) -> Interval:
    """Mean over seeds with a Student-t interval (no interval for one seed)."""
    from scipy import stats

    x = _values(values, "seed_interval")
    mean = float(x.mean())
    if x.size < 2:
        return Interval(mean, math.nan, math.nan, int(x.size), level, "t")
    if np.all(x == x[0]):  # zero spread: scipy returns NaN bounds; the interval is the point
        return Interval(mean, mean, mean, int(x.size), level, "t")
    ci = stats.ttest_1samp(x, 0.0).confidence_interval(confidence_level=level)
    return Interval(mean, float(ci.low), float(ci.high), int(x.size), level, "t")


def paired_interval(a: Sequence[float], b: Sequence[float], level: float = LEVEL) -> Interval:
    """Mean of a - b over paired seeds, with the t interval of the differences."""
    xa, xb = _values(a, "paired_interval (first arm)"), _values(b, "paired_interval (second arm)")
    if xa.size != xb.size:
        raise ValueError(
            f"paired_interval: the arms must be paired seed by seed; found {xa.size} and {xb.size}"
            " values"
        )
    return seed_interval(xa - xb, level)


def nested_interval(values: Sequence[float], groups: Sequence, level: float = LEVEL) -> Interval:
    """Mean of replicates grouped by fine-tune seed (`groups`, one per value): with >= 2 distinct
    groups, the t interval over the group means (each the mean of its generator seeds; the mean
    reported is their mean); otherwise the t interval over all values (`seed_interval`)."""
    x = _values(values, "nested_interval")
    keys = list(groups)
    if len(keys) != x.size:
        raise ValueError(
            f"nested_interval: expected one group (fine-tune seed) per value; found {x.size} values"
            f" and {len(keys)} groups {keys!r}"
        )
    distinct = list(dict.fromkeys(keys))
    if len(distinct) < 2:
        return seed_interval(x, level)
    means = [float(x[[k == d for k in keys]].mean()) for d in distinct]
    return seed_interval(means, level)


def bootstrap_interval(
    values: Sequence[float], level: float = LEVEL, n_resamples: int = 10_000, seed: int = 0
) -> Interval:
    """Percentile bootstrap of the mean over units (tasks, styles), reproducible by `seed`."""
    from scipy import stats

    x = _values(values, "bootstrap_interval")
    mean = float(x.mean())
    if x.size < 2:
        return Interval(mean, math.nan, math.nan, int(x.size), level, "bootstrap")
    if np.all(x == x[0]):
        return Interval(mean, mean, mean, int(x.size), level, "bootstrap")
    res = stats.bootstrap(
        (x,),
        np.mean,
        confidence_level=level,
        n_resamples=n_resamples,
        method="percentile",
        random_state=np.random.default_rng(seed),
    )
    ci = res.confidence_interval
    return Interval(mean, float(ci.low), float(ci.high), int(x.size), level, "bootstrap")
