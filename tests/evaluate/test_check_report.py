"""The report check reads both report forms and names what is missing, uncaptioned or stale."""

import base64
import json
import zipfile

import pytest

from condpdiff.evaluate.check_report import check, report_entries


def _html(results: dict) -> str:
    return (
        '<html><script id="results">\n'
        f"    var results = {json.dumps(results)};\n    </script></html>"
    )


def _entry(caption: str, uri: str) -> dict:
    return {"name": "x", "caption": caption, "data_uri": uri, "mime_type": "image/png"}


CAPTION = "<p>What this figure shows and which rule made it.</p>"


def test_self_contained_report(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a.png").write_bytes(b"png-a")
    (tmp_path / "b.png").write_bytes(b"png-b")
    (tmp_path / "c.png").write_bytes(b"png-c")
    uri = lambda data: "data:image/png;base64," + base64.b64encode(data).decode()  # noqa: E731
    report = tmp_path / "report.html"
    report.write_text(
        _html(
            {
                "a.png": _entry(CAPTION, uri(b"png-a")),
                "b.png": _entry("", uri(b"png-b")),
                "c.png": _entry(CAPTION, uri(b"old")),
            }
        )
    )
    results, data = report_entries(report)
    assert data(results["a.png"]) == b"png-a"
    problems = check(report, ["a.png", "b.png", "c.png", "d.png"])
    assert len(problems) == 3
    assert any(p.startswith("b.png") and "caption" in p for p in problems)
    assert any(p.startswith("c.png") and "differs" in p for p in problems)
    assert any(p.startswith("d.png") and "not in the report" in p for p in problems)
    assert check(report, ["a.png"]) == []


def test_zip_report(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "fig.png").write_bytes(b"figure")
    report = tmp_path / "report.zip"
    with zipfile.ZipFile(report, "w") as zf:
        zf.writestr(
            "report/report.html", _html({"fig.png": _entry(CAPTION, "data/raw/abc/fig.png")})
        )
        zf.writestr("report/data/raw/abc/fig.png", b"figure")
    assert check(report, ["fig.png"]) == []


def test_not_a_report(tmp_path):
    page = tmp_path / "page.html"
    page.write_text("<html>hello</html>")
    with pytest.raises(ValueError, match="expected a Snakemake report"):
        report_entries(page)


def test_a_missing_report_is_a_named_error_with_the_command_that_builds_it(tmp_path, capsys):
    from condpdiff.evaluate import check_report

    missing = str(tmp_path / "report.html")
    with pytest.raises(SystemExit) as stop:
        check_report.main(["--configfile", "config/smoke.yaml", "--report", missing])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert f"--report: no file '{missing}'" in err
    assert f"snakemake --configfile config/smoke.yaml --report {missing}" in err
