"""Candidates: generated parameter vectors written in the harvest's own format.

Every generator kind ends here, so its candidates are scored, selected and exported exactly as
checkpoints are (``params.paramfile``).
"""

from __future__ import annotations

import torch

from condpdiff.params.norm_stats import NormStats
from condpdiff.params.paramfile import ParamSet


def candidates_paramset(
    z: torch.Tensor, stats: NormStats, task: str, harvest: ParamSet, info: dict
) -> ParamSet:
    """Denormalise `z` for `task` into a ParamSet shaped like the harvest (head of its last
    checkpoint)."""
    n = z.shape[0]
    last = harvest.select([harvest.n - 1])
    params = stats.denormalise(z, task, last.params[0])
    heads = {k: v.expand(n, *v.shape[1:]).clone() for k, v in last.heads.items()}
    return ParamSet(
        params,
        harvest.layout,
        torch.arange(n),
        torch.full((n,), float("nan")),
        heads,
        {**harvest.info, **info, "kind": "candidates", "task": task},
    )
