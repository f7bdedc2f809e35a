"""Train the conditional latent diffusion model on the autoencoder's latents of every task.

The training rows are encoded once (noise-free) by the trained autoencoder, standardised
with one scalar shift/scale (stored in the model), and paired with their task's condition
vector. Writes the model folder: model.safetensors, config.json, curve.csv.

Image-style conditions (condition files with ``projection = "conv"``, one feature map per
train image of the style) train the denoiser's conv projector with the diffusion model: at
every batch each row gets a map drawn uniformly at random from ITS OWN style's images
(`StyleMaps`; styles may hold different numbers of images). Those draws use their own
seeded generator, so the batch and noise stream is the same one a vector condition sees.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from condpdiff.conditions.condition import Condition, load_condition
from condpdiff.generator import training
from condpdiff.generator.modelio import CURVE, save_model, write_curve
from condpdiff.generator.pdiff.autoencoder import encode_all, load_autoencoder
from condpdiff.generator.pdiff.denoiser import DenoiserConfig, UNet1D
from condpdiff.generator.pdiff.noise import (
    KIND,
    LatentDiffusion,
    NoiseConfig,
    make_scheduler,
    training_loss,
)
from condpdiff.params.norm_stats import NormStats, load_training_harvests, training_matrix
from condpdiff.util import cli

log = logging.getLogger("condpdiff.generator.pdiff.train_diffusion")


@dataclass
class StyleMaps:
    """Every style's feature maps in one flat bank, and which style each training row belongs to.

    Style s owns ``bank[offsets[s] : offsets[s] + counts[s]]``; `draw` picks, for each row,
    one of its own style's maps uniformly at random.
    """

    bank: torch.Tensor  # [M, C, h, w] float32, all styles' maps one after another
    offsets: torch.Tensor  # [S] long
    counts: torch.Tensor  # [S] long, each >= 1
    row_style: torch.Tensor  # [N] long: the style index of each training row

    @classmethod
    def build(cls, maps: list[torch.Tensor], row_style: torch.Tensor) -> StyleMaps:
        """From one [n_s, C, h, w] tensor per style (all of one map shape) and the rows' style
        indices."""
        if not maps:
            raise ValueError("no styles' feature maps")
        shapes = {tuple(m.shape[1:]) for m in maps}
        if any(m.ndim != 4 or m.shape[0] == 0 for m in maps) or len(shapes) != 1:
            raise ValueError(
                f"every style needs >= 1 feature map of one shape [C, h, w]; found shapes "
                f"{[list(m.shape) for m in maps]}"
            )
        counts = torch.tensor([m.shape[0] for m in maps], dtype=torch.long)
        offsets = torch.cumsum(counts, 0) - counts
        row_style = row_style.long().cpu()
        if row_style.numel() and (int(row_style.min()) < 0 or int(row_style.max()) >= len(maps)):
            raise ValueError(
                f"row style indices must lie in 0..{len(maps) - 1}, found "
                f"{int(row_style.min())}..{int(row_style.max())}"
            )
        return cls(torch.cat([m.float() for m in maps]), offsets, counts, row_style)

    @property
    def map_shape(self) -> tuple[int, int, int]:
        return tuple(self.bank.shape[1:])

    def draw(self, rows: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Bank indices [B]: for each training row in `rows`, a uniformly drawn map of its own
        style."""
        style = self.row_style[rows.cpu()]
        count = self.counts[style]
        k = (torch.rand(style.shape[0], generator=generator) * count).long().minimum(count - 1)
        return self.offsets[style] + k


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
    generator_seed: int = 0  # the generator replicate N (path part -genseed{N}): runs with seed + N
    device: str = "auto"
    threads: int = 0  # CPU threads (0 = torch default)


def train(
    latents: torch.Tensor,
    conds: torch.Tensor | StyleMaps,
    net_cfg: DenoiserConfig,
    cfg: DiffusionTrainConfig,
    noise: NoiseConfig | None = None,
    extra: dict | None = None,
) -> tuple[LatentDiffusion, list[dict]]:
    """Fit the denoiser to `latents` [N, C, L] with per-row condition vectors `conds` [N, D],
    or, for ``cond_mode="conv"``, with `StyleMaps` (a map of the row's style drawn at every
    batch)."""
    if isinstance(conds, StyleMaps) != (net_cfg.cond_mode == "conv"):
        raise ValueError(
            f"cond_mode {net_cfg.cond_mode!r} does not fit the conditions given "
            f"({type(conds).__name__}): feature maps (StyleMaps) go with 'conv' only"
        )
    if isinstance(conds, StyleMaps) and conds.row_style.shape[0] != latents.shape[0]:
        raise ValueError(
            f"{conds.row_style.shape[0]} row styles for {latents.shape[0]} latent rows"
        )
    device = training.pick_device(cfg.device)
    training.set_threads(cfg.threads)
    seed = training.run_seed(cfg)
    torch.manual_seed(seed)
    noise = noise or NoiseConfig()
    shift, scale = float(latents.mean()), float(latents.std())
    scale = scale if scale > 1e-8 else 1.0
    cond_dim = conds.map_shape if isinstance(conds, StyleMaps) else conds.shape[1]
    net = UNet1D(net_cfg, latents.shape[1], latents.shape[2], cond_dim)
    model = LatentDiffusion(net, noise, shift, scale, extra).to(device)
    sched = make_scheduler(noise, "ddpm")
    u0 = model.to_unit(latents.to(device))
    gen = torch.Generator().manual_seed(seed)  # batches and noise
    if isinstance(conds, StyleMaps):
        bank, pick = (
            conds.bank.to(device),
            torch.Generator().manual_seed(seed + 1),
        )  # pick: own stream

        def cond_of(idx: torch.Tensor) -> torch.Tensor:
            return bank[conds.draw(idx, pick).to(device)]
    else:
        rows = conds.to(device)

        def cond_of(idx: torch.Tensor) -> torch.Tensor:
            return rows[idx]

    def loss_fn(step: int) -> torch.Tensor:
        idx = training.batch_indices(u0.shape[0], cfg.batch_size, gen, device)
        return training_loss(model, sched, u0[idx], cond_of(idx), gen, cfg.cond_drop)

    curve = training.fit(model, net.parameters(), loss_fn, cfg, device, "diffusion")
    return model.cpu().eval(), curve


