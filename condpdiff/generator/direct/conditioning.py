"""The direct generator's recipe and its condition draws.

The recipe (a direct generator setting's `sampler` in the config, the path part
``recipe-{recipe}``) is ``k{k}-{arrangement}-w{exponent}``, e.g. ``k8-layer-w0.75``: every
condition is the mean of k items of the task's condition file drawn without replacement; the
parameters are arranged ``flat`` or per ``layer`` (``arrangement``); the loss weighs each layer by
its across-task variance share to the power `exponent` (0: every layer alike).

A condition file gives each task a bank of items: a data condition (projection ``set``) its
per-example embeddings [n, D]; image feature maps (``conv``, [n, C, h, w]) their channel means and
standard deviations [n, 2C] (the style statistics of each image); a single vector (``mlp`` /
``table``) one item, so every draw of it is the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import torch

from condpdiff.conditions.condition import Condition
from condpdiff.pipeline.names import DIRECT_RE

ARRANGEMENTS = ("flat", "layer")


@dataclass(frozen=True)
class Recipe:
    k: int  # condition items pooled per draw
    arrangement: str  # flat | layer
    exponent: float  # per-layer loss weight = (across-task variance share) ** exponent

    @classmethod
    def parse(cls, text: str) -> Recipe:
        if not re.fullmatch(DIRECT_RE, text):
            raise ValueError(
                f"not a direct generator recipe: {text!r} (expected k<k>-<flat|layer>-w<exponent>, "
                "e.g. k8-layer-w0.75)"
            )
        k, arrangement, w = text.split("-")
        return cls(int(k[1:]), arrangement, float(w[1:]))

    def __str__(self) -> str:
        return f"k{self.k}-{self.arrangement}-w{self.exponent:g}"


def condition_items(cond: Condition) -> torch.Tensor:
    """The bank of items [n, D] a condition file gives (see the module docstring)."""
    emb = cond.embedding.float()
    if cond.projection == "set":
        return emb
    if cond.projection == "conv":
        flat = emb.flatten(2)  # [n, C, h*w]
        return torch.cat([flat.mean(2), flat.std(2, unbiased=False)], dim=1)
    return emb.reshape(1, -1)


class ConditionBank:
    """Every task's items, padded into one tensor [T, n_max, D], with a seeded k-of-n pooled
    draw."""

    def __init__(self, items: list[torch.Tensor]):
        dims = {x.shape[1] for x in items}
        if not items or len(dims) != 1 or any(x.ndim != 2 or x.shape[0] == 0 for x in items):
            raise ValueError(
                f"every task needs >= 1 condition item of one width; found shapes "
                f"{[list(x.shape) for x in items]}"
            )
        self.counts = torch.tensor([x.shape[0] for x in items])
        n_max = int(self.counts.max())
        self.bank = torch.zeros(len(items), n_max, dims.pop())
        for t, x in enumerate(items):
            self.bank[t, : x.shape[0]] = x

    @property
    def dim(self) -> int:
        return self.bank.shape[2]

    def draw_indices(
        self, tasks: torch.Tensor, k: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Item indices [B, k] (k distinct items of each row's task, or all of them if it has fewer)
        and their mask."""
        counts = self.counts[tasks]
        scores = torch.rand(tasks.shape[0], self.bank.shape[1], generator=generator)
        scores[torch.arange(self.bank.shape[1])[None, :] >= counts[:, None]] = (
            2.0  # never before a real item
        )
        idx = scores.argsort(dim=1)[:, :k]
        valid = torch.arange(idx.shape[1])[None, :] < counts[:, None]
        return idx, valid

    def pool(self, tasks: torch.Tensor, idx: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """The mean of the drawn items of each row: [B, D]."""
        rows = self.bank[tasks[:, None], idx]  # [B, k, D]
        w = valid.to(rows.dtype).unsqueeze(-1)
        return (rows * w).sum(1) / w.sum(1)

    def draw(self, tasks: torch.Tensor, k: int, generator: torch.Generator) -> torch.Tensor:
        return self.pool(tasks, *self.draw_indices(tasks, k, generator))
