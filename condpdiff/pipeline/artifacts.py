"""Reading cached artifacts with errors a person can act on, and stopping on non-finite training.

Every reader of a cached file goes through here, so a missing, truncated, non-finite or
mismatched file gives ONE error that names the file, what was expected, what was found, and
how to rebuild it (Snakemake rebuilds a deleted output; ``--forcerun <rule>`` rebuilds one
that exists). A diverged training run raises `NonFiniteError` before it writes anything.
torch is imported only inside the functions that need it (this is the workflow layer).
"""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path
from typing import Iterator

from condpdiff.util.atomic import METADATA_KEY

# Which rule writes a file, by the file's name (see condpdiff/pipeline/paths.py).
_RULES = [
    (r"/finetune/.*/harvest\.safetensors$|/finetune/.*/summary\.json$", "finetune_lora"),
    (r"/stats\.safetensors$", "compute_norm_stats"),
    (r"/conditions/.*\.safetensors$", "encode_condition"),
    (r"/autoencoder/(recon/.*|model\.safetensors|config\.json|report\.json|curve\.csv)$", "train_autoencoder"),
    (r"/diffusion/(model\.safetensors|config\.json|curve\.csv)$", "train_diffusion"),
    (r"/candidates/.*\.safetensors$", "sample_candidates"),
    (r"/harvest_scores\.json$", "score_harvest"),
    (r"/soup_scores\.json$", "score_soup"),
    (r"/candidate_scores\.json$", "score_candidates"),
    (r"/selection_scores\.json$", "score_selection"),
    (r"/cross_scores\.json$", "score_cross_task"),
    (r"/recon_scores\.json$", "score_recon"),
    (r"/(original|soup|generated|cross|recon)\.json$", "make_{0}_cell"),
    (r"/tasks/.*\.json$", "write_task"),
]

# The score cache: one JSON per scored parameter file, written by a domain's scoring step
# (text.score) and read by evaluate.cells.
SCORES_FORMAT = "condpdiff-scores/1"
CELL_FORMAT = "condpdiff-cell/1"


class ArtifactError(ValueError):
    """A cached file that cannot be used as it is."""


class NonFiniteError(RuntimeError):
    """Training produced a non-finite loss or parameter: nothing is written."""


def rebuild_hint(path: str | Path) -> str:
    """How to rebuild `path`: delete it and rerun, or force its rule."""
    text = "/" + str(path).replace("\\", "/").lstrip("/")
    for pattern, rule in _RULES:
        m = re.search(pattern, text)
        if m:
            rule = rule.format(*(m.groups() or ("",)))
            return f"delete it and rerun snakemake, or `snakemake --forcerun {rule} <target> --configfile ...`"
    return "delete it and rerun the step that wrote it (snakemake rebuilds a missing output)"


def artifact_error(path, problem: str, expected: str = "", found: str = "") -> ArtifactError:
    parts = [f"{path}: {problem}"]
    if expected:
        parts.append(f"expected {expected}")
    if found:
        parts.append(f"found {found}")
    return ArtifactError("; ".join(parts) + f". To rebuild: {rebuild_hint(path)}")


def require_file(path: str | Path, what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: {what} not found. To rebuild: {rebuild_hint(path)}")
    return path


@contextlib.contextmanager
def open_safetensors(path: str | Path, what: str, fmt: str | None = None, tensors=()) -> Iterator[tuple]:
    """``safe_open`` of a cached safetensors file, yielding ``(handle, metadata)``.

    A missing, truncated or foreign file (metadata ``format`` not `fmt`), or one that lacks a
    tensor named in `tensors`, is an `ArtifactError` naming the file and how to rebuild it.
    """
    from safetensors import SafetensorError, safe_open

    path = require_file(path, what)
    try:
        handle = safe_open(str(path), framework="pt")
    except (SafetensorError, OSError, ValueError) as e:
        raise artifact_error(path, f"unreadable {what} (truncated or not a safetensors file)", found=str(e)) from None
    with handle as f:
        raw = f.metadata() or {}
        try:
            meta = json.loads(raw[METADATA_KEY]) if METADATA_KEY in raw else dict(raw)
        except json.JSONDecodeError as e:
            raise artifact_error(path, f"unreadable metadata of a {what}", found=str(e)) from None
        if fmt is not None and meta.get("format") != fmt:
            raise artifact_error(path, f"not a {what}", f"metadata format {fmt!r}", repr(meta.get("format")))
        missing = [t for t in tensors if t not in f.keys()]
        if missing:
            raise artifact_error(path, f"incomplete {what}", f"tensors {list(tensors)}", f"no {missing}")
        try:
            yield f, meta
        except SafetensorError as e:
            raise artifact_error(path, f"unreadable {what} (truncated?)", found=str(e)) from None


def load_json(path: str | Path, what: str, fmt: str | None = None, keys=()) -> dict:
    """A cached JSON file; missing, truncated, foreign or lacking `keys` is an error naming the file."""
    path = require_file(path, what)
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise artifact_error(path, f"unreadable {what} (truncated or not JSON)", found=str(e)) from None
    if not isinstance(data, dict):
        raise artifact_error(path, f"not a {what}", "a JSON object", type(data).__name__)
    if fmt is not None and data.get("format") != fmt:
        raise artifact_error(path, f"not a {what}", f"format {fmt!r}", repr(data.get("format")))
    missing = [k for k in keys if k not in data]
    if missing:
        raise artifact_error(path, f"incomplete {what}", f"keys {list(keys)}", f"no {missing}")
    return data


def check_finite(tensor, path, what: str) -> None:
    """A non-finite value in a cached tensor is an `ArtifactError` naming where the first one sits."""
    import torch

    bad = ~torch.isfinite(tensor)
    if bool(bad.any()):
        first = tuple(int(i) for i in bad.nonzero()[0])
        raise artifact_error(path, f"{what} holds {int(bad.sum())} non-finite values", "finite values",
                             f"{tensor[first].item()} at index {first}")


def stop_if_nonfinite(losses, first_step: int, where: str, hint: str) -> None:
    """Raise `NonFiniteError` at the first non-finite loss of `losses` (step numbers from `first_step`)."""
    import torch

    bad = ~torch.isfinite(losses.detach().float())
    if bool(bad.any()):
        i = int(bad.nonzero()[0])
        raise NonFiniteError(
            f"{where}: loss is {losses[i].item()} at step {first_step + i}: training diverged; nothing was written."
            f" Likely cause: {hint}"
        )


def stop_if_nonfinite_params(params, where: str, step: int, hint: str) -> None:
    """Raise `NonFiniteError` if any trainable parameter is non-finite."""
    import torch

    for name, p in params:
        if not bool(torch.isfinite(p.detach()).all()):
            raise NonFiniteError(
                f"{where}: parameter {name} is non-finite after step {step}: training diverged; nothing was written."
                f" Likely cause: {hint}"
            )
