"""Shell words for the rules that export generator folders (workflow/rules/generate.smk); no torch."""

from __future__ import annotations

import shlex

from condpdiff.pipeline import tables
from condpdiff.pipeline.paths import Paths


def is_image(config: dict, backbone: str) -> bool:
    return bool(config.get("image")) and backbone in config["image"]["bases"]


def encoder_words(config: dict, backbone: str) -> str:
    """The condition encoder's settings as quoted KEY=VALUE words (image.condition or conditions)."""
    section = (
        config["image"]["condition"]
        if is_image(config, backbone)
        else config.get("conditions") or {}
    )
    return " ".join(shlex.quote(f"{k}={v}") for k, v in section.items())


def copy_base(config: dict, backbone: str) -> str:
    """``true`` when the workflow built the base model (a tiny one): the folder then carries a copy."""
    spec = (
        config["image"]["bases"][backbone]
        if is_image(config, backbone)
        else config["backbones"][backbone]
    )
    return "true" if "tiny_random" in spec else "false"


def table_words(config: dict) -> str:
    """The configured tables' Markdown files: the model card quotes those that exist at export time."""
    paths = Paths(config["results_dir"])
    wanted = [t for t in config.get("targets", []) if t in tables.TABLES]
    return " ".join(shlex.quote(paths.table("md", table=t)) for t in wanted)
