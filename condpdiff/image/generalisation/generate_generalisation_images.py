"""The generalisation set's images: each l's condition images and each test l's reference features.

For EVERY l of the set, theta(l) generates ``--condition-images`` k images (image j: prompt j mod P
of style 1's split, noise seeded from (``--condition-seed``, j); ``generate_images.generate_row``),
which become
- the condition: each image through the frozen ResNet-18 of ``image.condition``
  (``conditions.image_encoder``) -> maps [M, k, C, h, w] (``--conditions``), what the generator is
  trained on (train l) and conditioned on (test l);
- their FID features [M, k, D] (``--condition-features``): what a candidate may be selected on.

For every TEST l, theta(l) generates ``--reference-images`` images at ``--reference-seed`` (other
noise than the condition images and than the evaluation images, whose seed is the generation seed),
kept as FID features [T, R, D] (``--reference-features``): the set a test l's FID is reported
against. The generator never sees them. A grid PNG shows the first condition images of up to 8 l
values.

Images are resized and centre-cropped to the FID resolution before anything sees them (the ResNet
then resizes them to its own ``image_size``), so the condition encoder reads exactly the pixels the
FID extractor reads.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import time
from dataclasses import asdict

import torch
from tqdm import tqdm

from condpdiff.conditions.image_encoder import ImageEncoderConfig, ResNetFeatures
from condpdiff.image.args import add_base_style_args, add_extractor_args
from condpdiff.image.base.prompts import PromptCache
from condpdiff.image.fid.features import Extractor, FeatureSet
from condpdiff.image.generalisation.common import (
    CONDITIONS_FORMAT,
    KeepImages,
    image_pipeline,
    inject_lora,
    load_set,
    set_lora,
)
from condpdiff.image.generation.generate_images import (
    GenerationConfig,
    generate_row,
    grid_rows,
    write_grid,
)
from condpdiff.image.styles.splitfile import load_split
from condpdiff.pipeline.artifacts import artifact_error
from condpdiff.util import cli
from condpdiff.util.atomic import save_safetensors

log = logging.getLogger("condpdiff.image.generalisation.generate_generalisation_images")
ENC = "encoder-"  # flag prefix of the condition encoder's settings (image.condition)


def check_seeds(eval_seed: int, condition_seed: int, reference_seed: int) -> None:
    """Condition, reference and evaluation images must use different noise."""
    seeds = {
        "generation.seed (evaluation)": eval_seed,
        "condition_seed": condition_seed,
        "reference_seed": reference_seed,
    }
    if len(set(seeds.values())) != 3:
        raise ValueError(
            "image.generalisation: the condition, reference and evaluation images need three "
            f"different seeds, got {seeds}"
        )


def run(a, cfg: GenerationConfig, enc: ImageEncoderConfig):
    """(maps [M, k, C, h, w], condition features, reference features, grid rows,
    encoder name, the grid rows' l)."""
    gset = load_set(a.set)
    split, cache = load_split(a.split), PromptCache.load(a.prompts)
    missing = [q for q in split.prompts if q not in cache.prompts]
    if missing:
        raise artifact_error(
            a.prompts,
            f"prompt cache without the prompts of {a.split}",
            "every generation prompt of the split file",
            f"no {missing[:3]}",
        )
    device = torch.device(
        ("cuda" if torch.cuda.is_available() else "cpu") if cfg.device == "auto" else cfg.device
    )
    extractor = Extractor(a.extractor, a.weights_path, device=device)
    encoder = ResNetFeatures(dataclasses.replace(enc, device=str(device)))
    pipe, device = image_pipeline(a.base, cfg)
    inject_lora(pipe, a.rank, a.alpha, gset.params, a.set, a.base)
    cond_cfg = dataclasses.replace(cfg, n_images=a.condition_images, seed=a.condition_seed)
    ref_cfg = dataclasses.replace(cfg, n_images=a.reference_images, seed=a.reference_seed)
    tap = KeepImages(extractor)
    maps, cond_feats, ref_feats, shown, grid = [], [], [], grid_rows(gset.points), []
    for i in tqdm(range(gset.points), desc="condition images", mininterval=5):
        set_lora(pipe, gset.params, i)
        f, _ = generate_row(pipe, cache, split.prompts, cond_cfg, tap, device)
        images = tap.take()
        maps.append(encoder(images.float() / 255.0))
        cond_feats.append(f)
        if i in shown:
            grid.append(images[:8])
        if i in gset.test:
            rf, _ = generate_row(pipe, cache, split.prompts, ref_cfg, extractor, device)
            ref_feats.append(rf)
    common = {
        "kind": "generated",
        **extractor.describe(),
        "resolution": cfg.resolution,
        "style": gset.params.info["task"],
        "split_file": str(a.split),
        "prompts_file": str(a.prompts),
        "base": a.base,
        "params_file": str(a.set),
        "lora": True,
        "rank": a.rank,
        "alpha": a.alpha,
        "n_prompts": len(split.prompts),
    }
    cf = FeatureSet(
        torch.stack(cond_feats),
        {
            **common,
            "n_images": a.condition_images,
            "part": "condition",
            "rows": list(range(gset.points)),
            "steps": list(range(gset.points)),
            "generation": asdict(cond_cfg),
        },
    )
    rf = FeatureSet(
        torch.stack(ref_feats),
        {
            **common,
            "n_images": a.reference_images,
            "part": "reference",
            "rows": gset.test,
            "steps": gset.test,
            "generation": asdict(ref_cfg),
        },
    )
    return torch.stack(maps), cf, rf, grid, encoder.name, [gset.lambdas[i] for i in shown]


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_base_style_args(p, split_help="style 1's split file: the generation prompts")
    p.add_argument("--set", required=True, help="the generalisation set (build_generalisation_set)")
    p.add_argument("--condition-images", type=int, required=True, help="k: condition images per l")
    p.add_argument(
        "--condition-seed", type=int, required=True, help="noise seed of the condition images"
    )
    p.add_argument(
        "--reference-images", type=int, required=True, help="reference images per test l"
    )
    p.add_argument(
        "--reference-seed", type=int, required=True, help="noise seed of the reference images"
    )
    p.add_argument("--condition", default="resnet18-image", help="the condition's name")
    add_extractor_args(p)
    p.add_argument(
        "--conditions", required=True, help="out: condition maps [M, k, C, h, w] (.safetensors)"
    )
    p.add_argument(
        "--condition-features", required=True, help="out: FID features of the condition images"
    )
    p.add_argument(
        "--reference-features",
        required=True,
        help="out: FID features of the test l's reference images",
    )
    p.add_argument("--grid", required=True, help="out: condition images of up to 8 l values (.png)")
    cli.add_dataclass_args(p, GenerationConfig)
    cli.add_dataclass_args(p, ImageEncoderConfig, prefix=ENC)
    a = p.parse_args(argv)
    cli.setup_logging()
    for flag, v in (
        ("--condition-images", a.condition_images),
        ("--reference-images", a.reference_images),
    ):
        if v < 2:
            p.error(f"{flag} must be at least 2 (FID needs a covariance), got {v}")
    cfg = cli.dataclass_from_args(GenerationConfig, a)
    enc = cli.dataclass_from_args(ImageEncoderConfig, a, prefix=ENC)
    try:
        check_seeds(cfg.seed, a.condition_seed, a.reference_seed)
    except ValueError as e:
        p.error(str(e))
    t0 = time.time()
    maps, cf, rf, grid, encoder_name, grid_l = run(a, cfg, enc)
    info = {
        "condition": a.condition,
        "encoder": encoder_name,
        "encoder_config": asdict(enc),
        "points": int(maps.shape[0]),
        "condition_images": a.condition_images,
        "condition_seed": a.condition_seed,
        "set": str(a.set),
        "seconds": round(time.time() - t0, 2),
    }
    save_safetensors(
        a.conditions,
        {"maps": maps.float().contiguous()},
        {"format": CONDITIONS_FORMAT, "info": json.dumps(info, sort_keys=True)},
    )
    cf.save(a.condition_features)
    rf.save(a.reference_features)
    write_grid(a.grid, grid)
    log.info(
        "%s: maps %s (%s); condition features %s, reference features %s; grid rows at l = %s; "
        "%.0fs",
        a.conditions,
        tuple(maps.shape),
        encoder_name,
        tuple(cf.features.shape),
        tuple(rf.features.shape),
        [round(x, 3) for x in grid_l],
        info["seconds"],
    )


if __name__ == "__main__":
    main()
