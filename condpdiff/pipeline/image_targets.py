"""The image tables' specs (read by condpdiff.evaluate.make_table), from a validated config.

- ``table2``: per base x rank x generator setting, the arms layout (``pipeline.arms_targets``:
  generated, the audit's arms, original, soup, no LoRA, paired differences, memorisation; rows)
  per style (columns): FID against the style's held-out reference images (lower is better), mean
  over seeds with its interval;
- ``table2_noise``: the same cells at the second generation seed (``generation.noise_seed``):
  the FID noise to read table2's differences against;
- ``table2_cross``: the LoRA generated for each style (rows) against every style's reference
  images (columns); the diagonal must win every column;
- ``image_screen``: per style, its floor FID (own train vs own reference images), the base
  model's FID to it and their ratio: a style the base already resembles leaves no room.

The figure target ``interpolation`` (``interpolation_files``): per configured pair of styles, the
LoRAs theta(l) = (1 - l) theta_1 + l theta_2 between Table 2's reported parameter sets and their FID
to both styles. The figure target ``generalisation`` (``generalisation_files``): M such LoRAs
between two styles' last checkpoints, the generator trained on l in [0.1, 0.2) U [0.3, 0.4) U ...
and tested on the gaps against nearest-neighbour retrieval.
"""

from __future__ import annotations

import json

from condpdiff.pipeline.arms_targets import arm_rows, seeds_note
from condpdiff.pipeline.generators import draw_wildcards, generator_rows
from condpdiff.pipeline.image_paths import (
    GENERALISATION_FILES,
    INTERPOLATION_FILES,
    ImagePaths,
    eval_part,
)
from condpdiff.pipeline.paths import (
    first_seeds,
    seed_wildcards,
    selection_part,
    selection_wildcards,
    unseen_part,
)

ARMS = ("generated", "original", "soup", "nolora")


def image_selection(config: dict, seed: int) -> str:
    """The selection path part of the image branch: all generated images vs the train images, at
    `seed`."""
    return selection_part(config["image"]["generation"]["n_images"], seed)


def image_cell(
    config: dict,
    kind: str,
    base: str,
    rank,
    style: str,
    seed: int | None = None,
    source: str | None = None,
    unseen: str | None = None,
    gen: dict | None = None,
) -> str:
    """A cell file of the image tables; `unseen` names the style the generator was trained without;
    `gen` is a generator setting (default: image.generator) with the optional keys ``ftseed`` /
    ``genseed`` (default: the first of config `seeds`) and ``control`` (an audit arm; kind
    ``memorisation``: the audit's memorisation cell of the selected candidate)."""
    img = config["image"]
    seed = img["generation"]["seed"] if seed is None else seed
    IP = ImagePaths(config["results_dir"], eval_part(config, seed))
    gen = {**first_seeds(config), **(gen or img["generator"])}
    w = {"backbone": base, "rank": rank, "task": style, "n": gen["n"], **seed_wildcards(gen)}
    if kind == "nolora":
        return IP.nolora("nolora", backbone=base, task=style)
    if kind in ("original", "soup"):
        return IP.scores.baseline(kind, **w)
    w.update(
        layers=gen["layers"],
        norm=gen["norm"],
        unseen=unseen_part(unseen),
        **draw_wildcards(gen),
        **selection_wildcards(image_selection(config, seed)),
    )
    if kind == "memorisation":
        return IP.scores.memorisation(**w)
    if kind == "generated" or source in (None, style):
        return IP.scores.generated(**w)
    return IP.scores.cross("cross", source=source, **w)


def generator_wildcards(config: dict, base: str, rank, style: str) -> dict:
    """The wildcards of image.generator's files for one base x rank x style, at the first seeds."""
    gen = config["image"]["generator"]
    return {
        "backbone": base,
        "rank": rank,
        "task": style,
        "n": gen["n"],
        "layers": gen["layers"],
        "norm": gen["norm"],
        "unseen": "",
        **seed_wildcards(first_seeds(config)),
        **draw_wildcards(gen),
    }


def reseeded_cell(config: dict, arm: str, base: str, rank, style: str) -> str:
    IP = ImagePaths(
        config["results_dir"], eval_part(config, config["image"]["generation"]["noise_seed"])
    )
    return IP.reseeded(arm, **generator_wildcards(config, base, rank, style))


