"""Command-line arguments of the image entry points, built from a validated config (no torch)."""

from __future__ import annotations

import shlex

from condpdiff.pipeline.image_paths import ImagePaths
from condpdiff.pipeline.settings import flags


def image(config: dict) -> dict:
    return config["image"]


def styles(config: dict) -> list[str]:
    return list(image(config)["styles"]) if config.get("image") else []


def bases(config: dict) -> list[str]:
    return list(image(config)["bases"]) if config.get("image") else []


def made_styles(config: dict) -> list[str]:
    """Styles whose folder a rule makes (stylize, procedural) rather than the user's folder."""
    return (
        [s for s, spec in image(config)["styles"].items() if "folder" not in spec]
        if config.get("image")
        else []
    )


def tiny_bases(config: dict) -> list[str]:
    return (
        [b for b, spec in image(config)["bases"].items() if "tiny_random" in spec]
        if config.get("image")
        else []
    )


def base_model(config: dict, key: str) -> str:
    """Hub id or local folder of base `key`; a tiny one is its pretrained folder under
    results_dir."""
    spec = image(config)["bases"][key]
    return spec.get("model") or ImagePaths(config["results_dir"]).base("pretrained", backbone=key)


def style_folder(config: dict, style: str) -> str:
    spec = image(config)["styles"][style]
    return spec.get("folder") or ImagePaths(config["results_dir"]).style_folder(task=style)


def make_folder_args(config: dict, style: str | None) -> str:
    """make_style_folder's flags for `style` (None: the base's content folder)."""
    img, si = image(config), image(config)["style_images"]
    if style is None:
        source = img["content"]["source"]
        how = "--stylize none" if source == "photos" else "--procedural none"
    else:
        spec = img["styles"][style]
        how = (
            f"--stylize {shlex.quote(spec['stylize'])}"
            if "stylize" in spec
            else f"--procedural {shlex.quote(','.join(spec['procedural']) or 'none')}"
        )
    return (
        f"{how} --per-half {si['per_half']} --n-images {si['n_images']} --crop {si['crop']}"
        f" --short-side {si['short_side']} --seed {si['seed']}"
    )


def split_args(config: dict, style: str) -> str:
    img, spec = image(config), image(config)["styles"][style]
    sp = img["split"]
    out = [f"--n-reference {sp['n_reference']} --seed {sp['seed']} --group-by {sp['group_by']}"]
    if "caption" in spec:
        out.append(f"--default-caption {shlex.quote(spec['caption'])}")
    if spec.get("prompts"):
        out.append("--prompts " + " ".join(shlex.quote(p) for p in spec["prompts"]))
    return " ".join(out)


def lora_alpha(config: dict, rank) -> int:
    alphas = {int(k): int(v) for k, v in image(config)["lora"]["alpha"].items()}
    if int(rank) not in alphas:
        raise KeyError(
            f"no LoRA alpha for rank {rank} in config 'image.lora.alpha' (have {sorted(alphas)})"
        )
    return alphas[int(rank)]


def fid_args(config: dict) -> str:
    fid = image(config)["fid"]
    out = f"--extractor {shlex.quote(fid['extractor'])}"
    if fid.get("weights_path"):
        out += f" --weights-path {shlex.quote(fid['weights_path'])}"
    return out


def generation_args(config: dict, seed: int, fid: bool = True) -> str:
    """generate_images' GenerationConfig flags at generation seed `seed` (the eval part's seed),
    plus the FID extractor's flags (`fid`) and the resolution features are computed at."""
    g = {k: v for k, v in image(config)["generation"].items() if k != "noise_seed"}
    g.update(seed=seed, resolution=image(config)["fid"]["resolution"])
    return f"{flags(g)} {fid_args(config)}" if fid else flags(g)
