"""The PDF's tables: native Typst, compiled with the pinned Typst compiler and read back from the PDF.

Each table is compiled as Quarto places it (a breakable table float with its caption, on A4 with the
report's margins and on US Letter with 1 in margins, 11 pt justified text) and the PDF is read with
pdfplumber: its text holds every cell, label and note as written (no HTML entity), value cells stay
on one line, no two glyphs are drawn over each other, nothing is set below 7 pt, and a table longer
than a page repeats its header on the next.
"""
import io
import re

import pdfplumber
import pytest

from report_outputs import report_outputs
from typst_pdf import (PAPERS, check_figures, compile_pdf, contains_in_order, document, overlaps, page_document,
                       pdf_pages, raw_typst, table_float, words)

from analysis.build.qmd import execute_qmd
from analysis.data.paths import PROJECT_ROOT
from analysis.present.tables.display import ReportTable
from analysis.present.tables.model import Column, Footnote, Row, Spanner, TableModel
from analysis.present.tables.render_typst import MIN_FONT_PT, to_typst, typst_block, typst_string

ENTITIES = ("&lt;", "&gt;", "&amp;", "&#x", "&#")


def _compile(tmp_path, bodies, paper="a4"):
    return pdf_pages(compile_pdf(document("\n#pagebreak()\n".join(bodies), paper), tmp_path))


def _line_texts(pages) -> list[str]:
    return [line.replace("\u00a0", " ") for p in pages for line in p.text.splitlines()]


def check_tables_in_pdf(pages, models: list[TableModel]) -> None:
    """What every table of the PDF must hold (see the module's docstring)."""
    text = "\n".join(p.text for p in pages)
    for entity in ENTITIES:
        assert entity not in text, f"HTML entity {entity} in the PDF"
    lines = _line_texts(pages)
    stream = words(pages)
    for model in models:
        columns = ([model.stub] if model.stub is not None else []) + list(model.columns)
        for row in model.rows:
            texts = ([row.label] if model.stub is not None else []) + list(row.cells)
            for column, cell in zip(columns, texts):
                if not cell.strip():
                    continue
                if column.wraps or column is columns[0]:
                    assert contains_in_order(stream, cell.split()), f"{cell!r} is not in the PDF"
                else:  # a value never wraps: it is whole on one line
                    assert any(cell in line for line in lines), f"{cell!r} is not on one line of the PDF"
        for column in columns:
            assert contains_in_order(stream, column.label.split()), f"column label {column.label!r} missing"
        for mark, note in model.marks().notes:
            assert contains_in_order(stream, note.split()), f"footnote {note!r} missing"
        for note in model.notes:
            assert contains_in_order(stream, note.split()), f"note {note!r} missing"
    for number, page in enumerate(pages, start=1):
        drawn_over = overlaps(page.chars)
        assert not drawn_over, f"page {number}: glyphs drawn over each other: {drawn_over[:5]}"
        sizes = [c["size"] for c in page.chars if c["text"].strip()]
        # Footnote marks are superscripts of the table's text, smaller by design; body text is not.
        body = [s for s in sizes if s >= 5.5]
        assert not body or min(body) >= MIN_FONT_PT - 0.01, f"page {number}: text set at {min(body):.2f} pt"


# --------------------------------------------------------------------------- small tables by hand

SPECIAL = "<0.001 # $ * _ @ [x] \\ `code` \"q\" Gray's test & =="


def test_every_character_is_itself_never_an_html_entity(tmp_path):
    """Issue 14: "&lt;0.001" and "Fisher&#x27;s exact test" were printed in the PDF."""
    model = TableModel(
        columns=(Column("v", "p <0.05 & [#]"), Column("w", "Fisher's exact test")),
        rows=(Row("$label_with_* and @ref", (SPECIAL, "<50")),),
        stub=Column("label", "Covariate <x>", align="left", wraps=True),
        footnotes=(Footnote("Gray's test; p < 0.05 & 'quotes'.", columns=("v",)),),
        notes=("Notes keep #, $, <, @, [, ], \\ and backticks `x`.",),
    )
    source = to_typst(model)
    assert "&lt;" not in source and "&#" not in source
    pages = _compile(tmp_path, [table_float(source, "Special characters <&>")])
    text = "\n".join(p.text for p in pages)
    for expected in (SPECIAL, "<50", "Fisher's exact test", "Gray's test; p < 0.05 & 'quotes'.",
                     "$label_with_* and @ref", "Special characters <&>", "Notes keep #, $, <, @, [, ], \\ and"):
        assert expected in text.replace("\u00a0", " ")
    check_tables_in_pdf(pages, [model])


def test_typst_strings_escape_only_what_a_string_literal_needs():
    assert typst_string('a"b\\c\nd#$') == '"a\\"b\\\\c\\nd#$"'
    block = typst_block("let x = \"```\"")
    assert block.startswith("````{=typst}\n") and block.endswith("\n````\n")  # fenced longer than the source's


