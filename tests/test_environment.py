"""environment.yml (conda, used by every rule's `conda:`) installs what pyproject.toml declares."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"torch": "pytorch"}  # pip name -> conda-forge name where they differ


def name(requirement: str) -> str:
    """'peft>=0.13' -> 'peft'; 'condpdiff[image]' -> 'condpdiff'; lower case, '_' as '-'."""
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_lists_every_dependency_and_extra():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        wanted += [r for r in extra if name(r) != "condpdiff"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    have = set()
    for dep in env["dependencies"]:
        for r in dep["pip"] if isinstance(dep, dict) else [dep]:
            have.add(name(r))
    missing = sorted({CONDA_NAMES.get(name(r), name(r)) for r in wanted} - have)
    assert missing == [], f"environment.yml lacks {missing} (declared in pyproject.toml)"
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python="))
    floor = project["requires-python"].removeprefix(">=")
    assert tuple(map(int, python.split("=")[1].split("."))) >= tuple(map(int, floor.split(".")))
