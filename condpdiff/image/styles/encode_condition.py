"""Encode one style's image condition: its TRAIN images through the frozen ResNet-18 feature
network.

Reads the style split file (``condpdiff.image.styles.splitfile``) and opens only the ``train``
images: the ``reference`` images are held out for FID and must not leak into the generator.
Writes a condition file (``condpdiff.conditions.condition``) with ``projection = "conv"`` and
``embedding`` [n_images, C, h, w], one feature map per train image in split order; the
diffusion model's trainable conv projector takes one map at a time.

    python -m condpdiff.image.styles.encode_condition --split SPLIT.json --out COND.safetensors \\
        --condition resnet18-image [--weights IMAGENET1K_V1|FILE|random] [--layer layer2] \\
        [--image-size 64] [--seed 0] [--device cpu]
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import torch

from condpdiff.conditions.condition import Condition
from condpdiff.conditions.image_encoder import ImageEncoderConfig, ResNetFeatures
from condpdiff.image.styles.splitfile import StyleSplitFile, load_split
from condpdiff.util import cli

log = logging.getLogger("condpdiff.image.styles.encode_condition")

TEXT_NAMES = 8  # file names listed in the condition's text before it says "..."


def read_image(path: Path) -> torch.Tensor:
    """An image file as float [3, H, W] in 0..1 (RGB); an unreadable one is an error naming it."""
    import numpy as np
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            rgb = np.asarray(im.convert("RGB"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise ValueError(
            f"{path}: not a readable train image; expected an image file; "
            f"found {type(e).__name__}: {e}"
        ) from None
    return torch.from_numpy(rgb.copy()).permute(2, 0, 1).float() / 255.0


def describe_images(paths: list[Path]) -> str:
    """The condition's short text: how many images and (the first few of) their file names."""
    names = [p.name for p in paths]
    shown = ", ".join(names[:TEXT_NAMES]) + (
        f", ... (+{len(names) - TEXT_NAMES})" if len(names) > TEXT_NAMES else ""
    )
    return f"{len(names)} train images: {shown}"


def encode(split: StyleSplitFile, condition: str, cfg: ImageEncoderConfig) -> Condition:
    """The style's conv condition from its train images only."""
    paths = split.paths("train")
    encoder = ResNetFeatures(cfg)
    maps = torch.cat(
        [encoder([read_image(p)]) for p in paths]
    )  # one at a time: images may differ in size
    return Condition(condition, maps, split.style, encoder.name, describe_images(paths), "conv")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--split",
        required=True,
        help="style split file (condpdiff.image.styles.splitfile); only 'train' is read",
    )
    p.add_argument("--out", required=True, help="condition file (.safetensors)")
    p.add_argument("--condition", required=True, help="the condition's name, e.g. resnet18-image")
    cli.add_dataclass_args(p, ImageEncoderConfig)
    a = p.parse_args(argv)
    cli.setup_logging()
    cfg = cli.dataclass_from_args(ImageEncoderConfig, a)
    cond = encode(load_split(a.split), a.condition, cfg)
    cond.save(a.out)
    log.info(
        "%s %s: feature maps %s from %s",
        cond.task,
        cond.name,
        tuple(cond.embedding.shape),
        cond.encoder,
    )


if __name__ == "__main__":
    main()
