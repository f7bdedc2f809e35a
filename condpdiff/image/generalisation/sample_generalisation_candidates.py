"""Sample candidate LoRAs for every TEST l of the generalisation set,
conditioned on that l's images.

For test l, ``generator.pdiff.sample_candidates.generate`` draws ``num_candidates`` latents in one
batched reverse process, candidate c conditioned on the l's condition image c mod k (its maps from
``generate_generalisation_images``; or on their mean, when the model was trained so:
``extra.condition_pool``), decodes them and the trained stats denormalise them. The output
is one parameter file: rows t * C .. t * C + C - 1 are test l number t's candidates; its info lists
``test`` (grid indices), ``candidates_per_l`` and ``condition_images`` per row. The true theta(l) of
a test l is never read here.
"""

from __future__ import annotations

import argparse
import logging
import time
from dataclasses import asdict
from pathlib import Path

import torch
from tqdm import tqdm

from condpdiff.generator.pdiff.autoencoder import load_autoencoder
from condpdiff.generator.pdiff.noise import load_diffusion
from condpdiff.generator.pdiff.sample_candidates import SamplingConfig, generate, image_indices
from condpdiff.image.generalisation.common import load_conditions, load_set
from condpdiff.image.generalisation.train_generalisation_generator import TASK, pool_maps
from condpdiff.params.norm_stats import NormStats
from condpdiff.params.paramfile import ParamSet
from condpdiff.util import cli

log = logging.getLogger("condpdiff.image.generalisation.sample_generalisation_candidates")


def sample_all(
    gset, maps: torch.Tensor, stats: NormStats, diffusion, ae, sampler: str, cfg: SamplingConfig
) -> torch.Tensor:
    """[T * C, K] raw parameter vectors: C candidates per test l, in test order."""
    maps = pool_maps(maps, diffusion.extra.get("condition_pool", "each"))
    fill = gset.theta(
        gset.train[-1]
    )  # only used for coordinates outside the stats' mask (none: layers 'all')
    rows = []
    for i in tqdm(gset.test, desc="sample", mininterval=5):
        z = generate(diffusion, ae, maps[i], sampler, cfg)
        rows.append(stats.denormalise(z, TASK, fill))
    return torch.cat(rows)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--set", required=True, help="the generalisation set")
    p.add_argument("--conditions", required=True, help="its condition maps")
    p.add_argument("--generator", required=True, help="train_generalisation_generator's folder")
    p.add_argument("--sampler", required=True, help="ddimS or ddpmS, e.g. ddim50")
    p.add_argument("--out", required=True, help="candidates (.safetensors, condpdiff-params/1)")
    cli.add_dataclass_args(p, SamplingConfig)
    a = p.parse_args(argv)
    cli.setup_logging()
    cfg = cli.dataclass_from_args(SamplingConfig, a)
    gset = load_set(a.set)
    maps, _ = load_conditions(a.conditions, gset.points)
    folder = Path(a.generator)
    stats = NormStats.load(folder / "stats.safetensors")
    stats.check_params(gset.params.params, a.set)
    diffusion, ae = load_diffusion(folder / "diffusion"), load_autoencoder(folder / "autoencoder")
    t0 = time.time()
    params = sample_all(gset, maps, stats, diffusion, ae, a.sampler, cfg)
    c, n = cfg.num_candidates, len(gset.test)
    pool = diffusion.extra.get("condition_pool", "each")
    info = {
        **{k: v for k, v in gset.params.info.items() if k not in ("train", "lambdas")},
        "kind": "generalisation-candidates",
        "sampler": a.sampler,
        "sampling": asdict(cfg),
        "generator": str(folder),
        "set": a.set,
        "test": gset.test,
        "candidates_per_l": c,
        "condition_pool": pool,
        "condition_images": image_indices(c, pool_maps(maps, pool).shape[1]) * n,
    }
    steps = torch.tensor([i for i in gset.test for _ in range(c)])
    ParamSet(
        params.float().contiguous(),
        gset.params.layout,
        steps,
        torch.full((n * c,), float("nan")),
        {},
        info,
    ).save(a.out)
    log.info(
        "%s: %d candidates for each of %d test l with %s in %.1fs",
        a.out,
        c,
        n,
        a.sampler,
        time.time() - t0,
    )


if __name__ == "__main__":
    main()
