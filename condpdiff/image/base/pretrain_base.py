"""Pretrain a tiny PixArt-alpha base on captioned content images (tiny bases only).

Two stages, as the CPU calibration (docs/method.md section 8) found necessary:

1. the VAE: reconstruction MSE + ``kl_weight`` x KL (summed over the latent, averaged over the
   batch; the Stable Diffusion autoencoder's weighting) on random square crops and flips.
   Then it is frozen and ``vae.config.scaling_factor`` is set to 1 / (std of the latents of the
   training views), so scaled latents have unit variance (what 0.18215 does for SD's VAE);
   with ``vae_steps 0`` the VAE and its scaling factor are kept as they are;
2. the transformer: epsilon-prediction DDPM loss (``latents.diffusion_loss``; DDPMScheduler from
   the base's scheduler config) on VAE latents of ``views`` crops per image (+ their mirror
   images), encoded once, conditioned on the captions' T5 embeddings (frozen tiny T5, encoded
   once); ``caption_dropout`` of the captions become "" so classifier-free guidance works.

Writes the whole pipeline (``save_pretrained``) with ``curve.csv`` (phase, step, loss) and
``summary.json`` into ``--out`` atomically; a non-finite loss stops it before anything is written.
"""

from __future__ import annotations

import argparse
import logging
import math
import time
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from diffusers import DDPMScheduler
from tqdm import tqdm

from condpdiff.generator.training import optimiser_and_schedule, pick_device, set_threads
from condpdiff.image.base import latents as lt
from condpdiff.image.base.pixart import load_components, make_pipeline
from condpdiff.image.base.prompts import encode
from condpdiff.pipeline.artifacts import NonFiniteError
from condpdiff.util import cli
from condpdiff.util.atomic import atomic_dir, write_json, write_text

log = logging.getLogger("condpdiff.image.base.pretrain_base")


@dataclass
class PretrainConfig:
    vae_steps: int = 400
    vae_lr: float = 1e-3
    kl_weight: float = 1e-6
    steps: int = 3000
    vae_batch_size: int = 16  # the calibration's ~0.19 s/step (75 s for 400 steps); 32 doubles it
    batch_size: int = 32  # the transformer's
    lr: float = 1e-3
    warmup_steps: int = 100  # transformer only, then cosine decay (the VAE: cosine, no warmup)
    caption_dropout: float = 0.1
    views: int = 4  # crops per image encoded for stage 2 (1 for images already R x R)
    max_length: int = 120  # T5 tokens, PixArt-alpha's max_sequence_length
    resolution: int = 0  # 0 = the base's image size
    seed: int = 0
    threads: int = 1
    device: str = "auto"


def _check(loss: torch.Tensor, phase: str, step: int, total: int, lr: float) -> float:
    value = loss.item()
    if not math.isfinite(value):
        raise NonFiniteError(
            f"pretrain_base {phase}: loss is {value} at step {step} of {total}: training diverged;"
            f" nothing was written. Likely cause: the {phase} lr = {lr} is too large"
        )
    return value


def _random_crops(
    images: list[torch.Tensor], idx: list[int], res: int, gen: torch.Generator
) -> torch.Tensor:
    out = []
    for i in idx:
        img = images[i]
        y = int(torch.randint(0, img.shape[1] - res + 1, (1,), generator=gen))
        x = int(torch.randint(0, img.shape[2] - res + 1, (1,), generator=gen))
        crop = img[:, y : y + res, x : x + res]
        out.append(crop.flip(-1) if torch.rand(1, generator=gen).item() < 0.5 else crop)
    return torch.stack(out)


def train_vae(vae, images, cfg: PretrainConfig, res: int, device, gen, curve: list) -> float:
    vae.train()
    optim, sched = optimiser_and_schedule(vae.parameters(), cfg.vae_lr, 0.0, cfg.vae_steps, 0)
    t0, value = time.time(), float("nan")
    for step in tqdm(range(1, cfg.vae_steps + 1), desc="pretrain vae", mininterval=5):
        idx = torch.randint(0, len(images), (cfg.vae_batch_size,), generator=gen).tolist()
        x = _random_crops(images, idx, res, gen).to(device)
        dist = vae.encode(x).latent_dist
        recon = vae.decode(dist.sample(generator=gen)).sample
        loss = F.mse_loss(recon, x) + cfg.kl_weight * dist.kl().mean()
        value = _check(loss, "vae", step, cfg.vae_steps, cfg.vae_lr)
        optim.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        optim.step()
        sched.step()
        curve.append(("vae", step, value))
    vae.eval().requires_grad_(False)
    return time.time() - t0


