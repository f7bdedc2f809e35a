"""Model folders: ``model.safetensors`` + ``config.json`` (+ ``curve.csv``), enough to rebuild a
model.

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
from pathlib import Path

import torch

from condpdiff.pipeline.artifacts import artifact_error, check_finite, load_json, open_safetensors
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
    folder = Path(folder)
    meta = load_json(folder / CONFIG, f"{kind} model config", FORMAT, keys=("kind",))
    if meta["kind"] != kind:
        raise artifact_error(
            folder / CONFIG, "a model of another kind", repr(kind), repr(meta["kind"])
        )
    with open_safetensors(folder / WEIGHTS, f"{kind} model weights", FORMAT) as (f, _):
        state = {k: f.get_tensor(k) for k in f.keys()}
    for name, t in state.items():
        if t.is_floating_point():
            check_finite(t, folder / WEIGHTS, name)
    return meta, state


def load_state(
    model: torch.nn.Module, state: dict, folder: str | Path, device="cpu"
) -> torch.nn.Module:
    """Load `state` into a model rebuilt from its config; every key and shape must fit. Returns it
    in eval mode."""
    path = Path(folder) / WEIGHTS
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as e:  # a shape mismatch
        raise artifact_error(
            path,
            "weights do not fit the model config.json describes",
            found=str(e).splitlines()[-1].strip().rstrip("."),
        ) from None
    if missing or unexpected:
        raise artifact_error(
            path,
            "weights do not fit the model config.json describes",
            f"the keys of {type(model).__name__}",
            f"missing {missing[:3]}, unexpected {unexpected[:3]}",
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
