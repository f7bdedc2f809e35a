"""The package's import graph (read with ast, nothing imported): no cycles, and the layers of
condpdiff/__init__.py's docstring: lower packages never import higher ones."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "condpdiff"
# condpdiff/__init__.py, lowest first: a package imports only those before it
# (image: a domain like text).
ORDER = [
    "util",
    "pipeline",
    "params",
    "conditions",
    "generator",
    "audit",
    "text",
    "evaluate",
    "analysis",
    "generate",
    "cli",
    "__main__",
]
# Imports against ORDER that exist today (none).
KNOWN_ORDER_EXCEPTIONS: set = set()


def module_files(root: Path = PACKAGE) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file of the package (a package is its __init__)."""
    out = {}
    for f in sorted(root.rglob("*.py")):
        parts = list(f.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = f
    return out


def imported_modules(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The package modules `name` imports, at any depth of its file (function-level imports too)."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            candidates = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if (
                node.level
            ):  # relative: from the module's package (or the package itself for an __init__)
                pkg = name.split(".") if is_package else name.split(".")[:-1]
                pkg = pkg[: len(pkg) - node.level + 1]
                base = ".".join(pkg + ([base] if base else []))
            candidates = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        for c in candidates:
            while c and c not in modules:  # `import condpdiff.a.b.C` -> the module condpdiff.a.b
                c = c.rpartition(".")[0]
            if c and c != name:
                found.add(c)
    return found


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """Module -> the package modules it imports, without the edges between a package and its own
    submodules (importing a submodule runs its package's __init__: that is not a cycle)."""
    modules = module_files(root)
    graph = {}
    for name, path in modules.items():
        deps = imported_modules(name, path, modules)
        graph[name] = {
            d for d in deps if not d.startswith(name + ".") and not name.startswith(d + ".")
        }
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state, stack = {}, []

    def visit(u):
        state[u] = "open"
        stack.append(u)
        for v in sorted(graph.get(u, ())):
            if state.get(v) == "open":
                return stack[stack.index(v) :] + [v]
            if v not in state and (cycle := visit(v)):
                return cycle
        state[u] = "done"
        stack.pop()
        return None

    for u in sorted(graph):
        if u not in state and (cycle := visit(u)):
            return cycle
    return None


def layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def edges_into(graph, source_layers, target_layers):
    return sorted(
        (m, d)
        for m, deps in graph.items()
        for d in deps
        if layer(m) in source_layers and layer(d) in target_layers
    )


@pytest.fixture(scope="module")
def graph():
    return import_graph()


def test_the_graph_sees_the_imports(graph):
    """The reader works: known edges are found (else the checks below would pass vacuously)."""
    assert "condpdiff.generator.pdiff.denoiser" in graph["condpdiff.generator.pdiff.noise"]
    assert (
        "condpdiff.generator.training" in graph["condpdiff.generator.pdiff.train_diffusion"]
    )  # from pkg import module
    assert "condpdiff.evaluate.cells" in graph["condpdiff.analysis.diagnose"]
    assert sum(len(d) for d in graph.values()) > 50


def test_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_a_planted_cycle_and_layer_breach_are_caught(tmp_path):
    import shutil

    root = tmp_path / "condpdiff"
    shutil.copytree(PACKAGE, root, ignore=shutil.ignore_patterns("__pycache__"))
    cells = root / "evaluate" / "cells.py"
    cells.write_text(
        cells.read_text() + "\n\ndef _late():\n    from condpdiff.analysis import diagnose\n"
    )
    names = root / "pipeline" / "names.py"
    names.write_text("from ..text.tasks import get_task\n" + names.read_text())
    g = import_graph(root)
    cycle = find_cycle(g)
    assert cycle and {"condpdiff.evaluate.cells", "condpdiff.analysis.diagnose"} <= set(cycle)
    assert ("condpdiff.pipeline.names", "condpdiff.text.tasks") in edges_into(
        g, {"pipeline"}, {"text"}
    )


def test_no_import_cycles(graph):
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_workflow_layer_and_params_import_no_domain_or_generator(graph):
    assert (
        edges_into(
            graph, {"pipeline", "params"}, {"text", "image", "generator", "evaluate", "analysis"}
        )
        == []
    )


def test_generator_imports_no_domain(graph):
    assert edges_into(graph, {"generator"}, {"text", "image"}) == []


def test_text_and_image_never_import_each_other(graph):
    assert (
        edges_into(graph, {"text"}, {"image"}) == []
        and edges_into(graph, {"image"}, {"text"}) == []
    )


def test_packages_import_only_lower_layers(graph):
    """The order of condpdiff/__init__.py's docstring (image, when there, sits beside text)."""
    rank = {name: i for i, name in enumerate(ORDER)}
    rank["image"] = rank["text"]
    assert {layer(m) for m in graph if layer(m)} <= set(rank), "a new subpackage: add it to ORDER"
    wrong = {
        (m, d)
        for m, deps in graph.items()
        for d in deps
        if layer(m) and layer(d) and rank[layer(d)] > rank[layer(m)]
    }
    assert wrong <= KNOWN_ORDER_EXCEPTIONS, sorted(wrong - KNOWN_ORDER_EXCEPTIONS)


def test_every_module_imports():
    for name in module_files():
        importlib.import_module(name)
