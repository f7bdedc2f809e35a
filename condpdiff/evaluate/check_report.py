"""Check a Snakemake report: every table and figure the config's targets declare is in it, with
its caption and the same bytes as the file on disk.

A report built with ``snakemake --report report.html`` (one self-contained file) or
``--report report.zip`` (``report/report.html`` + ``report/data/raw/...``) embeds a JavaScript
object ``var results = {path: {caption, data_uri, ...}}``; this reads it. Expected are the
tables (their HTML pages) and every PNG of ``targets.all_targets(config)``. Exits non-zero naming
each missing or wrong entry (no torch)::

    python -m condpdiff.evaluate.check_report --configfile config/smoke_image.yaml \\
        --report results/smoke_image/report.html
"""

from __future__ import annotations

import argparse
import base64
import json
import re
import sys
import zipfile
from pathlib import Path

_RESULTS = re.compile(r"<script id=\"results\">\s*var results = ", re.S)


def report_entries(report: str | Path) -> tuple[dict, callable]:
    """The report's ``results`` object and a function giving an entry's embedded bytes."""
    report = Path(report)
    if report.suffix == ".zip":
        zf = zipfile.ZipFile(report)
        html_name = next((n for n in zf.namelist() if n.endswith("report.html")), None)
        if html_name is None:
            raise ValueError(
                f"{report}: expected a Snakemake report zip with report/report.html, found "
                f"{zf.namelist()[:5]}"
            )
        html, root = zf.read(html_name).decode(), html_name.rsplit("/", 1)[0]

        def data(entry: dict) -> bytes:
            return zf.read(f"{root}/{entry['data_uri']}")
    else:
        html = report.read_text()

        def data(entry: dict) -> bytes:
            uri = entry["data_uri"]
            if not uri.startswith("data:") or ";base64," not in uri:
                raise ValueError(f"expected an embedded base64 data URI, found {uri[:60]!r}")
            return base64.b64decode(uri.split(";base64,", 1)[1])

    m = _RESULTS.search(html)
    if m is None:
        raise ValueError(
            f'{report}: expected a Snakemake report (a <script id="results"> var results = ...), '
            "found none"
        )
    results, _ = json.JSONDecoder().raw_decode(html, m.end())
    return results, data


def expected_files(config: dict) -> list[str]:
    """The tables (their HTML pages) and every PNG the config's targets produce (what the report
    must show)."""
    from condpdiff.pipeline import targets

    files = targets.all_targets(config)
    return sorted(
        f for f in files if f.endswith(".png") or (f.endswith(".html") and "/tables/" in f)
    )


def check(report: str | Path, expected: list[str]) -> list[str]:
    """Problems found (empty: the report holds every expected file, captioned, byte-identical)."""
    results, data = report_entries(report)
    problems = []
    for path in expected:
        entry = results.get(path)
        if entry is None:
            problems.append(
                f"{path}: not in the report (a declared output without report(), or the file was "
                "not built)"
            )
            continue
        caption = re.sub(r"<[^>]+>", "", entry.get("caption") or "").strip()
        if len(caption) < 20:
            problems.append(f"{path}: expected a caption saying what it shows, found {caption!r}")
        on_disk = Path(path)
        if not on_disk.is_file():
            problems.append(f"{path}: in the report but not on disk")
        elif data(entry) != on_disk.read_bytes():
            problems.append(
                f"{path}: the report's copy differs from the file on disk (stale report?)"
            )
    return problems


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--configfile", nargs="+", required=True, help="the config(s) the report was built with"
    )
    p.add_argument("--report", required=True, help="report .html or .zip")
    a = p.parse_args(argv)
    if not Path(a.report).is_file():
        p.error(
            f"--report: no file {a.report!r}; build it first: snakemake --configfile"
            f" {' '.join(a.configfile)} --report {a.report}"
        )
    from condpdiff.pipeline.config import load_config
    from condpdiff.text.tasks import get_task

    config = load_config([Path(c) for c in a.configfile], get_task)
    expected = expected_files(config)
    problems = check(a.report, expected)
    for line in problems:
        print(f"report check: {line}", file=sys.stderr)
    if problems:
        raise SystemExit(
            f"{a.report}: {len(problems)} of {len(expected)} expected tables/figures missing or "
            "wrong"
        )
    print(
        f"{a.report}: all {len(expected)} expected tables and figures present, captioned, "
        "identical to the files"
    )


if __name__ == "__main__":
    main()
