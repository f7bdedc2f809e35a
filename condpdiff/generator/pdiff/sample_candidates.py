"""Sample candidate parameter vectors for one task and write them as a parameter file.

All candidates come from ONE batched reverse process (seeded torch.Generator: same seed,
same file), are decoded by the autoencoder and denormalised with the task's stats;
coordinates outside the generated layers, and the task head, come from the task's last
harvested checkpoint. The selected candidate becomes a PEFT adapter folder later
(rule ``export_adapter``).
"""

from __future__ import annotations

import argparse
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from condpdiff.util import cli
from condpdiff.generator import training
from condpdiff.conditions.condition import load_condition
from condpdiff.generator.candidates import candidates_paramset
from condpdiff.generator.pdiff.autoencoder import ParamAutoencoder, load_autoencoder
from condpdiff.generator.pdiff.noise import LatentDiffusion, load_diffusion, sample
from condpdiff.params.norm_stats import NormStats
from condpdiff.params.paramfile import ParamSet

log = logging.getLogger("condpdiff.generator.pdiff.sample_candidates")


@dataclass
class SamplingConfig:
    num_candidates: int = 20
    seed: int = 0
    guidance_scale: float = 1.0  # != 1 needs a model trained with cond_drop > 0
    eta: float = 0.0  # DDIM only: 0 = deterministic
    device: str = "auto"
    threads: int = 0  # CPU threads (0 = torch default)


@torch.no_grad()
def generate(diffusion: LatentDiffusion, ae: ParamAutoencoder, cond: torch.Tensor, sampler: str,
             cfg: SamplingConfig) -> torch.Tensor:
    """[num_candidates, K'] normalised vectors for condition `cond` [D]."""
    device = training.pick_device(cfg.device)
    training.set_threads(cfg.threads)
    diffusion, ae = diffusion.to(device).eval(), ae.to(device).eval()
    gen = torch.Generator(device=device).manual_seed(cfg.seed)
    conds = cond.to(device).float().expand(cfg.num_candidates, -1)
    z = sample(diffusion, conds, sampler, gen, cfg.guidance_scale, cfg.eta)
    return ae.decode(z).float().cpu()


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--diffusion", required=True, help="diffusion model folder (condpdiff.generator.pdiff.train_diffusion)")
    p.add_argument("--autoencoder", required=True, help="autoencoder model folder (condpdiff.generator.pdiff.train_autoencoder)")
    p.add_argument("--stats", required=True, help="normalisation stats the generator was trained with")
    p.add_argument("--harvest", required=True, help="the task's harvest file (fill values, head, layout)")
    p.add_argument("--condition", required=True, help="the task's condition file")
    p.add_argument("--task", required=True)
    p.add_argument("--sampler", required=True, help="ddimS or ddpmS, e.g. ddim50, ddpm1000")
    p.add_argument("--out", required=True, help="candidates parameter file (.safetensors)")
    cli.add_dataclass_args(p, SamplingConfig)
    a = p.parse_args(argv)
    cli.setup_logging()
    cfg = cli.dataclass_from_args(SamplingConfig, a)
    stats, harvest, cond = NormStats.load(a.stats), ParamSet.load(a.harvest), load_condition(a.condition)
    stats.check_params(harvest.params, a.harvest)
    diffusion, ae = load_diffusion(a.diffusion), load_autoencoder(a.autoencoder)
    t0 = time.time()
    z = generate(diffusion, ae, cond.embedding, a.sampler, cfg)
    seconds = time.time() - t0
    info = {"sampler": a.sampler, "sampling": asdict(cfg), "condition": cond.name, "diffusion": str(a.diffusion),
            "autoencoder": str(a.autoencoder)}  # no timing: the same inputs give the same bytes
    pset = candidates_paramset(z, stats, a.task, harvest, info)
    pset.save(a.out)
    log.info("%d candidates for %s with %s in %.2fs", pset.n, a.task, a.sampler, seconds)


if __name__ == "__main__":
    main()
