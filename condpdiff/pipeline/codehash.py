"""A short hash of an entry point's source and every condpdiff module it imports.

Rules put it in ``params`` so that Snakemake marks a result stale when the code that made
it changes, and only then (an edit to the scoring code does not re-train the generator).
"""

from __future__ import annotations

import ast
import hashlib
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent


def _local_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("condpdiff"):
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names if a.name.startswith("condpdiff"))
    return names


def _module_path(name: str) -> Path | None:
    parts = name.split(".")[1:]
    if not parts:
        return PACKAGE_DIR / "__init__.py"
    rel = Path(*parts)
    for cand in (PACKAGE_DIR / rel.with_suffix(".py"), PACKAGE_DIR / rel / "__init__.py"):
        if cand.is_file():
            return cand
    return None


def code_hash(module: str) -> str:
    """Hash of ``condpdiff.<module>`` (dotted, e.g. ``text.score``) and its transitive condpdiff imports (12 hex digits)."""
    todo, seen = [f"condpdiff.{module}"], {}
    while todo:
        name = todo.pop()
        path = _module_path(name)
        if path is None or path in seen.values():
            continue
        seen[name] = path
        todo.extend(_local_imports(path))
    if not seen:
        raise ModuleNotFoundError(f"condpdiff.{module} not found under {PACKAGE_DIR}")
    h = hashlib.sha256()
    for path in sorted(set(seen.values())):
        h.update(path.relative_to(PACKAGE_DIR).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:12]
