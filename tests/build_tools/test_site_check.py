"""`python -m analysis check-site`: a small site made here passes, and each defect is caught and named."""
import json
from pathlib import Path

import pytest

from analysis.build.cli import main
from analysis.data.paths import SYNTHETIC_DATA
from analysis.build.site_check import Identifiers, check_site, errors, find_leaks

VERSION = "0.3.1"
SHORT_HASH = "1f0e6b7c2d3a"  # the fixture sites' footers name this; their provenance.json records the input's
HEADER = ("patient_id,hct_date,age,last_contact_date,relapse_date,cgvhd_date\n")
# Dates as registries write them: ISO, slashes, compact; one Excel serial number.
ROWS = [
    "PT-0042,2010/03/05,51,2012-06-30,,",
    "PT-0107,2011-07-04,33,20130215,2011-12-01,",
    "PT-0311,2012-01-09,62,41500,,2012/08/17",
]


def page(body: str, *, depth: int = 0, footer: str | None = None, pdf: str | None = "page.pdf") -> str:
    up = "../" * depth
    footer = (f"Report {VERSION} · built 2031-02-03 · input SHA-256 {SHORT_HASH} · synthetic data: no"
              if footer is None else footer)
    other = f'<div class="quarto-alternate-formats"><h2>Other Formats</h2><ul><li><a href="{pdf}">' \
            f'<i class="bi bi-file-pdf"></i>PDF</a></li></ul></div>' if pdf else ""
    return f"""<!DOCTYPE html>
<html><head><title>t</title>
<link href="{up}site_libs/bootstrap/bootstrap.min.css" rel="stylesheet">
<script src="{up}site_libs/quarto-html/quarto.js"></script>
<link rel="preconnect" href="https://fonts.googleapis.com">
</head><body>
<nav><a href="{up}index.html">Overview</a> <a href="{up}report/cohort.html">Cohort</a>
<a href="{up}report/">Report folder</a></nav>
<nav id="TOC"><a href="#results" class="nav-link">Results</a></nav>
{other}
<main><section id="results"><h2>Results</h2>{body}</section></main>
<footer class="footer"><div class="nav-footer-left"><p><span class="report-provenance">{footer}</span></p></div>
<div class="nav-footer-right"><a href="mailto:someone@example.org">mail</a> <a href="https://quarto.org/">Quarto</a></div>
</footer></body></html>
"""


