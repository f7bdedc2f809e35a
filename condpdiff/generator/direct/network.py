"""The direct generator's network: condition -> parameters in one forward pass.

A trunk MLP embeds the (standardised) pooled condition. ``flat``: one linear head to every generated
coordinate. ``layer``: one head shared by every LoRA tensor, fed the trunk's output and a learned
embedding of the tensor, giving the tensor's standardised weights (padded to the largest tensor) and
its (mean, log std) (`arrangement`), added to a learned per-coordinate base (what the tasks share,
e.g. a LoRA A matrix that stays near its initialisation; the flat head's bias plays this part).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from condpdiff.generator.modelio import config_from_dict, load_state, read_model

KIND = "direct"


@dataclass
class DirectConfig:
    hidden: int = 512  # trunk width
    depth: int = 2  # trunk layers
    layer_embedding: int = 64  # per-layer arrangement: learned embedding of each tensor
    layer_hidden: int = 256  # per-layer arrangement: shared head width
    dropout: float = 0.0


def mlp(dims: list[int], dropout: float) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(dims) - 2:
            layers += [nn.SiLU(), nn.Dropout(dropout)] if dropout > 0 else [nn.SiLU()]
    return nn.Sequential(*layers)


class DirectNet(nn.Module):
    def __init__(
        self,
        cfg: DirectConfig,
        cond_dim: int,
        arrangement: str,
        segments: list[tuple[int, int]],
        extra: dict | None = None,
    ):
        super().__init__()
        if arrangement not in ("flat", "layer"):
            raise ValueError(f"arrangement must be 'flat' or 'layer', got {arrangement!r}")
        self.cfg, self.cond_dim, self.arrangement = cfg, cond_dim, arrangement
        self.segments = [(int(a), int(b)) for a, b in segments]
        self.extra = dict(extra or {})
        k = self.segments[-1][1]
        n_seg = len(self.segments)
        self.register_buffer("cond_shift", torch.zeros(cond_dim))
        self.register_buffer("cond_scale", torch.ones(cond_dim))
        self.trunk = nn.Sequential(
            mlp([cond_dim] + [cfg.hidden] * cfg.depth, cfg.dropout), nn.SiLU()
        )
        if arrangement == "flat":
            self.head = nn.Linear(cfg.hidden, k)
            return
        self.register_buffer("stat_shift", torch.zeros(2 * n_seg))
        self.register_buffer("stat_scale", torch.ones(2 * n_seg))
        width = max(b - a for a, b in self.segments) + 2
        self.layer_emb = nn.Parameter(torch.randn(n_seg, cfg.layer_embedding) * 0.02)
        self.head = mlp([cfg.hidden + cfg.layer_embedding, cfg.layer_hidden, width], 0.0)
        self.base = nn.Parameter(torch.zeros(k))
        self.stat_base = nn.Parameter(torch.zeros(2 * n_seg))
        weights = torch.cat(
            [torch.arange(a, b) - a + i * width for i, (a, b) in enumerate(self.segments)]
        )
        stats = torch.tensor([i * width + width - 2 + j for i in range(n_seg) for j in (0, 1)])
        self.register_buffer("weight_index", weights, persistent=False)
        self.register_buffer("stat_index", stats, persistent=False)

    def describe(self) -> dict:
        return {
            "config": asdict(self.cfg),
            "cond_dim": self.cond_dim,
            "arrangement": self.arrangement,
            "segments": self.segments,
            "extra": self.extra,
        }

    @classmethod
    def from_description(cls, meta: dict) -> DirectNet:
        return cls(
            config_from_dict(DirectConfig, meta["config"]),
            meta["cond_dim"],
            meta["arrangement"],
            meta["segments"],
            meta.get("extra"),
        )

    def set_condition_scale(self, conds: torch.Tensor) -> None:
        """Standardise conditions with the mean / std of `conds` [M, D] (the training tasks'
        items)."""
        self.cond_shift.copy_(conds.mean(0))
        self.cond_scale.copy_(conds.std(0, unbiased=False).clamp(min=1e-6))

    def set_stat_scale(self, stats: torch.Tensor) -> None:
        """Standardise the per-tensor (mean, log std) targets with their training mean / std."""
        self.stat_shift.copy_(stats.mean(0))
        self.stat_scale.copy_(stats.std(0, unbiased=False).clamp(min=1e-6))

    def forward(self, cond: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Pooled conditions [B, D] -> (targets [B, K'], standardised (mean, log std) [B, 2 T] or
        None for flat)."""
        h = self.trunk((cond - self.cond_shift) / self.cond_scale)
        if self.arrangement == "flat":
            return self.head(h), None
        n_seg = self.layer_emb.shape[0]
        tokens = torch.cat(
            [h[:, None, :].expand(-1, n_seg, -1), self.layer_emb[None].expand(h.shape[0], -1, -1)],
            -1,
        )
        out = self.head(tokens).flatten(1)  # [B, T * width]
        return out[:, self.weight_index] + self.base, out[:, self.stat_index] + self.stat_base

    def unscale_stats(self, stats: torch.Tensor) -> torch.Tensor:
        return stats * self.stat_scale + self.stat_shift


def load_direct(folder, device="cpu") -> DirectNet:
    """Rebuild a trained direct generator from its model folder (config.json +
    model.safetensors)."""
    meta, state = read_model(folder, KIND)
    return load_state(DirectNet.from_description(meta), state, folder, device)
