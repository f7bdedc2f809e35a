"""Look at a Snakemake report as a person would: open it in headless Chromium, click through to
every result it declares, and screenshot the start page, each results list and each result.

A Snakemake (9) report is one page whose menu leads to the results: "Results" when the report
has one category, else one entry per category; a category with several subcategories lists
them; a subcategory's table has one row per result (a toggle, where labels allow one, switches
a row between two results), and the row's eye button shows the result (an image, or an HTML
page in a frame). This script follows exactly that path, reads back which result is shown
(the report's ``app.state.resultPath``), checks it loaded (an image with pixels; a page with
text, and a ``<table>`` for a table page) and screenshots it.

Exits non-zero naming the problem when the report declares no result, when a declared result
that the report can show was not reached through its menu, or when one did not load. Needs a
Chromium (Debian: ``apt-get install chromium``) and playwright's Python package (``pip install
playwright``; its own browser download is not needed: the system Chromium is used). Example:

    python tests/report/screenshot_report.py results/smoke_image/report.html shots/
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import zipfile
from pathlib import Path

SHOWN = (
    "image/",
    "text/html",
    "application/pdf",
)  # what the report shows itself (the rest: a download)
EYE = 'a[type=button]:has(path[d^="M10 12a2 2 0 100-4"])'  # the eye button of a results row


def open_report(report: Path, workdir: Path) -> Path:
    """The report's HTML file (a .zip report is unpacked into `workdir`)."""
    if not report.is_file():
        raise SystemExit(f"{report}: no such report (build one with snakemake --report {report})")
    if report.suffix != ".zip":
        return report.resolve()
    with zipfile.ZipFile(report) as zf:
        zf.extractall(workdir)
    found = next(workdir.rglob("report.html"), None)
    if found is None:
        raise SystemExit(
            f"{report}: expected a Snakemake report zip with report/report.html inside, found none"
        )
    return found.resolve()


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")[-80:] or "x"


class Visit:
    """Clicks through one report in `page`, screenshotting into `out`."""

    def __init__(self, page, url: str, out: Path):
        self.page, self.url, self.out = page, url, out
        self.shots, self.shown, self.problems = 0, {}, []

    def shoot(self, name: str) -> Path:
        path = self.out / f"{self.shots:03d}-{name}.png"
        self.page.screenshot(path=str(path))
        self.shots += 1
        print(path)
        return path

    def click_menu(self, label: str) -> None:
        """Click the navbar entry `label` (a category, subcategory or "Results")."""
        items = self.page.locator("nav ul > li > a").filter(
            has=self.page.get_by_text(label, exact=True)
        )
        if items.count() == 0:
            raise LookupError(f"no menu entry {label!r} in the report's navbar")
        items.first.click()
        self.page.wait_for_timeout(300)

    def start(self, categories: dict) -> None:
        """From the start page to the results menu of the report."""
        self.page.goto(self.url)
        self.page.wait_for_selector("nav ul > li > a", timeout=15000)
        if len(categories) == 1:
            self.click_menu("Results")  # one category: the menu has "Results", no category name

    def check_shown(self, path: str, mime: str) -> str:
        """Wait for the shown result to load; '' or the problem."""
        page = self.page
        if mime.startswith("image/"):
            width = page.wait_for_function(
                "() => { const i = [...document.images]"
                ".find(x => x.getAttribute('src') === app.state.contentPath);"
                " return i && i.complete ? String(i.naturalWidth) : null; }",
                timeout=15000,
            ).json_value()
            return "" if int(width) > 0 else "an image that did not load (no pixels)"
        frame = page.frame_locator("iframe").first
        if mime == "application/pdf":
            return ""
        text = frame.locator("body").inner_text(timeout=15000).strip()
        if not text:
            return "an HTML page with no text"
        if "/tables/" in path and frame.locator("table").count() == 0:
            return "a table page without a <table>"
        return ""

    def rows(self, category: str, subcategory: str, results: dict) -> None:
        """Show every row of the open results list (each value of its toggle, where it has one)."""
        page = self.page
        toggles = page.locator("nav fieldset label")
        states = list(range(toggles.count())) or [None]
        for state in states:
            if state is not None:
                toggles.nth(state).click()
                page.wait_for_timeout(300)
            eyes = page.locator(f"nav tbody tr {EYE}")
            for i in range(eyes.count()):
                eyes.nth(i).click()
                page.wait_for_timeout(300)
                path = page.evaluate("() => app.state.resultPath")
                if path not in results:
                    self.problems.append(
                        f"{category} / {subcategory}, row {i + 1}: shows {path!r},"
                        " not a declared result"
                    )
                    continue
                problem = self.check_shown(path, results[path])
                if problem:
                    self.problems.append(f"{path}: {problem}")
                if path not in self.shown:
                    self.shown[path] = self.shoot(slug(path))

    def all_results(self, categories: dict, results: dict) -> None:
        for category in sorted(categories, key=str.lower):
            subcategories = sorted(categories[category], key=str.lower)
            for subcategory in subcategories:
                self.start(categories)
                if len(categories) > 1:
                    self.click_menu(category)
                if len(subcategories) > 1:
                    if subcategory == subcategories[0]:
                        self.shoot(f"list-{slug(category)}")
                    self.click_menu(subcategory)
                self.shoot(f"list-{slug(category)}-{slug(subcategory)}")
                self.rows(category, subcategory, results)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("report", type=Path, help="report .html or .zip")
    p.add_argument("out", type=Path, help="folder for the screenshots")
    p.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    p.add_argument("--width", type=int, default=1400)
    p.add_argument("--height", type=int, default=1000)
    a = p.parse_args(argv)
    from playwright.sync_api import sync_playwright

    a.out.mkdir(parents=True, exist_ok=True)
    html = open_report(a.report, a.out / "unpacked")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=a.chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": a.width, "height": a.height})
        visit = Visit(page, html.as_uri(), a.out)
        page.goto(visit.url)
        page.wait_for_selector("nav ul > li > a", timeout=15000)
        declared = page.evaluate(
            "() => Object.fromEntries(Object.entries(results).map(([k, v]) => [k, v.mime_type]))"
        )
        categories = page.evaluate("() => categories")
        visit.shoot("start")
        if declared:
            visit.all_results(categories, declared)
        browser.close()
    viewable = {k for k, mime in declared.items() if mime.startswith(SHOWN)}
    for path in sorted(set(declared) - viewable):
        print(f"{path}: {declared[path]}, a download in the report (not shown, not screenshot)")
    problems = list(visit.problems)
    if not declared:
        problems.append(
            f"{a.report}: the report declares no result"
            " (no table or figure was built with report())"
        )
    problems += [
        f"{path}: declared but not reached through the report's menu"
        for path in sorted(viewable - set(visit.shown))
    ]
    print(
        f"{len(visit.shown)} of {len(viewable)} results shown and screenshot"
        f" ({len(declared)} declared,"
        f" {len(categories)} categories), {visit.shots} screenshots in {a.out}"
    )
    if problems:
        sys.exit("\n".join(f"screenshot_report: {x}" for x in problems))


if __name__ == "__main__":
    main()
