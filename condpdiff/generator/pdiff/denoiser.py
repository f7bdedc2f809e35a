"""The denoiser: a 1-D CNN U-Net over [B, C, L] latents, predicting the added noise (eps).

Each sample gets its own sinusoidal timestep embedding (the public code embeds sample 0's
timestep for the whole batch; here output i depends on t_i only). The condition vector is
projected by an MLP (or, for ``cond_mode="table"``, looked up in a trainable table from its
one-hot; or, for ``cond_mode="conv"``, an image feature map [C, h, w] goes through the paper's
small conv projector, trained with the diffusion model: see `ConvProjector`) and ADDED to the
time embedding, which every residual block receives. A fully
connected residual layer sits at the bottom of the U-Net (docs/method.md section 4).
For classifier-free guidance a learned "no condition" embedding replaces the projected
condition where ``drop`` is true.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass
class DenoiserConfig:
    channels: tuple[int, ...] = (
        64,
        128,
        256,
    )  # one U-Net level per entry; each level but the last halves L
    kernel: int = 3
    emb_dim: int = 256
    bottom_hidden: int = 512  # width of the fully connected layer at the bottom
    cond_mode: str = (
        "mlp"  # mlp: MLP over the condition vector | table: trainable table over a one-hot
    )
    #                          | conv: conv projector over an image feature map [C, h, w]


COND_MODES = ("mlp", "table", "conv")


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of each sample's timestep: [B] -> [B, dim]."""
    half = dim // 2
    freqs = torch.exp(
        -math.log(10000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / half
    )
    args = t.float()[:, None] * freqs[None, :]
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=1)
    return nn.functional.pad(emb, (0, dim % 2))


def _groups(c: int) -> int:
    return math.gcd(c, 8)


class ResBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, emb_dim: int, kernel: int):
        super().__init__()
        pad = kernel // 2
        self.norm1, self.conv1 = (
            nn.GroupNorm(_groups(c_in), c_in),
            nn.Conv1d(c_in, c_out, kernel, padding=pad),
        )
        self.emb = nn.Linear(emb_dim, c_out)
        self.norm2, self.conv2 = (
            nn.GroupNorm(_groups(c_out), c_out),
            nn.Conv1d(c_out, c_out, kernel, padding=pad),
        )
        self.skip = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(nn.functional.silu(self.norm1(x))) + self.emb(emb)[:, :, None]
        h = self.conv2(nn.functional.silu(self.norm2(h)))
        return h + self.skip(x)


class ConvProjector(nn.Module):
    """The image condition's trainable projector (the paper's): feature map [B, C, h, w] -> [B,
    emb_dim].

    Conv2d(C, 64, 3, pad 1) -> SiLU -> Conv2d(64, 128, 3, stride 2, pad 1) -> SiLU ->
    adaptive average pool to 1x1 -> Linear(128, emb_dim). The frozen feature network that made
    the map lives outside the model (``condpdiff.conditions.image_encoder``).
    """

    def __init__(self, in_channels: int, emb_dim: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, 64, 3, padding=1),
            nn.SiLU(),
            nn.Conv2d(64, 128, 3, stride=2, padding=1),
            nn.SiLU(),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(1),
            nn.Linear(128, emb_dim),
        )

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        return self.net(maps)


def cond_shape(cond_mode: str, cond_dim) -> int | tuple[int, int, int]:
    """The condition's per-sample shape for `cond_mode`: D for mlp/table, (C, h, w) for conv."""
    if cond_mode == "conv":
        if (
            not isinstance(cond_dim, Sequence)
            or len(cond_dim) != 3
            or not all(int(v) > 0 for v in cond_dim)
        ):
            raise ValueError(
                f"cond_mode 'conv' needs the feature map shape (C, h, w), got {cond_dim!r}"
            )
        return tuple(int(v) for v in cond_dim)
    if isinstance(cond_dim, Sequence) or int(cond_dim) < 1:
        raise ValueError(
            f"cond_mode {cond_mode!r} needs a condition vector size D >= 1, got {cond_dim!r}"
        )
    return int(cond_dim)


