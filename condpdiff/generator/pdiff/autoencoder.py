"""The parameter autoencoder (docs/method.md section 3): [B, K] vectors <-> [B, C, L] latents.

A 1-D CNN whose every layer downsamples by ``stride`` (the public code keeps the full
length K through its encoder, which is why it is slow at K ~ 1e5-1e6), a linear map to a
small latent, and a mirrored transposed-conv decoder. Gaussian noise is added to the input
and the latent in training mode only (p-diff: it makes the decoder robust to the
imperfect latents the diffusion model will produce). K is zero-padded internally to a
multiple of ``stride ** len(channels)``; callers only ever see [B, K].
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn

from condpdiff.generator.modelio import config_from_dict, load_state, read_model

KIND = "autoencoder"


@dataclass
class AutoencoderConfig:
    channels: tuple[int, ...] = (
        16,
        32,
        64,
        128,
        256,
    )  # encoder channels; each layer downsamples by `stride`
    kernel: int = 9
    stride: int = 4
    latent_channels: int = 4
    latent_length: int = 64  # latent size = latent_channels * latent_length
    input_noise: float = 0.001
    latent_noise: float = 0.1


def _act() -> nn.Module:
    return nn.LeakyReLU(0.2)


class ParamAutoencoder(nn.Module):
    def __init__(self, cfg: AutoencoderConfig, in_dim: int):
        super().__init__()
        if cfg.kernel % 2 == 0:
            raise ValueError(f"autoencoder.kernel must be odd, got {cfg.kernel}")
        if not cfg.channels:
            raise ValueError("autoencoder.channels must list at least one layer")
        self.cfg, self.in_dim = cfg, int(in_dim)
        factor = cfg.stride ** len(cfg.channels)
        self.padded = math.ceil(self.in_dim / factor) * factor
        self.bottom_len = self.padded // factor
        chans, k, s, pad = list(cfg.channels), cfg.kernel, cfg.stride, cfg.kernel // 2

        enc: list[nn.Module] = []
        for c_in, c_out in zip([1] + chans[:-1], chans):
            enc += [nn.Conv1d(c_in, c_out, k, s, padding=pad), _act()]
        self.encoder = nn.Sequential(*enc)
        flat = chans[-1] * self.bottom_len
        self.latent_shape = (cfg.latent_channels, cfg.latent_length)
        self.to_latent = nn.Linear(flat, cfg.latent_channels * cfg.latent_length)
        self.from_latent = nn.Linear(cfg.latent_channels * cfg.latent_length, flat)

        # Mirror image of the encoder; the last layer goes straight to 1 channel at full length
        # (no full-length conv with many channels: that is where the time would go).
        dec: list[nn.Module] = [_act()]
        rev = chans[::-1]
        for i, (c_in, c_out) in enumerate(zip(rev, rev[1:] + [1])):
            dec += [nn.ConvTranspose1d(c_in, c_out, k, s, padding=pad, output_padding=s - 1)]
            dec += [_act()] if i < len(rev) - 1 else []
        self.decoder = nn.Sequential(*dec)

    def describe(self) -> dict:
        return {"config": asdict(self.cfg), "in_dim": self.in_dim}

    @classmethod
    def from_description(cls, meta: dict) -> ParamAutoencoder:
        return cls(config_from_dict(AutoencoderConfig, meta["config"]), meta["in_dim"])

    def _noise(self, x: torch.Tensor, amplitude: float) -> torch.Tensor:
        return x + amplitude * torch.randn_like(x) if self.training and amplitude > 0 else x

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """[B, K] -> [B, latent_channels, latent_length] (no latent noise)."""
        if x.ndim != 2 or x.shape[1] != self.in_dim:
            raise ValueError(f"autoencoder expects [B, {self.in_dim}], got {tuple(x.shape)}")
        x = self._noise(x, self.cfg.input_noise)
        x = nn.functional.pad(x, (0, self.padded - self.in_dim)).unsqueeze(1)
        h = self.encoder(x).flatten(1)
        return self.to_latent(h).view(-1, *self.latent_shape)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """[B, latent_channels, latent_length] -> [B, K]."""
        h = self.from_latent(z.flatten(1)).view(z.shape[0], self.cfg.channels[-1], self.bottom_len)
        return self.decoder(h).squeeze(1)[:, : self.in_dim]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self._noise(self.encode(x), self.cfg.latent_noise))


def load_autoencoder(folder, device="cpu") -> ParamAutoencoder:
    """Rebuild a trained autoencoder from its model folder (config.json + model.safetensors)."""
    meta, state = read_model(folder, KIND)
    return load_state(ParamAutoencoder.from_description(meta), state, folder, device)


@torch.no_grad()
def encode_all(model: ParamAutoencoder, x: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Noise-free latents [N, C, L] of the rows of `x` (on CPU)."""
    model.eval()
    device = next(model.parameters()).device
    return torch.cat(
        [
            model.encode(x[i : i + batch_size].to(device)).float().cpu()
            for i in range(0, x.shape[0], batch_size)
        ]
    )


@torch.no_grad()
def reconstruct(model: ParamAutoencoder, x: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Noise-free encode + decode of the rows of `x` (on CPU)."""
    device = next(model.parameters()).device
    z = encode_all(model, x, batch_size)
    return torch.cat(
        [
            model.decode(z[i : i + batch_size].to(device)).float().cpu()
            for i in range(0, z.shape[0], batch_size)
        ]
    )
