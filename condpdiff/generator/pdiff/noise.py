"""The noise process: DDPM training loss and DDPM/DDIM sampling over (scaled) AE latents.

Schedulers are diffusers' (DDPMScheduler / DDIMScheduler, T=1000, linear betas 1e-4..0.02 by
default, eps-prediction). ``LatentDiffusion`` bundles the denoiser with the latent
``shift``/``scale`` (latents are standardised to std ~1 before diffusion: p-diff users
report sample collapse on large latents) and the scheduler settings, so the saved model is
self-contained. Optional classifier-free guidance: train with ``cond_drop`` > 0, sample with
``guidance_scale`` != 1. One reverse loop (``reverse_process``, yielding each step) serves
``sample`` and the sampling-trajectory analysis.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import torch
from torch import nn
from tqdm import tqdm

from condpdiff.generator.modelio import config_from_dict, load_state, read_model
from condpdiff.generator.pdiff.denoiser import DenoiserConfig, UNet1D

KIND = "diffusion"


@dataclass
class NoiseConfig:
    num_train_timesteps: int = 1000
    beta_start: float = 1e-4
    beta_end: float = 0.02
    beta_schedule: str = "linear"


class LatentDiffusion(nn.Module):
    """Denoiser + latent standardisation + noise schedule settings (everything sampling needs)."""

    def __init__(
        self,
        net: UNet1D,
        noise: NoiseConfig,
        shift: float = 0.0,
        scale: float = 1.0,
        extra: dict | None = None,
    ):
        super().__init__()
        self.net, self.noise = net, noise
        self.register_buffer("shift", torch.tensor(float(shift)))
        self.register_buffer("scale", torch.tensor(float(scale)))
        self.extra = dict(extra or {})

    def describe(self) -> dict:
        return {
            "denoiser": self.net.describe(),
            "noise": asdict(self.noise),
            "shift": float(self.shift),
            "scale": float(self.scale),
            "extra": self.extra,
        }

    @classmethod
    def from_description(cls, meta: dict) -> LatentDiffusion:
        d = meta["denoiser"]
        net = UNet1D(
            config_from_dict(DenoiserConfig, d["config"]),
            d["in_channels"],
            d["length"],
            d["cond_dim"],
        )
        return cls(
            net,
            config_from_dict(NoiseConfig, meta["noise"]),
            meta["shift"],
            meta["scale"],
            meta.get("extra"),
        )

    def to_unit(self, z: torch.Tensor) -> torch.Tensor:
        return (z - self.shift) / self.scale

    def from_unit(self, u: torch.Tensor) -> torch.Tensor:
        return u * self.scale + self.shift


def load_diffusion(folder, device="cpu") -> LatentDiffusion:
    """Rebuild a trained diffusion model from its model folder (config.json + model.safetensors)."""
    meta, state = read_model(folder, KIND)
    return load_state(LatentDiffusion.from_description(meta), state, folder, device)


def make_scheduler(noise: NoiseConfig, kind: str = "ddpm"):
    from diffusers import DDIMScheduler, DDPMScheduler

    kwargs = dict(
        num_train_timesteps=noise.num_train_timesteps,
        beta_start=noise.beta_start,
        beta_end=noise.beta_end,
        beta_schedule=noise.beta_schedule,
        prediction_type="epsilon",
        clip_sample=False,
    )
    if kind == "ddpm":
        return DDPMScheduler(**kwargs)
    if kind == "ddim":
        return DDIMScheduler(**kwargs, set_alpha_to_one=True)
    raise ValueError(f"unknown scheduler kind {kind!r} (ddpm or ddim)")


def parse_sampler(sampler: str) -> tuple[str, int]:
    """``ddim50`` -> ("ddim", 50)."""
    m = re.fullmatch(r"(ddpm|ddim)(\d+)", sampler)
    if not m or int(m.group(2)) < 1:
        raise ValueError(f"sampler must look like 'ddim50' or 'ddpm1000', got {sampler!r}")
    return m.group(1), int(m.group(2))


def training_loss(
    model: LatentDiffusion,
    scheduler,
    u0: torch.Tensor,
    cond: torch.Tensor,
    generator: torch.Generator,
    cond_drop: float = 0.0,
) -> torch.Tensor:
    """eps-prediction MSE at one uniformly drawn timestep per sample (u0: standardised latents)."""
    b = u0.shape[0]
    t = torch.randint(0, scheduler.config.num_train_timesteps, (b,), generator=generator).to(
        u0.device
    )
    eps = torch.randn(u0.shape, generator=generator).to(u0.device)
    drop = (torch.rand(b, generator=generator) < cond_drop).to(u0.device) if cond_drop > 0 else None
    noisy = scheduler.add_noise(u0, eps, t)
    return nn.functional.mse_loss(model.net(noisy, t, cond, drop).float(), eps)


@dataclass
class ReverseStep:
    """One step of the reverse process, in standardised (unit) latents: `u` after the step and the
    model's prediction of the clean latent (x0) made at it."""

    index: int  # 0 .. steps - 1
    timestep: int
    u: torch.Tensor
    x0: torch.Tensor


@torch.no_grad()
def reverse_process(
    model: LatentDiffusion,
    cond: torch.Tensor,
    sampler: str,
    generator: torch.Generator,
    guidance_scale: float = 1.0,
    eta: float = 0.0,
    progress: bool = False,
) -> Iterator[ReverseStep]:
    """THE reverse process for each row of `cond` [B, D], in one batch, yielded step by step.

    ``sample`` runs it to the end; ``analysis.sampling_trajectory`` keeps some steps' x0
    predictions. Both go through this loop, so a trajectory's end is the sample, bit for bit.
    """
    kind, steps = parse_sampler(sampler)
    net = model.net
    device = cond.device
    sched = make_scheduler(model.noise, kind)
    sched.set_timesteps(steps, device=device)
    b = cond.shape[0]
    u = torch.randn(
        (b, net.in_channels, net.length), generator=generator, device=generator.device
    ).to(device)
    u = u * sched.init_noise_sigma
    guided = guidance_scale != 1.0
    kwargs = {"eta": eta} if kind == "ddim" else {}
    for i, t in enumerate(tqdm(sched.timesteps, desc=sampler, disable=not progress)):
        tt = t.expand(b).to(device)
        if guided:
            drop = torch.cat(
                [torch.zeros(b, dtype=torch.bool), torch.ones(b, dtype=torch.bool)]
            ).to(device)
            e_c, e_u = net(
                torch.cat([u, u]), torch.cat([tt, tt]), torch.cat([cond, cond]), drop
            ).chunk(2)
            eps = e_u + guidance_scale * (e_c - e_u)
        else:
            eps = net(u, tt, cond)
        out = sched.step(eps, t, u, generator=generator, **kwargs)
        u = out.prev_sample
        yield ReverseStep(i, int(t), u, out.pred_original_sample)


@torch.no_grad()
def sample(
    model: LatentDiffusion,
    cond: torch.Tensor,
    sampler: str,
    generator: torch.Generator,
    guidance_scale: float = 1.0,
    eta: float = 0.0,
    progress: bool = False,
) -> torch.Tensor:
    """Latents for each row of `cond` [B, D], in ONE batched reverse process; returns AE-scale
    latents."""
    for step in reverse_process(model, cond, sampler, generator, guidance_scale, eta, progress):
        u = step.u
    return model.from_unit(u)
