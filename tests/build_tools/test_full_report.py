"""The whole report as one Typst document: every chapter once, in order, labels unique, a title page that compiles."""
import io
import re

import pytest
import yaml
from pypdf import PdfReader

from analysis.analyses.provenance import Provenance
from analysis.build.full_report import FullReportError, chapters, full_report_source, section_id, title_page
from analysis.build.qmd import FRONT_MATTER_RE
from analysis.data.paths import PROJECT_ROOT

SOURCE = full_report_source(PROJECT_ROOT)


def test_every_chapter_once_in_the_order_of_the_site_and_nothing_else():
    headings = re.findall(r"^# (.+) \{#(sec-[\w-]+)\}$", SOURCE, re.M)
    pages = chapters()
    assert [page.relative_to(PROJECT_ROOT).as_posix() for page in pages][:2] == ["index.qmd", "report/cohort.qmd"]
    assert "report/versions.qmd" not in {p.relative_to(PROJECT_ROOT).as_posix() for p in pages}
    assert [anchor for _, anchor in headings] == [section_id(page) for page in pages]
    assert headings[0] == ("Outcomes after allogeneic haematopoietic cell transplantation", "sec-overview")
    assert "{{< include" not in SOURCE  # inlined, so Quarto's include paths do not matter
    assert SOURCE.count("from analysis.pages import (") == 1  # one kernel runs the shared setup once
    assert "print(source_data_markdown())" not in SOURCE  # the CSV downloads belong to the web pages


def test_links_between_chapters_stay_inside_the_pdf():
    assert "](#sec-cohort)" in SOURCE and "](report/cohort.qmd)" not in SOURCE
    assert ".qmd)" not in SOURCE


def test_figure_and_table_labels_are_unique_through_the_report():
    labels = re.findall(r"^#\|\s*label:\s*(\S+)", SOURCE, re.M)
    assert len(labels) == len(set(labels)) and len(labels) > 20


def test_the_document_renders_to_typst_only_with_its_title_page():
    front = yaml.safe_load(FRONT_MATTER_RE.match(SOURCE).group(1))
    assert front["format"] == {"typst": {"toc": False, "include-before-body": "_full-report-title.typ"}}
    config = yaml.safe_load((PROJECT_ROOT / "_quarto.yml").read_text())
    assert "report/full-report.qmd" in config["project"]["render"]
    assert "_provenance.typ" in config["format"]["typst"]["include-in-header"]  # the provenance line on every page


def test_a_label_used_twice_is_refused(tmp_path):
    (tmp_path / "report").mkdir()
    (tmp_path / "_quarto.yml").write_text("project:\n  render:\n    - a.qmd\n    - report/b.qmd\n")
    cell = "```{python}\n#| label: fig-os\nx = 1\n```\n"
    (tmp_path / "a.qmd").write_text("---\ntitle: A\n---\n" + cell)
    (tmp_path / "report" / "b.qmd").write_text("---\ntitle: B\n---\n" + cell)
    with pytest.raises(FullReportError, match="report/b.qmd and a.qmd both use the label fig-os"):
        full_report_source(tmp_path)


def test_the_title_page_compiles_with_typst(tmp_path):
    typst = pytest.importorskip("typst")
    record = Provenance(version="0.2.0", package_version="0.2.0", release=True, commit="0123456789ab",
                        date="2031-05-01 14:03 UTC", data_source="x.csv", data_sha256="ab" * 32, synthetic=True)
    page = title_page(record, 'Allo-HCT "outcomes" report', "Outcomes after allogeneic HCT")
    header = '#set page(header: align(right, text(size: 7.5pt, "Report 0.2.0 · built 2031-05-01 14:03 UTC")))\n'
    document = tmp_path / "full.typ"
    document.write_text(header + page + "= Overview\n\nText.\n\n= Cohort\n\n#figure([x], caption: [A figure])\n")
    pdf = typst.compile(str(document))
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    for expected in ('Allo-HCT "outcomes" report', "0.2.0", "2031-05-01 14:03 UTC", "ab" * 32, "synthetic", "Contents",
                     "Cohort"):
        assert expected in text.replace("\n", " "), expected


def test_the_generated_files_are_ignored_by_git(tmp_path):
    ignored = (PROJECT_ROOT / ".gitignore").read_text().splitlines()
    assert "/report/full-report.qmd" in ignored and "/report/_full-report-title.typ" in ignored
