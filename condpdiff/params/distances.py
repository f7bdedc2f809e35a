"""L2 distances between parameter vectors in their raw space (rows of parameter files): a
candidate's nearest checkpoint, and the checkpoints' own spread and spacing. The nearest-checkpoint
analysis (condpdiff.analysis.nearest_checkpoint) and the audit's arms (condpdiff.audit) share them.
"""

from __future__ import annotations

import math

import torch


def nearest(
    candidates: torch.Tensor, checkpoints: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each candidate's L2 distance to its nearest checkpoint [C] and that checkpoint's row [C]."""
    d = torch.cdist(candidates.double(), checkpoints.double())
    dist, idx = d.min(dim=1)
    return dist, idx


def spread(checkpoints: torch.Tensor) -> float:
    """RMS L2 distance of the checkpoints to their mean."""
    x = checkpoints.double()
    return float(((x - x.mean(0)) ** 2).sum(1).mean().sqrt())


def spacing(checkpoints: torch.Tensor) -> float:
    """Median L2 distance of a checkpoint to its nearest other checkpoint (NaN for a single one;
    for an even count the mean of the two middle values, not torch.median's lower one)."""
    if checkpoints.shape[0] < 2:
        return math.nan
    d = torch.cdist(checkpoints.double(), checkpoints.double())
    d.fill_diagonal_(math.inf)
    return float(d.min(dim=1).values.quantile(0.5))
