"""Image side of ``condpdiff generate``: a folder of style images -> PixArt LoRA weights.

The condition is what ``image.styles.encode_condition`` makes of a style's train images (frozen
ResNet-18 feature maps, one per image, with the encoder settings the generator recorded).
The adapter is diffusers' LoRA format (``pytorch_lora_weights.safetensors``, keys
``transformer.<peft key>``, the LoRA config in its metadata), written with diffusers' own
writer. diffusers 0.42's ``PixArtAlphaPipeline`` has no LoRA loader mixin, so `load_into`
puts it into a pipeline with peft (``inject_adapter_in_model`` + ``set_peft_model_state_dict``).
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from condpdiff.params.paramfile import unflatten

log = logging.getLogger("condpdiff.generate.images")

SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff")
MIN_IMAGES = 2  # one image shows no style; a direct generator needs at least its k per draw
WEIGHTS = "pytorch_lora_weights.safetensors"


class ImageInputError(ValueError):
    """The user's style images do not make a condition."""


def image_files(folder: str | Path, minimum: int) -> list[Path]:
    """The image files of `folder` in name order; an empty, missing or too small folder is an
    error."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ImageInputError(f"{folder}: not a folder of style images (no such folder)")
    try:
        files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)
    except OSError as e:
        raise ImageInputError(f"{folder}: unreadable folder of style images ({e})") from None
    if not files:
        raise ImageInputError(
            f"{folder}: no style images; expected files ending in {', '.join(SUFFIXES)}"
        )
    if len(files) < minimum:
        raise ImageInputError(
            f"{folder}: too few style images for this generator's condition; expected at "
            f"least {minimum}, found {len(files)}"
        )
    return files


def min_images(cfg: dict) -> int:
    if cfg["kind"] == "direct":
        from condpdiff.generator.direct.conditioning import Recipe

        return max(MIN_IMAGES, Recipe.parse(cfg["draw"]).k)
    return MIN_IMAGES


def condition(cfg: dict, files: list[Path], device: str) -> torch.Tensor:
    """[n_images, C, h, w] feature maps, as the generator's training conditions were made."""
    import dataclasses

    from condpdiff.conditions.image_encoder import ImageEncoderConfig, ResNetFeatures
    from condpdiff.image.styles.encode_condition import read_image

    c = cfg["condition"]
    if c["projection"] != "conv":
        raise ImageInputError(
            f"this generator's condition {c['name']!r} (projection {c['projection']!r}) is not "
            "made from style images"
        )
    fields = {f.name: f for f in dataclasses.fields(ImageEncoderConfig)}
    settings = {
        k: type(fields[k].default)(v) for k, v in c.get("settings", {}).items() if k in fields
    }
    encoder = ResNetFeatures(ImageEncoderConfig(**{**settings, "device": device}))
    if encoder.name != c["encoder"]:
        raise ImageInputError(
            f"the image encoder built from the recorded settings is {encoder.name!r}; the "
            f"generator was trained with {c['encoder']!r}"
        )
    try:
        return torch.cat([encoder([read_image(p)]) for p in files])
    except ValueError as e:
        raise ImageInputError(str(e)) from None


def lora_transformer(base: str, cfg: dict):
    """The base model's transformer with the generator's LoRA; another layout is an error."""
    from condpdiff.image.base.pixart import LoraSpec, add_lora, load_components, lora_layout

    lora = cfg["lora"]
    transformer = load_components(base, text_encoder=False)["transformer"]
    transformer = add_lora(
        transformer,
        LoraSpec(rank=lora["rank"], alpha=lora["alpha"], targets=tuple(lora["target_modules"])),
    )
    want = [(n, tuple(s)) for n, s in lora["layout"]]
    have = lora_layout(transformer)
    if have != want:
        raise ValueError(
            f"{base}: the base model's LoRA layout ({len(have)} tensors, rank {lora['rank']}) "
            f"differs from the generator's ({len(want)} tensors): a generator for another backbone "
            "or rank; first difference "
            f"{next((h, w) for h, w in zip(have + [None], want + [None]) if h != w)}"
        )
    return transformer


def write_adapter(transformer, vector: torch.Tensor, layout, out: Path, cfg: dict) -> None:
    """Write `vector` as diffusers LoRA weights into the (temporary) folder `out`."""
    from diffusers.loaders.lora_pipeline import SanaLoraLoaderMixin
    from peft import LoraConfig

    from condpdiff.image.base.pixart import load_lora_state, lora_state_dict

    load_lora_state(transformer, unflatten(vector, layout))
    lora = cfg["lora"]
    meta = LoraConfig(
        r=lora["rank"], lora_alpha=lora["alpha"], target_modules=list(lora["target_modules"])
    ).to_dict()
    out.mkdir(parents=True, exist_ok=True)
    SanaLoraLoaderMixin.save_lora_weights(
        out,
        transformer_lora_layers=lora_state_dict(transformer),
        transformer_lora_adapter_metadata=meta,
    )


def read_adapter(folder: str | Path) -> tuple[dict[str, torch.Tensor], dict]:
    """(peft state dict, LoRA config dict) of an adapter folder `write_adapter` wrote."""
    import json

    from safetensors import safe_open

    path = Path(folder) / WEIGHTS
    with safe_open(str(path), "pt") as f:
        meta = json.loads(f.metadata().get("lora_adapter_metadata", "{}"))
        state = {k.removeprefix("transformer."): f.get_tensor(k) for k in f.keys()}
    return state, {k.removeprefix("transformer."): v for k, v in meta.items()}


def load_into(pipe, folder: str | Path):
    """Put the LoRA of an adapter folder into a PixArtAlphaPipeline's transformer; returns the
    pipeline."""
    from peft import LoraConfig, inject_adapter_in_model, set_peft_model_state_dict

    state, meta = read_adapter(folder)
    cfg = LoraConfig(
        r=meta["r"], lora_alpha=meta["lora_alpha"], target_modules=list(meta["target_modules"])
    )
    pipe.transformer = inject_adapter_in_model(cfg, pipe.transformer)
    result = set_peft_model_state_dict(pipe.transformer, state)
    if getattr(result, "unexpected_keys", None):
        raise ValueError(
            f"{folder}: LoRA weights that do not fit this pipeline: {result.unexpected_keys[:3]}"
        )
    return pipe
