"""FID noise of Table 2: the four reported arms of one style regenerated at another noise seed.

Table 2 reports, per style, four parameter sets: ``generated`` (the candidate its selection
picked: the cell's ``selected_row``), ``original`` (the checkpoint at the cell's ``best_step``),
the soup and the base alone. This regenerates exactly those four at ``--seed`` (Table 2 used
another one), with the same prompts, image count and sampler, and writes one cell per arm with
its FID against the style's reference images: the difference to Table 2 is pure generation
noise (no re-selection, no re-training), the yardstick for Table 2's differences.
"""

from __future__ import annotations

import argparse
import logging
import time

import torch

from condpdiff.image.args import add_base_style_args, add_extractor_args
from condpdiff.image.base import pixart
from condpdiff.image.base.prompts import PromptCache
from condpdiff.image.fid.features import Extractor, fid_between, load_features
from condpdiff.image.generation.generate_images import (
    GenerationConfig,
    generate_row,
    load_pipeline,
    soup,
)
from condpdiff.image.styles.splitfile import load_split
from condpdiff.params.paramfile import ParamSet
from condpdiff.pipeline.artifacts import CANDIDATES, CELL_FORMAT, HARVEST_KINDS, load_json
from condpdiff.util import cli
from condpdiff.util.atomic import write_json

log = logging.getLogger("condpdiff.image.generation.reseed_arms")
ARMS = ("generated", "original", "soup", "nolora")


def reported_states(harvest: ParamSet, candidates: ParamSet, cells: dict) -> dict:
    """arm -> (LoRA state or None for the base, what it is) of the four reported parameter sets."""
    best = int((harvest.steps == int(cells["original"]["best_step"])).nonzero()[0, 0])
    row = int(cells["generated"]["selected_row"])
    n = int(cells["soup"]["n"])
    return {
        "generated": (candidates.lora_state_dict(row), {"selected_row": row}),
        "original": (
            harvest.lora_state_dict(best),
            {"best_step": int(cells["original"]["best_step"])},
        ),
        "soup": (soup(harvest, n).lora_state_dict(0), {"soup_of": n}),
        "nolora": (None, {}),
    }


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_base_style_args(p)
    for flag in ("--harvest", "--candidates", "--reference"):
        p.add_argument(flag, required=True)
    p.add_argument(
        "--cells", nargs=4, required=True, metavar=ARMS, help="Table 2's four cells of this style"
    )
    p.add_argument("--out", nargs=4, required=True, metavar=ARMS, help="the four cells at --seed")
    add_extractor_args(p)
    cli.add_dataclass_args(p, GenerationConfig)
    a = p.parse_args(argv)
    cli.setup_logging()
    cfg = cli.dataclass_from_args(GenerationConfig, a)
    cells = {
        arm: load_json(c, "table cell", CELL_FORMAT, keys=("score",))
        for arm, c in zip(ARMS, a.cells)
    }
    who = "image.generation.reseed_arms"
    harvest = ParamSet.load(a.harvest, {"kind": HARVEST_KINDS, "rank": a.rank}, who)
    candidates = ParamSet.load(a.candidates, {"kind": CANDIDATES, "rank": a.rank}, who)
    states = reported_states(harvest, candidates, cells)
    split, cache, reference = (
        load_split(a.split),
        PromptCache.load(a.prompts),
        load_features(a.reference),
    )
    if reference.info.get("part") != "reference":
        raise SystemExit(
            f"{a.reference}: expected features of the style's reference images, found part "
            f"{reference.info.get('part')!r}"
        )
    extractor = Extractor(a.extractor, a.weights_path)
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    device = torch.device("cuda" if torch.cuda.is_available() and cfg.device != "cpu" else "cpu")
    pipe = load_pipeline(a.base, cfg)
    pipe.set_progress_bar_config(disable=True)
    pipe.to(device)
    lora_added = False
    for arm in (
        "nolora",
        "generated",
        "original",
        "soup",
    ):  # the base first: LoRA is injected once, after it
        (state, what), out, t0 = states[arm], a.out[ARMS.index(arm)], time.time()
        if state is not None:
            if not lora_added:
                pixart.add_lora(pipe.transformer, pixart.LoraSpec(rank=a.rank, alpha=a.alpha))
                lora_added = True
            pixart.load_lora_state(pipe.transformer, state)
        feats, _ = generate_row(pipe, cache, split.prompts, cfg, extractor, device)
        fid = fid_between(feats, reference.row(0))
        write_json(
            out,
            {
                "format": CELL_FORMAT,
                "kind": arm,
                "task": split.style,
                "metric": "fid",
                "higher_is_better": False,
                "score": fid,
                "metrics": {"score": fid, "fid": fid},
                "seed": cfg.seed,
                "table2_score": float(cells[arm]["score"]),
                **what,
                "n_images": cfg.n_images,
                "extractor": a.extractor,
                "seconds": round(time.time() - t0, 2),
            },
        )
        log.info(
            "%s %s: FID %.3f at seed %d (Table 2: %.3f)",
            split.style,
            arm,
            fid,
            cfg.seed,
            cells[arm]["score"],
        )


if __name__ == "__main__":
    main()
