"""`python -m analysis.build check-site`: a small site made here passes, and each defect is caught and named."""
import json
import zlib
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


def pdf_bytes(*lines: str, info: dict[str, str] | None = None) -> bytes:
    """A valid one-page PDF showing `lines` in Helvetica, its page content compressed as Typst's is."""
    def literal(text: str) -> bytes:
        return b"(" + text.encode("latin-1").replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"

    content = b"BT /F1 12 Tf 72 720 Td 14 TL " + b" ".join(literal(line) + b" Tj T*" for line in lines) + b" ET"
    stream = zlib.compress(content)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> "
        b"/Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    if info:
        objects.append(b"<< " + b" ".join(b"/" + k.encode() + b" " + literal(v) for k, v in info.items()) + b" >>")
    out, offsets = b"%PDF-1.7\n", []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    trailer_info = b" /Info %d 0 R" % len(objects) if info else b""
    trailer = b"trailer\n<< /Size %d /Root 1 0 R%s >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, trailer_info, xref)
    return out + trailer


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
    (site / "index.pdf").write_bytes(pdf_bytes("A chapter of the report"))
    (site / "report" / "index.html").write_text(page("<p>Chapters.</p>", depth=1, pdf="index.pdf"))
    (site / "report" / "index.pdf").write_bytes(pdf_bytes("A chapter of the report"))
    (site / "report" / "cohort.html").write_text(page(
        '<p id="survival">Follow-up 2011 to 2013.</p>'
        '<img src="cohort_files/figure-html/fig-os-output-1.svg" alt="Overall survival">',
        depth=1, pdf="cohort.pdf"))
    (site / "report" / "cohort.pdf").write_bytes(pdf_bytes("A chapter of the report"))
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
    (site / "report" / "cohort.pdf").write_bytes(pdf_bytes("A chapter of the report"))
    put_page(site, "report/index.html", page("<p>Chapters.</p>", depth=1, pdf=None))
    assert main(["check-site", str(site), "--no-data"]) == 1
    assert main(["check-site", str(site), "--no-data", "--no-pdf"]) == 0
    assert main(["check-site", str(site / "missing")]) == 1


# --- patient-level data, wherever and however it is written -------------------------------------------

def leaks(problems) -> list[str]:
    return [str(p) for p in problems if p.kind == "leak"]


def extract_frame():
    import pandas as pd

    return pd.DataFrame({
        "patient_id": ["PT-0042", "PT-0107"],
        "hct_date": pd.to_datetime(["2010-03-05", "2011-07-04"]),
        "age": [51, 33],
    })


@pytest.mark.parametrize("name", ["report/notes", "report/cohort.html.bak", ".cache/q/state", "report/data.tsv.orig"])
def test_a_file_of_any_name_or_in_a_hidden_folder_is_searched(site, data, name):
    (site / name).parent.mkdir(parents=True, exist_ok=True)
    (site / name).write_text("patient PT-0042 followed until 2012-06-30\n")
    assert leaks(check_site(site, data)) == [f"{name}: line 1: a date of the input: '2012-06-30'",
                                             f"{name}: line 1: a patient_id of the input: 'PT-0042'"]


def test_a_compressed_copy_of_the_extract_is_searched(site, data):
    import gzip

    (site / "report" / "extract.csv.gz").write_bytes(gzip.compress(data.read_bytes()))
    found = leaks(check_site(site, data))
    assert "report/extract.csv.gz: gzip content, line 2: a patient_id of the input: 'PT-0042'" in found
    assert "report/extract.csv.gz: gzip content, line 2: a date of the input: '2010/03/05'" in found
    assert len(found) == 3 + 7  # every id and every date written in the three records


def test_a_zipped_copy_is_searched_and_so_are_member_names(site, data):
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("export/PT-0107.txt", "relapse 01.12.2011")
    (site / "download.zip").write_bytes(buffer.getvalue())
    found = leaks(check_site(site, data))
    assert "download.zip: names in the zip archive, line 1: a patient_id of the input: 'PT-0107'" in found
    assert "download.zip: export/PT-0107.txt, line 1: a date of the input: '01.12.2011'" in found  # compressed


