"""The code hash of a step follows its own code and what it imports, and nothing else."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from condpdiff.pipeline import codehash
from condpdiff.pipeline.codehash import code_hash

PACKAGE = Path(__file__).resolve().parents[2] / "condpdiff"
STEPS = ["generator.pdiff.train_autoencoder", "generator.pdiff.train_diffusion", "generator.pdiff.sample_candidates",
         "text.score", "text.finetune_lora", "evaluate.cells", "evaluate.make_table"]  # fmt: skip


@pytest.fixture
def package(tmp_path, monkeypatch) -> Path:
    """A copy of the package that code_hash reads instead of the real one."""
    root = tmp_path / "condpdiff"
    shutil.copytree(PACKAGE, root, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(codehash, "PACKAGE_DIR", root)
    return root


def edit(path: Path) -> None:
    path.write_text(path.read_text() + "\n# an edit\n")


def hashes() -> dict[str, str]:
    return {m: code_hash(m) for m in STEPS}


def test_the_hash_is_of_the_text_not_of_where_it_lies(package, monkeypatch):
    in_copy = hashes()
    monkeypatch.setattr(codehash, "PACKAGE_DIR", PACKAGE)
    assert hashes() == in_copy
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
    for step in ("generator.pdiff.train_autoencoder", "generator.pdiff.train_diffusion", "generator.pdiff.sample_candidates"):
        assert after[step] != before[step], step
    assert after["text.score"] == before["text.score"] and after["evaluate.cells"] == before["evaluate.cells"]
    edit(package / "util" / "atomic.py")  # written by every step
    assert all(code_hash(m) != after[m] for m in STEPS)


def test_an_unknown_module_is_an_error(package):
    with pytest.raises(ModuleNotFoundError, match="condpdiff.text.nope"):
        code_hash("text.nope")
