"""The condition file: one condition vector for one task (or style), with how it was made.

A condition file is a safetensors file with ``embedding`` float32 [D] and string metadata
(format, condition, encoder, text, projection, task). ``projection`` tells the generator how
to take the vector in: ``mlp`` (an MLP over it) or ``table`` (a trainable table over a one-hot).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from condpdiff.util.atomic import save_safetensors

FORMAT = "condpdiff-condition/1"


@dataclass
class Condition:
    name: str  # e.g. clip-twoshot
    embedding: torch.Tensor  # [D] float32
    task: str
    encoder: str
    text: str = ""
    projection: str = "mlp"  # how the diffusion model takes it in: mlp | table

    def save(self, path: str | Path) -> None:
        meta = {"format": FORMAT, "condition": self.name, "task": self.task, "encoder": self.encoder,
                "text": self.text, "projection": self.projection}
        save_safetensors(path, {"embedding": self.embedding.float().reshape(-1)}, meta)


def load_condition(path: str | Path) -> Condition:
    from safetensors import safe_open

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"condition file not found: {path}")
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
        if meta.get("format") != FORMAT:
            raise ValueError(f"{path}: metadata 'format' is {meta.get('format')!r}, expected {FORMAT!r}")
        if "embedding" not in f.keys():
            raise KeyError(f"{path}: no 'embedding' tensor")
        emb = f.get_tensor("embedding")
    return Condition(meta["condition"], emb, meta["task"], meta["encoder"], meta.get("text", ""),
                     meta.get("projection", "mlp"))
