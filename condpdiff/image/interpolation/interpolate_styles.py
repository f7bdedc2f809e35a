"""Interpolation between two styles' LoRAs, scored by FID against both styles
(target ``interpolation``).

For each arm (``generated``: the candidate Table 2 selected for the style, the cell's
``selected_row``; ``original``: the harvested checkpoint Table 2 reports, the cell's
``best_step``; ``soup``), the two styles' parameter sets are mixed by the paper's formula

    theta(l) = (1 - l) theta_1 + l theta_2,   l = 0, 1/(points-1), ..., 1

on the flat LoRA parameters (A and B alike, tensor by tensor), NOT the public code's two
rank-1 LoRAs concatenated into one rank-2 LoRA. Each theta(l) generates Table 2's images
(style 1's prompts; image j: prompt j mod P, noise seeded from (seed, j)), so at l = 0 the
images of an arm are exactly Table 2's images of style 1 and FID to style 1 equals its cell.
Their features are scored against BOTH styles' reference features: two curves per arm, one
falling and one rising, that should cross. The base's (no-LoRA) FID to each style is read from
Table 2's no-LoRA cells (a horizontal reference, free).

The base is loaded once, LoRA injected once, each theta(l) loaded in place. Writes the curves
(``--out`` JSON, ``--csv``) and the first ``--strip-images`` images of every arm and l plus a
matching reference image of each style (``--strip``, safetensors) for plot_interpolation.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import time
from dataclasses import asdict

import torch
from tqdm import tqdm

from condpdiff.image.args import add_base_style_args, add_extractor_args
from condpdiff.image.base import pixart
from condpdiff.image.base.prompts import PromptCache
from condpdiff.image.fid.features import Extractor, FeatureSet, fid_between, load_features
from condpdiff.image.generation.generate_images import (
    GRID_COLS,
    GenerationConfig,
    generate_row,
    load_pipeline,
)
from condpdiff.image.generation.render_figure import real_images
from condpdiff.image.generation.reseed_arms import ARMS as CELL_ARMS
from condpdiff.image.generation.reseed_arms import reported_states
from condpdiff.image.styles.splitfile import StyleSplitFile, load_split
from condpdiff.params.paramfile import ParamSet
from condpdiff.pipeline.artifacts import (
    CANDIDATES,
    CELL_FORMAT,
    HARVEST_KINDS,
    artifact_error,
    load_json,
)
from condpdiff.util import cli
from condpdiff.util.atomic import save_safetensors, write_json, write_text

log = logging.getLogger("condpdiff.image.interpolation.interpolate_styles")
FORMAT = "condpdiff-interpolation/1"
STRIP_FORMAT = "condpdiff-interpolation-strip/1"
ARMS = (
    "generated",
    "original",
    "soup",
)  # arms with LoRA weights to interpolate (no-LoRA is the reference line)
FORMULA = "theta(l) = (1 - l) theta_1 + l theta_2 on the flat LoRA parameters (A and B alike)"
CSV_COLUMNS = ("arm", "lambda", "style1", "style2", "fid_style1", "fid_style2", "seconds")


def lambdas(points: int) -> list[float]:
    """`points` values of l evenly spaced from 0 to 1, both ends included (11: 0, 0.1, ..., 1)."""
    if points < 2:
        raise ValueError(f"an interpolation needs at least 2 points (l = 0 and 1), got {points}")
    return [i / (points - 1) for i in range(points)]


State = dict[str, torch.Tensor]


def interpolate(state1: State, state2: State, lam: float) -> State:
    """(1 - lam) state1 + lam state2, tensor by tensor, in float64 and back to each tensor's dtype:
    lam = 0 gives state1 exactly, lam = 1 state2."""
    if list(state1) != list(state2):
        raise ValueError(
            f"LoRA states with different tensors: {sorted(set(state1) ^ set(state2))[:3]} "
            "(or another order): the two styles' LoRAs need one layout"
        )
    out = {}
    for name, a in state1.items():
        b = state2[name]
        if a.shape != b.shape:
            raise ValueError(
                f"LoRA tensor {name}: shapes {tuple(a.shape)} and {tuple(b.shape)} differ"
            )
        out[name] = ((1.0 - lam) * a.double() + lam * b.double()).to(a.dtype)
    return out


def crossings(lams: list[float], fid1: list[float], fid2: list[float]) -> list[float]:
    """The l where FID to style 1 - FID to style 2 changes sign (or is 0),
    linear between grid points."""
    d = [a - b for a, b in zip(fid1, fid2)]
    out = []
    for i in range(len(lams) - 1):
        if d[i] == 0:
            out.append(lams[i])
        elif d[i] * d[i + 1] < 0:
            out.append(lams[i] + (lams[i + 1] - lams[i]) * d[i] / (d[i] - d[i + 1]))
    if d and d[-1] == 0:
        out.append(lams[-1])
    return [round(x, 6) for x in out]


def strip_indices(
    prompts: list[str], splits: list[StyleSplitFile], k: int, limit: int
) -> list[int]:
    """`k` images j (< `limit`) shown in the strip: first distinct prompts that caption a reference
    image of both styles (the ends then show the same subject), then other distinct prompts, then
    any j."""

    def matched(j: int) -> bool:
        return all(prompts[j % len(prompts)] in s.captions("reference") for s in splits)

    chosen, seen = [], set()
    for want in (True, False, None):
        for j in range(limit):
            p = prompts[j % len(prompts)]
            if (
                len(chosen) < k
                and j not in chosen
                and (want is None or (matched(j) == want and p not in seen))
            ):
                chosen.append(j)
                seen.add(p)
    return sorted(chosen)


def reference_image_paths(split: StyleSplitFile, prompts: list[str], js: list[int]) -> list:
    """Per strip image j: the style's first reference image captioned like prompt j,
    else reference j."""
    paths, caps = split.paths("reference"), split.captions("reference")
    out = []
    for j in js:
        p = prompts[j % len(prompts)]
        out.append(paths[caps.index(p)] if p in caps else paths[j % len(paths)])
    return out


def check_reference(
    fs: FeatureSet, path, style: str, extractor: Extractor, resolution: int
) -> None:
    """Reference features of `style` made like ours (extractor, layer, resolution);
    else an error naming the file."""
    want = {
        "kind": "real",
        "part": "reference",
        "style": style,
        "extractor": extractor.name,
        "feature_layer": extractor.layer,
        "resolution": resolution,
    }
    got = {k: fs.info.get(k) for k in want}
    if got != want:
        raise artifact_error(
            path,
            f"not the reference features of style {style} for this generation",
            str(want),
            str(got),
        )


def load_cells(paths: list[str]) -> dict:
    return {
        arm: load_json(p, "table cell", CELL_FORMAT, keys=("score",))
        for arm, p in zip(CELL_ARMS, paths)
    }


def run(a, cfg: GenerationConfig) -> tuple[dict, dict]:
    """The curves' record and the strip's tensors (see the module docstring)."""
    splits = [load_split(p) for p in (a.split, a.split2)]
    styles = [s.style for s in splits]
    prompts = splits[0].prompts
    cache = PromptCache.load(a.prompts)
    missing = [q for q in prompts if q not in cache.prompts]
    if missing:
        raise artifact_error(
            a.prompts,
            f"prompt cache without the prompts of {a.split}",
            "every generation prompt of the split file",
            f"no {missing[:3]}",
        )
    cells = [load_cells(a.cells), load_cells(a.cells2)]
    who = "image.interpolation.interpolate_styles"
    harvests = [
        ParamSet.load(p, {"kind": HARVEST_KINDS, "task": s}, who) for p, s in zip(a.harvest, styles)
    ]
    if harvests[0].layout != harvests[1].layout:
        raise artifact_error(
            a.harvest[1],
            f"harvest whose LoRA layout differs from {a.harvest[0]}",
            f"K = {harvests[0].k} in {len(harvests[0].layout)} tensors",
            f"K = {harvests[1].k} in {len(harvests[1].layout)} tensors",
        )
    states = [
        reported_states(h, ParamSet.load(c, {"kind": CANDIDATES, "task": s}, who), cl)
        for h, c, cl, s in zip(harvests, a.candidates, cells, styles)
    ]
    device = torch.device(
        ("cuda" if torch.cuda.is_available() else "cpu") if cfg.device == "auto" else cfg.device
    )
    extractor = Extractor(a.extractor, a.weights_path, device=device)
    refs = [load_features(p) for p in a.reference]
    for fs, path, style in zip(refs, a.reference, styles):
        check_reference(fs, path, style, extractor, cfg.resolution)
    if cfg.threads > 0:
        torch.set_num_threads(cfg.threads)
    pipe = load_pipeline(a.base, cfg)
    pixart.add_lora(pipe.transformer, pixart.LoraSpec(rank=a.rank, alpha=a.alpha))
    if pixart.lora_layout(pipe.transformer) != harvests[0].layout:
        raise artifact_error(
            a.harvest[0],
            f"LoRA layout that does not fit base {a.base} at rank {a.rank}",
            "the base's LoRA layout",
            harvests[0].describe(),
        )
    pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    side = pipe.transformer.config.sample_size * pipe.vae_scale_factor
    lams, limit = lambdas(a.points), min(GRID_COLS, cfg.n_images)
    js = strip_indices(prompts, splits, min(a.strip_images, limit), limit)
    rows, strip, t_all = [], [], time.time()
    for arm in a.arms:
        s1, s2 = states[0][arm][0], states[1][arm][0]
        images = []
        for lam in tqdm(lams, desc=f"{styles[0]}->{styles[1]} {arm}", mininterval=5):
            t0 = time.time()
            pixart.load_lora_state(pipe.transformer, interpolate(s1, s2, lam))
            feats, first = generate_row(pipe, cache, prompts, cfg, extractor, device)
            f1, f2 = fid_between(feats, refs[0].row(0)), fid_between(feats, refs[1].row(0))
            rows.append(
                {
                    "arm": arm,
                    "lambda": lam,
                    "fid_style1": f1,
                    "fid_style2": f2,
                    "seconds": round(time.time() - t0, 3),
                }
            )
            images.append(first[js])
            log.info(
                "%s l=%.3f: FID to %s %.3f, to %s %.3f", arm, lam, styles[0], f1, styles[1], f2
            )
        strip.append(torch.stack(images))
    table2 = {
        arm: {
            "fid_style1": float(cells[0][arm]["score"]),
            "fid_style2": float(cells[1][arm]["score"]),
        }
        for arm in a.arms
    }
    record = {
        "format": FORMAT,
        "styles": styles,
        "formula": FORMULA,
        "lambdas": lams,
        "arms": list(a.arms),
        "rows": rows,
        "crossings": {
            arm: crossings(
                lams,
                [r["fid_style1"] for r in rows if r["arm"] == arm],
                [r["fid_style2"] for r in rows if r["arm"] == arm],
            )
            for arm in a.arms
        },
        "what": {arm: {styles[i]: states[i][arm][1] for i in range(2)} for arm in a.arms},
        "table2": table2,
        "nolora": {
            "fid_style1": float(cells[0]["nolora"]["score"]),
            "fid_style2": float(cells[1]["nolora"]["score"]),
            "same_prompts": splits[1].prompts == prompts,
        },
        "prompts": prompts,
        "prompts_from": str(a.split),
        "strip": {"images": js, "prompts": [prompts[j % len(prompts)] for j in js]},
        "generation": {**asdict(cfg), "device": str(device), "image_size": side},
        **extractor.describe(),
        "rank": a.rank,
        "alpha": a.alpha,
        "base": a.base,
        "files": {
            "harvest": list(a.harvest),
            "candidates": list(a.candidates),
            "cells": list(a.cells),
            "cells2": list(a.cells2),
            "reference": list(a.reference),
            "splits": [a.split, a.split2],
        },
        "seconds": round(time.time() - t_all, 2),
    }
    refs_img = [real_images(reference_image_paths(s, prompts, js), side) for s in splits]
    tensors = {
        "images": torch.stack(strip).contiguous(),
        "reference1": refs_img[0],
        "reference2": refs_img[1],
    }
    return record, tensors


def to_csv(record: dict) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    s1, s2 = record["styles"]
    for r in record["rows"]:
        w.writerow(
            [
                r["arm"],
                f"{r['lambda']:.6g}",
                s1,
                s2,
                f"{r['fid_style1']:.6f}",
                f"{r['fid_style2']:.6f}",
                r["seconds"],
            ]
        )
    return buf.getvalue()


def endpoint_report(record: dict) -> list[str]:
    """l = 0 reproduces Table 2's images of style 1: FID to style 1 there should equal its cell (and
    l = 1 Table 2's of style 2 when both styles share their prompts)."""
    lines = []
    for arm in record["arms"]:
        ends = [r for r in record["rows"] if r["arm"] == arm and r["lambda"] in (0.0, 1.0)]
        t2 = record["table2"][arm]
        s1, s2 = record["styles"]
        lines.append(
            f"{arm}: l=0 FID to {s1} {ends[0]['fid_style1']:.4f} (Table 2 {t2['fid_style1']:.4f});"
            f" l=1 FID to {s2} {ends[-1]['fid_style2']:.4f} (Table 2 {t2['fid_style2']:.4f})"
        )
    return lines


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_base_style_args(p, split_help="style 1's split file: the generation prompts")
    p.add_argument("--split2", required=True, help="style 2's split file")
    p.add_argument(
        "--harvest", nargs=2, required=True, metavar=("H1", "H2"), help="the two styles' harvests"
    )
    p.add_argument(
        "--candidates",
        nargs=2,
        required=True,
        metavar=("C1", "C2"),
        help="the two styles' candidates",
    )
    p.add_argument(
        "--cells", nargs=4, required=True, metavar=CELL_ARMS, help="Table 2's four cells of style 1"
    )
    p.add_argument(
        "--cells2",
        nargs=4,
        required=True,
        metavar=CELL_ARMS,
        help="Table 2's four cells of style 2",
    )
    p.add_argument(
        "--reference",
        nargs=2,
        required=True,
        metavar=("R1", "R2"),
        help="the two styles' reference features (.safetensors)",
    )
    p.add_argument("--points", type=int, default=11, help="l values from 0 to 1")
    p.add_argument("--arms", nargs="+", default=["generated", "original"], choices=ARMS)
    p.add_argument(
        "--strip-images",
        type=int,
        default=2,
        help=f"images per arm and l kept for the strip (<= {GRID_COLS})",
    )
    add_extractor_args(p)
    p.add_argument("--out", required=True, help="curves (.json)")
    p.add_argument("--csv", required=True, help="curves (.csv)")
    p.add_argument("--strip", required=True, help="the strip's images (.safetensors)")
    cli.add_dataclass_args(p, GenerationConfig)
    a = p.parse_args(argv)
    cli.setup_logging()
    if not 1 <= a.strip_images <= GRID_COLS:
        p.error(f"--strip-images must be 1..{GRID_COLS}, got {a.strip_images}")
    if len(set(a.arms)) != len(a.arms):
        p.error(f"--arms lists an arm twice: {a.arms}")
    cfg = cli.dataclass_from_args(GenerationConfig, a)
    record, tensors = run(a, cfg)
    for line in endpoint_report(record):
        log.info(line)
    save_safetensors(
        a.strip,
        tensors,
        {
            "format": STRIP_FORMAT,
            "info": json.dumps(
                {
                    "styles": record["styles"],
                    "arms": record["arms"],
                    "lambdas": record["lambdas"],
                    **record["strip"],
                }
            ),
        },
    )
    write_text(a.csv, to_csv(record))
    write_json(a.out, record)
    log.info(
        "%s: %d arms x %d points in %.0fs; crossings %s",
        a.out,
        len(record["arms"]),
        len(record["lambdas"]),
        record["seconds"],
        record["crossings"],
    )


if __name__ == "__main__":
    main()
