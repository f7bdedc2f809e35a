"""Score the generalisation set's test l: the generated LoRA against nearest-neighbour retrieval.

For every test l (its reference features: ``generate_generalisation_images``), each arm's LoRA
generates the evaluation images (style 1's prompts, noise seeded from the generation seed: the
SAME prompts and noise for every arm, other noise than the reference and condition images;
``generate_images.generate_row``) and is scored by FID against that l's reference images:

- ``generated``: the candidate sampled for l (``--select first``: candidate 0; ``condition_fid``:
  the candidate whose images, generated at the condition images' seeds, have the lowest FID against
  l's own CONDITION images: selection on the conditioning data, never on the reference images);
- ``nearest``: theta of the training l nearest to l (the issue's baseline; it knows l);
- ``retrieved``: theta of the training l whose condition images are nearest to l's (the distance
  between their mean FID features): retrieval that, like the generator, sees only l's images;
- ``true``: theta(l) itself at the evaluation seed: the floor (only the noise differs);
- ``nolora``: the base model alone (one image set, scored against every l).

Parameter distances are ||theta - theta(l)|| / ||theta(l)|| in raw parameter space, and the
generated LoRA's position along the line theta_1 -> theta_2 (``l_hat``: the l of its projection;
``off_line``: its distance from the line relative to ||theta_2 - theta_1||). Writes ``--out`` (JSON:
per test l and a summary) and ``--csv``.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import logging
import time
from dataclasses import asdict

import torch
from tqdm import tqdm

from condpdiff.image.args import add_base_style_args, add_extractor_args
from condpdiff.image.base.prompts import PromptCache
from condpdiff.image.fid.features import Extractor, fid_between, load_features
from condpdiff.image.generalisation.common import (
    SCORES_FORMAT,
    SELECTIONS,
    image_pipeline,
    inject_lora,
    line_position,
    load_set,
    relative_distance,
    set_vector,
    where,
)
from condpdiff.image.generation.generate_images import GenerationConfig, generate_row
from condpdiff.image.styles.splitfile import load_split
from condpdiff.params.paramfile import ParamSet
from condpdiff.pipeline.artifacts import artifact_error
from condpdiff.util import cli
from condpdiff.util.atomic import write_json, write_text

log = logging.getLogger("condpdiff.image.generalisation.score_generalisation")
ARMS = ("generated", "nearest", "retrieved", "true", "nolora")
CSV_COLUMNS = (
    "lambda",
    "where",
    "nearest_lambda",
    "retrieved_lambda",
    "fid_generated",
    "fid_nearest",
    "fid_retrieved",
    "fid_true",
    "fid_nolora",
    "dist_generated",
    "dist_nearest",
    "dist_retrieved",
    "l_hat",
    "off_line",
    "selected",
)


def retrieve(cond_feats: torch.Tensor, i: int, train: list[int]) -> int:
    """The training index whose condition images' mean feature is nearest (L2) to index i's."""
    means = cond_feats.double().mean(1)
    return min(train, key=lambda j: (float((means[j] - means[i]).norm()), j))


def check_inputs(gset, cands: ParamSet, cands_path, cond, cond_path, ref, ref_path) -> int:
    """Candidates per test l; an error naming the file when an input belongs to another set."""
    c = int(cands.info.get("candidates_per_l", 0))
    if cands.info.get("test") != gset.test or c < 1 or cands.n != c * len(gset.test):
        raise artifact_error(
            cands_path,
            "candidates of another generalisation set",
            f"candidates for test {gset.test[:4]}... ({len(gset.test)} l)",
            f"test {str(cands.info.get('test'))[:40]}, {cands.n} rows",
        )
    if cond.n_rows != gset.points:
        raise artifact_error(
            cond_path, "condition features of another set", f"{gset.points} rows", f"{cond.n_rows}"
        )
    if ref.info.get("rows") != gset.test:
        raise artifact_error(
            ref_path,
            "reference features of another set",
            f"rows {gset.test[:4]}...",
            f"rows {str(ref.info.get('rows'))[:40]}",
        )
    return c


def summary(rows: list[dict]) -> dict:
    """Means over the test l, and how often generated beats each baseline
    (all test l, and per `where`)."""
    out = {}
    for part in ("all", "gap", "outside"):
        rs = [r for r in rows if part == "all" or r["where"] == part]
        if not rs:
            continue
        mean = {
            k: sum(r[k] for r in rs) / len(rs)
            for k in CSV_COLUMNS
            if k.startswith(("fid_", "dist_"))
        }
        wins = {
            f"{m}_vs_{b}": sum(r[f"{m}_generated"] < r[f"{m}_{b}"] for r in rs)
            for m in ("fid", "dist")
            for b in ("nearest", "retrieved")
        }
        out[part] = {"n": len(rs), "mean": mean, "generated_wins": wins}
    return out


def run(a, cfg: GenerationConfig) -> dict:
    gset = load_set(a.set)
    cands = ParamSet.load(a.candidates)
    cond, ref = load_features(a.condition_features), load_features(a.reference_features)
    c = check_inputs(
        gset, cands, a.candidates, cond, a.condition_features, ref, a.reference_features
    )
    split, cache = load_split(a.split), PromptCache.load(a.prompts)
    device = torch.device(
        ("cuda" if torch.cuda.is_available() else "cpu") if cfg.device == "auto" else cfg.device
    )
    extractor = Extractor(a.extractor, a.weights_path, device=device)
    pipe, device = image_pipeline(a.base, cfg)
    t0 = time.time()
    nolora = generate_row(pipe, cache, split.prompts, cfg, extractor, device)[0]
    inject_lora(pipe, a.rank, a.alpha, gset.params, a.set, a.base)
    layout = gset.params.layout
    sel_cfg = dataclasses.replace(cfg, n_images=int(cond.info["n_images"]), seed=a.condition_seed)
    memo: dict[int, torch.Tensor] = {}

    def features(vector: torch.Tensor, gen_cfg: GenerationConfig = cfg) -> torch.Tensor:
        set_vector(pipe, vector, layout)
        return generate_row(pipe, cache, split.prompts, gen_cfg, extractor, device)[0]

    def train_features(j: int) -> torch.Tensor:
        if j not in memo:
            memo[j] = features(gset.theta(j))
        return memo[j]

    theta1, theta2 = gset.ends()
    rows = []
    for t, i in enumerate(tqdm(gset.test, desc="test l", mininterval=5)):
        own = range(t * c, (t + 1) * c)
        sel_fid = None
        if a.select == "condition_fid" and c > 1:
            sel_fid = [fid_between(features(cands.params[r], sel_cfg), cond.row(i)) for r in own]
            pick = own[min(range(c), key=lambda q: (sel_fid[q], q))]
        else:
            pick = own[0]
        gen = cands.params[pick]
        nn, rt = gset.nearest(i), retrieve(cond.features, i, gset.train)
        refs = ref.row(t)
        l_hat, off = line_position(gen, theta1, theta2)
        rows.append(
            {
                "index": i,
                "lambda": gset.lambdas[i],
                "where": where(i, gset.train),
                "nearest_lambda": gset.lambdas[nn],
                "retrieved_lambda": gset.lambdas[rt],
                "fid_generated": fid_between(features(gen), refs),
                "fid_nearest": fid_between(train_features(nn), refs),
                "fid_retrieved": fid_between(train_features(rt), refs),
                "fid_true": fid_between(features(gset.theta(i)), refs),
                "fid_nolora": fid_between(nolora, refs),
                "dist_generated": relative_distance(gen, gset.theta(i)),
                "dist_nearest": relative_distance(gset.theta(nn), gset.theta(i)),
                "dist_retrieved": relative_distance(gset.theta(rt), gset.theta(i)),
                "l_hat": l_hat,
                "off_line": off,
                "selected": pick - t * c,
                "selection_fid": sel_fid,
            }
        )
        r = rows[-1]
        log.info(
            "l=%.3f (%s): FID generated %.3f / nearest (l=%.3f) %.3f / retrieved (l=%.3f) %.3f / "
            "true %.3f; distance %.4f / %.4f / %.4f; l_hat %.3f",
            r["lambda"],
            r["where"],
            r["fid_generated"],
            r["nearest_lambda"],
            r["fid_nearest"],
            r["retrieved_lambda"],
            r["fid_retrieved"],
            r["fid_true"],
            r["dist_generated"],
            r["dist_nearest"],
            r["dist_retrieved"],
            l_hat,
        )
    return {
        "format": SCORES_FORMAT,
        "styles": gset.styles,
        "points": gset.points,
        "lambdas": gset.lambdas,
        "train": gset.train,
        "test": gset.test,
        "rows": rows,
        "summary": summary(rows),
        "select": a.select,
        "candidates_per_l": c,
        "arms": list(ARMS),
        "images": {
            "evaluation": {"n": cfg.n_images, "seed": cfg.seed},
            "reference": {"n": int(ref.info["n_images"]), "seed": ref.info["generation"]["seed"]},
            "condition": {"n": int(cond.info["n_images"]), "seed": a.condition_seed},
        },
        "generation": {**asdict(cfg), "device": str(device)},
        **extractor.describe(),
        "rank": a.rank,
        "alpha": a.alpha,
        "base": a.base,
        "files": {
            "set": a.set,
            "candidates": a.candidates,
            "condition_features": a.condition_features,
            "reference_features": a.reference_features,
        },
        "seconds": round(time.time() - t0, 2),
    }


def to_csv(record: dict) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for r in record["rows"]:
        w.writerow([r[k] if isinstance(r[k], (str, int)) else f"{r[k]:.6g}" for k in CSV_COLUMNS])
    return buf.getvalue()


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_base_style_args(p, split_help="style 1's split file: the generation prompts")
    p.add_argument("--set", required=True, help="the generalisation set")
    p.add_argument("--candidates", required=True, help="sample_generalisation_candidates' file")
    p.add_argument(
        "--condition-features", required=True, help="FID features of every l's condition images"
    )
    p.add_argument(
        "--reference-features",
        required=True,
        help="FID features of every test l's reference images",
    )
    p.add_argument(
        "--condition-seed",
        type=int,
        required=True,
        help="the condition images' noise seed (selection)",
    )
    p.add_argument(
        "--select", choices=SELECTIONS, default="first", help="which candidate is reported"
    )
    add_extractor_args(p)
    p.add_argument("--out", required=True, help="scores (.json)")
    p.add_argument("--csv", required=True, help="scores (.csv)")
    cli.add_dataclass_args(p, GenerationConfig)
    a = p.parse_args(argv)
    cli.setup_logging()
    cfg = cli.dataclass_from_args(GenerationConfig, a)
    if a.condition_seed == cfg.seed:
        p.error(
            f"--condition-seed {a.condition_seed} equals the evaluation seed: the two image sets "
            "need other noise"
        )
    record = run(a, cfg)
    write_text(a.csv, to_csv(record))
    write_json(a.out, record)
    s = record["summary"]["all"]
    log.info(
        "%s: %d test l in %.0fs; mean FID generated %.3f / nearest %.3f / retrieved %.3f / true "
        "%.3f; generated wins FID %s",
        a.out,
        s["n"],
        record["seconds"],
        s["mean"]["fid_generated"],
        s["mean"]["fid_nearest"],
        s["mean"]["fid_retrieved"],
        s["mean"]["fid_true"],
        s["generated_wins"],
    )


if __name__ == "__main__":
    main()
