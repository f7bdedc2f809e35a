"""The config values that become paths: `results_dir`, under which every output is written, and
the user's folders, files and model ids the jobs read. Checked before any job starts, so that a
value can neither leave its folder (``..``) nor carry shell syntax, and a bad one is named with
its key, what was found and what is allowed.

The names that become parts of paths (tasks, custom tasks, backbones, image bases and styles) are
checked by the schema's ``^[A-Za-z0-9_]+$`` patterns. Every path also reaches a shell quoted
(``{input.x:q}`` in the rules, ``settings.words``/``settings.flags`` for built arguments); these
checks turn a value that could only fail or misdirect a job into an error at the start.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path, PurePosixPath

# Characters a shell (or a Snakemake file pattern: braces are wildcards) reads as syntax.
SHELL_META = frozenset(";&|$`<>()*?[]{}!#'\"\\")
ALLOWED = "letters, digits, spaces and . _ - / + , @ = : ~ % (no shell syntax)"


def bad_characters(value: str) -> list[str]:
    """The shell metacharacters and control characters in `value`, each once, sorted."""
    return sorted({c for c in value if c in SHELL_META or ord(c) < 32 or ord(c) == 127})


def character_problem(value: str) -> str | None:
    """Why `value` cannot be passed on as a path because of its characters (None: it can)."""
    bad = bad_characters(value)
    if not bad:
        return None
    shown = " ".join(repr(c) for c in bad)
    return f"found {value!r}, which contains {shown}: a path may hold {ALLOWED}"


def results_dir_problem(value: str) -> str | None:
    """Why `value` cannot be the results folder (None: it can).

    Relative (to the working directory) or absolute, e.g. a cluster scratch folder, and spaces
    are fine; refused: nothing or only ``/``, surrounding spaces, shell syntax, a ``..``
    component, an unexpanded ``~``, and an existing file at it or at one of its parents.
    """
    if not value.strip().strip("/"):
        return f"found {value!r}: expected a folder such as results/smoke or /scratch/me/condpdiff"
    if value != value.strip():
        return f"found {value!r}, which starts or ends with whitespace: remove it"
    chars = character_problem(value)
    if chars:
        return chars
    if ".." in PurePosixPath(value).parts:
        return (
            f"found {value!r}, which has a '..' component: give the folder itself "
            "(relative to the working directory, or absolute)"
        )
    if value.startswith("~"):
        return f"found {value!r}: '~' is not expanded in output paths; give the full path"
    path = Path(value)
    for part in [path, *path.parents]:
        if part.exists() and not part.is_dir():
            where = "is" if part == path else f"is inside {str(part)!r}, which is"
            return (
                f"found {value!r}, which {where} an existing file: "
                "expected a folder (existing or new)"
            )
    return None


def name_dir_problem(value: str) -> str | None:
    """Why `value` cannot be a folder name inside another folder (a task's glue_dir)."""
    chars = character_problem(value)
    if chars:
        return chars
    if value.startswith(("/", "~")) or ".." in PurePosixPath(value).parts or not value.strip("/."):
        return (
            f"found {value!r}: expected a folder name inside data.glue_dir "
            "(no '/' at the start, no '..')"
        )
    return None


def _user_paths(config: dict) -> Iterator[tuple[str, str]]:
    """(dotted key, value) of every config value that names a user's folder, file or model id."""
    data = config.get("data") or {}
    if isinstance(data.get("glue_dir"), str):
        yield "data.glue_dir", data["glue_dir"]
    for key, spec in (config.get("backbones") or {}).items():
        if isinstance(spec, dict) and isinstance(spec.get("model"), str):
            yield f"backbones.{key}.model", spec["model"]
    sentence = (config.get("conditions") or {}).get("sentence_model")
    if isinstance(sentence, str):
        yield "conditions.sentence_model", sentence
    img = config.get("image") or {}
    for key, spec in (img.get("bases") or {}).items():
        if isinstance(spec, dict) and isinstance(spec.get("model"), str):
            yield f"image.bases.{key}.model", spec["model"]
    for key, spec in (img.get("styles") or {}).items():
        if isinstance(spec, dict) and isinstance(spec.get("folder"), str):
            yield f"image.styles.{key}.folder", spec["folder"]
    for section, key in (("content", "folder"), ("fid", "weights_path"), ("condition", "weights")):
        value = (img.get(section) or {}).get(key)
        if isinstance(value, str):
            yield f"image.{section}.{key}", value
    generate_for = config.get("generate_for") or {}
    for branch, key in (("text", "examples"), ("images", "folder")):
        for name, spec in (generate_for.get(branch) or {}).items():
            if isinstance(spec, dict) and isinstance(spec.get(key), str):
                yield f"generate_for.{branch}.{name}.{key}", spec[key]


def path_problems(config: dict) -> Iterator[tuple[str, str]]:
    """(dotted key, problem) for each config value that cannot safely become a path."""
    results = config.get("results_dir")
    if isinstance(results, str):
        problem = results_dir_problem(results)
        if problem:
            yield "results_dir", problem
    for name, spec in (config.get("custom_tasks") or {}).items():
        if isinstance(spec, dict) and isinstance(spec.get("glue_dir"), str):
            problem = name_dir_problem(spec["glue_dir"])
            if problem:
                yield f"custom_tasks.{name}.glue_dir", problem
    for key, value in _user_paths(config):
        problem = character_problem(value)
        if problem:
            yield key, problem
