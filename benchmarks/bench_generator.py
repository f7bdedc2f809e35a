"""Benchmark the generator at BERT-base r=1 size (K = 73,728; 6 tasks x 150 random vectors).

Prints autoencoder and diffusion training steps/s and peak memory, and the time to sample
20 candidates (reverse process + AE decode) with DDIM-50 and DDPM-1000. Not a test.
Needs only torch, diffusers, safetensors and the condpdiff package:

    python benchmarks/bench_generator.py                  # cuda if present, else cpu
    python benchmarks/bench_generator.py --device cpu --ae-steps 10 --diffusion-steps 20
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import torch

sys.path.insert(
    0, str(Path(__file__).resolve().parents[1])
)  # run from a checkout without installing

from condpdiff.generator.pdiff import train_autoencoder, train_diffusion  # noqa: E402
from condpdiff.generator.pdiff.autoencoder import AutoencoderConfig, encode_all  # noqa: E402
from condpdiff.generator.pdiff.denoiser import DenoiserConfig  # noqa: E402
from condpdiff.generator.pdiff.sample_candidates import SamplingConfig, generate  # noqa: E402


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def reset_peak(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak(device: torch.device) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.max_memory_allocated(device) / 2**20:.0f} MiB GPU"
    return f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB process RSS"


def timed(fn, device):
    sync(device)
    t0 = time.perf_counter()
    out = fn()
    sync(device)
    return out, time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--k", type=int, default=73_728)
    p.add_argument("--tasks", type=int, default=6)
    p.add_argument("--n", type=int, default=150)
    p.add_argument("--ae-steps", type=int, default=50)
    p.add_argument("--diffusion-steps", type=int, default=200)
    p.add_argument("--ae-batch", type=int, default=64)
    p.add_argument("--diffusion-batch", type=int, default=128)
    p.add_argument("--samplers", nargs="+", default=["ddim50", "ddpm1000"])
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0 = torch default)")
    a = p.parse_args()
    device = torch.device(
        "cuda"
        if a.device == "auto" and torch.cuda.is_available()
        else ("cpu" if a.device == "auto" else a.device)
    )
    if a.threads:
        torch.set_num_threads(a.threads)
    name = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else f"cpu ({torch.get_num_threads()} threads)"
    )
    print(f"device: {name}; torch {torch.__version__}; K={a.k:,}, {a.tasks} tasks x {a.n} vectors")

    g = torch.Generator().manual_seed(0)
    x = torch.randn(a.tasks * a.n, a.k, generator=g)
    ids = torch.arange(a.tasks).repeat_interleave(a.n)
    conds = torch.eye(a.tasks)[ids]
    ae_net, diff_net = AutoencoderConfig(), DenoiserConfig()

    ae_cfg = train_autoencoder.AETrainConfig(batch_size=a.ae_batch, lr=1e-3, device=str(device))
    ae_cfg.steps = 3  # warm-up (cuDNN autotuning, allocator)
    train_autoencoder.train(x, ae_net, ae_cfg)
    ae_cfg.steps = a.ae_steps
    reset_peak(device)
    (ae, _), sec = timed(lambda: train_autoencoder.train(x, ae_net, ae_cfg), device)
    n_params = sum(p.numel() for p in ae.parameters())
    print(
        f"autoencoder: {n_params / 1e6:.2f}M params, batch {a.ae_batch}: {a.ae_steps / sec:.1f} "
        f"steps/s ({a.ae_steps} steps in {sec:.1f}s incl. setup), peak {peak(device)}"
    )

    latents = encode_all(ae.to(device), x)
    d_cfg = train_diffusion.DiffusionTrainConfig(batch_size=a.diffusion_batch, device=str(device))
    d_cfg.steps = 3
    train_diffusion.train(latents, conds, diff_net, d_cfg)
    d_cfg.steps = a.diffusion_steps
    reset_peak(device)
    (diff, _), sec = timed(lambda: train_diffusion.train(latents, conds, diff_net, d_cfg), device)
    n_params = sum(p.numel() for p in diff.parameters())
    print(
        f"diffusion: {n_params / 1e6:.2f}M params, batch {a.diffusion_batch}: "
        f"{a.diffusion_steps / sec:.1f} steps/s ({a.diffusion_steps} steps in {sec:.1f}s incl. "
        f"setup), peak {peak(device)}"
    )

    cfg = SamplingConfig(num_candidates=20, seed=0, device=str(device))
    for sampler in a.samplers:
        generate(diff, ae, torch.eye(a.tasks)[0], sampler, cfg)  # warm-up
        reset_peak(device)
        times = []
        for _ in range(3):
            z, sec = timed(
                lambda sampler=sampler: generate(diff, ae, torch.eye(a.tasks)[0], sampler, cfg),
                device,
            )
            times.append(sec)
        assert z.shape == (20, a.k) and torch.isfinite(z).all()
        print(
            f"sample 20 candidates with {sampler} (incl. decode): best {min(times):.3f}s, "
            f"median {sorted(times)[1]:.3f}s, peak {peak(device)}"
        )


if __name__ == "__main__":
    main()
