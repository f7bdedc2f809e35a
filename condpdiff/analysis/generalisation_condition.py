"""Diagnose the generalisation set's conditioning: retrain ONLY the diffusion model on the cached
set, conditions and autoencoder with another condition, and measure in parameter space (no images).

``train_generalisation_generator`` conditions each training row, at every batch, on ONE of its l's k
condition maps (drawn at random), as Table 2's generator does. Neighbouring l differ far less than
two images of one l do, so one map says little about l. ``--pool mean`` instead gives every l ONE
map, the mean of its k maps (a set-level condition; the test l get theirs the same way). The
reference is the pipeline's own setting (``--pool each``). Prints and writes (``--out``), for the
training and the test l: mean distance ||theta - theta(l)|| / ||theta(l)||, and the spread and range
of l_hat (where the sampled LoRA sits along theta_1 -> theta_2) against l's. Uses the cached
autoencoder and stats; the diffusion settings are the model's own (``config.json``) unless
``--steps`` changes its step count. Nothing in the pipeline's results is changed.

    python -m condpdiff.analysis.generalisation_condition --generalisation <.../m41/cond16-...> \\
        --generator norm-batch/generator --pool mean --sampler ddim50 --out pool_mean.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import time
from pathlib import Path

import torch

from condpdiff.generator.modelio import config_from_dict
from condpdiff.generator.pdiff.autoencoder import encode_all, load_autoencoder
from condpdiff.generator.pdiff.denoiser import DenoiserConfig
from condpdiff.generator.pdiff.sample_candidates import SamplingConfig
from condpdiff.generator.pdiff.train_diffusion import DiffusionTrainConfig, StyleMaps, train
from condpdiff.image.generalisation.common import (
    line_position,
    load_conditions,
    load_set,
    relative_distance,
)
from condpdiff.image.generalisation.sample_generalisation_candidates import sample_all
from condpdiff.image.generalisation.train_generalisation_generator import TASK
from condpdiff.params.norm_stats import NormStats, training_matrix
from condpdiff.util import cli
from condpdiff.util.atomic import write_json

log = logging.getLogger("condpdiff.analysis.generalisation_condition")
POOLS = ("each", "mean")


def measure(gset, idx: list[int], params: torch.Tensor) -> dict:
    t1, t2 = gset.ends()
    lhat = [line_position(params[n], t1, t2)[0] for n in range(len(idx))]
    dist = [relative_distance(params[n], gset.theta(i)) for n, i in enumerate(idx)]
    ls = [gset.lambdas[i] for i in idx]
    mean = sum(lhat) / len(lhat)
    return {
        "mean_dist": sum(dist) / len(dist),
        "l_hat_min": min(lhat),
        "l_hat_max": max(lhat),
        "l_hat_spread": (sum((x - mean) ** 2 for x in lhat) / len(lhat)) ** 0.5,
        "mean_abs_l_error": sum(abs(a - b) for a, b in zip(lhat, ls)) / len(ls),
        "rows": [{"lambda": lam, "l_hat": h, "dist": d} for lam, h, d in zip(ls, lhat, dist)],
    }


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--generalisation",
        required=True,
        help="the images folder: .../m{M}/cond{k}-seed{s}_ref{R}-seed{s}",
    )
    p.add_argument(
        "--generator", default="norm-batch/generator", help="the generator folder under it"
    )
    p.add_argument(
        "--pool",
        choices=POOLS,
        default="mean",
        help="each: one random map per batch; mean: the mean map",
    )
    p.add_argument(
        "--steps", type=int, default=None, help="diffusion steps (default: the cached model's)"
    )
    p.add_argument("--sampler", default="ddim50")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", required=True, help="the measurements (.json)")
    a = p.parse_args(argv)
    cli.setup_logging()
    root = Path(a.generalisation)
    folder = root / a.generator
    gset = load_set(root.parent / "set.safetensors")
    maps, _ = load_conditions(root / "conditions.safetensors", gset.points)
    if a.pool == "mean":
        maps = maps.mean(1, keepdim=True)
    stats = NormStats.load(folder / "stats.safetensors")
    meta = json.loads((folder / "diffusion" / "config.json").read_text())
    net = config_from_dict(DenoiserConfig, meta["denoiser"]["config"])
    tcfg = config_from_dict(DiffusionTrainConfig, meta["extra"]["train"])
    tcfg = dataclasses.replace(tcfg, threads=a.threads, steps=a.steps or tcfg.steps)
    train_rows = gset.params.select(gset.train)
    x, _ = training_matrix({TASK: train_rows}, stats)
    ae = load_autoencoder(folder / "autoencoder")
    t0 = time.time()
    model, curve = train(
        encode_all(ae, x),
        StyleMaps.build([maps[i] for i in gset.train], torch.arange(len(gset.train))),
        net,
        tcfg,
    )
    seconds = time.time() - t0
    cfg = SamplingConfig(num_candidates=1, threads=a.threads)
    out = {
        "pool": a.pool,
        "steps": tcfg.steps,
        "seconds": round(seconds, 1),
        "final_loss": curve[-1]["loss"],
    }
    for part, idx in (("train", gset.train), ("test", gset.test)):
        params = sample_all(
            dataclasses.replace(gset, test=list(idx)), maps, stats, model, ae, a.sampler, cfg
        )
        out[part] = measure(gset, idx, params)
        m = out[part]
        log.info(
            "%s l (%d): mean distance %.4f, l_hat %.3f..%.3f (spread %.3f), mean |l_hat - l| %.3f",
            part,
            len(idx),
            m["mean_dist"],
            m["l_hat_min"],
            m["l_hat_max"],
            m["l_hat_spread"],
            m["mean_abs_l_error"],
        )
    write_json(a.out, out)


if __name__ == "__main__":
    main()