def resolve_cond_mode(cond_mode: str, conds: list[Condition], files: list[str]) -> str:
    """The denoiser's cond_mode: "auto" takes the condition files' projection (they must agree);
    feature-map ("conv") files and cond_mode "conv" go together only."""
    modes = {c.projection for c in conds}
    sets = [f for f, c in zip(files, conds) if c.projection == "set"]
    if sets:
        raise ValueError(
            f"{sets[0]}: a data condition (projection 'set', per-example embeddings) is for the "
            "generator kind 'direct', which pools k of them per draw; the diffusion model takes "
            "one vector or feature maps per task"
        )
    if cond_mode == "auto":
        if len(modes) != 1:
            raise ValueError(f"condition files ask for different projections {modes}: {files}")
        return modes.pop()
    conv_files = [f for f, c in zip(files, conds) if c.projection == "conv"]
    if cond_mode == "conv" and len(conv_files) != len(files):
        other = [f for f in files if f not in conv_files]
        raise ValueError(
            f"cond_mode 'conv' needs image feature-map condition files (projection 'conv'); "
            f"found vector conditions in {other}"
        )
    if cond_mode != "conv" and conv_files:
        raise ValueError(
            f"cond_mode {cond_mode!r} needs condition vectors; found image feature-map "
            f"conditions (projection 'conv') in {conv_files}: use cond_mode 'conv' or 'auto'"
        )
    return cond_mode


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument(
        "--autoencoder",
        required=True,
        help="autoencoder model folder (condpdiff.generator.pdiff.train_autoencoder)",
    )
    p.add_argument(
        "--stats", required=True, help="normalisation stats (condpdiff.params.norm_stats)"
    )
    p.add_argument(
        "--harvests", nargs="+", required=True, help="harvest files, one per task, in --tasks order"
    )
    p.add_argument("--tasks", nargs="+", required=True, help="must be the stats file's task list")
    p.add_argument(
        "--conditions",
        nargs="+",
        required=True,
        help="condition files, one per task, in --tasks order",
    )
    p.add_argument(
        "--out-dir", required=True, help="model folder: model.safetensors, config.json, curve.csv"
    )
    cli.add_dataclass_args(p, DenoiserConfig)
    cli.add_dataclass_args(p, DiffusionTrainConfig)
    p.set_defaults(
        cond_mode="auto"
    )  # auto: the condition files' projection (table for learnable, conv for images)
    a = p.parse_args(argv)
    cli.setup_logging()
    net_cfg, cfg = (
        cli.dataclass_from_args(DenoiserConfig, a),
        cli.dataclass_from_args(DiffusionTrainConfig, a),
    )

    stats = NormStats.load(a.stats)
    if len(a.conditions) != len(a.tasks):
        raise ValueError(f"{len(a.conditions)} condition files for {len(a.tasks)} tasks")
    conds = [load_condition(f, {"task": t}) for f, t in zip(a.conditions, a.tasks)]
    net_cfg = dataclasses.replace(
        net_cfg, cond_mode=resolve_cond_mode(net_cfg.cond_mode, conds, a.conditions)
    )
    sets = load_training_harvests(stats, a.stats, a.harvests, a.tasks, "train_diffusion")
    x, ids = training_matrix(sets, stats)
    ae = load_autoencoder(a.autoencoder, training.pick_device(cfg.device))
    latents = encode_all(ae, x)
    extra = {
        "tasks": stats.tasks,
        "condition": conds[0].name,
        "autoencoder": str(a.autoencoder),
        "train": asdict(cfg),
    }
    if net_cfg.cond_mode == "conv":
        shapes = {f: list(c.embedding.shape[1:]) for f, c in zip(a.conditions, conds)}
        if len({tuple(v) for v in shapes.values()}) != 1:
            raise ValueError(
                f"image condition files hold feature maps of different shapes [C, h, w]: {shapes}"
            )
        cond_rows = StyleMaps.build([c.embedding for c in conds], ids)
        extra["condition_images"] = {t: int(c.embedding.shape[0]) for t, c in zip(a.tasks, conds)}
        log.info(
            "latents %s, conditions: %d feature maps %s over %d styles (conv)",
            tuple(latents.shape),
            cond_rows.bank.shape[0],
            cond_rows.map_shape,
            len(conds),
        )
    else:
        cond_rows = torch.stack([c.embedding for c in conds])[ids]
        log.info(
            "latents %s, conditions %s (%s)",
            tuple(latents.shape),
            tuple(cond_rows.shape),
            net_cfg.cond_mode,
        )
    t0 = time.time()
    model, curve = train(latents, cond_rows, net_cfg, cfg, extra=extra)
    model.extra["train_seconds"] = round(time.time() - t0, 2)
    save_model(a.out_dir, model, KIND)
    write_curve(Path(a.out_dir) / CURVE, curve)
    log.info("final loss %.5f", curve[-1]["loss"] if curve else float("nan"))


if __name__ == "__main__":
    main()
