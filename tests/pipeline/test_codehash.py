"""The code hash of a step follows its own code and what it imports, and nothing else: a new table,
figure target or rebuild hint (registries of the workflow layer) marks no result stale."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from condpdiff.pipeline import codehash
from condpdiff.pipeline.codehash import code_hash, hashed_modules

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "condpdiff"
GENERATOR = ["generator.pdiff.train_autoencoder", "generator.pdiff.train_diffusion",
             "generator.pdiff.sample_candidates"]  # fmt: skip
STEPS = [*GENERATOR, "text.score", "text.finetune_lora", "evaluate.cells", "evaluate.make_table"]
# Modules of the workflow layer an entry point may import: the names it takes as choices and the
# checks of the cached files it reads.
STEP_PIPELINE_MODULES = {"condpdiff.pipeline.names", "condpdiff.pipeline.artifacts"}


def entry_points() -> list[str]:
    """Every module a rule hashes: the ``code("...")`` params of workflow/rules/*.smk."""
    text = "".join(p.read_text() for p in sorted((ROOT / "workflow/rules").glob("*.smk")))
    return sorted(set(re.findall(r'\bcode\("([a-z_.]+)"\)', text)))


@pytest.fixture
def package(tmp_path, monkeypatch) -> Path:
    """A copy of the package that code_hash reads instead of the real one."""
    root = tmp_path / "condpdiff"
    shutil.copytree(PACKAGE, root, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(codehash, "PACKAGE_DIR", root)
    return root


def edit(path: Path) -> None:
    path.write_text(path.read_text() + "\n# an edit\n")


def hashes(steps=STEPS) -> dict[str, str]:
    return {m: code_hash(m) for m in steps}


def test_the_hash_is_of_the_text_not_of_where_it_lies(package, monkeypatch):
    in_copy = hashes()
    monkeypatch.setattr(codehash, "PACKAGE_DIR", PACKAGE)
    assert hashes() == in_copy
    assert {m: code_hash(m, package_dir=package) for m in STEPS} == in_copy  # folder as argument
    assert all(len(h) == 12 and int(h, 16) >= 0 for h in in_copy.values())


def test_editing_the_denoiser_retrains_the_diffusion_model_only(package):
    before = hashes()
    edit(package / "generator" / "pdiff" / "denoiser.py")
    after = hashes()
    assert after["generator.pdiff.train_autoencoder"] == before["generator.pdiff.train_autoencoder"]
    assert after["generator.pdiff.train_diffusion"] != before["generator.pdiff.train_diffusion"]
    assert after["generator.pdiff.sample_candidates"] != before["generator.pdiff.sample_candidates"]
    for step in ("text.score", "text.finetune_lora", "evaluate.cells", "evaluate.make_table"):
        assert after[step] == before[step], step


def test_shared_code_changes_every_user(package):
    before = hashes()
    edit(package / "params" / "norm_stats.py")
    after = hashes()
    for step in GENERATOR:
        assert after[step] != before[step], step
    for step in ("text.score", "evaluate.cells"):
        assert after[step] == before[step], step
    edit(package / "util" / "atomic.py")  # written by every step
    assert all(code_hash(m) != after[m] for m in STEPS)


def test_every_rule_hashes_an_existing_entry_point_and_the_steps_named_here_are_rules():
    steps = entry_points()
    assert set(STEPS) <= set(steps)
    wanted = [*GENERATOR, "text.finetune_lora", "generator.direct.train_direct",
              "generator.direct.sample_direct", "text.score", "finetune_style_lora",
              "generate_images"]  # fmt: skip
    for name in wanted:
        assert any(s == name or s.endswith(f".{name}") for s in steps), name
    for step in steps:
        assert hashed_modules(step), step  # each resolves to a module under condpdiff/


def test_adding_a_table_marks_no_result_stale(package):
    """The README's extension step (a new table name) changes no step's code hash: only the workflow
    layer (config check, targets) reads the table registry."""
    steps = entry_points()
    before, targets_before = hashes(steps), code_hash("pipeline.targets")
    tables = package / "pipeline" / "tables.py"
    text = tables.read_text()
    assert "TABLES = {\n" in text
    tables.write_text(text.replace("TABLES = {\n", 'TABLES = {\n    "table_new": None,\n', 1))
    assert code_hash("pipeline.targets") != targets_before  # the edit is seen where tables are read
    assert hashes(steps) == before


@pytest.mark.parametrize("module", ["figure_targets", "paths", "targets", "config", "generators",
                                    "image_paths"])  # fmt: skip
def test_a_workflow_only_module_marks_no_result_stale(package, module):
    steps = entry_points()
    before = hashes(steps)
    edit(package / "pipeline" / f"{module}.py")
    assert hashes(steps) == before


def test_entry_points_import_no_other_part_of_the_workflow_layer():
    """Of pipeline/, a step imports only the names it takes and the checks of what it reads."""
    for step in entry_points():
        used = {name for name in hashed_modules(step) if name.startswith("condpdiff.pipeline.")}
        assert used <= STEP_PIPELINE_MODULES, (step, used - STEP_PIPELINE_MODULES)


def test_rewording_a_rebuild_hint_marks_no_result_stale_but_a_check_does(package):
    """Which rule rebuilds a file is advice in an error message (pipeline.recovery, not hashed);
    what the checks accept (pipeline.artifacts) is part of every step that reads a cached file."""
    steps = entry_points()
    recovery = package / "pipeline" / "recovery.py"
    assert recovery.is_file()
    assert any(
        "condpdiff.pipeline.recovery" in codehash._local_imports(p, n)
        for n, p in hashed_modules("text.score").items()
    )  # imported, yet not hashed
    before = hashes(steps)
    edit(recovery)
    assert hashes(steps) == before
    edit(package / "pipeline" / "artifacts.py")
    after = hashes(["text.score", "generator.pdiff.train_diffusion"])
    assert all(h != before[m] for m, h in after.items())


def test_relative_imports_are_followed(package):
    (package / "entry.py").write_text("from .params import norm_stats\nfrom . import util\n")
    (package / "params" / "entry.py").write_text("from ..util.atomic import METADATA_KEY\n")
    assert {"condpdiff.params.norm_stats", "condpdiff.util"} <= set(hashed_modules("entry"))
    assert "condpdiff.util.atomic" in hashed_modules("params.entry")
    before = code_hash("entry")
    edit(package / "params" / "norm_stats.py")
    assert code_hash("entry") != before


def test_an_unknown_module_is_an_error(package):
    with pytest.raises(ModuleNotFoundError, match="condpdiff.text.nope"):
        code_hash("text.nope")