def _wide_model(models: int = 6) -> TableModel:
    """Six models side by side, as the multivariable models table."""
    names = [f"Model {i} (Fine-Gray)" for i in range(models)]
    columns, spanners, footnotes = [], [], []
    for i, name in enumerate(names):
        columns += [Column(f"hr{i}", "HR (95% CI)"), Column(f"p{i}", "p")]
        spanners.append(Spanner(name, (f"hr{i}", f"p{i}")))
        footnotes.append(Footnote(f"n = 59, events = {40 + i}. Model {i}.", spanners=(name,)))
    levels = [("Disease status at HCT", None), ("CR", "ref"), ("PR", 1), ("NR", 2), ("Graft source", None),
              ("CB", "ref"), ("PB", 3), ("BM", 4), ("Age at HCT (per year)", 5)]
    rows = []
    for label, kind in levels:
        if kind is None:
            rows.append(Row(label, ("",) * len(columns), kind="heading"))
            continue
        cells = []
        for i in range(models):
            cells += ["1 (reference)", ""] if kind == "ref" else [f"{1 + kind / 10:.2f} ({0.1 * i + 0.5:.2f}-1{i}.{kind}2)",
                                                                f"0.0{kind}{i}"]
        rows.append(Row(label, tuple(cells), indent=0 if label.startswith("Age") else 1))
    return TableModel(columns=tuple(columns), rows=tuple(rows), stub=Column("label", "Covariate", align="left", wraps=True),
                      spanners=tuple(spanners), footnotes=tuple(footnotes), notes=("\u2014: not in this model.",))


@pytest.mark.parametrize("paper", list(PAPERS))
def test_a_table_wider_than_the_page_is_split_by_spanner_never_overprinted(tmp_path, paper):
    """Issue 14: six models' HR, CI and p columns overprinted each other on A4 portrait."""
    model = _wide_model()
    pages = _compile(tmp_path, [table_float(to_typst(model), "Multivariable models")], paper)
    check_tables_in_pdf(pages, [model])
    text = pages[0].text
    # Split into parts, each repeating the row labels: the stub head appears once per part.
    assert text.count("Covariate") >= 2
    assert all(f"Model {i} (Fine-Gray)" in text for i in range(6))
    # Every value sits whole on one line, and at least 8 pt when split (not squeezed to fit).
    assert min(c["size"] for c in pages[0].chars if c["text"] == "(") >= 8


def test_a_long_table_breaks_across_pages_and_repeats_its_header(tmp_path):
    """Issue 14: a page was left almost blank before a table that did not fit on it."""
    rows = tuple(Row(f"Level {i}", (str(i), f"{i}.0% ({i}.0-{i + 1}.0)")) for i in range(140))
    model = TableModel(columns=(Column("n", "Patients"), Column("est", "Estimate (95% CI)")), rows=rows,
                       stub=Column("label", "Characteristic", align="left", wraps=True),
                       notes=("A note under the last row.",))
    pages = _compile(tmp_path, ["#lorem(300)\n\n" + table_float(to_typst(model), "A long table")])
    assert len(pages) >= 3
    assert "A long table" in pages[0].text  # the caption stays on the page the table starts on
    assert "Level 0" in pages[0].text  # the table starts right after the text, not on a new page
    for page in pages[1:]:
        assert "Characteristic Patients Estimate (95% CI)" in page.text.replace("\u00a0", " ")
    assert "A note under the last row." in pages[-1].text
    check_tables_in_pdf(pages, [model])


def test_labels_wrap_at_spaces_without_hyphens_and_values_never_wrap(tmp_path):
    """Issue 14: stubs were justified and hyphenated ("Disease sta-tus at HCT", "Myeloabla-tive (MAC)"),
    and estimates with their CI wrapped onto two lines."""
    label = "Myeloablative conditioning (MAC) with total body irradiation and antithymocyte globulin"
    model = TableModel(
        columns=tuple(Column(f"t{i}", f"{i + 1} years") for i in range(5)),
        rows=(Row(label, ("33.9% (22.1-46.2)",) * 5), Row("Disease status at HCT", ("100.0% (100.0-100.0)",) * 5)),
        stub=Column("label", "Characteristic", align="left", wraps=True),
    )
    pages = _compile(tmp_path, [table_float(to_typst(model), "Wrapping")], "us-letter")
    lines = _line_texts(pages)
    assert not [line for line in lines if re.search(r"[A-Za-z]-$", line)], "a word was hyphenated"
    assert sum(line.count("33.9% (22.1-46.2)") for line in lines) == 5
    assert sum(line.count("100.0% (100.0-100.0)") for line in lines) == 5
    assert any(line.startswith("Myeloablative") for line in lines)
    check_tables_in_pdf(pages, [model])


