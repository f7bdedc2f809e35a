"""The generator at its own TRAINING l: does it reproduce what it was trained on?

A check that separates two failures the test-l table cannot tell apart: a generator that
reproduces its training l but does not interpolate between them (a generalisation failure), and
one that ignores its condition altogether (a conditioning failure: the same LoRA for every l).
For every training l, ``sample_generalisation_candidates.sample_all`` draws the same candidates
as for a test l (same sampler, seed and condition cycling), and each candidate is compared with
the true theta(l) in parameter space only (no images): relative L2 distance and its position
along the line theta_1 -> theta_2 (``l_hat``). The autoencoder's own reconstruction distance of
each training row (``report.json``) is the floor the generator could reach.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
from dataclasses import asdict
from pathlib import Path

from condpdiff.generator.pdiff.autoencoder import load_autoencoder
from condpdiff.generator.pdiff.noise import load_diffusion
from condpdiff.generator.pdiff.sample_candidates import SamplingConfig
from condpdiff.image.generalisation.common import (
    line_position,
    load_conditions,
    load_set,
    relative_distance,
)
from condpdiff.image.generalisation.sample_generalisation_candidates import sample_all
from condpdiff.params.norm_stats import NormStats
from condpdiff.pipeline.artifacts import load_json
from condpdiff.util import cli
from condpdiff.util.atomic import write_json

log = logging.getLogger("condpdiff.image.generalisation.sample_generalisation_training")
FORMAT = "condpdiff-generalisation-training/1"


def spread(xs: list[float]) -> float:
    m = sum(xs) / len(xs)
    return (sum((x - m) ** 2 for x in xs) / len(xs)) ** 0.5


def check(gset, maps, stats, diffusion, ae, sampler: str, cfg: SamplingConfig, recon: dict) -> dict:
    """Per training l: each candidate's distance to theta(l) and l_hat;
    summary over the training l."""
    as_test = dataclasses.replace(gset, test=list(gset.train))
    params = sample_all(as_test, maps, stats, diffusion, ae, sampler, cfg)
    c, (t1, t2) = cfg.num_candidates, gset.ends()
    rows = []
    for t, i in enumerate(gset.train):
        cands = params[t * c : (t + 1) * c]
        pos = [line_position(v, t1, t2) for v in cands]
        rows.append(
            {
                "index": i,
                "lambda": gset.lambdas[i],
                "dist": [relative_distance(v, gset.theta(i)) for v in cands],
                "l_hat": [p[0] for p in pos],
                "off_line": [p[1] for p in pos],
                "recon_dist": recon.get(f"{gset.lambdas[i]:.6g}"),
            }
        )
    first = [r["l_hat"][0] for r in rows]
    ls = [r["lambda"] for r in rows]
    cov = sum(
        (a - sum(ls) / len(ls)) * (b - sum(first) / len(first)) for a, b in zip(ls, first)
    ) / len(ls)
    return {
        "format": FORMAT,
        "styles": gset.styles,
        "train": gset.train,
        "rows": rows,
        "candidates_per_l": c,
        "sampler": sampler,
        "sampling": asdict(cfg),
        "summary": {
            "n": len(rows),
            "mean_dist": sum(r["dist"][0] for r in rows) / len(rows),
            "mean_recon_dist": (
                sum(r["recon_dist"] for r in rows) / len(rows)
                if all(r["recon_dist"] is not None for r in rows)
                else None
            ),
            "l_hat_spread": spread(first),
            "lambda_spread": spread(ls),
            # a correlation of l_hat values that barely move is noise: none below 1% of l's spread
            "l_hat_corr": (
                cov / (spread(ls) * spread(first)) if spread(first) > 0.01 * spread(ls) else None
            ),
        },
    }


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--set", required=True, help="the generalisation set")
    p.add_argument("--conditions", required=True, help="its condition maps")
    p.add_argument("--generator", required=True, help="train_generalisation_generator's folder")
    p.add_argument("--sampler", required=True, help="ddimS or ddpmS, e.g. ddim50")
    p.add_argument("--out", required=True, help="the check (.json)")
    cli.add_dataclass_args(p, SamplingConfig)
    a = p.parse_args(argv)
    cli.setup_logging()
    cfg = cli.dataclass_from_args(SamplingConfig, a)
    gset = load_set(a.set)
    maps, _ = load_conditions(a.conditions, gset.points)
    folder = Path(a.generator)
    stats = NormStats.load(folder / "stats.safetensors")
    stats.check_params(gset.params.params, a.set)
    report = load_json(
        folder / "report.json", "generalisation generator report", keys=("recon_relative_distance",)
    )
    record = check(
        gset,
        maps,
        stats,
        load_diffusion(folder / "diffusion"),
        load_autoencoder(folder / "autoencoder"),
        a.sampler,
        cfg,
        report["recon_relative_distance"],
    )
    write_json(a.out, {**record, "generator": str(folder), "set": a.set})
    s = record["summary"]
    log.info(
        "%s: at %d training l the generated LoRA is %.4f from theta(l) (autoencoder alone %s); "
        "l_hat spread %.4f for l spread %.3f, correlation %s",
        a.out,
        s["n"],
        s["mean_dist"],
        s["mean_recon_dist"],
        s["l_hat_spread"],
        s["lambda_spread"],
        s["l_hat_corr"],
    )


if __name__ == "__main__":
    main()
