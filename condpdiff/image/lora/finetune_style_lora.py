"""LoRA fine-tuning of PixArt-alpha on one style's TRAIN images, harvesting the last checkpoints.

Reads the style split's ``train`` entries only (never ``reference``: those are held out for
FID) and their captions' T5 embeddings from the prompt cache (``encode_prompts``): the T5
encoder is never loaded. Each train image is resized (short side = resolution), centre-cropped
and encoded once, with its mirror image, by the frozen VAE; every step draws a posterior sample
(``latent_dist.sample()``, as diffusers' LoRA script) x ``vae.config.scaling_factor``.
LoRA (``pixart.add_lora``) on q, k, v, out of every self- and cross-attention; AdamW, cosine lr
without warmup; epsilon-prediction DDPM loss (``latents.diffusion_loss``).

The last ``harvest_last`` checkpoints, one every ``harvest_every`` steps (the final step is the
last), go into ``<out-dir>/harvest.safetensors`` (``ParamSet``: rows in ``pixart.lora_layout``
order, steps, loss, no heads) with ``<out-dir>/summary.json``. A non-finite loss or harvested
weight stops training before anything is written.

The training randomness (LoRA init, batches, noise, posterior samples) uses ``seed +
finetune_seed``: fine-tuning replicate N (config ``seeds.finetune``, path part ``-ftseed{N}``)
trains on the same split and images; N = 0 is the one-seed run.
"""

from __future__ import annotations

import argparse
import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from condpdiff.generator.training import optimiser_and_schedule, pick_device, set_threads
from condpdiff.image.args import add_base_style_args
from condpdiff.image.base import latents as lt
from condpdiff.image.base.pixart import LoraSpec, add_lora, lora_layout, lora_state_dict
from condpdiff.image.base.prompts import PromptCache
from condpdiff.image.styles.splitfile import load_split
from condpdiff.params.paramfile import ParamSet, flatten
from condpdiff.pipeline.artifacts import NonFiniteError
from condpdiff.util import cli
from condpdiff.util.atomic import write_json
from condpdiff.util.precision import autocast_dtype

log = logging.getLogger("condpdiff.image.lora.finetune_style_lora")


@dataclass
class StyleFinetuneConfig:
    steps: int = 1000
    lr: float = 2e-5  # the paper's; the CPU demo uses 1e-3 (docs/method.md section 8)
    weight_decay: float = 1e-2  # diffusers' LoRA script default
    batch_size: int = 16
    resolution: int = 0  # 0 = the base's image size
    harvest_last: int = 64
    harvest_every: int = 10
    seed: int = 0  # training uses seed + finetune_seed (training_seed)
    finetune_seed: int = 0  # the fine-tuning replicate N (path part -ftseed{N}; 0: none)
    lora_dropout: float = 0.0
    flips: bool = True  # mirror images as augmentation
    mixed_precision: str = "auto"  # no | bf16 | auto (util.precision)
    threads: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        if self.mixed_precision not in ("no", "bf16", "auto"):
            raise ValueError(
                f"mixed_precision must be no, bf16 or auto, got {self.mixed_precision!r}"
            )
        if self.steps < self.harvest_last * self.harvest_every:
            raise ValueError(
                f"steps = {self.steps} is fewer than harvest_last x harvest_every = "
                f"{self.harvest_last} x {self.harvest_every}: raise steps or harvest fewer "
                "checkpoints"
            )
        if self.finetune_seed < 0:
            raise ValueError(f"finetune_seed {self.finetune_seed}: expected a non-negative integer")


def harvest_steps(cfg: StyleFinetuneConfig) -> list[int]:
    """The harvested steps (1-based): the last `harvest_last`,
    `harvest_every` apart, ending at `steps`."""
    return [cfg.steps - i * cfg.harvest_every for i in reversed(range(cfg.harvest_last))]


@dataclass
class StyleData:
    bank: lt.LatentBank  # the train images' latents; bank.prompt indexes embeds / mask
    embeds: torch.Tensor
    mask: torch.Tensor
    resolution: int
    n_train: int


def prepare(
    base: str, prompts: str, split_path: str, cfg: StyleFinetuneConfig, device: torch.device
):
    """(transformer, DDPM scheduler, StyleData): the base without T5,
    the train images encoded once."""
    comps = lt.load_denoiser(base)
    split = load_split(split_path)
    vae = comps["vae"].to(device).eval().requires_grad_(False)
    res = cfg.resolution or lt.base_resolution(comps["transformer"], vae)
    captions = split.captions("train")
    distinct = sorted(set(captions))
    try:
        embeds, mask = PromptCache.load(prompts).lookup(distinct)
    except KeyError as e:
        raise KeyError(f"{prompts}: {e.args[0]} (captions of {split_path})") from None
    images = [lt.square_views(lt.load_rgb(p, res), res, 1, None)[0] for p in split.paths("train")]
    bank = lt.encode_views(vae, images, [distinct.index(c) for c in captions], flips=cfg.flips)
    embeds, mask = lt.trim_tokens(embeds, mask)
    data = StyleData(bank, embeds.to(device), mask.to(device), res, len(images))
    return comps["transformer"], comps["scheduler"], data


