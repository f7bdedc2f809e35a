"""Shell words for the rules of workflow/rules/generate.smk (exported generator folders, adapters
generated for config `generate_for`); no torch."""

from __future__ import annotations

import shlex
from pathlib import Path

from condpdiff.pipeline import tables
from condpdiff.pipeline.paths import Paths


def is_image(config: dict, backbone: str) -> bool:
    return bool(config.get("image")) and backbone in config["image"]["bases"]


def encoder_words(config: dict, backbone: str) -> str:
    """The condition encoder's settings as quoted KEY=VALUE words (image.condition or
    conditions)."""
    section = (
        config["image"]["condition"]
        if is_image(config, backbone)
        else config.get("conditions") or {}
    )
    return " ".join(shlex.quote(f"{k}={v}") for k, v in section.items())


def copy_base(config: dict, backbone: str) -> str:
    """``true`` when the workflow built the base model (a tiny one): the folder then carries a
    copy."""
    spec = (
        config["image"]["bases"][backbone]
        if is_image(config, backbone)
        else config["backbones"][backbone]
    )
    return "true" if "tiny_random" in spec else "false"


def table_words(config: dict) -> str:
    """The configured tables' Markdown files: the model card quotes those that exist at export
    time."""
    paths = Paths(config["results_dir"])
    wanted = [t for t in config.get("targets", []) if t in tables.TABLES]
    return " ".join(shlex.quote(paths.table("md", table=t)) for t in wanted)


def generate_entry(config: dict, backbone: str, entry: str) -> tuple[str, dict]:
    """(branch, spec) of config `generate_for` entry `entry` as generated on `backbone`: a style
    (branch images) on an image base, a text task (branch text) on a text backbone."""
    branch = "images" if is_image(config, backbone) else "text"
    spec = config["generate_for"][branch].get(entry)
    if spec is None:
        raise ValueError(
            f"{entry!r} is not a generate_for.{branch} entry (backbone {backbone!r} is "
            f"{'an image base' if branch == 'images' else 'a text backbone'}): "
            f"expected one of {sorted(config['generate_for'][branch])}"
        )
    return branch, spec


def generate_words(config: dict, backbone: str, entry: str) -> str:
    """``condpdiff generate``'s condition and options for config `generate_for` entry `entry` on
    `backbone`, as quoted words (images: ``--images``; text: ``--examples`` and the entry's own)."""
    gf = config["generate_for"]
    branch, spec = generate_entry(config, backbone, entry)
    if branch == "images":
        words = ["--images", spec["folder"], "--num-candidates", "1"]
    else:
        words = ["--examples", spec["examples"], "--name", entry]
        words += ["--num-candidates", gf["num_candidates"], "--head-steps", gf["head_steps"]]
        for key in ("description", "num_labels"):
            if key in spec:
                words += [f"--{key.replace('_', '-')}", spec[key]]
    for key in ("seed", "precision", "device", "threads"):
        words += [f"--{key}", gf[key]]
    return " ".join(shlex.quote(str(w)) for w in words)


def generate_inputs(config: dict, backbone: str, entry: str) -> list[str]:
    """The files a `generate_for` entry's job reads: its examples TSV or its style folder's
    files."""
    branch, spec = generate_entry(config, backbone, entry)
    if branch == "images":
        folder = Path(spec["folder"])
        return sorted(str(f) for f in folder.iterdir() if f.is_file() and f.name[0] != ".")
    return [spec["examples"]]
