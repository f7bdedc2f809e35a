"""The condition file: one condition vector for one task (or style), with how it was made.

A condition file is a safetensors file with ``embedding`` float32 [D] and string metadata
(format, condition, encoder, text, projection, task). ``projection`` tells the generator how
to take the vector in: ``mlp`` (an MLP over it) or ``table`` (a trainable table over a one-hot).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from condpdiff.pipeline.artifacts import artifact_error, check_finite, open_safetensors
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
    """Read a condition file; a missing, truncated, non-finite or malformed one is an error naming it."""
    with open_safetensors(path, "condition file", FORMAT, tensors=("embedding",)) as (f, meta):
        emb = f.get_tensor("embedding")
    missing = [k for k in ("condition", "task", "encoder") if k not in meta]
    if missing:
        raise artifact_error(path, "condition file with incomplete metadata", "condition, task, encoder", f"no {missing}")
    if emb.ndim != 1 or emb.numel() == 0:
        raise artifact_error(path, "condition embedding of the wrong shape", "a vector [D]", f"shape {list(emb.shape)}")
    check_finite(emb, path, "embedding")
    return Condition(meta["condition"], emb, meta["task"], meta["encoder"], meta.get("text", ""),
                     meta.get("projection", "mlp"))
