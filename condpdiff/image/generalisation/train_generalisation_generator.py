"""Train the Cond P-Diff generator on the generalisation set's TRAINING l only.

The training rows are theta(l) for l in [0.1, 0.2) U [0.3, 0.4) U ... U [0.9, 1.0), one vector per
l. They are normalised with ONE mean / std per coordinate over all training rows (``--norm batch``;
``none`` leaves them raw): the paper's per-task normalisation would z-score each l over its single
vector, which is meaningless, and stats that included a test l would leak it. The test rows are
never read. Then, by the generator's own library functions, the parameter autoencoder
(``generator.pdiff.train_autoencoder.train``) and the conditional latent diffusion model with its
conv projector (``generator.pdiff.train_diffusion.train``): each training row is its own "style",
at every batch conditioned on one of ITS l's condition maps drawn at random (``StyleMaps``), as
Table 2's generator is (``--condition-pool each``), or on the mean of its l's k maps
(``--condition-pool mean``: one set-level condition per l; neighbouring l differ far less than two
images of one l do, so a single map says little about l). The diffusion model records the pooling
(``extra.condition_pool``) and the samplers apply the same to a test l's maps.

Writes ``--out-dir``: ``stats.safetensors``, ``autoencoder/`` and ``diffusion/`` (model folders, as
the main generator's) and ``report.json`` (reconstruction distance of every training row in raw
parameter space next to the grid's spacing, seconds).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import time
from dataclasses import asdict
from pathlib import Path

import torch

from condpdiff.generator.modelio import CURVE, save_model, write_curve
from condpdiff.generator.pdiff import autoencoder as ae_mod
from condpdiff.generator.pdiff import noise as noise_mod
from condpdiff.generator.pdiff.denoiser import DenoiserConfig
from condpdiff.generator.pdiff.train_autoencoder import AETrainConfig
from condpdiff.generator.pdiff.train_autoencoder import train as train_autoencoder
from condpdiff.generator.pdiff.train_diffusion import DiffusionTrainConfig, StyleMaps
from condpdiff.generator.pdiff.train_diffusion import train as train_diffusion
from condpdiff.image.generalisation.common import load_conditions, load_set, relative_distance
from condpdiff.params.norm_stats import compute, training_matrix
from condpdiff.util import cli
from condpdiff.util.atomic import write_json

log = logging.getLogger("condpdiff.image.generalisation.train_generalisation_generator")
NORMS = ("batch", "none")
POOLS = ("each", "mean")
TASK = "train"  # the one 'task' of the stats: every training row
AE, DIFF = "ae-", "diffusion-"


def pool_maps(maps: torch.Tensor, pool: str) -> torch.Tensor:
    """[M, k, C, h, w] condition maps as the generator sees them:
    all k (``each``) or their mean (``mean``, k = 1)."""
    if pool not in POOLS:
        raise ValueError(
            f"image.generalisation.condition_pool must be one of {POOLS}, got {pool!r}"
        )
    return maps.mean(1, keepdim=True) if pool == "mean" else maps


def fit(
    gset,
    maps: torch.Tensor,
    norm: str,
    ae_net: ae_mod.AutoencoderConfig,
    ae_cfg: AETrainConfig,
    dn_net: DenoiserConfig,
    dn_cfg: DiffusionTrainConfig,
    sources: dict,
    pool: str = "each",
) -> tuple:
    """(stats, autoencoder, ae curve, diffusion, diffusion curve,
    report) trained on the set's training rows."""
    maps = pool_maps(maps, pool)
    if norm not in NORMS:
        raise ValueError(f"image.generalisation.norm must be one of {NORMS}, got {norm!r}")
    train = gset.params.select(gset.train)
    stats = compute({TASK: train}, norm, train.n, "all")
    x, _ = training_matrix({TASK: train}, stats)
    log.info(
        "training rows %s (l = %s ... %s), norm %s",
        tuple(x.shape),
        gset.lambdas[gset.train[0]],
        gset.lambdas[gset.train[-1]],
        norm,
    )
    t0 = time.time()
    ae, ae_curve = train_autoencoder(x, ae_net, ae_cfg)
    ae_seconds = time.time() - t0
    latents = ae_mod.encode_all(ae, x)
    conds = StyleMaps.build([maps[i] for i in gset.train], torch.arange(len(gset.train)))
    extra = {
        "tasks": [f"l={gset.lambdas[i]:.6g}" for i in gset.train],
        "condition": sources["condition"],
        "autoencoder": sources["autoencoder"],
        "train": asdict(dn_cfg),
        "condition_images": int(maps.shape[1]),
        "condition_pool": pool,
        "generalisation_set": sources["set"],
    }
    t1 = time.time()
    diffusion, dn_curve = train_diffusion(
        latents, conds, dataclasses.replace(dn_net, cond_mode="conv"), dn_cfg, extra=extra
    )
    diffusion.extra["train_seconds"] = round(time.time() - t1, 2)
    recon = stats.denormalise(ae_mod.reconstruct(ae, x), TASK, train.params[-1])
    spacing = relative_distance(gset.theta(1), gset.theta(0))
    report = {
        "norm": norm,
        "condition_pool": pool,
        "rows": x.shape[0],
        "k": x.shape[1],
        "train": gset.train,
        "autoencoder_seconds": round(ae_seconds, 2),
        "diffusion_seconds": diffusion.extra["train_seconds"],
        "autoencoder_final_loss": ae_curve[-1]["loss"] if ae_curve else None,
        "diffusion_final_loss": dn_curve[-1]["loss"] if dn_curve else None,
        "recon_relative_distance": {
            f"{gset.lambdas[i]:.6g}": relative_distance(recon[r], gset.theta(i))
            for r, i in enumerate(gset.train)
        },
        "grid_step_relative_distance_at_l0": spacing,
        "autoencoder_config": asdict(ae_net),
        "autoencoder_train": asdict(ae_cfg),
        "diffusion_config": asdict(dn_net),
        "diffusion_train": asdict(dn_cfg),
    }
    return stats, ae, ae_curve, diffusion, dn_curve, report


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--set", required=True, help="the generalisation set (build_generalisation_set)")
    p.add_argument(
        "--conditions", required=True, help="its condition maps (generate_generalisation_images)"
    )
    p.add_argument(
        "--norm",
        default="batch",
        choices=NORMS,
        help="one mean/std over the training rows, or none",
    )
    p.add_argument(
        "--condition-pool",
        default="each",
        choices=POOLS,
        help="each: one of the l's maps per batch (as Table 2); mean: the mean of its maps",
    )
    p.add_argument(
        "--out-dir", required=True, help="stats.safetensors, autoencoder/, diffusion/, report.json"
    )
    cli.add_dataclass_args(p, ae_mod.AutoencoderConfig, prefix=AE)
    cli.add_dataclass_args(p, AETrainConfig, prefix=AE)
    cli.add_dataclass_args(p, DenoiserConfig, prefix=DIFF)
    cli.add_dataclass_args(p, DiffusionTrainConfig, prefix=DIFF)
    a = p.parse_args(argv)
    cli.setup_logging()
    gset = load_set(a.set)
    maps, cinfo = load_conditions(a.conditions, gset.points)
    out = Path(a.out_dir)
    sources = {
        "set": a.set,
        "condition": cinfo.get("condition", "resnet18-image"),
        "autoencoder": str(out / "autoencoder"),
    }
    stats, ae, ae_curve, diffusion, dn_curve, report = fit(
        gset,
        maps,
        a.norm,
        cli.dataclass_from_args(ae_mod.AutoencoderConfig, a, AE),
        cli.dataclass_from_args(AETrainConfig, a, AE),
        cli.dataclass_from_args(DenoiserConfig, a, DIFF),
        cli.dataclass_from_args(DiffusionTrainConfig, a, DIFF),
        sources,
        a.condition_pool,
    )
    stats.save(out / "stats.safetensors")
    save_model(out / "autoencoder", ae, ae_mod.KIND)
    write_curve(out / "autoencoder" / CURVE, ae_curve)
    save_model(out / "diffusion", diffusion, noise_mod.KIND)
    write_curve(out / "diffusion" / CURVE, dn_curve)
    write_json(out / "report.json", report)
    rec = list(report["recon_relative_distance"].values())
    log.info(
        "%s: autoencoder %.0fs, diffusion %.0fs; reconstruction distance %.4f..%.4f (grid step "
        "%.4f)",
        out,
        report["autoencoder_seconds"],
        report["diffusion_seconds"],
        min(rec),
        max(rec),
        report["grid_step_relative_distance_at_l0"],
    )


if __name__ == "__main__":
    main()