def image_table_spec(config: dict, name: str) -> dict:
    img = config["image"]
    styles, gen, g = list(img["styles"]), img["generator"], img["generation"]
    pairs = [(b, r) for b in img["bases"] for r in img["lora"]["ranks"]]
    extractor = img["fid"]["extractor"]
    setting = (
        f"FID by torch-fidelity with the feature extractor {extractor}; {g['n_images']} images per "
        f"arm, {g['steps']} sampler steps, guidance {g['guidance_scale']}; generator setting "
        f"{json.dumps(gen, sort_keys=True)}; generated = the candidate whose images are closest "
        "(FID) to the style's TRAIN images; every FID here is against the held-out reference images"
    )
    base = {
        "tasks": styles,
        "digits": 2,
        "scored_on": "reference images",
        "name": name,
        "task_label": "style",
    }
    if name == "table2":
        rows = [
            row
            for b, r in pairs
            for label, gs in generator_rows(config, "image.")
            for row in arm_rows(
                config,
                {"base": b, "rank": r, **label},
                styles,
                lambda k, s, extra, b=b, r=r, gs=gs: image_cell(
                    config, k, b, r, s, gen={**gs, **extra}
                ),
            )
        ]
        return {
            **base,
            "title": "Table 2: FID of generated (Cond P-Diff) beside the audit's arms, original,"
            " soup, no LoRA",
            "note": f"{setting}; generation seed {g['seed']}; {seeds_note(config, 'style')}",
            "columns": ["score"],
            "rows": rows,
            "kind": "arms",
        }
    if name == "table2_noise":
        seed = g["noise_seed"]
        rows = [
            {
                "label": {"base": b, "rank": r},
                "cells": {s: {k: reseeded_cell(config, k, b, r, s) for k in ARMS} for s in styles},
            }
            for b, r in pairs
        ]
        return {
            **base,
            "title": (
                f"Table 2's reported parameter sets regenerated at generation seed {seed} "
                "(FID noise)"
            ),
            "note": f"{setting}; the same four parameter sets per style as Table 2 (its selected"
            " candidate, its best checkpoint, soup, base), only the generation seed differs:"
            f" {g['seed']} -> {seed}",
            "columns": list(ARMS),
            "rows": rows,
            "kind": "plain",
        }
    if name == "table2_cross":
        b, r = pairs[0]
        rows = [
            {
                "label": {"generated_for": src},
                "cells": {
                    s: {"score": image_cell(config, "cross", b, r, s, source=src)} for s in styles
                },
            }
            for src in styles
        ]
        return {
            **base,
            "title": f"Cross-style check ({b}, r={r}): row = style the LoRA was generated for,"
            " column = style whose reference images it is scored against",
            "note": setting,
            "columns": ["score"],
            "rows": rows,
            "kind": "cross",
        }
    if name == "image_screen":
        rows = []
        for b in img["bases"]:
            IP = ImagePaths(config["results_dir"], eval_part(config))
            metric = {
                "floor": "fid",
                "nolora": "fid",
                "ratio": "fid_ratio",
            }  # what each field measures
            cells = {
                s: {
                    f: {"path": IP.screen(backbone=b, task=s), "field": f, "metric": m}
                    for f, m in metric.items()
                }
                for s in styles
            }
            rows.append({"label": {"base": b}, "cells": cells})
        return {
            **base,
            "title": "Style screen: floor FID (own train vs own reference images) / the base"
            " model's FID to the style / their ratio",
            "note": f"{setting}. A style with a small ratio leaves a LoRA no room.",
            "columns": ["floor", "nolora", "ratio"],
            "rows": rows,
            "kind": "plain",
            "bold": False,
        }
    if name == "table2_unseen":
        left_out = list(img["leave_one_out"])
        if not left_out:
            raise ValueError(
                "table2_unseen: config 'image.leave_one_out' lists no style to leave out"
            )
        cols = {
            "unseen": "generated",
            "seen": "generated",
            "original": "original",
            "nolora": "nolora",
        }
        rows = [
            {
                "label": {"base": b, "rank": r, **label},
                "cells": {
                    s: {
                        c: image_cell(
                            config, k, b, r, s, unseen=s if c == "unseen" else None, gen=g
                        )
                        for c, k in cols.items()
                    }
                    for s in left_out
                },
            }
            for b, r in pairs
            for label, g in generator_rows(config, "image.")
        ]
        return {
            **base,
            "tasks": left_out,
            "title": "Unseen styles (leave-one-out): FID of the LoRA generated for a"
            " style the generator never saw / seen / original / no-LoRA",
            "note": f"{setting}; unseen = the candidate selected (on the style's train images)"
            " from a generator trained WITHOUT the style (no checkpoint of it in its stats,"
            " autoencoder or diffusion; denormalised with the other styles' pooled stats),"
            " conditioned on the style's train images; seen = table2's generated cell",
            "columns": list(cols),
            "rows": rows,
            "kind": "plain",
        }
    raise ValueError(f"unknown image table {name!r}")