def make_site(root: Path, data_sha: str) -> Path:
    site = root / "_site"
    (site / "report" / "cohort_files" / "figure-html").mkdir(parents=True)
    (site / "site_libs" / "quarto-html").mkdir(parents=True)
    (site / "site_libs" / "bootstrap").mkdir(parents=True)
    (site / "site_libs" / "quarto-html" / "quarto.js").write_text("window.quarto = {};\n")
    (site / "site_libs" / "bootstrap" / "bootstrap.min.css").write_text("body{}\n")
    (site / "index.html").write_text(page(
        '<p>59 patients; 42 had a relapse in 2010. See <a href="report/cohort.html#survival">survival</a>.</p>'
        '<img src="report/cohort_files/figure-html/fig-os-output-1.svg">', pdf="index.pdf"))
    (site / "index.pdf").write_bytes(b"%PDF-1.7\n")
    (site / "report" / "index.html").write_text(page("<p>Chapters.</p>", depth=1, pdf="index.pdf"))
    (site / "report" / "index.pdf").write_bytes(b"%PDF-1.7\n")
    (site / "report" / "cohort.html").write_text(page(
        '<p id="survival">Follow-up 2011 to 2013.</p>'
        '<img src="cohort_files/figure-html/fig-os-output-1.svg" alt="Overall survival">',
        depth=1, pdf="cohort.pdf"))
    (site / "report" / "cohort.pdf").write_bytes(b"%PDF-1.7\n")
    # An SVG figure whose coordinates could look like ids or compact dates, but are decimals.
    (site / "report" / "cohort_files" / "figure-html" / "fig-os-output-1.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg"><path d="M 20110704.5 12 L 3.0042 0.0107"/></svg>\n')
    (site / "search.json").write_text(json.dumps([
        {"objectID": "index.html", "href": "index.html", "title": "Overview", "text": "59 patients"},
        {"objectID": "report/cohort.html", "href": "report/cohort.html#survival", "title": "Cohort", "text": "x"},
    ]))
    (site / "provenance.json").write_text(json.dumps({
        "report": {"version": VERSION, "date": "2031-02-03"},
        "data": {"source": "extract.csv", "sha256": data_sha, "synthetic": False},
    }))
    for html in site.rglob("*.html"):
        html.write_text(html.read_text().replace(SHORT_HASH, data_sha[:12]))
    return site


@pytest.fixture
def data(tmp_path):
    path = tmp_path / "extract.csv"
    path.write_text(HEADER + "\n".join(ROWS) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def site(tmp_path, data):
    from analysis.data.cohort import file_sha256

    return make_site(tmp_path, file_sha256(data))


def put_page(site: Path, name: str, html: str) -> None:
    """Write a page made by `page()` into a fixture site, with the footer naming the site's input."""
    sha = json.loads((site / "provenance.json").read_text())["data"]["sha256"]
    (site / name).write_text(html.replace(SHORT_HASH, sha[:12]))


def messages(problems):
    return [str(p) for p in problems]


def test_a_good_site_passes(site, data):
    problems = check_site(site, data, anchors=True)
    assert problems == [], messages(problems)


def test_a_broken_link_is_named_with_page_and_line(site, data):
    cohort = site / "report" / "cohort.html"
    cohort.write_text(cohort.read_text().replace('<p id="survival">', '<p id="survival"><a href="outcomes.html">x</a>'))
    problems = errors(check_site(site, data))
    assert [p.kind for p in problems] == ["link"]
    assert problems[0].path == "report/cohort.html"
    assert "<a> link 'outcomes.html' does not resolve to a file of the site" in problems[0].message
    assert problems[0].message.startswith("line ")


def test_a_missing_script_or_image_is_a_broken_link(site, data):
    (site / "site_libs" / "quarto-html" / "quarto.js").unlink()
    problems = errors(check_site(site, data))
    assert {p.path for p in problems} == {"index.html", "report/index.html", "report/cohort.html"}
    assert all("<script> link" in p.message and "quarto.js" in p.message for p in problems)


def test_links_from_the_server_root_or_outside_the_site_are_reported(site, data):
    index = site / "index.html"
    index.write_text(index.read_text().replace("<main>", '<main><a href="/report/cohort.html">a</a>'
                                                          '<a href="../elsewhere.html">b</a>'))
    found = messages(errors(check_site(site, data)))
    assert any("starts at the server root" in m for m in found)
    assert any("'../elsewhere.html' points outside the site" in m for m in found)


def test_anchors_are_checked_on_request(site, data):
    index = site / "index.html"
    index.write_text(index.read_text().replace("#survival", "#no-such-section"))
    assert check_site(site, data) == []
    found = messages(check_site(site, data, anchors=True))
    assert found == ["index.html: line 11: <a> 'report/cohort.html#no-such-section': no element "
                     "#no-such-section in report/cohort.html"]


def test_a_page_without_the_provenance_footer(site, data):
    cohort = site / "report" / "cohort.html"
    cohort.write_text(cohort.read_text().replace('class="report-provenance"', 'class="something-else"'))
    assert messages(check_site(site, data)) == [
        "report/cohort.html: no provenance footer (no element of class 'report-provenance')"]


def test_a_footer_naming_another_version(site, data):
    index = site / "index.html"
    index.write_text(index.read_text().replace(f"Report {VERSION}", "Report 0.2.9"))
    found = messages(check_site(site, data))
    assert len(found) == 1 and found[0].startswith("index.html: the provenance footer does not name version 0.3.1")


def test_a_footer_naming_other_data(site, data):
    cohort = site / "report" / "cohort.html"
    from analysis.data.cohort import file_sha256

    cohort.write_text(cohort.read_text().replace(file_sha256(data)[:12], "000000000000"))
    found = messages(check_site(site, data))
    assert len(found) == 1
    assert found[0].startswith(f"report/cohort.html: the provenance footer does not name input SHA-256 "
                               f"{file_sha256(data)[:12]}")


def test_a_site_without_its_provenance_record(site, data):
    (site / "provenance.json").unlink()
    assert messages(check_site(site, data)) == [
        "provenance.json: provenance.json is missing: the provenance pre-render step did not run"]


def test_a_missing_pdf_file(site, data):
    (site / "report" / "cohort.pdf").unlink()
    problems = check_site(site, data)
    assert [(p.path, p.kind) for p in problems] == [("report/cohort.html", "pdf")]
    assert "PDF link 'cohort.pdf' does not resolve to a file of the site" in problems[0].message


def test_a_page_without_a_pdf_link(site, data):
    put_page(site, "report/index.html", page("<p>Chapters.</p>", depth=1, pdf=None))
    assert messages(check_site(site, data)) == ["report/index.html: the page offers no PDF (no link to a .pdf file)"]
    assert check_site(site, data, require_pdf=False) == []


def test_an_unresolved_cross_reference(site, data):
    cohort = site / "report" / "cohort.html"
    cohort.write_text(cohort.read_text().replace("Follow-up", "As ?@fig-x shows, follow-up"))
    found = messages(check_site(site, data))
    assert found == ["report/cohort.html: line 11: unresolved cross-reference ?@fig-x"]


def test_an_unresolved_variable_shortcode(site, data):
    index = site / "index.html"
    index.write_text(index.read_text().replace("built 2031-02-03", "built ?var:report.date"))
    found = messages(check_site(site, data))
    assert found == ["index.html: line 12: unresolved shortcode {{< var report.date >}}"]


def test_a_leaked_patient_id_in_the_search_index(site, data):
    search = json.loads((site / "search.json").read_text())
    search[1]["text"] = "The longest survivor (PT-0107) was censored."
    (site / "search.json").write_text(json.dumps(search))
    assert messages(check_site(site, data)) == ["search.json: line 1: a patient_id of the input: 'PT-0107'"]


def test_a_leaked_patient_id_in_a_figure(site, data):
    svg = site / "report" / "cohort_files" / "figure-html" / "fig-os-output-1.svg"
    svg.write_text(svg.read_text().replace("</svg>", "<text>PT-0311</text>\n</svg>"))
    assert messages(check_site(site, data)) == [
        "report/cohort_files/figure-html/fig-os-output-1.svg: line 1: a patient_id of the input: 'PT-0311'"]


def test_a_leaked_date_as_written_and_as_iso(site, data):
    cohort = site / "report" / "cohort.html"
    text = cohort.read_text().replace("Follow-up 2011 to 2013.", "Transplanted on 2010/03/05; last seen 2013-02-15.")
    cohort.write_text(text)
    found = messages(check_site(site, data))
    assert found == [
        "report/cohort.html: line 11: a date of the input: '2010/03/05'",  # as written in the input
        "report/cohort.html: line 11: a date of the input: '2013-02-15'",  # written 20130215 in the input
    ]


def test_the_iso_form_of_an_excel_serial_date_is_searched(site, data):
    index = site / "index.html"
    index.write_text(index.read_text().replace("59 patients", "59 patients (last 2013-08-14)"))
    assert messages(check_site(site, data)) == ["index.html: line 11: a date of the input: '2013-08-14'"]


def test_the_site_must_be_checked_against_the_data_it_was_built_from(site, tmp_path):
    other = tmp_path / "other.csv"
    other.write_text(HEADER + ROWS[0] + "\n", encoding="utf-8")
    found = messages(check_site(site, other))
    assert len(found) == 1 and "the site was built from input SHA-256" in found[0] and "other.csv" in found[0]


def test_leak_search_tells_ids_from_numbers():
    ids = Identifiers(frozenset({"123456", "AB_7", "P 12"}), frozenset({"2001-01-30"}))
    text = ("x=3.123456 y=123456.5 id:123456 AB_7, AB_77 XAB_7 P 12 P 123 "
            "2001-01-30. 12001-01-30 2001-01-300\n")
    assert find_leaks(text, ids) == [
        ("date", "2001-01-30", 1), ("patient_id", "123456", 1), ("patient_id", "AB_7", 1), ("patient_id", "P 12", 1)]


def test_short_numeric_ids_are_reported_as_not_searched(site, tmp_path):
    numeric = tmp_path / "numeric.csv"
    numeric.write_text("patient_id,hct_date\n7,2010-03-05\n12,2010-04-05\n", encoding="utf-8")
    problems = check_site(site, numeric)
    warnings = [p for p in problems if p.severity == "warning"]
    assert len(warnings) == 1 and "2 patient_id value(s) are all-digit" in warnings[0].message


def test_identifiers_of_the_synthetic_cohort():
    found = Identifiers.from_file(SYNTHETIC_DATA)
    assert len(found.ids) == 59 and "SYN001" in found.ids
    assert "2001-01-30" in found.dates and found.skipped_ids == 0


def test_command_line(site, data, capsys):
    assert main(["check-site", str(site), "--data", str(data)]) == 0
    assert "3 page(s) OK; patient-level data of extract.csv searched" in capsys.readouterr().out
    (site / "report" / "cohort.pdf").unlink()
    assert main(["check-site", str(site), "--data", str(data)]) == 1
    out = capsys.readouterr().out
    assert "report/cohort.html: line" in out and "1 problem(s) in 3 page(s)" in out
    (site / "report" / "cohort.pdf").write_bytes(b"%PDF-1.7\n")
    put_page(site, "report/index.html", page("<p>Chapters.</p>", depth=1, pdf=None))
    assert main(["check-site", str(site), "--no-data"]) == 1
    assert main(["check-site", str(site), "--no-data", "--no-pdf"]) == 0
    assert main(["check-site", str(site / "missing")]) == 1