def test_an_xlsx_copy_of_the_extract_is_searched_with_its_dates(site, data):
    path = site / "report" / "table.xlsx"
    extract_frame().to_excel(path, index=False)
    found = leaks(check_site(site, data))
    # The ids are in the workbook's zipped XML; the dates are day counts that only the cells turn back into dates.
    assert "report/table.xlsx: sheet 'Sheet1', line 2: a date of the input: '2010-03-05'" in found
    assert "report/table.xlsx: sheet 'Sheet1', line 3: a date of the input: '2011-07-04'" in found
    assert any("'PT-0042'" in m for m in found) and any("'PT-0107'" in m for m in found)


def test_a_parquet_copy_of_the_extract_is_searched_with_its_dates(site, data):
    frame = extract_frame()
    frame["hct_date"] = frame["hct_date"].dt.date  # a Parquet date32 column
    frame.to_parquet(site / "site_libs" / "cache.parquet", index=False, compression="snappy")
    found = leaks(check_site(site, data))
    assert [m for m in found if "Parquet cells" in m] == [
        "site_libs/cache.parquet: Parquet cells, line 2: a date of the input: '2010-03-05'",
        "site_libs/cache.parquet: Parquet cells, line 3: a date of the input: '2011-07-04'",
        "site_libs/cache.parquet: Parquet cells, line 2: a patient_id of the input: 'PT-0042'",
        "site_libs/cache.parquet: Parquet cells, line 3: a patient_id of the input: 'PT-0107'"]


@pytest.mark.parametrize("chunk", ["tEXt", "zTXt", "iTXt"])
def test_png_text_metadata_is_searched(site, data, chunk):
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    if chunk == "iTXt":
        info.add_itxt("Description", "Kaplan-Meier of PT-0311", zip=True)
    else:
        info.add_text("Description", "Kaplan-Meier of PT-0311", zip=chunk == "zTXt")
    Image.new("RGB", (4, 4), "white").save(site / "report" / "cohort_files" / "figure-html" / "km.png", pnginfo=info)
    found = leaks(check_site(site, data))
    assert [m for m in found if "PNG metadata" in m] == [
        "report/cohort_files/figure-html/km.png: PNG metadata, line 1: a patient_id of the input: 'PT-0311'"]


def test_pdf_text_and_metadata_are_searched(site, data):
    (site / "report" / "cohort.pdf").write_bytes(pdf_bytes("Table 2", "Patient PT-0107 relapsed",
                                                           info={"Subject": "cohort 2011-12-01"}))
    found = leaks(check_site(site, data))
    assert "report/cohort.pdf: PDF metadata, line 1: a date of the input: '2011-12-01'" in found
    assert "report/cohort.pdf: PDF page 1, line 2: a patient_id of the input: 'PT-0107'" in found  # compressed
    assert len(found) == 3  # and the metadata's uncompressed bytes


def test_a_pdf_that_cannot_be_read_is_reported_not_skipped(site, data):
    (site / "report" / "cohort.pdf").write_bytes(b"%PDF-1.7\n% truncated by a failed upload")
    found = leaks(check_site(site, data))
    assert len(found) == 1 and found[0].startswith("report/cohort.pdf: cannot be read as a PDF")
    assert found[0].endswith("it could not be searched for patient-level data")


@pytest.mark.parametrize("written", [
    "&#80;&#84;-0042",  # decimal character references
    "&#x50;&#x54;&#x2d;&#x30;&#x30;&#x34;&#x32;",  # hexadecimal
    "&amp;#80;T-0042",  # escaped twice
    "%50%54-0042",  # URL-encoded
    "P<b>T-00</b>42",  # split by a tag
    "P<span class=\"x\">T</span>-0042",
    "pt-0042",  # another case
    "ＰＴ－００４２",  # full-width forms
    "PT-\u200b0042",  # a zero-width space inside
    "\\u0050T-0042",  # a JavaScript escape
])
def test_an_encoded_id_is_found(site, data, written):
    cohort = site / "report" / "cohort.html"
    cohort.write_text(cohort.read_text().replace("Follow-up 2011 to 2013.", f"Patient {written} relapsed."))
    assert leaks(check_site(site, data)) == ["report/cohort.html: line 11: a patient_id of the input: 'PT-0042'"]


