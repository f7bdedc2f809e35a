"""The screenshot script on real Snakemake reports of a tiny workflow: it reaches every declared
result through the report's menu ("Results" with one category, category and subcategory lists
with several), and fails on a report that declares none or one it cannot reach. Skipped where
Chromium or playwright is missing (``apt-get install chromium``, ``pip install playwright``)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent / "screenshot_report.py"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("chromium") is None, reason="needs Chromium (apt-get install chromium)"
    ),
]

SNAKEFILE = """
rule all:
    input:
        {targets},


rule png:
    output:
        report("{{name}}.png", caption="cap.rst", category="Figures", subcategory="{{name}}"),
    run:
        from PIL import Image

        Image.new("RGB", (40, 30), (200, 60, 60)).save(output[0])


rule page:
    output:
        report(
            "tables/{{name}}.html",
            caption="cap.rst",
            category="Tables",
            labels={{"table": "{{name}}"}},
        ),
    run:
        with open(output[0], "w") as f:
            f.write("<!doctype html><html><body><table><tr><td>1.0</td></tr></table></body></html>")


rule plain:
    output:
        "{{name}}.txt",
    shell:
        "echo x > {{output}}"
"""


@pytest.fixture(scope="module")
def workflow(tmp_path_factory):
    """The tiny workflow, built once: two PNGs (category Figures, a subcategory each), three table
    pages (category Tables) and a file outside the report."""
    pytest.importorskip("playwright")
    work = tmp_path_factory.mktemp("wf")
    targets = ["a.png", "b.png", "tables/t1.html", "tables/t2.html", "tables/t3.html", "x.txt"]
    (work / "Snakefile").write_text(SNAKEFILE.format(targets=", ".join(map(repr, targets))))
    (work / "cap.rst").write_text("A result of the tiny workflow, with a caption.\n")
    subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "1"],
        cwd=work,
        check=True,
        capture_output=True,
    )
    return work


def make_report(workflow, name: str, targets: list[str]):
    """A report of the workflow's `targets` only (what ``snakemake --report`` does with targets)."""
    report = workflow / f"{name}.html"
    subprocess.run(
        [sys.executable, "-m", "snakemake", "--report", report.name, *targets],
        cwd=workflow,
        check=True,
        capture_output=True,
    )
    return report


def shoot(report, out):
    cmd = [sys.executable, str(SCRIPT), str(report), str(out)]
    return subprocess.run(cmd, check=False, capture_output=True, text=True)


def test_every_result_under_categories_and_subcategories(workflow, tmp_path):
    report = make_report(workflow, "two", ["a.png", "b.png", "tables/t1.html", "tables/t2.html"])
    run = shoot(report, tmp_path / "shots")
    assert run.returncode == 0, run.stderr
    assert "4 of 4 results shown and screenshot (4 declared, 2 categories)" in run.stdout
    shots = {p.name for p in (tmp_path / "shots").glob("*.png")}
    for name in ("a-png", "b-png", "tables-t1-html", "tables-t2-html"):
        assert any(s.endswith(f"-{name}.png") for s in shots), (name, shots)


def test_one_category_is_reached_through_results(workflow, tmp_path):
    """One category: the menu says "Results", not the category's name (the old script missed it)."""
    report = make_report(workflow, "one", ["tables/t1.html", "tables/t2.html", "tables/t3.html"])
    run = shoot(report, tmp_path / "shots")
    assert run.returncode == 0, run.stderr
    assert "3 of 3 results shown and screenshot (3 declared, 1 categories)" in run.stdout


def test_a_report_without_results_fails(workflow, tmp_path):
    report = make_report(workflow, "none", ["x.txt"])
    run = shoot(report, tmp_path / "shots")
    assert run.returncode != 0 and "the report declares no result" in run.stderr


def test_a_declared_result_not_reached_fails(workflow, tmp_path):
    report = make_report(workflow, "ghost", ["a.png", "tables/t1.html"])
    ghost = (
        '"ghost.png": {"name": "ghost.png", "mime_type": "image/png", "caption": "",'
        ' "data_uri": "", "labels": null}, '
    )
    report.write_text(
        re.sub(r"(var results = \{)", lambda m: m.group(1) + ghost, report.read_text(), count=1)
    )
    run = shoot(report, tmp_path / "shots")
    assert run.returncode != 0
    assert "ghost.png: declared but not reached through the report's menu" in run.stderr
    assert "2 of 3 results shown" in run.stdout