def train_transformer(
    transformer, scheduler, bank: lt.LatentBank, embeds, mask, cfg: PretrainConfig, gen, curve: list
) -> float:
    transformer.train()
    warmup = min(cfg.warmup_steps, cfg.steps // 10)
    optim, sched = optimiser_and_schedule(transformer.parameters(), cfg.lr, 0.0, cfg.steps, warmup)
    t0 = time.time()
    bar = tqdm(range(1, cfg.steps + 1), desc="pretrain transformer", mininterval=5)
    for step in bar:
        idx = torch.randint(0, len(bank), (cfg.batch_size,), generator=gen)
        rows = bank.prompt[idx].clone()
        rows[(torch.rand(len(idx), generator=gen) < cfg.caption_dropout).to(rows.device)] = (
            0  # row 0 = ""
        )
        loss = lt.diffusion_loss(
            transformer, scheduler, bank.sample(idx, gen), embeds[rows], mask[rows], gen
        )
        value = _check(loss, "transformer", step, cfg.steps, cfg.lr)
        optim.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(transformer.parameters(), 1.0)
        optim.step()
        sched.step()
        curve.append(("transformer", step, value))
        bar.set_postfix(loss=f"{value:.4f}", refresh=False)
    transformer.eval()
    return time.time() - t0


def pretrain(base: str, folders: list[str], out: str, cfg: PretrainConfig) -> dict:
    """Train the base's VAE then transformer on the folders' images; write the pipeline to `out`."""
    set_threads(cfg.threads)
    device = pick_device(cfg.device)
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    comps = load_components(base)
    vae, transformer, text_encoder = (
        comps["vae"].to(device),
        comps["transformer"].to(device),
        comps["text_encoder"],
    )
    text_encoder.requires_grad_(False)
    res = cfg.resolution or lt.base_resolution(transformer, vae)
    items = [item for folder in folders for item in lt.read_captions(folder)]
    images = [lt.load_rgb(path, res) for path, _ in items]
    log.info("%d captioned images from %s at %d px", len(items), ", ".join(map(str, folders)), res)

    curve: list = []
    vae_seconds = train_vae(vae, images, cfg, res, device, gen, curve) if cfg.vae_steps else 0.0
    vae.eval().requires_grad_(False)
    cache = encode(text_encoder, comps["tokenizer"], [c for _, c in items], cfg.max_length)
    row = {p: i for i, p in enumerate(cache.prompts)}
    views, rows = [], []
    for img, (_, caption) in zip(images, items):
        crops = lt.square_views(img, res, cfg.views, gen)
        views += crops
        rows += [row[caption]] * len(crops)
    bank = lt.encode_views(vae, views, rows)
    if cfg.vae_steps:
        var = bank.mean.var() + (bank.std**2).mean()
        vae.register_to_config(scaling_factor=float(1.0 / var.sqrt()))
        bank.scaling = float(vae.config.scaling_factor)
    embeds, mask = (t.to(device) for t in lt.trim_tokens(cache.embeds, cache.mask))
    scheduler = DDPMScheduler.from_config(comps["scheduler"].config)
    tr_seconds = train_transformer(transformer, scheduler, bank, embeds, mask, cfg, gen, curve)

    vae_losses = [v for phase, _, v in curve if phase == "vae"]
    tr_losses = [v for phase, _, v in curve if phase == "transformer"]
    tail = max(1, min(50, len(tr_losses)))
    summary = {
        "base": base,
        "folders": [str(f) for f in folders],
        "n_images": len(items),
        "n_views": len(bank),
        "resolution": res,
        "scaling_factor": bank.scaling,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "vae_seconds": round(vae_seconds, 2),
        "transformer_seconds": round(tr_seconds, 2),
        "vae_seconds_per_step": round(vae_seconds / max(cfg.vae_steps, 1), 4),
        "transformer_seconds_per_step": round(tr_seconds / cfg.steps, 4),
        "final_vae_loss": vae_losses[-1] if vae_losses else None,
        "final_loss": tr_losses[-1],
        f"mean_loss_last_{tail}": sum(tr_losses[-tail:]) / tail,
        "config": asdict(cfg),
    }
    with atomic_dir(out) as tmp:
        make_pipeline(
            {**comps, "vae": vae.cpu(), "transformer": transformer.cpu()}
        ).save_pretrained(tmp)
        write_text(
            tmp / "curve.csv",
            "phase,step,loss\n" + "".join(f"{p},{s},{v:.6g}\n" for p, s, v in curve),
        )
        write_json(tmp / "summary.json", summary)
    log.info(
        "pretrained base -> %s (vae %.1fs, transformer %.1fs, final loss %.4f)",
        out,
        vae_seconds,
        tr_seconds,
        summary["final_loss"],
    )
    return summary


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--base", required=True, help="the tiny base folder (build_base)")
    p.add_argument(
        "--images", nargs="+", required=True, help="folders of images with captions.json"
    )
    p.add_argument("--out", required=True, help="pipeline folder to write")
    cli.add_dataclass_args(p, PretrainConfig)
    a = p.parse_args(argv)
    cli.setup_logging()
    pretrain(a.base, a.images, a.out, cli.dataclass_from_args(PretrainConfig, a))


if __name__ == "__main__":
    main()
