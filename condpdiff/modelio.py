"""Saving and loading trained generator models: a folder with ``model.safetensors`` + ``config.json``.

``config.json`` names the model ``kind`` and holds its dataclass config plus any ``extra``
state (latent scale, task list, ...), so ``load_model(folder)`` rebuilds the model from the
two files alone, with no other input. The training curve goes beside them as ``curve.csv``.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from pathlib import Path

import torch

from condpdiff.atomic import save_safetensors, write_json, write_text

FORMAT = "condpdiff-model/1"
WEIGHTS, CONFIG, CURVE = "model.safetensors", "config.json", "curve.csv"


def _registry() -> dict:
    from condpdiff.autoencoder import ParamAutoencoder
    from condpdiff.diffusion import LatentDiffusion

    return {"autoencoder": ParamAutoencoder, "diffusion": LatentDiffusion}


def save_model(folder: str | Path, model: torch.nn.Module, kind: str) -> None:
    """Write the weights and ``model.describe()`` (config + extra) into `folder`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    desc = model.describe()
    save_safetensors(folder / WEIGHTS, model.state_dict(), {"format": FORMAT, "kind": kind})
    write_json(folder / CONFIG, {"format": FORMAT, "kind": kind, **desc})


def load_model(folder: str | Path, device: str | torch.device = "cpu") -> torch.nn.Module:
    """Rebuild a model saved by `save_model` from its folder alone (eval mode)."""
    from safetensors.torch import load_file

    folder = Path(folder)
    cfg_path, w_path = folder / CONFIG, folder / WEIGHTS
    for p in (cfg_path, w_path):
        if not p.exists():
            raise FileNotFoundError(f"model file not found: {p}")
    meta = json.loads(cfg_path.read_text())
    if meta.get("format") != FORMAT:
        raise ValueError(f"{cfg_path}: 'format' is {meta.get('format')!r}, expected {FORMAT!r}")
    registry = _registry()
    kind = meta.get("kind")
    if kind not in registry:
        raise ValueError(f"{cfg_path}: unknown model 'kind' {kind!r} (known {sorted(registry)})")
    model = registry[kind].from_description(meta)
    state = load_file(str(w_path))
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise KeyError(f"{w_path}: weights do not fit the config: missing {missing[:3]}, unexpected {unexpected[:3]}")
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
