"""Reading cached artifacts with errors a person can act on, and stopping on non-finite training.

Every reader of a cached file goes through here, so a missing, truncated, non-finite or
mismatched file gives ONE error that names the file, what was expected, what was found, and
the command that rebuilds it (``rebuild_hint``: ``snakemake <file> --force``, which reruns the
rule that writes it even where the outputs made from it exist). A file that records where it
came from (kind, task, backbone, rank, ...) is checked against what its reader expects and
against what its path in the results layout names (``check_provenance``). A diverged training
run raises `NonFiniteError` before it writes anything. torch is imported only inside the
functions that need it (this is the workflow layer).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path

# The advice an error gives (which command rebuilds a file) lives in pipeline.recovery, which no
# code hash covers: rewording it marks no result stale. Its names stay importable from here.
from condpdiff.pipeline.recovery import CONFIG_ENV as CONFIG_ENV
from condpdiff.pipeline.recovery import rebuild_command as rebuild_command
from condpdiff.pipeline.recovery import rebuild_hint, slashed
from condpdiff.pipeline.recovery import writing_rule as writing_rule
from condpdiff.util.atomic import METADATA_KEY

# The `kind` a parameter file records (its info), by the step that wrote it.
HARVEST_KINDS = ("checkpoints", "harvest")  # text fine-tuning, image style fine-tuning
CANDIDATES = "candidates"
RECONSTRUCTIONS = "reconstructions"

# What a file at a results path must record about itself, read from the path (the layout of
# condpdiff/pipeline/paths.py; tests/params/test_provenance.py checks these against it). The
# named groups are metadata fields; a parameter file records them in its info. The seeds
# (paths.seed_part: no part = seed 0) are the fields finetune_seed and generator_seed.
_FTSEED = r"(?:-ftseed(?P<finetune_seed>[1-9]\d*))?"
_GENSEED = r"(?:-genseed(?P<generator_seed>[1-9]\d*))?"
_SEED_FIELDS = ("finetune_seed", "generator_seed")
_GEN = (
    rf"/generator/(?P<backbone>[^/]+)/r(?P<rank>\d+){_FTSEED}/n(?P<n>\d+)"
    rf"/layers-(?P<layers>[^/]+)/norm-(?P<mode>[^/-]+)(?:-without-[A-Za-z0-9_]+)?{_GENSEED}"
)
_LAYOUT = [
    (
        rf"/finetune/(?P<backbone>[^/]+)/r(?P<rank>\d+){_FTSEED}/(?P<task>[^/]+)"
        r"/harvest\.safetensors$",
        HARVEST_KINDS,
    ),
    (_GEN + r"/stats\.safetensors$", None),
    (_GEN + r"/pdiff/autoencoder/recon/(?P<task>[^/]+)\.safetensors$", (RECONSTRUCTIONS,)),
    (
        _GEN + r"/[^/]+/cond-(?P<condition>[^/]+)/[^/]+?(?:-(?P<control>noise|null|shuffled))?"
        r"/candidates/(?P<task>[^/]+)\.safetensors$",
        (CANDIDATES,),
    ),
    (
        r"/conditions/(?P<condition>[^/]+)/(?:(?P<control>null)/)?(?P<task>[^/]+)\.safetensors$",
        None,
    ),
]
# A field whose absence means a value: a file that records no ``control`` (the audit arm that made
# it: condpdiff.audit) is a generator's own candidates / a task's own condition, control "". So a
# path of an arm (``ddim50-noise/candidates/``, ``conditions/{condition}/null/``) refuses a file
# that is not that arm's, and a plain path refuses an arm's file.
RECORDED_DEFAULTS = {"control": ""}

# The score cache: one JSON per scored parameter file, written by a domain's scoring step
# (text.score) and read by evaluate.cells.
SCORES_FORMAT = "condpdiff-scores/1"
CELL_FORMAT = "condpdiff-cell/1"


class ArtifactError(ValueError):
    """A cached file that cannot be used as it is."""


class ProvenanceError(ArtifactError):
    """A cached file made for something else: another task, kind, backbone, rank, ..."""


class NonFiniteError(RuntimeError):
    """Training produced a non-finite loss or parameter: nothing is written."""


def artifact_error(path, problem: str, expected: str = "", found: str = "") -> ArtifactError:
    return _error(ArtifactError, path, problem, expected, found)


def _error(cls, path, problem: str, expected: str = "", found: str = ""):
    """`cls` naming `path`, the problem, what was expected and found, and (for a file) how to
    rebuild it."""
    parts = [f"{path}: {problem}"]
    if expected:
        parts.append(f"expected {expected}")
    if found:
        parts.append(f"found {found}")
    is_file = bool(Path(str(path)).suffix)  # not words for data held in memory ("score cache")
    return cls("; ".join(parts) + (f". To rebuild: {rebuild_hint(path)}" if is_file else ""))


def require_file(path: str | Path, what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: {what} not found. To rebuild: {rebuild_hint(path)}")
    return path


def layout_expectation(path: str | Path) -> dict[str, tuple]:
    """What a file at `path` must record about itself (field -> accepted values), read from its
    place in the results layout (e.g. ``finetune/{backbone}/r{rank}/{task}/harvest.safetensors``:
    that backbone, rank and task, kind checkpoints or harvest); {} outside the layout."""
    for pattern, kinds in _LAYOUT:
        m = re.search(pattern, slashed(path))
        if m:
            out = {
                k: (v if v is not None or k not in _SEED_FIELDS else "0",)
                for k, v in m.groupdict().items()
            }
            if out.get("control") == (None,):  # no arm in the path: control ""
                out["control"] = ("",)
            return {**out, "kind": kinds} if kinds else out
    return {}


def param_provenance(info: Mapping) -> dict:
    """The provenance a parameter file's info records (kind, task, backbone, rank, ...).

    An image style harvest records ``task: style`` and its style under ``style`` (its candidates
    and reconstructions inherit it): the style is its task here. Its ``backbone`` is the base
    model (folder or hub id) unless the step was given the base's key: then it is not compared.
    """
    out = dict(info)
    if info.get("domain") == "image":
        if "style" in info:
            out["task"] = info["style"]
        if info.get("backbone") == info.get("base"):
            out.pop("backbone", None)
    return out


PROVENANCE_FIELDS = (
    "kind",
    "task",
    "backbone",
    "rank",
    "condition",
    "mode",
    "n",
    "layers",
    "finetune_seed",
    "generator_seed",
    "control",
)


def _accepted(value) -> tuple:
    return tuple(value) if isinstance(value, (list, tuple, set, frozenset)) else (value,)


def _show(values: tuple) -> str:
    return repr(values[0]) if len(values) == 1 else f"one of {list(values)}"


def check_provenance(
    path, what: str, found: Mapping, expect: Mapping | None = None, reader: str = ""
) -> None:
    """The provenance a file records (`found`: its metadata or a parameter file's info) must
    agree with what its reader expects (`expect`: field -> accepted value or values; None: any)
    and with what the file's path names in the results layout (`layout_expectation`).

    Values are compared as text (rank 1 and "1" agree). A field the file does not record is
    not checked, but for those in `RECORDED_DEFAULTS` (no ``control``: control ""). A mismatch
    is a `ProvenanceError` naming the file, the fields, both values and the command that
    rebuilds it.
    """
    record = ", ".join(f"{k} {found[k]}" for k in PROVENANCE_FIELDS if k in found) or "nothing"
    found = {**RECORDED_DEFAULTS, **found}
    checks = (
        (expect or {}, f"what {reader or 'its reader'} expects"),
        (layout_expectation(path), "what its path names"),
    )
    for wanted, source in checks:
        bad = [
            (k, _accepted(v))
            for k, v in wanted.items()
            if v is not None and k in found and str(found[k]) not in {str(x) for x in _accepted(v)}
        ]
        if bad:
            fields = " and ".join(k for k, _ in bad)
            raise _error(
                ProvenanceError,
                path,
                f"{what} made for another {fields}",
                ", ".join(f"{k} {_show(v)}" for k, v in bad) + f" ({source})",
                ", ".join(f"{k} {found[k]!r}" for k, _ in bad) + f" (the file records {record})",
            )


@contextlib.contextmanager
def open_safetensors(
    path: str | Path,
    what: str,
    fmt: str | None = None,
    tensors=(),
    expect: Mapping | None = None,
    record: bool = True,
) -> Iterator[tuple]:
    """``safe_open`` of a cached safetensors file, yielding ``(handle, metadata)``.

    A missing, truncated or foreign file (metadata ``format`` not `fmt`), one that lacks a
    tensor named in `tensors`, or one whose metadata disagrees with `expect` or its path
    (``check_provenance``) is an `ArtifactError` naming the file and how to rebuild it.
    `record` False: the metadata is not the file's provenance record (a parameter file keeps it
    in ``info``, which its reader checks), so it is not checked against its path.
    """
    from safetensors import SafetensorError, safe_open

    path = require_file(path, what)
    try:
        handle = safe_open(str(path), framework="pt")
    except (SafetensorError, OSError, ValueError) as e:
        raise artifact_error(
            path, f"unreadable {what} (truncated or not a safetensors file)", found=str(e)
        ) from None
    with handle as f:
        raw = f.metadata() or {}
        try:
            meta = json.loads(raw[METADATA_KEY]) if METADATA_KEY in raw else dict(raw)
        except json.JSONDecodeError as e:
            raise artifact_error(path, f"unreadable metadata of a {what}", found=str(e)) from None
        if fmt is not None and meta.get("format") != fmt:
            raise artifact_error(
                path, f"not a {what}", f"metadata format {fmt!r}", repr(meta.get("format"))
            )
        if record:
            check_provenance(path, what, meta, expect)
        missing = [t for t in tensors if t not in f.keys()]
        if missing:
            raise artifact_error(
                path, f"incomplete {what}", f"tensors {list(tensors)}", f"no {missing}"
            )
        try:
            yield f, meta
        except SafetensorError as e:
            raise artifact_error(path, f"unreadable {what} (truncated?)", found=str(e)) from None


def load_json(
    path: str | Path, what: str, fmt: str | None = None, keys=(), expect: Mapping | None = None
) -> dict:
    """A cached JSON file; missing, truncated, foreign, lacking `keys` or disagreeing with
    `expect` (``check_provenance`` of its top-level keys) is an error naming the file."""
    path = require_file(path, what)
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise artifact_error(
            path, f"unreadable {what} (truncated or not JSON)", found=str(e)
        ) from None
    if not isinstance(data, dict):
        raise artifact_error(path, f"not a {what}", "a JSON object", type(data).__name__)
    if fmt is not None and data.get("format") != fmt:
        raise artifact_error(path, f"not a {what}", f"format {fmt!r}", repr(data.get("format")))
    missing = [k for k in keys if k not in data]
    if missing:
        raise artifact_error(path, f"incomplete {what}", f"keys {list(keys)}", f"no {missing}")
    check_provenance(path, what, data, expect)
    return data


def check_finite(tensor, path, what: str) -> None:
    """A non-finite value in a cached tensor is an `ArtifactError` naming where the first one
    sits."""
    import torch

    bad = ~torch.isfinite(tensor)
    if bool(bad.any()):
        first = tuple(int(i) for i in bad.nonzero()[0])
        raise artifact_error(
            path,
            f"{what} holds {int(bad.sum())} non-finite values",
            "finite values",
            f"{tensor[first].item()} at index {first}",
        )


def stop_if_nonfinite(losses, first_step: int, where: str, hint: str) -> None:
    """Raise `NonFiniteError` at the first non-finite loss of `losses` (step numbers from
    `first_step`)."""
    import torch

    bad = ~torch.isfinite(losses.detach().float())
    if bool(bad.any()):
        i = int(bad.nonzero()[0])
        raise NonFiniteError(
            f"{where}: loss is {losses[i].item()} at step {first_step + i}: training diverged; "
            f"nothing was written. Likely cause: {hint}"
        )


def stop_if_nonfinite_params(params, where: str, step: int, hint: str) -> None:
    """Raise `NonFiniteError` if any trainable parameter is non-finite."""
    import torch

    for name, p in params:
        if not bool(torch.isfinite(p.detach()).all()):
            raise NonFiniteError(
                f"{where}: parameter {name} is non-finite after step {step}: training diverged; "
                f"nothing was written. Likely cause: {hint}"
            )
