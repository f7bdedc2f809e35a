"""Model folders: ``model.safetensors`` + ``config.json`` (+ ``curve.csv``), enough to rebuild a model.

``config.json`` names the model ``kind`` and holds its ``describe()`` (dataclass config plus any
extra state: latent scale, task list, ...). Loading is the caller's job, the nanoGPT way: the
module that defines a model reads the folder with `read_model` and rebuilds it from the saved
config (``autoencoder.load_autoencoder``, ``noise.load_diffusion``), so this module imports no
model and no model imports another's module.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from pathlib import Path

import torch

from condpdiff.util.atomic import save_safetensors, write_json, write_text

FORMAT = "condpdiff-model/1"
WEIGHTS, CONFIG, CURVE = "model.safetensors", "config.json", "curve.csv"


def save_model(folder: str | Path, model: torch.nn.Module, kind: str) -> None:
    """Write the weights and ``model.describe()`` (config + extra) into `folder`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    desc = model.describe()
    save_safetensors(folder / WEIGHTS, model.state_dict(), {"format": FORMAT, "kind": kind})
    write_json(folder / CONFIG, {"format": FORMAT, "kind": kind, **desc})


def read_model(folder: str | Path, kind: str) -> tuple[dict, dict[str, torch.Tensor]]:
    """(saved description, state dict) of a `kind` model folder written by `save_model`."""
    from safetensors.torch import load_file

    folder = Path(folder)
    cfg_path, w_path = folder / CONFIG, folder / WEIGHTS
    for p in (cfg_path, w_path):
        if not p.exists():
            raise FileNotFoundError(f"model file not found: {p}")
    meta = json.loads(cfg_path.read_text())
    if meta.get("format") != FORMAT:
        raise ValueError(f"{cfg_path}: 'format' is {meta.get('format')!r}, expected {FORMAT!r}")
    if meta.get("kind") != kind:
        raise ValueError(f"{cfg_path}: model 'kind' is {meta.get('kind')!r}, expected {kind!r}")
    return meta, load_file(str(w_path))


def load_state(model: torch.nn.Module, state: dict, folder: str | Path, device="cpu") -> torch.nn.Module:
    """Load `state` into a model rebuilt from its config; every key must fit. Returns it in eval mode."""
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise KeyError(
            f"{Path(folder) / WEIGHTS}: weights do not fit the config: missing {missing[:3]}, unexpected {unexpected[:3]}"
        )
    return model.to(device).eval()


def config_from_dict(cls, d: dict):
    """A dataclass from a JSON dict; lists become tuples where the field default is a tuple."""
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(d) - set(names)
    if unknown:
        raise KeyError(f"{cls.__name__}: unknown config keys {sorted(unknown)}")
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


def write_curve(path: str | Path, rows: list[dict]) -> None:
    """The training curve (one row per step: step, loss, lr) as CSV."""
    buf = io.StringIO()
    if rows:
        w = csv.DictWriter(buf, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    write_text(path, buf.getvalue())
