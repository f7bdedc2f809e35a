"""Pieces shared by the generator's training loops: device, optimiser + cosine schedule, bf16 window.

docs/method.md section 3-4: AdamW with a cosine learning rate, bf16 autocast for the first 75% of the
steps on GPU (full precision for the last quarter, where the loss is small and bf16 noise
would dominate). CPU runs stay in float32.
"""

from __future__ import annotations

import contextlib

import torch


def set_threads(n: int) -> None:
    """CPU threads for torch (0 = leave torch's default). Small models on a shared CPU run faster on 1."""
    if n > 0:
        torch.set_num_threads(n)


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def optimiser_and_schedule(params, lr: float, weight_decay: float, steps: int, warmup_steps: int):
    from diffusers.optimization import get_cosine_schedule_with_warmup

    optim = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    return optim, get_cosine_schedule_with_warmup(optim, warmup_steps, steps)


def autocast(device: torch.device, step: int, total: int, bf16_fraction: float):
    """bf16 autocast while ``step < bf16_fraction * total`` on a CUDA device, else a no-op."""
    if device.type == "cuda" and step < bf16_fraction * total:
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def batch_indices(n: int, batch_size: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    """A random batch of row indices (with replacement across steps, without within a batch when possible)."""
    if batch_size >= n:
        return torch.randperm(n, generator=generator).to(device)
    return torch.randperm(n, generator=generator)[:batch_size].to(device)


def peak_memory_mb(device: torch.device) -> float | None:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return None
