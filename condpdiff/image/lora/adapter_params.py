"""A diffusers LoRA file (the image adapter ``condpdiff generate`` writes, or any
``pytorch_lora_weights.safetensors`` for the same base and targets) as a one-row parameter file,
so the pipeline's own steps score it like any row: ``image.generation.generate_images --params``
makes its images' FID features with Table 2's prompts and noise, ``image.fid.score_fid`` its FID
against a style's held-out reference images.

The row's order is the base's LoRA layout (``pixart.lora_layout``: blocks in order, A before B),
rebuilt from ``--base`` with the rank, alpha and target modules the file's metadata records; a
file whose tensors do not fill that layout exactly (another base, rank or target set) is an error
naming the file and the first differing tensor.

    python -m condpdiff.image.lora.adapter_params --adapter OUT/ --base BASE --out row.safetensors
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from condpdiff.image.base import pixart
from condpdiff.params.paramfile import ParamSet, flatten
from condpdiff.util import cli
from condpdiff.util.atomic import atomic_path

WEIGHTS = "pytorch_lora_weights.safetensors"
PREFIX = "transformer."


class AdapterError(ValueError):
    """An adapter file that cannot be read as LoRA rows of this base."""


def read_lora_file(path: str | Path) -> tuple[dict[str, torch.Tensor], dict]:
    """(peft state dict without the ``transformer.`` prefix, the LoRA config of the metadata)."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if path.is_dir():
        path = path / WEIGHTS
    if not path.is_file():
        raise AdapterError(f"{path}: no LoRA weights file (expected diffusers' {WEIGHTS})")
    try:
        with safe_open(str(path), "pt") as f:
            meta = json.loads((f.metadata() or {}).get("lora_adapter_metadata", "{}"))
            state = {k.removeprefix(PREFIX): f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, json.JSONDecodeError) as e:
        raise AdapterError(f"{path}: unreadable LoRA weights file ({e})") from None
    meta = {k.removeprefix(PREFIX): v for k, v in meta.items()}
    missing = [k for k in ("r", "lora_alpha", "target_modules") if k not in meta]
    if missing:
        raise AdapterError(
            f"{path}: LoRA metadata without {missing} (expected diffusers' 'lora_adapter_metadata'"
            " with the LoRA config, as condpdiff generate writes it)"
        )
    return state, meta


def adapter_row(path: str | Path, base: str) -> tuple[ParamSet, pixart.LoraSpec]:
    """The adapter file at `path` as one parameter row in `base`'s LoRA layout, and its LoraSpec."""
    state, meta = read_lora_file(path)
    spec = pixart.LoraSpec(
        rank=int(meta["r"]), alpha=int(meta["lora_alpha"]), targets=tuple(meta["target_modules"])
    )
    transformer = pixart.load_components(base, text_encoder=False)["transformer"]
    layout = pixart.lora_layout(pixart.add_lora(transformer, spec))
    have = {k: tuple(v.shape) for k, v in state.items()}
    want = dict(layout)
    if have != want:
        diff = sorted(set(have.items()) ^ set(want.items()))[:2]
        raise AdapterError(
            f"{path}: LoRA tensors that do not fit base {base} at rank {spec.rank} "
            f"({len(have)} tensors in the file, {len(want)} in the base's layout); first "
            f"difference {diff}"
        )
    vector = flatten({k: v.float() for k, v in state.items()}, layout)
    row = ParamSet(
        params=vector[None],
        layout=layout,
        steps=torch.zeros(1, dtype=torch.long),
        loss=torch.zeros(1),
        info={
            "kind": "adapter",
            "rank": spec.rank,
            "alpha": spec.alpha,
            "adapter_file": str(path),
            "base": str(base),
        },
    )
    return row, spec


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--adapter", required=True, help=f"adapter folder or its {WEIGHTS}")
    p.add_argument("--base", required=True, help="PixArt-alpha pipeline folder or hub id")
    p.add_argument("--out", required=True, help="one-row parameter file (.safetensors)")
    a = p.parse_args(argv)
    cli.setup_logging()
    try:
        row, spec = adapter_row(a.adapter, a.base)
    except AdapterError as e:
        raise SystemExit(f"error: {e}") from None
    with atomic_path(a.out) as tmp:
        row.save(tmp)
    print(f"{a.out}: 1 row, K = {row.k}, rank {spec.rank}, alpha {spec.alpha}")


if __name__ == "__main__":
    main()
