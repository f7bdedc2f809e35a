"""Pieces shared by the generator's training loops: device, optimiser + cosine schedule, bf16
window.

docs/method.md section 3-4: AdamW with a cosine learning rate, bf16 autocast for the first 75% of
the steps where bf16 is native, on a GPU or a CPU with AVX512-BF16 / AMX (full precision for the
last quarter, where the loss is small and bf16 noise would dominate); elsewhere float32.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import torch
from tqdm import tqdm

from condpdiff.pipeline.artifacts import stop_if_nonfinite, stop_if_nonfinite_params
from condpdiff.util.precision import autocast_dtype

CHECK_EVERY = 50  # steps between finite checks (each one syncs a GPU once)


def set_threads(n: int) -> None:
    """CPU threads for torch (0 = leave torch's default). Small models on a shared CPU run faster on
    1."""
    if n > 0:
        torch.set_num_threads(n)


def run_seed(cfg) -> int:
    """The seed a generator step (training or sampling) runs with: its configured ``seed`` plus
    its ``generator_seed``, the generator replicate N (config ``seeds.generator``, path part
    ``-genseed{N}``): N = 0 is the one-seed run."""
    if cfg.generator_seed < 0:
        raise ValueError(f"generator_seed {cfg.generator_seed}: expected a non-negative integer")
    return cfg.seed + cfg.generator_seed


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def optimiser_and_schedule(params, lr: float, weight_decay: float, steps: int, warmup_steps: int):
    from diffusers.optimization import get_cosine_schedule_with_warmup

    optim = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    return optim, get_cosine_schedule_with_warmup(optim, warmup_steps, steps)


def autocast(device: torch.device, step: int, total: int, bf16_fraction: float):
    """bf16 autocast while ``step < bf16_fraction * total`` where bf16 is native (a GPU that has
    it, a CPU with AVX512-BF16 / AMX: ``util.precision``), else a no-op (fp32)."""
    if step < bf16_fraction * total and autocast_dtype("auto", device) == torch.bfloat16:
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def batch_indices(
    n: int, batch_size: int, generator: torch.Generator, device: torch.device
) -> torch.Tensor:
    """A random batch of row indices (with replacement across steps, without within a batch when
    possible)."""
    if batch_size >= n:
        return torch.randperm(n, generator=generator).to(device)
    return torch.randperm(n, generator=generator)[:batch_size].to(device)


def peak_memory_mb(device: torch.device) -> float | None:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return None


def fit(
    model: torch.nn.Module,
    params,
    loss_fn: Callable[[int], torch.Tensor],
    cfg,
    device: torch.device,
    where: str,
) -> list[dict]:
    """The generators' training loop; returns the loss curve (one row per step: step, loss, lr).

    AdamW + cosine schedule over `params`, bf16 autocast for the first ``cfg.bf16_fraction`` of
    the steps on a GPU, `loss_fn(step)` giving the batch loss. Every `CHECK_EVERY` steps and at
    the end, a non-finite loss or weight stops training with `NonFiniteError` (naming `where`
    and its ``lr``), so a diverged model is never saved. `cfg` has steps, lr, weight_decay,
    warmup_steps and bf16_fraction.
    """
    optim, sched = optimiser_and_schedule(
        params, cfg.lr, cfg.weight_decay, cfg.steps, cfg.warmup_steps
    )
    losses, lrs = torch.zeros(cfg.steps, device=device), []  # no per-step GPU sync
    hint = f"{where}.lr = {cfg.lr} is too large"
    model.train()
    for step in tqdm(range(cfg.steps), desc=where, mininterval=5):
        with autocast(device, step, cfg.steps, cfg.bf16_fraction):
            loss = loss_fn(step)
        optim.zero_grad(set_to_none=True)
        loss.backward()
        optim.step()
        sched.step()
        losses[step] = loss.detach()
        lrs.append(sched.get_last_lr()[0])
        if (step + 1) % CHECK_EVERY == 0 or step + 1 == cfg.steps:
            stop_if_nonfinite(losses[: step + 1], 1, where, hint)
            stop_if_nonfinite_params(model.named_parameters(), where, step + 1, hint)
    return [
        {"step": i + 1, "loss": loss, "lr": lr}
        for i, (loss, lr) in enumerate(zip(losses.tolist(), lrs))
    ]