# --------------------------------------------------------------------------- the report's tables


def _report_document(outputs) -> tuple[list[str], list[TableModel]]:
    bodies, models = [], []
    for output in outputs:
        if isinstance(output.value, ReportTable):
            bodies.append(table_float(output.value.as_typst(), output.caption or output.label))
            models.append(output.value.model)
        elif isinstance(output.value, str):
            bodies += raw_typst(output.value)
    return bodies, models


def check_report_tables(tmp_path, outputs) -> None:
    """Every table of a report, compiled in one document per paper size, as the PDF shows them."""
    bodies, models = _report_document(outputs)
    assert models, "the report has no table"
    assert len(bodies) > len(models), "the Methods page's tables are not raw Typst"
    for paper in PAPERS:
        check_tables_in_pdf(_compile(tmp_path, bodies, paper), models)


def test_every_table_of_the_synthetic_report_compiles_and_reads_back_whole(tmp_path, synthetic_outputs):
    check_report_tables(tmp_path, synthetic_outputs)


@pytest.mark.slow
def test_every_table_and_figure_of_a_report_without_optional_columns(tmp_path, minimal_study, monkeypatch):
    outputs = report_outputs(tmp_path, monkeypatch, minimal_study)
    check_report_tables(tmp_path, outputs)
    check_figures(outputs)


BMT_STUDY = PROJECT_ROOT / "studies" / "bmt.yml"


def test_every_table_and_figure_of_the_bmt_report(tmp_path, monkeypatch, bmt_extract):
    monkeypatch.setenv("REPORT_DATA", str(bmt_extract))
    outputs = report_outputs(tmp_path, monkeypatch, BMT_STUDY)
    check_report_tables(tmp_path, outputs)
    check_figures(outputs)


def test_the_checks_find_overprinted_glyphs_and_an_unreadable_cell(tmp_path):
    """The checks can fail: columns too narrow for their text overprint each other."""
    pages = _compile(tmp_path, ['#table(columns: (24pt, 24pt), stroke: none, [3.20 (1.27-8.06)], [0.013 0.026])'])
    assert overlaps(pages[0].chars)
    squeezed = TableModel(columns=(Column("hr", "HR"), Column("p", "p")), rows=(Row(None, ("3.20 (1.27-8.06)", "0.013")),))
    with pytest.raises(AssertionError, match="is not in the PDF|not on one line|drawn over"):
        check_tables_in_pdf(pages, [squeezed])


@pytest.mark.slow
@pytest.mark.parametrize("paper", list(PAPERS))
def test_a_whole_page_executed_for_typst_compiles(tmp_path, paper):
    """The models page as Quarto executes it for the PDF: its tables come out as raw Typst blocks of
    Markdown (nothing is HTML), and the page (prose, tables, figures) compiles with nothing drawn over."""
    notebook = execute_qmd(PROJECT_ROOT / "report" / "prognostic.qmd", to="typst")
    shown = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])
             if o.output_type in ("display_data", "execute_result")]
    assert not [o for o in shown if "text/html" in o.data]
    assert sum("text/markdown" in o.data for o in shown) == 2  # the univariable and multivariable tables
    pdf = compile_pdf(document(page_document(notebook, tmp_path), paper), tmp_path)
    pages = pdf_pages(pdf)
    text = "\n".join(p.text for p in pages)
    assert "Multivariable models" in text and "Table 2: Multivariable models" in text
    for entity in ENTITIES:
        assert entity not in text
    for number, page in enumerate(pages, start=1):
        assert not overlaps(page.chars), f"page {number}"
    with pdfplumber.open(io.BytesIO(pdf)) as document_:
        widths = [(image["x1"] - image["x0"]) / 72 for page in document_.pages for image in page.images]
    assert len(widths) == 2 and max(widths) <= PAPERS[paper]["text_width_in"] + 0.01


def test_the_small_cell_rule_reaches_the_pdf_as_the_web_page_shows_it(tmp_path):
    """The model holds the suppressed text: both renderers print "<5", neither the count."""
    from analysis.present.tables.comparison import ComparisonRow, comparison_table

    table = comparison_table([ComparisonRow("Patients with relapse", 12, 3, kind="count"),
                              ComparisonRow("Deaths", 40, 41, kind="count")], min_cell=5)
    assert table.model.rows[0].cells == ("12", "<5", "\u2014")
    assert "&lt;5" in table.as_raw_html()
    pages = _compile(tmp_path, [table_float(table.as_typst(), "Small cells")])
    text = pages[0].text
    assert "Patients with relapse 12 <5 \u2014" in text and "Counts from 1 to 4 are shown as <5" in text
    check_tables_in_pdf(pages, [table.model])
