"""Look at a Snakemake report as a person would: open it in headless Chromium, screenshot the
start page, every results category and every result shown full width, into a folder.

Needs a Chromium (Debian: ``apt-get install chromium``) and playwright's Python package
(``pip install playwright``; its own browser download is not needed: the system Chromium is
used). Prints one line per screenshot and fails if a result's picture does not load (an
<img> with no pixels). Example:

    python tests/report/screenshot_report.py results/smoke_image/report.html shots/
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import zipfile
from pathlib import Path


def open_report(report: Path, workdir: Path) -> Path:
    """The report's HTML file (a .zip report is unpacked into `workdir`)."""
    if report.suffix != ".zip":
        return report.resolve()
    with zipfile.ZipFile(report) as zf:
        zf.extractall(workdir)
    return next(workdir.rglob("report.html")).resolve()


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[:80] or "x"


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("report", type=Path, help="report .html or .zip")
    p.add_argument("out", type=Path, help="folder for the screenshots")
    p.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    p.add_argument("--max-per-category", type=int, default=3, help="results shown per (sub)category")
    p.add_argument("--width", type=int, default=1400)
    p.add_argument("--height", type=int, default=1000)
    a = p.parse_args(argv)
    from playwright.sync_api import sync_playwright

    a.out.mkdir(parents=True, exist_ok=True)
    html = open_report(a.report, a.out / "unpacked")
    broken, shots = [], 0
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=a.chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": a.width, "height": a.height})
        page.goto(html.as_uri())
        page.wait_for_timeout(1500)
        page.screenshot(path=str(a.out / "00-start.png"))
        print(a.out / "00-start.png")
        categories = [c for c in page.get_by_role("link").all_inner_texts() if c.strip()]
        categories = [c for c in categories if c not in ("Workflow", "Statistics", "About", "Results")]
        for ci, cat in enumerate(categories, 1):
            page.goto(html.as_uri())
            page.wait_for_timeout(800)
            page.get_by_text(cat, exact=True).first.click()
            page.wait_for_timeout(600)
            page.screenshot(path=str(a.out / f"{ci:02d}-{slug(cat)}.png"))
            print(a.out / f"{ci:02d}-{slug(cat)}.png")
            subcats = [s for s in page.locator("main a, nav a, li a").all_inner_texts()
                       if s.strip() and s not in categories and s not in ("Results", "Workflow", "Statistics", "About")]
            rows = page.locator("tr:has([iconname=eye])")
            targets = [(None, i) for i in range(min(rows.count(), a.max_per_category))]
            if not targets and subcats:  # results sit one level down, under subcategories
                targets = [(s, 0) for s in subcats[: a.max_per_category]]
            for si, (sub, row) in enumerate(targets, 1):
                if sub is not None:
                    page.goto(html.as_uri())
                    page.wait_for_timeout(600)
                    page.get_by_text(cat, exact=True).first.click()
                    page.wait_for_timeout(400)
                    page.get_by_text(sub, exact=True).first.click()
                    page.wait_for_timeout(400)
                eye = page.locator("tr:has([iconname=eye])").nth(row).locator("[iconname=eye]")
                label = page.locator("tr:has([iconname=eye])").nth(row).inner_text().strip().replace("\n", " ")
                eye.click()
                page.wait_for_timeout(1200)
                name = a.out / f"{ci:02d}-{slug(cat)}-{si}-{slug(sub or label)}.png"
                imgs = page.locator("img")
                for k in range(imgs.count()):
                    if imgs.nth(k).evaluate("e => e.complete && e.naturalWidth === 0"):
                        broken.append(f"{cat} / {sub or label}: an image that did not load")
                page.screenshot(path=str(name))
                shots += 1
                print(name, "|", label[:100])
        browser.close()
    if broken:
        sys.exit("\n".join(broken))
    print(f"{shots} results shown, {len(categories)} categories, no broken image")


if __name__ == "__main__":
    main()