def train(
    transformer,
    scheduler,
    data: StyleData,
    rank: int,
    alpha: int,
    cfg: StyleFinetuneConfig,
    device: torch.device,
    info: dict | None = None,
) -> tuple[ParamSet, dict]:
    """Add LoRA to `transformer` (in place) and train it; the harvested ParamSet and a summary."""
    t0 = time.time()
    torch.manual_seed(training_seed(cfg))
    gen = torch.Generator().manual_seed(training_seed(cfg))
    transformer = add_lora(
        transformer.to(device), LoraSpec(rank=rank, alpha=alpha, dropout=cfg.lora_dropout)
    )
    layout = lora_layout(transformer)
    trainable = [p for p in transformer.parameters() if p.requires_grad]
    optim, sched = optimiser_and_schedule(trainable, cfg.lr, cfg.weight_decay, cfg.steps, 0)
    amp = autocast_dtype(cfg.mixed_precision, device)
    keep = harvest_steps(cfg)
    rows = {s: i for i, s in enumerate(keep)}
    params = torch.empty(len(keep), sum(math.prod(s) for _, s in layout), dtype=torch.float32)
    losses = torch.empty(len(keep), dtype=torch.float32)
    where = f"finetune_style_lora r{rank}"
    transformer.train()
    bar = tqdm(range(1, cfg.steps + 1), desc=where, mininterval=5)
    for step in bar:
        idx = torch.randint(0, len(data.bank), (cfg.batch_size,), generator=gen)
        p_rows = data.bank.prompt[idx]
        with torch.autocast(device.type, dtype=amp, enabled=amp is not None):
            loss = lt.diffusion_loss(
                transformer,
                scheduler,
                data.bank.sample(idx, gen),
                data.embeds[p_rows],
                data.mask[p_rows],
                gen,
            )
        value = loss.item()
        if not math.isfinite(value):
            raise NonFiniteError(
                f"{where}: loss is {value} at step {step} of {cfg.steps}: training diverged;"
                f" nothing was written. Likely cause: lr = {cfg.lr} is too large"
            )
        optim.zero_grad(set_to_none=True)
        loss.backward()
        optim.step()
        sched.step()
        if step in rows:
            row = rows[step]
            params[row] = flatten(lora_state_dict(transformer), layout)
            if not bool(torch.isfinite(params[row]).all()):
                raise NonFiniteError(
                    f"{where}: non-finite LoRA weights at step {step}: training diverged;"
                    f" nothing was written. Likely cause: lr = {cfg.lr} is too large"
                )
            losses[row] = value
        bar.set_postfix(loss=f"{value:.4f}", refresh=False)
    transformer.eval()
    seconds = time.time() - t0
    pset = ParamSet(
        params=params,
        layout=layout,
        steps=torch.tensor(keep, dtype=torch.long),
        loss=losses,
        info={
            **(info or {}),
            "kind": "harvest",
            "task": "style",
            "domain": "image",
            "rank": rank,
            "alpha": alpha,
            "targets": list(LoraSpec().targets),
            "resolution": data.resolution,
            "finetune_seed": cfg.finetune_seed,
        },
    )
    summary = {
        "rank": rank,
        "alpha": alpha,
        "k": pset.k,
        "n_harvested": pset.n,
        "total_steps": cfg.steps,
        "n_train": data.n_train,
        "n_latents": len(data.bank),
        "resolution": data.resolution,
        "train_seconds": round(seconds, 2),
        "seconds_per_step": round(seconds / cfg.steps, 4),
        "device": str(device) if device.type == "cpu" else torch.cuda.get_device_name(device),
        "threads": torch.get_num_threads(),
        "autocast": str(amp).removeprefix("torch.") if amp else "no",
        "final_train_loss": float(losses[-1]),
        "mean_harvested_loss": float(losses.mean()),
        "config": asdict(cfg),
        **{k: v for k, v in (info or {}).items() if k in ("style", "base", "backbone")},
    }
    return pset, summary


def training_seed(cfg: StyleFinetuneConfig) -> int:
    """The seed of training: the configured seed plus the fine-tuning replicate (0: the one-seed
    run)."""
    return cfg.seed + cfg.finetune_seed


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_base_style_args(p, split_help="the style's split file (split_style): its train images")
    p.add_argument("--style", required=True, help="style key (recorded in the files)")
    p.add_argument("--backbone", default="", help="base key (recorded; default: --base)")
    p.add_argument(
        "--out-dir", required=True, help="writes harvest.safetensors and summary.json here"
    )
    cli.add_dataclass_args(p, StyleFinetuneConfig)
    a = p.parse_args(argv)
    cli.setup_logging()
    cfg = cli.dataclass_from_args(StyleFinetuneConfig, a)
    set_threads(cfg.threads)
    device = pick_device(cfg.device)
    transformer, scheduler, data = prepare(a.base, a.prompts, a.split, cfg, device)
    info = {"backbone": a.backbone or a.base, "base": a.base, "style": a.style, "split": a.split}
    pset, summary = train(transformer, scheduler, data, a.rank, a.alpha, cfg, device, info)
    out = Path(a.out_dir)
    pset.save(out / "harvest.safetensors")
    write_json(out / "summary.json", summary)
    log.info(
        "style %s r%d: harvested %d x %d, final loss %.4f",
        a.style,
        a.rank,
        pset.n,
        pset.k,
        summary["final_train_loss"],
    )


if __name__ == "__main__":
    main()
