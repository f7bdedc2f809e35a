"""Command-line arguments of the generalisation set's entry points (rules in
workflow/rules/image_generalisation.smk), from a validated config (no torch)."""

from __future__ import annotations

from condpdiff.pipeline.settings import flags

# the generator files train_generalisation_generator writes and sample_generalisation_candidates
# reads
GENERATOR_FILES = (
    "stats.safetensors",
    "autoencoder/model.safetensors",
    "autoencoder/config.json",
    "diffusion/model.safetensors",
    "diffusion/config.json",
)


def generator_flags(config: dict, block: str, prefix: str) -> str:
    """The top-level `block` (``autoencoder``, ``diffusion``) with
    ``image.generalisation.<block>``'s overrides, as ``--<prefix>-<key>`` flags. ``cond_mode`` is
    left out: this generator always takes image feature maps (conv)."""
    merged = {**(config.get(block) or {}), **(config["image"]["generalisation"].get(block) or {})}
    merged.pop("cond_mode", None)
    return flags({f"{prefix}_{k}": v for k, v in merged.items()})


def sampling_flags(config: dict, candidates) -> str:
    """The top-level ``sampling`` block, with the generalisation's number of candidates per test
    l."""
    s = {k: v for k, v in (config.get("sampling") or {}).items() if k != "num_candidates"}
    return f"{flags(s)} --num-candidates {candidates}".strip()


def encoder_flags(config: dict) -> str:
    """``image.condition`` (the frozen ResNet-18) as ``--encoder-<key>`` flags."""
    return flags({f"encoder_{k}": v for k, v in config["image"]["condition"].items()})
