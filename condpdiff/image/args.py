"""The command-line flags the image entry points share (the rules' ``image_args`` and
``imgset.fid_args`` fill them in): the base with its prompt cache, the style split whose prompts
are generated from, the LoRA shape, and the FID feature extractor."""

from __future__ import annotations

import argparse

SPLIT_HELP = "style split file (.json): its generation prompts"


def add_base_style_args(
    p: argparse.ArgumentParser, split_help: str = SPLIT_HELP, lora_required: bool = True
) -> None:
    """``--base``, ``--prompts``, ``--split``, ``--rank``, ``--alpha``.

    ``lora_required=False`` for a step that can also run the base alone: ``--rank`` and
    ``--alpha`` then default to None and the step checks them itself.
    """
    p.add_argument("--base", required=True, help="PixArt-alpha pipeline folder or hub id")
    p.add_argument(
        "--prompts",
        required=True,
        help="prompt cache of the base (.safetensors, image.base.encode_prompts)",
    )
    p.add_argument("--split", required=True, help=split_help)
    when = "" if lora_required else " (with LoRA rows)"
    p.add_argument(
        "--rank", type=int, required=lora_required, default=None, help=f"LoRA rank{when}"
    )
    p.add_argument(
        "--alpha", type=int, required=lora_required, default=None, help=f"LoRA alpha{when}"
    )


def add_extractor_args(
    p: argparse.ArgumentParser, default: str | None = None, feature_layer: bool = False
) -> None:
    """``--extractor`` (required unless a `default` is given), ``--weights-path`` and, with
    `feature_layer`, ``--feature-layer``."""
    p.add_argument(
        "--extractor",
        required=default is None,
        default=default,
        help="torch-fidelity feature extractor",
    )
    p.add_argument("--weights-path", default=None, help="the extractor's offline weights")
    if feature_layer:
        p.add_argument(
            "--feature-layer", default=None, help="default: the extractor's layer for FID"
        )