def figure_files(config: dict) -> list[str]:
    """The per-style figures of Table 2's setting (reference images above the four arms)."""
    img = config["image"]
    IP = ImagePaths(config["results_dir"], eval_part(config, img["generation"]["seed"]))
    return [
        IP.figure(**generator_wildcards(config, b, r, s))
        for b in img["bases"]
        for r in img["lora"]["ranks"]
        for s in img["styles"]
    ]


def interpolation_pairs(config: dict) -> list[tuple[str, str]]:
    """The configured style pairs (``image.interpolation.pairs``) as (style 1, style 2)."""
    return [(s1, s2) for s1, s2 in config["image"]["interpolation"]["pairs"]]


def interpolation_files(config: dict) -> list[str]:
    """Every file of the target ``interpolation``: per base x rank x configured pair, at Table 2's
    seed, the FID curves (JSON, CSV), the strip's images, the strip and curve PNGs and the crossing
    table."""
    img = config["image"]
    IP = ImagePaths(config["results_dir"], eval_part(config, img["generation"]["seed"]))
    return [
        IP.interpolation(name, **generator_wildcards(config, b, r, s1), other=s2)
        for b in img["bases"]
        for r in img["lora"]["ranks"]
        for s1, s2 in interpolation_pairs(config)
        for name in INTERPOLATION_FILES
    ]


def generalisation_pair(config: dict) -> tuple[str, str]:
    """``image.generalisation.pair``, or (empty) the first interpolation pair."""
    img = config["image"]
    pair = img["generalisation"]["pair"] or (img["interpolation"]["pairs"] or [[]])[0]
    if len(pair) != 2:
        raise ValueError(
            "config key 'image.generalisation.pair': empty, and image.interpolation.pairs has no "
            "pair"
        )
    return pair[0], pair[1]


def generalisation_wildcards(config: dict, base: str, rank) -> dict:
    """Every path part of the generalisation set's files for one base x rank, from the config."""
    img = config["image"]
    g = img["generalisation"]
    s1, s2 = generalisation_pair(config)
    return {
        "backbone": base,
        "rank": rank,
        "ftseed": seed_wildcards(first_seeds(config))["ftseed"],
        "task": s1,
        "other": s2,
        "points": g["points"],
        "cond_k": g["condition_images"],
        "cond_seed": g["condition_seed"],
        "ref_n": g["reference_images"],
        "ref_seed": g["reference_seed"],
        "gnorm": g["norm"],
        "pool": g["condition_pool"],
        "sampler": img["generator"]["sampler"],
        "cands": g["num_candidates"],
        "select": g["select"],
    }


def generalisation_files(config: dict) -> list[str]:
    """Every file of the target ``generalisation``: per base x rank, at Table 2's generation seed
    (the evaluation images'), the figure, the table (Markdown, HTML, CSV), the scores and the
    condition images' grid; none when the config names no pair (the config check requires one when
    `generalisation` is a target)."""
    img = config["image"]
    if not (img["generalisation"]["pair"] or img["interpolation"]["pairs"]):
        return []
    IP = ImagePaths(config["results_dir"], eval_part(config, img["generation"]["seed"]))
    return [
        IP.generalisation(level, name, **generalisation_wildcards(config, b, r))
        for b in img["bases"]
        for r in img["lora"]["ranks"]
        for level, name in GENERALISATION_FILES
    ]
