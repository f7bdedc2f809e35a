"""A short hash of an entry point's source and every condpdiff module it imports.

Rules put it in ``params`` so that Snakemake marks a result stale when the code that made
it changes, and only then (an edit to the scoring code does not re-train the generator).
So what only the workflow needs stays out of the modules entry points import: the table
registry (``pipeline.tables``), the figure targets, the path layout. The modules in
`MESSAGE_ONLY` are imported by every step but only word the advice in an error message (which
rule rebuilds a file): they are not hashed, so rewording that advice marks no result stale.
"""

from __future__ import annotations

import ast
import functools
import hashlib
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent

# Modules (dotted, under condpdiff) left out of every hash, and not followed: they shape no output.
MESSAGE_ONLY = ("pipeline.recovery",)


def _local_imports(path: Path, module: str) -> frozenset[str]:
    """The condpdiff modules (and module attributes, which may be modules) `path` imports;
    `module` is its dotted name, which resolves relative imports."""
    return _imports_in(path.read_text(), str(path), module, path.name == "__init__.py")


@functools.cache
def _imports_in(source: str, filename: str, module: str, is_package: bool) -> frozenset[str]:
    """`_local_imports` of a source text (cached: a DAG parse hashes every rule's step, and the
    steps share most of their modules)."""
    tree = ast.parse(source, filename=filename)
    package = module.split(".") if is_package else module.split(".")[:-1]
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            if base == "condpdiff" or base.startswith("condpdiff."):
                names.add(base)
                names.update(f"{base}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names if a.name.split(".")[0] == "condpdiff")
    return frozenset(names)


def _module_path(name: str, package_dir: Path) -> Path | None:
    parts = name.split(".")[1:]
    if not parts:
        return package_dir / "__init__.py"
    rel = Path(*parts)
    for cand in (package_dir / rel.with_suffix(".py"), package_dir / rel / "__init__.py"):
        if cand.is_file():
            return cand
    return None


def hashed_modules(module: str, package_dir: Path | None = None) -> dict[str, Path]:
    """``condpdiff.<module>`` and its transitive condpdiff imports, less `MESSAGE_ONLY`:
    dotted name -> file."""
    package_dir = Path(package_dir or PACKAGE_DIR)
    skip = {f"condpdiff.{m}" for m in MESSAGE_ONLY}
    todo, seen = [f"condpdiff.{module}"], {}
    while todo:
        name = todo.pop()
        path = None if name in skip else _module_path(name, package_dir)
        if path is None or path in seen.values():
            continue
        seen[name] = path
        todo.extend(_local_imports(path, name))
    if not seen:
        raise ModuleNotFoundError(f"condpdiff.{module} not found under {package_dir}")
    return seen


def code_hash(module: str, package_dir: Path | None = None) -> str:
    """Hash of ``condpdiff.<module>`` (dotted, e.g. ``text.score``) and its transitive condpdiff
    imports (12 hex digits); `package_dir`: the condpdiff folder to read (default: this package)."""
    package_dir = Path(package_dir or PACKAGE_DIR)
    h = hashlib.sha256()
    for path in sorted(set(hashed_modules(module, package_dir).values())):
        h.update(path.relative_to(package_dir).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:12]
