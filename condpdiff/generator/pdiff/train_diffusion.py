"""Train the conditional latent diffusion model on the autoencoder's latents of every task.

The training rows are encoded once (noise-free) by the trained autoencoder, standardised
with one scalar shift/scale (stored in the model), and paired with their task's condition
vector. Writes the model folder: model.safetensors, config.json, curve.csv.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from condpdiff.util import cli
from condpdiff.generator import training
from condpdiff.conditions.condition import load_condition
from condpdiff.generator.pdiff.denoiser import DenoiserConfig, UNet1D
from condpdiff.generator.pdiff.autoencoder import encode_all, load_autoencoder
from condpdiff.generator.pdiff.noise import KIND, LatentDiffusion, NoiseConfig, make_scheduler, training_loss
from condpdiff.generator.modelio import CURVE, save_model, write_curve
from condpdiff.params.norm_stats import NormStats, load_training_harvests, training_matrix

log = logging.getLogger("condpdiff.generator.pdiff.train_diffusion")


@dataclass
class DiffusionTrainConfig:
    steps: int = 50000
    batch_size: int = 128
    lr: float = 5e-4
    weight_decay: float = 0.0
    warmup_steps: int = 0
    bf16_fraction: float = 0.75
    cond_drop: float = 0.0  # > 0 trains for classifier-free guidance
    seed: int = 0
    device: str = "auto"
    threads: int = 0  # CPU threads (0 = torch default)


def train(latents: torch.Tensor, conds: torch.Tensor, net_cfg: DenoiserConfig, cfg: DiffusionTrainConfig,
          noise: NoiseConfig | None = None, extra: dict | None = None) -> tuple[LatentDiffusion, list[dict]]:
    """Fit the denoiser to `latents` [N, C, L] with per-row condition vectors `conds` [N, D]."""
    device = training.pick_device(cfg.device)
    training.set_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    noise = noise or NoiseConfig()
    shift, scale = float(latents.mean()), float(latents.std())
    scale = scale if scale > 1e-8 else 1.0
    net = UNet1D(net_cfg, latents.shape[1], latents.shape[2], conds.shape[1])
    model = LatentDiffusion(net, noise, shift, scale, extra).to(device)
    sched = make_scheduler(noise, "ddpm")
    u0, conds = model.to_unit(latents.to(device)), conds.to(device)
    gen = torch.Generator().manual_seed(cfg.seed)

    def loss_fn(step: int) -> torch.Tensor:
        idx = training.batch_indices(u0.shape[0], cfg.batch_size, gen, device)
        return training_loss(model, sched, u0[idx], conds[idx], gen, cfg.cond_drop)

    curve = training.fit(model, net.parameters(), loss_fn, cfg, device, "diffusion")
    return model.cpu().eval(), curve


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--autoencoder", required=True, help="autoencoder model folder (condpdiff.generator.pdiff.train_autoencoder)")
    p.add_argument("--stats", required=True, help="normalisation stats (condpdiff.params.norm_stats)")
    p.add_argument("--harvests", nargs="+", required=True, help="harvest files, one per task, in --tasks order")
    p.add_argument("--tasks", nargs="+", required=True, help="must be the stats file's task list")
    p.add_argument("--conditions", nargs="+", required=True, help="condition files, one per task, in --tasks order")
    p.add_argument("--out-dir", required=True, help="model folder: model.safetensors, config.json, curve.csv")
    cli.add_dataclass_args(p, DenoiserConfig)
    cli.add_dataclass_args(p, DiffusionTrainConfig)
    p.set_defaults(cond_mode="auto")  # auto: "table" if the condition files ask for one (learnable), else "mlp"
    a = p.parse_args(argv)
    cli.setup_logging()
    net_cfg, cfg = cli.dataclass_from_args(DenoiserConfig, a), cli.dataclass_from_args(DiffusionTrainConfig, a)

    stats = NormStats.load(a.stats)
    if len(a.conditions) != len(a.tasks):
        raise ValueError(f"{len(a.conditions)} condition files for {len(a.tasks)} tasks")
    conds = [load_condition(f) for f in a.conditions]
    if net_cfg.cond_mode == "auto":
        modes = {c.projection for c in conds}
        if len(modes) != 1:
            raise ValueError(f"condition files ask for different projections {modes}: {a.conditions}")
        net_cfg = dataclasses.replace(net_cfg, cond_mode=modes.pop())
    x, ids = training_matrix(load_training_harvests(stats, a.stats, a.harvests, a.tasks), stats)
    ae = load_autoencoder(a.autoencoder, training.pick_device(cfg.device))
    latents = encode_all(ae, x)
    cond_rows = torch.stack([c.embedding for c in conds])[ids]
    log.info("latents %s, conditions %s (%s)", tuple(latents.shape), tuple(cond_rows.shape), net_cfg.cond_mode)
    extra = {"tasks": stats.tasks, "condition": conds[0].name, "autoencoder": str(a.autoencoder),
             "train": asdict(cfg)}
    t0 = time.time()
    model, curve = train(latents, cond_rows, net_cfg, cfg, extra=extra)
    model.extra["train_seconds"] = round(time.time() - t0, 2)
    save_model(a.out_dir, model, KIND)
    write_curve(Path(a.out_dir) / CURVE, curve)
    log.info("final loss %.5f", curve[-1]["loss"] if curve else float("nan"))


if __name__ == "__main__":
    main()
