"""How the direct generator sees a parameter vector, and how much each layer counts in its loss.

``flat``: the generated coordinates normalised by the generator's stats file (as the diffusion
generator sees them), one output per coordinate.

``layer`` (the structure-aware arrangement): each LoRA tensor (a "layer" of the arrangement) of each
checkpoint is standardised by its own mean and standard deviation; the targets are those
standardised weights plus the tensor's (mean, log std), the latter standardised over the training
rows. The network shares one head across tensors; a candidate's tensor is its weights x std + mean.

Loss weights: a tensor's share of variance across tasks (between-task variance of its coordinates
over their total variance, on the raw weights of the training tasks), to the power `exponent`,
normalised to mean 1 over coordinates; exponent 0 weighs every coordinate alike.
"""

from __future__ import annotations

import math

import torch

from condpdiff.params.norm_stats import NormStats
from condpdiff.params.paramfile import Layout

STD_FLOOR = 1e-8


def segments(layout: Layout, mask: torch.Tensor) -> list[tuple[int, int]]:
    """(start, end) of each generated LoRA tensor within the generated coordinates (the stats'
    mask)."""
    out, pos, offset = [], 0, 0
    for _, shape in layout:
        n = math.prod(shape)
        keep = mask[offset : offset + n]
        if keep.all():
            out.append((pos, pos + n))
            pos += n
        elif keep.any():
            raise ValueError(
                "the generated coordinates split a LoRA tensor: the stats' mask must keep whole "
                "tensors"
            )
        offset += n
    return out


def variance_share(
    raw: torch.Tensor, task_ids: torch.Tensor, segs: list[tuple[int, int]]
) -> torch.Tensor:
    """[T_seg]: each tensor's between-task variance over its total variance (rows `raw` [N, K'])."""
    tasks = task_ids.unique()
    means = torch.stack([raw[task_ids == t].mean(0) for t in tasks])  # [tasks, K']
    between = means.var(0, unbiased=False)
    total = raw.var(0, unbiased=False)
    share = [float(between[a:b].sum() / total[a:b].sum().clamp(min=1e-30)) for a, b in segs]
    return torch.tensor(share).clamp(min=1e-6, max=1.0)


def coordinate_weights(
    share: torch.Tensor, segs: list[tuple[int, int]], exponent: float
) -> torch.Tensor:
    """Per-coordinate loss weights [K'] (mean 1): each tensor's share ** exponent."""
    w = torch.cat([share[i].pow(exponent).expand(b - a) for i, (a, b) in enumerate(segs)])
    return w / w.mean()


def layer_targets(
    raw: torch.Tensor, segs: list[tuple[int, int]]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-tensor standardised weights [N, K'] and per-tensor (mean, log std) [N, 2 * T_seg] of rows
    `raw`."""
    z, stats = torch.empty_like(raw), []
    for a, b in segs:
        part = raw[:, a:b]
        mean = part.mean(1, keepdim=True)
        std = part.std(1, unbiased=False, keepdim=True).clamp(min=STD_FLOOR)
        z[:, a:b] = (part - mean) / std
        stats += [mean, std.log()]
    return z, torch.cat(stats, dim=1)


def layer_weights(
    z: torch.Tensor, stats: torch.Tensor, segs: list[tuple[int, int]]
) -> torch.Tensor:
    """Inverse of `layer_targets`: raw generated coordinates [N, K']."""
    out = torch.empty_like(z)
    for i, (a, b) in enumerate(segs):
        out[:, a:b] = (
            z[:, a:b] * stats[:, 2 * i + 1 : 2 * i + 2].exp() + stats[:, 2 * i : 2 * i + 1]
        )
    return out


def raw_generated(params: torch.Tensor, stats: NormStats) -> torch.Tensor:
    """The generated coordinates of full vectors [N, K] -> [N, K']."""
    return params[:, stats.mask]
