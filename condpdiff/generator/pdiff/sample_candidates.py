"""Sample candidate parameter vectors for one task and write them as a parameter file.

All candidates come from ONE batched reverse process (seeded torch.Generator: same seed,
same file), are decoded by the autoencoder and denormalised with the task's stats;
coordinates outside the generated layers, and the task head, come from the task's last
harvested checkpoint. The selected candidate becomes a PEFT adapter folder later
(rule ``export_adapter``).

An image-style condition (``projection = "conv"``: one feature map per train image of the
style, [n_images, C, h, w]) conditions candidate i on train image ``i mod n_images``, so the
candidates cycle through the style's images in split order; the image index of every
candidate is recorded in the output's info as ``condition_images``.
"""

from __future__ import annotations

import argparse
import logging
import time
from dataclasses import asdict, dataclass

import torch

from condpdiff.conditions.condition import load_condition
from condpdiff.conditions.controls import add_control_args, parsed_expectation
from condpdiff.generator import training
from condpdiff.generator.candidates import candidates_paramset
from condpdiff.generator.pdiff.autoencoder import ParamAutoencoder, load_autoencoder
from condpdiff.generator.pdiff.noise import LatentDiffusion, load_diffusion, sample
from condpdiff.params.norm_stats import NormStats
from condpdiff.params.paramfile import ParamSet
from condpdiff.util import cli

log = logging.getLogger("condpdiff.generator.pdiff.sample_candidates")


@dataclass
class SamplingConfig:
    num_candidates: int = 20
    seed: int = 0
    generator_seed: int = 0  # the generator replicate N (path part -genseed{N}): seed + N
    guidance_scale: float = 1.0  # != 1 needs a model trained with cond_drop > 0
    eta: float = 0.0  # DDIM only: 0 = deterministic
    device: str = "auto"
    threads: int = 0  # CPU threads (0 = torch default)


def image_indices(num_candidates: int, n_images: int) -> list[int]:
    """The train image each candidate is conditioned on: candidate i gets image i mod n_images."""
    if n_images < 1:
        raise ValueError(f"an image condition needs at least one feature map, got {n_images}")
    return [i % n_images for i in range(num_candidates)]


def candidate_conditions(cond: torch.Tensor, num_candidates: int, cond_mode: str) -> torch.Tensor:
    """One condition row per candidate: the vector [D] repeated, or the maps [n, C, h, w] cycled (i
    mod n)."""
    if cond_mode == "conv":
        if cond.ndim != 4:
            raise ValueError(
                f"the diffusion model takes image feature maps (cond_mode 'conv'): expected a "
                f"condition [n_images, C, h, w], found shape {list(cond.shape)}"
            )
        return cond.float()[
            torch.tensor(image_indices(num_candidates, cond.shape[0]), dtype=torch.long)
        ]
    if cond.ndim != 1:
        raise ValueError(
            f"the diffusion model takes condition vectors (cond_mode {cond_mode!r}): expected a "
            f"condition [D], found shape {list(cond.shape)}"
        )
    return cond.float().expand(num_candidates, -1)


@torch.no_grad()
def generate(
    diffusion: LatentDiffusion,
    ae: ParamAutoencoder,
    cond: torch.Tensor,
    sampler: str,
    cfg: SamplingConfig,
) -> torch.Tensor:
    """[num_candidates, K'] normalised vectors for condition `cond` [D] (or, for a conv model,
    the style's feature maps [n_images, C, h, w]: candidate i sees image i mod n_images)."""
    device = training.pick_device(cfg.device)
    training.set_threads(cfg.threads)
    diffusion, ae = diffusion.to(device).eval(), ae.to(device).eval()
    gen = torch.Generator(device=device).manual_seed(training.run_seed(cfg))
    conds = candidate_conditions(cond, cfg.num_candidates, diffusion.net.cfg.cond_mode).to(device)
    z = sample(diffusion, conds, sampler, gen, cfg.guidance_scale, cfg.eta)
    return ae.decode(z).float().cpu()


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument(
        "--diffusion",
        required=True,
        help="diffusion model folder (condpdiff.generator.pdiff.train_diffusion)",
    )
    p.add_argument(
        "--autoencoder",
        required=True,
        help="autoencoder model folder (condpdiff.generator.pdiff.train_autoencoder)",
    )
    p.add_argument(
        "--stats", required=True, help="normalisation stats the generator was trained with"
    )
    p.add_argument(
        "--harvest", required=True, help="the task's harvest file (fill values, head, layout)"
    )
    p.add_argument("--condition", required=True, help="the task's condition file")
    add_control_args(p)
    p.add_argument("--task", required=True)
    p.add_argument("--sampler", required=True, help="ddimS or ddpmS, e.g. ddim50, ddpm1000")
    p.add_argument("--out", required=True, help="candidates parameter file (.safetensors)")
    cli.add_dataclass_args(p, SamplingConfig)
    a = p.parse_args(argv)
    cli.setup_logging()
    cfg = cli.dataclass_from_args(SamplingConfig, a)
    stats = NormStats.load(a.stats)
    stats.require_task(a.task, a.stats)
    harvest = ParamSet.load(a.harvest, stats.harvest_expect(a.task), "sample_candidates")
    expect, control_info = parsed_expectation(p, a)
    cond = load_condition(a.condition, expect)
    stats.check_params(harvest.params, a.harvest)
    diffusion, ae = load_diffusion(a.diffusion), load_autoencoder(a.autoencoder)
    mode = diffusion.net.cfg.cond_mode
    if (cond.projection == "conv") != (mode == "conv"):
        raise ValueError(
            f"{a.condition}: a condition with projection {cond.projection!r} (shape "
            f"{list(cond.embedding.shape)}) does not fit the diffusion model in {a.diffusion} "
            f"(cond_mode {mode!r}): image feature maps need a 'conv' model and vice versa"
        )
    t0 = time.time()
    z = generate(diffusion, ae, cond.embedding, a.sampler, cfg)
    seconds = time.time() - t0
    info = {
        "sampler": a.sampler,
        "sampling": asdict(cfg),
        "generator_seed": cfg.generator_seed,
        "condition": cond.name,
        "diffusion": str(a.diffusion),
        "autoencoder": str(a.autoencoder),
        **control_info,  # an audit arm: control (and condition_task); none for its own draw
    }  # no timing: the same inputs give the same bytes
    if cond.projection == "conv":
        info["condition_images"] = image_indices(cfg.num_candidates, cond.embedding.shape[0])
    pset = candidates_paramset(z, stats, a.task, harvest, info)
    pset.save(a.out)
    log.info("%d candidates for %s with %s in %.2fs", pset.n, a.task, a.sampler, seconds)


if __name__ == "__main__":
    main()
