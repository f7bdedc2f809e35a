"""The condition file: one task's (or style's) condition, with how it was made.

A condition file is a safetensors file with ``embedding`` and string metadata
(format, condition, encoder, text, projection, task; ``control: null`` for the audit's null
condition, zeros of the task's condition's shape: condpdiff.conditions.null_condition).
``projection`` tells the generator how to take the embedding in, and fixes its shape:

- ``mlp``: a vector [D], through an MLP;
- ``table``: a one-hot vector [D], through a trainable embedding table;
- ``conv``: image feature maps [n_images, C, h, w], one per train image of a style, through a
  small trainable conv projector (the diffusion model sees one of the maps per row);
- ``set``: per-example embeddings [n_items, D] (a data condition: the direct generator pools k
  of them per draw, ``generator.direct.conditioning``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from condpdiff.pipeline.artifacts import artifact_error, check_finite, open_safetensors
from condpdiff.util.atomic import save_safetensors

FORMAT = "condpdiff-condition/1"
VECTOR_PROJECTIONS = ("mlp", "table")  # embedding [D]
MAP_PROJECTIONS = ("conv",)  # embedding [n_images, C, h, w]
SET_PROJECTIONS = ("set",)  # embedding [n_items, D]
PROJECTIONS = VECTOR_PROJECTIONS + MAP_PROJECTIONS + SET_PROJECTIONS


def shape_problem(projection: str, shape: tuple[int, ...]) -> tuple[str, str] | None:
    """(what was expected, what was found) if an embedding of `shape` does not fit `projection`,
    else None."""
    if projection not in PROJECTIONS:
        return f"a projection in {PROJECTIONS}", repr(projection)
    if projection in MAP_PROJECTIONS:
        if len(shape) != 4 or 0 in shape:
            return (
                f"feature maps [n_images, C, h, w] for projection {projection!r}",
                f"shape {list(shape)}",
            )
    elif projection in SET_PROJECTIONS:
        if len(shape) != 2 or 0 in shape:
            return (
                f"item embeddings [n_items, D] for projection {projection!r}",
                f"shape {list(shape)}",
            )
    elif len(shape) != 1 or 0 in shape:
        return f"a vector [D] for projection {projection!r}", f"shape {list(shape)}"
    return None


@dataclass
class Condition:
    name: str  # e.g. clip-twoshot
    embedding: (
        torch.Tensor
    )  # [D] float32 (mlp, table), [n_images, C, h, w] (conv) or [n_items, D] (set)
    task: str
    encoder: str
    text: str = ""
    projection: str = "mlp"  # how the generator takes it in: mlp | table | conv | set
    # "" or "null": the audit's null condition (condpdiff.conditions.null_condition)
    control: str = ""

    def save(self, path: str | Path) -> None:
        meta = {
            "format": FORMAT,
            "condition": self.name,
            "task": self.task,
            "encoder": self.encoder,
            "text": self.text,
            "projection": self.projection,
        }
        if self.control:
            meta["control"] = self.control
        if self.projection in MAP_PROJECTIONS + SET_PROJECTIONS:
            emb = self.embedding.float().contiguous()
        else:
            emb = self.embedding.float().reshape(-1)
        problem = shape_problem(self.projection, tuple(emb.shape))
        if problem:
            raise ValueError(
                f"{path}: condition {self.name!r} of {self.task!r} cannot be saved: "
                f"expected {problem[0]}, found {problem[1]}"
            )
        save_safetensors(path, {"embedding": emb}, meta)


def load_condition(path: str | Path, expect: dict | None = None) -> Condition:
    """Read a condition file; a missing, truncated, non-finite or malformed one is an error naming
    it, and so is one whose ``task`` or ``condition`` differ from `expect` or from its path."""
    with open_safetensors(
        path, "condition file", FORMAT, tensors=("embedding",), expect=expect
    ) as (f, meta):
        emb = f.get_tensor("embedding")
    missing = [k for k in ("condition", "task", "encoder") if k not in meta]
    if missing:
        raise artifact_error(
            path,
            "condition file with incomplete metadata",
            "condition, task, encoder",
            f"no {missing}",
        )
    projection = meta.get("projection", "mlp")
    problem = shape_problem(projection, tuple(emb.shape))
    if problem:
        what = (
            "condition file with an unknown projection"
            if projection not in PROJECTIONS
            else "condition embedding of the wrong shape"
        )
        raise artifact_error(path, what, *problem)
    check_finite(emb, path, "embedding")
    return Condition(
        meta["condition"],
        emb,
        meta["task"],
        meta["encoder"],
        meta.get("text", ""),
        projection,
        meta.get("control", ""),
    )
