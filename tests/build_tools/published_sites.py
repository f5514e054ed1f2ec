"""Rendered sites as `quarto render` leaves them, small enough to publish in a test and complete enough for
`check-site`: every page with the provenance footer, its PDF, the navbar link to the whole-report PDF, the
loader of the version switcher, and the records publishing reads (provenance.json, results.json)."""
import json
from pathlib import Path

from tests.build_tools.test_site_check import pdf_bytes

ROOT = Path(__file__).resolve().parents[2]
PAGES = ("index.html", "report/cohort.html", "report/landmark.html", "report/versions.html", "report/changelog.html")
PLACEHOLDERS = {
    "report/versions.html": '<div id="report-versions" class="report-versions"><p>This build is not published.</p></div>\n'
                            '<h2>What changed, in numbers</h2>\n'
                            '<div id="report-changes" class="report-changes"><p>Once published...</p></div>',
    "report/changelog.html": '<h2>0.1.0</h2><p>First release.</p>\n'
                             '<div id="report-changes" class="report-changes"><p>Once published...</p></div>',
}


def page_html(rel: str, version: str, sha: str, body: str = "") -> str:
    up = "../" * rel.count("/")
    pdf = Path(rel).with_suffix(".pdf").name
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{rel}</title>
<meta name="quarto:offset" content="{up or './'}">
<script src="{up}site_libs/quarto-html/quarto.js"></script>
</head><body>
<nav class="navbar"><a href="{up}index.html">Overview</a> <a href="{up}report/cohort.html">Cohort</a>
<a href="#" id="nav-menu-version" class="nav-link dropdown-toggle"><span class="menu-text">Version</span></a>
<ul class="dropdown-menu"><li><a class="dropdown-item" href="{up}report/versions.html">All versions</a></li></ul>
<a href="{up}report/full-report.pdf" class="nav-link"><i class="bi bi-file-pdf"></i> Full report (PDF)</a></nav>
<div class="quarto-alternate-formats"><a href="{pdf}">PDF</a></div>
<main><h1>{rel} of release {version}</h1>{body}{PLACEHOLDERS.get(rel, "")}</main>
<footer><span class="report-provenance">Report {version} · built 2031-01-01 10:00 UTC · input SHA-256 {sha[:12]} ·
synthetic data: yes</span></footer>
<script>/* loader of assets/report-versions.js */</script>
</body></html>
"""


def results(os_12: float, patients: int) -> dict:
    point = {"estimate": os_12, "lower": os_12 - 0.1, "upper": os_12 + 0.1}
    return {"format": 1, "time_unit": "months", "min_cell": 0, "patients": patients, "median_follow_up_months": 40.0,
            "endpoints": {"os": {"title": "Overall survival", "kind": "survival", "n": patients, "events": 20,
                                 "at": {"12": point, "60": point}}}}


def make_site(root: Path, version: str, *, sha: str, os_12: float = 0.5, patients: int = 59, code: str = "c1",
              pages=PAGES, date: str = "2031-01-01 10:00 UTC") -> Path:
    """The `_site` of release `version` (no leading v)."""
    site = root / f"site-{version}"
    for rel in pages:
        path = site / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(page_html(rel, version, sha), encoding="utf-8")
        path.with_suffix(".pdf").write_bytes(pdf_bytes(f"{rel} of release {version}"))
    (site / "report" / "full-report.pdf").write_bytes(pdf_bytes(f"the whole report {version}"))
    (site / "site_libs" / "quarto-html").mkdir(parents=True)
    (site / "site_libs" / "quarto-html" / "quarto.js").write_text("// quarto\n")
    (site / "assets").mkdir()
    for name in ("report-versions.js", "report-versions.css"):
        (site / "assets" / name).write_bytes((ROOT / "assets" / name).read_bytes())
    (site / "provenance.json").write_text(json.dumps({
        "report": {"version": version, "package_version": version, "date": date, "commit": "0123456789ab",
                   "release": True},
        "data": {"source": "extract.csv", "sha256": sha, "synthetic": True},
        "study": {"file": "study.yml"},
        "configuration": {"Input file": "extract.csv", "Horizons of the estimates": "12 months, 60 months"},
        "code_sha256": code,
    }), encoding="utf-8")
    (site / "results.json").write_text(json.dumps(results(os_12, patients)), encoding="utf-8")
    return site


CHANGELOG = """# Changelog

## 0.3.0

- Faster models; no number changed.

## 0.2.0

- A larger extract.

## 0.1.0

- First release.
"""