def test_an_encoded_id_in_an_svg_figure_is_found(site, data):
    svg = site / "report" / "cohort_files" / "figure-html" / "fig-os-output-1.svg"
    svg.write_text(svg.read_text().replace("</svg>", "<text>&#80;T-0311</text>\n</svg>"))
    assert leaks(check_site(site, data)) == [
        "report/cohort_files/figure-html/fig-os-output-1.svg: line 1: a patient_id of the input: 'PT-0311'"]


@pytest.mark.parametrize("written", [
    "30.06.2012", "30/06/2012", "30-06-2012", "06/30/2012", "2012/06/30", "2012.06.30", "20120630",
    "30 June 2012", "June 30, 2012", "30-Jun-2012", "2012年6月30日", "2012-06-30T09:30", "3&#48;.06.2012",
])
def test_a_date_in_any_written_form_is_found(site, data, written):
    cohort = site / "report" / "cohort.html"
    cohort.write_text(cohort.read_text().replace("Follow-up 2011 to 2013.", f"Last seen {written}."))
    found = leaks(check_site(site, data))
    assert len(found) == 1 and found[0].startswith("report/cohort.html: line 11: a date of the input: ")


def test_other_dates_and_numbers_are_not_reported():
    ids = Identifiers(frozenset({"PT-0042"}), frozenset({"2012-06-30"}))
    text = ("01.07.2012 31/06/2012 30.06.20121 130.06.2012 2012-06-300 v3.30.06.2012 x20120630 "
            "sha 0a20120630f 2012.06.30.5 June 31, 2012 PT-00421 XPT-0042X\n")
    assert find_leaks(text, ids) == []


def test_an_id_or_date_in_a_file_name_is_found(site, data):
    (site / "report" / "PT-0042.html").write_text("nothing here")
    (site / "report" / "export_20100305.txt").write_text("nothing here")
    assert leaks(check_site(site, data)) == [
        "report/PT-0042.html: the file name holds a patient_id of the input: 'PT-0042'",
        "report/export_20100305.txt: the file name holds a date of the input: '20100305'"]


def test_a_data_uri_is_opened(site, data):
    import base64

    payload = base64.b64encode(b"patient_id\nPT-0107\n").decode()
    index = site / "index.html"
    index.write_text(index.read_text().replace("<main>", f'<main><a href="data:text/csv;base64,{payload}">x</a>'))
    assert leaks(check_site(site, data)) == [
        "index.html: data: URI on line 11, line 2: a patient_id of the input: 'PT-0107'"]


def test_links_and_special_files_are_reported_and_never_followed(site, data, tmp_path):
    import os

    private = tmp_path / "data" / "private"
    private.mkdir(parents=True)
    (private / "planted.csv").write_text("patient_id\nPT-0042\n")
    (site / "report" / "attachment").symlink_to(Path("..") / ".." / "data" / "private" / "planted.csv")
    (site / "report" / "attachment.html").symlink_to(private / "planted.csv")
    os.mkfifo(site / "report" / "pipe.html")  # opening it to read would wait forever
    found = messages(check_site(site, data))
    assert found == [
        "report/attachment: a symbolic link to ../../data/private/planted.csv: a site holds only files and "
        "folders (publishing refuses it; it was not followed)",
        f"report/attachment.html: a symbolic link to {private / 'planted.csv'}: a site holds only files and "
        "folders (publishing refuses it; it was not followed)",
        "report/pipe.html: a named pipe: a site holds only files and folders (publishing refuses it; it was "
        "not followed)"]
    assert main(["check-site", str(site), "--data", str(data)]) == 1


def test_texts_of_stops_at_a_decompression_bomb():
    import gzip

    from analysis.build.site_text import texts_of

    extraction = texts_of(gzip.compress(b"0" * 4096), limit=1024)
    assert extraction.unreadable == ["gzip content: unpacks to more than 1024 bytes"]


def test_jpeg_exif_and_comments_are_searched(site, data):
    from PIL import Image

    image = Image.new("RGB", (4, 4), "white")
    exif = Image.Exif()
    exif[0x010E] = "scan of PT-0042"  # ImageDescription
    image.save(site / "report" / "photo.jpg", exif=exif, comment=b"taken 2012-06-30")
    found = [m for m in leaks(check_site(site, data)) if "JPEG metadata" in m]  # not only the raw bytes
    assert any(m.endswith("a date of the input: '2012-06-30'") for m in found)
    assert any(m.endswith("a patient_id of the input: 'PT-0042'") for m in found)
