"""The one file format for sets of LoRA parameter vectors (harvested checkpoints and candidates).

A *parameter file* is a single safetensors file holding N flattened LoRA weight vectors:

- ``params``        float32 [N, K]: row i is checkpoint/candidate i, flattened in ``layout`` order;
- ``steps``         int64 [N]: optimisation step of each row (candidates: 0..N-1);
- ``loss``          float32 [N]: training loss at that step (candidates: NaN);
- ``head/<name>``   float32 [N, *shape]: the task head (classifier) that goes with each row.

Metadata (all strings): ``format`` = ``condpdiff-params/1``, ``layout`` and ``head_layout``
(JSON lists of ``[name, shape]`` in flattening order; names are the keys of
``peft.get_peft_model_state_dict``), and free-form ``info`` (JSON: backbone, rank, task, kind,
...). ``info`` is the file's provenance: `ParamSet.load` checks it against what the reader
expects and what the file's path names (``pipeline.artifacts.check_provenance``).

The layout order is the model's own parameter order (layer 0 query A, query B, key A, ...):
it is fixed by the model architecture, so every file of one backbone x rank shares it and
``K = sum(prod(shape))``. Candidates and checkpoints use this same format, so every later
step treats them alike.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import torch

from condpdiff.pipeline.artifacts import (
    artifact_error,
    check_finite,
    check_provenance,
    open_safetensors,
    param_provenance,
)
from condpdiff.util.atomic import save_safetensors

FORMAT = "condpdiff-params/1"
Layout = list[tuple[str, tuple[int, ...]]]


def layout_of(state_dict: dict[str, torch.Tensor]) -> Layout:
    return [(name, tuple(t.shape)) for name, t in state_dict.items()]


def layout_size(layout: Layout) -> int:
    return sum(math.prod(shape) for _, shape in layout)


def flatten(state_dict: dict[str, torch.Tensor], layout: Layout) -> torch.Tensor:
    """Concatenate the tensors of `state_dict` in `layout` order into one float32 vector."""
    missing = [n for n, _ in layout if n not in state_dict]
    if missing:
        raise KeyError(f"state dict lacks {len(missing)} layout keys, e.g. {missing[:3]}")
    parts = []
    for name, shape in layout:
        t = state_dict[name]
        if tuple(t.shape) != tuple(shape):
            raise ValueError(f"{name}: shape {tuple(t.shape)} differs from layout {shape}")
        parts.append(t.detach().reshape(-1).to(torch.float32).cpu())
    return torch.cat(parts) if parts else torch.zeros(0)


def unflatten(vector: torch.Tensor, layout: Layout) -> dict[str, torch.Tensor]:
    """Inverse of `flatten`: split a [K] vector back into named tensors."""
    if vector.ndim != 1 or vector.numel() != layout_size(layout):
        raise ValueError(
            f"vector of shape {tuple(vector.shape)} does not fit layout of size "
            f"{layout_size(layout)}"
        )
    out, offset = {}, 0
    for name, shape in layout:
        n = math.prod(shape)
        out[name] = vector[offset : offset + n].reshape(shape).clone()
        offset += n
    return out


# BERT-family "encoder.layer.3.", GPT "h.3.", PixArt "transformer_blocks.3." (at the start or after
# a dot)
_LAYER_RE = re.compile(r"(?:^|\.)(?:layer|layers|h|blocks|transformer_blocks)\.(\d+)\.")


def layer_index(name: str) -> int | None:
    m = _LAYER_RE.search(name)
    return int(m.group(1)) if m else None


def layer_mask(layout: Layout, layers: str) -> torch.Tensor:
    """Boolean [K] mask of the coordinates in the selected transformer layers.

    `layers` is ``all`` or an inclusive range ``a-b`` (e.g. ``0-4``), as in the paper's Table 4c.
    """
    if layers == "all":
        return torch.ones(layout_size(layout), dtype=torch.bool)
    m = re.fullmatch(r"(\d+)-(\d+)", layers)
    if not m:
        raise ValueError(f"layers must be 'all' or 'a-b' (e.g. '0-4'), got {layers!r}")
    lo, hi = int(m.group(1)), int(m.group(2))
    parts = []
    for name, shape in layout:
        idx = layer_index(name)
        keep = idx is not None and lo <= idx <= hi
        parts.append(torch.full((math.prod(shape),), keep, dtype=torch.bool))
    return torch.cat(parts)


@dataclass
class ParamSet:
    """N parameter vectors with their heads, steps and losses (see module docstring)."""

    params: torch.Tensor  # [N, K] float32
    layout: Layout
    steps: torch.Tensor  # [N] int64
    loss: torch.Tensor  # [N] float32
    heads: dict[str, torch.Tensor] = field(default_factory=dict)  # name -> [N, *shape]
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        n, k = self.params.shape
        if k != layout_size(self.layout):
            raise ValueError(f"params have K={k} but layout sums to {layout_size(self.layout)}")
        for name, t in [("steps", self.steps), ("loss", self.loss), *self.heads.items()]:
            if t.shape[0] != n:
                raise ValueError(f"{name} has {t.shape[0]} rows, params have {n}")

    @property
    def n(self) -> int:
        return self.params.shape[0]

    @property
    def k(self) -> int:
        return self.params.shape[1]

    @property
    def head_layout(self) -> Layout:
        return [(name, tuple(t.shape[1:])) for name, t in self.heads.items()]

    def lora_state_dict(self, i: int) -> dict[str, torch.Tensor]:
        return unflatten(self.params[i], self.layout)

    def head_state_dict(self, i: int) -> dict[str, torch.Tensor]:
        return {name: t[i].clone() for name, t in self.heads.items()}

    def select(self, rows) -> ParamSet:
        """A new ParamSet with only `rows` (a slice, index list or bool mask)."""
        return ParamSet(
            params=self.params[rows],
            layout=self.layout,
            steps=self.steps[rows],
            loss=self.loss[rows],
            heads={k: v[rows] for k, v in self.heads.items()},
            info=dict(self.info),
        )

    def last(self, n: int) -> ParamSet:
        """The last `n` rows (the N-ablation slices one harvest this way)."""
        if n > self.n:
            raise ValueError(f"asked for the last {n} checkpoints but the file holds {self.n}")
        return self.select(slice(self.n - n, self.n))

    def every(self, k: int) -> ParamSet:
        """Every `k`-th row counted back from the last one, which is always kept (k=1: all rows)."""
        if k < 1:
            raise ValueError(f"every: k must be >= 1, got {k}")
        return self.select(list(range((self.n - 1) % k, self.n, k)))

    def save(self, path: str | Path) -> None:
        tensors = {
            "params": self.params.float(),
            "steps": self.steps.long(),
            "loss": self.loss.float(),
        }
        tensors.update({f"head/{k}": v.float() for k, v in self.heads.items()})
        metadata = {
            "format": FORMAT,
            "layout": json.dumps([[n, list(s)] for n, s in self.layout]),
            "head_layout": json.dumps([[n, list(s)] for n, s in self.head_layout]),
            "info": json.dumps(self.info, sort_keys=True),
        }
        save_safetensors(path, tensors, metadata)

    def describe(self) -> str:
        """backbone / rank / task of the rows, as the file's ``info`` records them."""
        keys = ("backbone", "rank", "task", "kind")
        return ", ".join(f"{k} {self.info[k]}" for k in keys if k in self.info) or "no info"

    @classmethod
    def load(cls, path: str | Path, expect: dict | None = None, reader: str = "") -> ParamSet:
        """Read a parameter file; a missing, truncated, inconsistent or non-finite one is an
        error naming it.

        `expect` (e.g. ``{"kind": HARVEST_KINDS, "task": "sst2", "rank": 1}``) and the file's path
        in the results layout must agree with its info, else a ``ProvenanceError``
        names the file, the field, both values and how to rebuild it; `reader` names the step.
        """
        with open_safetensors(
            path, "parameter file", FORMAT, tensors=("params", "steps", "loss"), record=False
        ) as (f, meta):  # its record is `info`, checked below
            try:
                layout = [(n, tuple(s)) for n, s in json.loads(meta["layout"])]
                head_names = [n for n, _ in json.loads(meta["head_layout"])]
                info = json.loads(meta.get("info", "{}"))
            except (KeyError, ValueError, TypeError) as e:
                raise artifact_error(
                    path, "parameter file with unreadable layout metadata", found=repr(e)
                ) from None
            missing = [n for n in head_names if f"head/{n}" not in f.keys()]
            if missing:
                raise artifact_error(
                    path, "incomplete parameter file", f"head tensors {head_names}", f"no {missing}"
                )
            params = f.get_tensor("params")
            tensors = dict(
                steps=f.get_tensor("steps"),
                loss=f.get_tensor("loss"),
                heads={n: f.get_tensor(f"head/{n}") for n in head_names},
            )
        check_provenance(path, "parameter file", param_provenance(info), expect, reader)
        where = ", ".join(
            f"{k} {info[k]}" for k in ("backbone", "rank", "task", "kind") if k in info
        )
        if params.ndim != 2 or params.shape[1] != layout_size(layout):
            raise artifact_error(
                path,
                f"parameter rows do not match the file's LoRA layout ({where or 'no info'})",
                f"[N, K] with K = {layout_size(layout)} (the layout's {len(layout)} tensors)",
                f"params of shape {list(params.shape)}",
            )
        try:
            pset = cls(params=params, layout=layout, info=info, **tensors)
        except ValueError as e:
            raise artifact_error(
                path, f"inconsistent parameter file ({where or 'no info'})", found=str(e)
            ) from None
        check_finite(pset.params, path, "params")
        for name, t in pset.heads.items():
            check_finite(t, path, f"head/{name}")
        return pset


def require_same_layout(a: ParamSet, a_path, b: ParamSet, b_path) -> None:
    """Two parameter files that must describe the same LoRA (backbone x rank): an error naming both
    if not."""
    if a.layout != b.layout:
        raise artifact_error(
            a_path,
            f"LoRA layout differs from {b_path} ({b.describe()})",
            f"K = {b.k} in {len(b.layout)} tensors like {b.layout[0][0] if b.layout else '-'}",
            f"K = {a.k} in {len(a.layout)} tensors like {a.layout[0][0] if a.layout else '-'} "
            f"({a.describe()})",
        )