class UNet1D(nn.Module):
    def __init__(
        self, cfg: DenoiserConfig, in_channels: int, length: int, cond_dim: int | Sequence[int]
    ):
        """`cond_dim`: the condition vector's size D, or for ``cond_mode="conv"`` the feature map
        shape (C, h, w)."""
        super().__init__()
        levels = len(cfg.channels)
        if length % 2 ** (levels - 1):
            raise ValueError(
                f"latent length {length} is not divisible by 2**{levels - 1} (diffusion.channels "
                f"has {levels} levels)"
            )
        if cfg.cond_mode not in COND_MODES:
            raise ValueError(
                f"diffusion.cond_mode must be one of {COND_MODES}, got {cfg.cond_mode!r}"
            )
        cond_dim = cond_shape(cfg.cond_mode, cond_dim)
        self.cfg, self.in_channels, self.length, self.cond_dim = cfg, in_channels, length, cond_dim
        d, k, ch = cfg.emb_dim, cfg.kernel, list(cfg.channels)
        self.time_mlp = nn.Sequential(nn.Linear(d, d), nn.SiLU(), nn.Linear(d, d))
        if cfg.cond_mode == "conv":
            self.cond_proj = ConvProjector(cond_dim[0], d)
        elif cfg.cond_mode == "table":
            self.cond_proj = nn.Linear(
                cond_dim, d, bias=False
            )  # a one-hot picks one row: an embedding table
            nn.init.normal_(self.cond_proj.weight, std=1.0)
        else:
            self.cond_proj = nn.Sequential(nn.Linear(cond_dim, d), nn.SiLU(), nn.Linear(d, d))
        self.null_cond = nn.Parameter(torch.zeros(d))
        self.inp = nn.Conv1d(in_channels, ch[0], k, padding=k // 2)
        self.down, self.downsample = nn.ModuleList(), nn.ModuleList()
        c_prev = ch[0]
        for i, c in enumerate(ch):
            self.down.append(ResBlock(c_prev, c, d, k))
            self.downsample.append(
                nn.Conv1d(c, c, 3, stride=2, padding=1) if i < levels - 1 else nn.Identity()
            )
            c_prev = c
        bottom = ch[-1] * (length // 2 ** (levels - 1))
        self.mid1 = ResBlock(ch[-1], ch[-1], d, k)
        self.fc = nn.Sequential(
            nn.Linear(bottom, cfg.bottom_hidden), nn.SiLU(), nn.Linear(cfg.bottom_hidden, bottom)
        )
        self.fc_emb = nn.Linear(d, cfg.bottom_hidden)
        self.mid2 = ResBlock(ch[-1], ch[-1], d, k)
        self.up, self.upsample = nn.ModuleList(), nn.ModuleList()
        for i in reversed(range(levels)):
            c_out = ch[i - 1] if i > 0 else ch[0]
            self.up.append(ResBlock(c_prev + ch[i], c_out, d, k))
            self.upsample.append(
                nn.Upsample(scale_factor=2, mode="nearest") if i > 0 else nn.Identity()
            )
            c_prev = c_out
        self.out = nn.Sequential(
            nn.GroupNorm(_groups(c_prev), c_prev),
            nn.SiLU(),
            nn.Conv1d(c_prev, in_channels, k, padding=k // 2),
        )
        nn.init.zeros_(self.out[-1].weight)
        nn.init.zeros_(self.out[-1].bias)

    def describe(self) -> dict:
        """The constructor's arguments (``cond_dim`` is [C, h, w] in conv mode): enough to rebuild
        the model."""
        cond_dim = list(self.cond_dim) if isinstance(self.cond_dim, tuple) else self.cond_dim
        return {
            "config": asdict(self.cfg),
            "in_channels": self.in_channels,
            "length": self.length,
            "cond_dim": cond_dim,
        }

    def embed(
        self, t: torch.Tensor, cond: torch.Tensor, drop: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Per-sample time embedding + projected condition ([B] and [B, D] or [B, C, h, w] -> [B,
        emb_dim])."""
        if self.cfg.cond_mode == "conv" and tuple(cond.shape[1:]) != self.cond_dim:
            raise ValueError(
                f"conv condition must be feature maps [B, {', '.join(map(str, self.cond_dim))}], "
                f"found shape {list(cond.shape)}"
            )
        c = self.cond_proj(cond)
        if drop is not None:
            c = torch.where(drop[:, None], self.null_cond.to(c.dtype).expand_as(c), c)
        return self.time_mlp(timestep_embedding(t, self.cfg.emb_dim).to(c.dtype)) + c

    def forward(
        self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor, drop: torch.Tensor | None = None
    ):
        if t.ndim == 0:
            t = t.expand(x.shape[0])
        if t.shape[0] != x.shape[0]:
            raise ValueError(
                f"need one timestep per sample: got {t.shape[0]} for a batch of {x.shape[0]}"
            )
        emb = self.embed(t, cond, drop)
        h = self.inp(x)
        skips = []
        for block, down in zip(self.down, self.downsample):
            h = block(h, emb)
            skips.append(h)
            h = down(h)
        h = self.mid1(h, emb)
        shape = h.shape
        flat = h.flatten(1)
        hidden = self.fc[0](flat) + self.fc_emb(emb)
        h = h + self.fc[2](self.fc[1](hidden)).view(shape)
        h = self.mid2(h, emb)
        for block, up in zip(self.up, self.upsample):
            h = block(torch.cat([h, skips.pop()], dim=1), emb)
            h = up(h)
        return self.out(h)
