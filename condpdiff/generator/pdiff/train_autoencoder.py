"""Train the parameter autoencoder on the normalised training matrix of all tasks.

Writes the model folder (model.safetensors, config.json, curve.csv), a report with the
reconstruction MSE per task in normalised and in parameter space, and each task's
reconstructions as a parameter file (same rows, heads and steps as the training rows,
denormalised) so they can be scored like any other candidates.
"""

from __future__ import annotations

import argparse
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from condpdiff.generator import training
from condpdiff.generator.modelio import CURVE, save_model, write_curve
from condpdiff.generator.pdiff.autoencoder import (
    KIND,
    AutoencoderConfig,
    ParamAutoencoder,
    reconstruct,
)
from condpdiff.params.norm_stats import NormStats, load_training_harvests, training_matrix
from condpdiff.params.paramfile import ParamSet
from condpdiff.util import cli
from condpdiff.util.atomic import write_json

log = logging.getLogger("condpdiff.generator.pdiff.train_autoencoder")


@dataclass
class AETrainConfig:
    steps: int = 12000
    batch_size: int = 64
    lr: float = 2e-4
    weight_decay: float = 2e-6
    warmup_steps: int = 0
    bf16_fraction: float = 0.75
    seed: int = 0
    generator_seed: int = 0  # the generator replicate N (path part -genseed{N}): runs with seed + N
    device: str = "auto"
    threads: int = 0  # CPU threads (0 = torch default)


def train(
    x: torch.Tensor, net_cfg: AutoencoderConfig, cfg: AETrainConfig
) -> tuple[ParamAutoencoder, list[dict]]:
    """Fit an autoencoder to the rows of `x` [N, K]; returns it (eval mode, on CPU) and the loss
    curve."""
    device = training.pick_device(cfg.device)
    training.set_threads(cfg.threads)
    seed = training.run_seed(cfg)
    torch.manual_seed(seed)
    model = ParamAutoencoder(net_cfg, x.shape[1]).to(device)
    x = x.to(device)
    gen = torch.Generator().manual_seed(seed)

    def loss_fn(step: int) -> torch.Tensor:
        batch = x[training.batch_indices(x.shape[0], cfg.batch_size, gen, device)]
        return torch.nn.functional.mse_loss(model(batch).float(), batch)

    curve = training.fit(model, model.parameters(), loss_fn, cfg, device, "autoencoder")
    return model.cpu().eval(), curve


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument(
        "--stats", required=True, help="normalisation stats (condpdiff.params.norm_stats)"
    )
    p.add_argument(
        "--harvests", nargs="+", required=True, help="harvest files, one per task, in --tasks order"
    )
    p.add_argument("--tasks", nargs="+", required=True, help="must be the stats file's task list")
    p.add_argument(
        "--out-dir", required=True, help="model folder: model.safetensors, config.json, curve.csv"
    )
    p.add_argument("--report", required=True, help="JSON: reconstruction MSE per task")
    p.add_argument(
        "--recon-dir", default=None, help="write <task>.safetensors reconstructions here"
    )
    cli.add_dataclass_args(p, AutoencoderConfig)
    cli.add_dataclass_args(p, AETrainConfig)
    a = p.parse_args(argv)
    cli.setup_logging()
    net_cfg, cfg = (
        cli.dataclass_from_args(AutoencoderConfig, a),
        cli.dataclass_from_args(AETrainConfig, a),
    )

    stats = NormStats.load(a.stats)
    sets = load_training_harvests(stats, a.stats, a.harvests, a.tasks, "train_autoencoder")
    x, ids = training_matrix(sets, stats)
    log.info("training matrix %s from %d tasks", tuple(x.shape), len(a.tasks))
    t0 = time.time()
    model, curve = train(x, net_cfg, cfg)
    seconds = time.time() - t0
    save_model(a.out_dir, model, KIND)
    write_curve(Path(a.out_dir) / CURVE, curve)

    recon = reconstruct(model, x)
    report = {
        "train_seconds": round(seconds, 2),
        "k": x.shape[1],
        "rows": x.shape[0],
        "final_loss": curve[-1]["loss"] if curve else None,
        "train": asdict(cfg),
        "tasks": {},
    }
    for i, task in enumerate(stats.tasks):
        rows = ids == i
        last = sets[task].last(stats.n)
        fill = last.params[-1]
        orig = stats.denormalise(x[rows], task, fill)
        rec = stats.denormalise(recon[rows], task, fill)
        report["tasks"][task] = {
            "mse_normalised": float(((recon[rows] - x[rows]) ** 2).mean()),
            "mse_params": float(((rec - orig)[:, stats.mask] ** 2).mean()),
            "param_var": float(orig[:, stats.mask].var(0, unbiased=False).mean()),
        }
        if a.recon_dir:
            info = {
                **last.info,
                "kind": "reconstructions",
                "autoencoder": str(a.out_dir),
                "generator_seed": cfg.generator_seed,
            }
            ParamSet(rec, last.layout, last.steps, last.loss, last.heads, info).save(
                Path(a.recon_dir) / f"{task}.safetensors"
            )
    write_json(a.report, report)
    log.info(
        "reconstruction MSE (normalised): %s",
        {t: round(r["mse_normalised"], 5) for t, r in report["tasks"].items()},
    )


if __name__ == "__main__":
    main()
