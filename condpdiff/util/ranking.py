"""Which of several scores is best, for metrics where higher (accuracy) or lower (FID) is better."""

from __future__ import annotations

import math
from collections.abc import Sequence


def best_index(values: Sequence[float], higher_is_better: bool = True) -> int:
    """Index of the best value: the largest, or the smallest where lower is better (FID).

    The first wins ties; NaN never wins (all NaN: index 0).
    """
    if len(values) == 0:
        raise ValueError("no candidates to select from")
    sign = 1.0 if higher_is_better else -1.0
    best, best_i = -math.inf, None
    for i, v in enumerate(values):
        v = float(v)
        if not math.isnan(v) and (best_i is None or sign * v > best):
            best, best_i = sign * v, i
    return 0 if best_i is None else best_i
