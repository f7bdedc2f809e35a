"""Sample candidate parameter vectors for one task and write them as a parameter file.

All candidates come from ONE batched reverse process (seeded torch.Generator: same seed,
same file), are decoded by the autoencoder and denormalised with the task's stats;
coordinates outside the generated layers, and the task head, come from the task's last
harvested checkpoint. Optionally each candidate is also written as a PEFT adapter folder.
"""

from __future__ import annotations

import argparse
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from condpdiff import cli, training
from condpdiff.autoencoder import ParamAutoencoder
from condpdiff.conditions import load_condition
from condpdiff.diffusion import LatentDiffusion, sample
from condpdiff.modelio import load_model
from condpdiff.norm_stats import NormStats
from condpdiff.paramfile import ParamSet

log = logging.getLogger("condpdiff.sample_candidates")


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


def candidates_paramset(z: torch.Tensor, stats: NormStats, task: str, harvest: ParamSet, info: dict) -> ParamSet:
    """Denormalise `z` for `task` into a ParamSet shaped like the harvest (head of its last checkpoint)."""
    n = z.shape[0]
    last = harvest.select([harvest.n - 1])
    params = stats.denormalise(z, task, last.params[0])
    heads = {k: v.expand(n, *v.shape[1:]).clone() for k, v in last.heads.items()}
    return ParamSet(params, harvest.layout, torch.arange(n), torch.full((n,), float("nan")), heads,
                    {**harvest.info, **info, "kind": "candidates", "task": task})


def write_adapters(pset: ParamSet, out_dir: str | Path, model: str, num_labels: int) -> None:
    """Each candidate as a PEFT adapter folder ``out_dir/candidate_XX`` (PeftModel.from_pretrained loads it)."""
    from condpdiff import backbone as bb
    from condpdiff.atomic import atomic_dir

    info = pset.info
    missing = [k for k in ("rank", "alpha", "target_modules") if k not in info]
    if missing:
        raise KeyError(f"parameter file info lacks {missing}: cannot rebuild the LoRA config for adapters")
    peft_model = bb.wrap_lora(bb.load_base_model(model, num_labels), info["rank"], info["alpha"],
                              info["target_modules"], dropout=0.0)
    with atomic_dir(out_dir) as tmp:
        for i in range(pset.n):
            bb.load_weights(peft_model, pset.lora_state_dict(i), pset.head_state_dict(i))
            peft_model.save_pretrained(tmp / f"candidate_{i:02d}")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--diffusion", required=True, help="diffusion model folder (condpdiff.train_diffusion)")
    p.add_argument("--autoencoder", required=True, help="autoencoder model folder (condpdiff.train_autoencoder)")
    p.add_argument("--stats", required=True, help="normalisation stats the generator was trained with")
    p.add_argument("--harvest", required=True, help="the task's harvest file (fill values, head, layout)")
    p.add_argument("--condition", required=True, help="the task's condition file")
    p.add_argument("--task", required=True)
    p.add_argument("--sampler", required=True, help="ddimS or ddpmS, e.g. ddim50, ddpm1000")
    p.add_argument("--out", required=True, help="candidates parameter file (.safetensors)")
    p.add_argument("--adapters-dir", default=None, help="also write each candidate as a PEFT adapter folder here")
    p.add_argument("--model", default=None, help="backbone for --adapters-dir (default: the harvest's 'model')")
    p.add_argument("--num-labels", type=int, default=None, help="task head size for --adapters-dir")
    cli.add_dataclass_args(p, SamplingConfig)
    a = p.parse_args(argv)
    cli.setup_logging()
    cfg = cli.dataclass_from_args(SamplingConfig, a)
    stats, harvest, cond = NormStats.load(a.stats), ParamSet.load(a.harvest), load_condition(a.condition)
    diffusion, ae = load_model(a.diffusion), load_model(a.autoencoder)
    t0 = time.time()
    z = generate(diffusion, ae, cond.embedding, a.sampler, cfg)
    seconds = time.time() - t0
    info = {"sampler": a.sampler, "sampling": asdict(cfg), "condition": cond.name, "diffusion": str(a.diffusion),
            "autoencoder": str(a.autoencoder), "sample_seconds": round(seconds, 3)}
    pset = candidates_paramset(z, stats, a.task, harvest, info)
    pset.save(a.out)
    log.info("%d candidates for %s with %s in %.2fs", pset.n, a.task, a.sampler, seconds)
    if a.adapters_dir:
        if a.num_labels is None:
            raise ValueError("--adapters-dir needs --num-labels (the task head size)")
        write_adapters(pset, a.adapters_dir, a.model or harvest.info.get("model"), a.num_labels)


if __name__ == "__main__":
    main()
