"""One table model, two renderers: the model's checks and footnote marks, the output format a page is
executed for, and what a `ReportTable` gives Jupyter (and so Quarto) for each format."""
import html
import json
import re

import pandas as pd
import pytest
from great_tables import GT

from analysis.present.target import EXECUTE_INFO_VARIABLE, HTML, TYPST, execute_info, output_format, renders_typst
from analysis.present.tables.display import ReportTable, markdown_or_typst
from analysis.present.tables.model import Column, Footnote, Row, Spanner, TableModel, footnote_mark
from analysis.present.tables.render_markdown import to_markdown


def _model(**overrides) -> TableModel:
    fields = dict(
        columns=(Column("n", "N"), Column("t0", "1 year"), Column("t1", "5 years"), Column("p", "p-value")),
        rows=(Row("Overall survival", ("", "", "", "0.042"), kind="heading"),
              Row("CB", ("29", "48.3% (29.5-64.8)", "37.9% (20.9-54.9)", ""), indent=1),
              Row("PB/BM", ("30", "20.0% (8.1-35.6)", "16.7% (6.1-31.8)", ""), indent=1)),
        stub=Column("label", "Endpoint", align="left", wraps=True),
        spanners=(Spanner("Estimate, % (95% CI)", ("t0", "t1")),),
        footnotes=(Footnote("Log-rank test.", cells=((0, "p"),)),
                   Footnote("Kaplan-Meier estimate.", spanners=("Estimate, % (95% CI)",)),
                   Footnote("Patients analysed.", columns=("n",))),
        notes=("NA: beyond follow-up.",),
    )
    fields.update(overrides)
    return TableModel(**fields)


# --------------------------------------------------------------------------- the model


@pytest.mark.parametrize("overrides, message", [
    ({"rows": (Row("A", ("1", "2")),)}, "2 cells for 4 columns"),
    ({"rows": (Row(None, ("1", "2", "3", "4")),)}, "a label is given exactly when"),
    ({"spanners": (Spanner("S", ("n", "t1")),)}, "must cover adjacent known columns"),
    ({"footnotes": (Footnote("x", columns=("nope",)),)}, "marks unknown places"),
    ({"footnotes": (Footnote("x", cells=((7, "n"),)),)}, "marks unknown places"),
    ({"columns": (Column("n", "N"), Column("n", "N again")), "rows": (), "spanners": (), "footnotes": ()}, "unique"),
])
def test_a_malformed_model_is_refused_with_the_reason(overrides, message):
    with pytest.raises(ValueError, match=message):
        _model(**overrides)


def test_marks_follow_reading_order_spanners_then_labels_then_cells():
    marks = _model().marks()
    # Given in the order cell, spanner, column: numbered spanner (*), column label (†), body cell (‡).
    assert marks.notes == (("*", "Kaplan-Meier estimate."), ("\u2020", "Patients analysed."),
                           ("\u2021", "Log-rank test."))
    assert marks.spanners == {"Estimate, % (95% CI)": "*"}
    assert marks.columns == {"n": "\u2020"}
    assert marks.cells == {(0, "p"): "\u2021"}


def test_marks_cycle_after_four_and_a_repeated_text_keeps_its_mark():
    assert [footnote_mark(i) for i in range(1, 7)] == ["*", "\u2020", "\u2021", "\u00a7", "**", "\u2020\u2020"]
    model = _model(footnotes=(Footnote("Same.", columns=("t0",)), Footnote("Same.", columns=("t1",))))
    assert model.marks().columns == {"t0": "*", "t1": "*"}
    assert model.marks().notes == (("*", "Same."),)


def _html_marks(table: ReportTable) -> list[tuple[str, str]]:
    """(mark, text) of the footnotes under great_tables' HTML, in order."""
    notes = re.findall(r'<td class="gt_footnote"[^>]*>(.*?)</td>', table.as_raw_html(), re.S)
    found = []
    for note in notes:
        mark = re.search(r'<span class="gt_footnote_marks"[^>]*>(.*?)</span>', note)
        text = re.sub(r"<[^>]+>", "", note if mark is None else note[mark.end():]).strip()
        found.append((html.unescape(mark.group(1)) if mark else "", html.unescape(text)))
    return found


def test_great_tables_numbers_the_footnotes_as_the_model_does():
    table = ReportTable(_model())
    assert _html_marks(table) == list(table.model.marks().notes)


def test_every_table_of_the_report_has_the_same_marks_and_notes_in_html_as_in_its_model(report_tables):
    """The renderers never disagree: great_tables' marks (its own numbering) are the model's."""
    for _, table in report_tables:
        assert _html_marks(table) == list(table.model.marks().notes), table
        shown = table.as_raw_html()
        for note in table.model.notes:
            assert html.escape(note, quote=False) in shown or note in html.unescape(shown)


def test_html_tables_set_every_font_weight_quartos_typst_filter_understands(report_tables):
    """great_tables writes "font-weight: initial" for titles, stubs and row groups; Quarto's Typst CSS
    translation rejects it ("invalid font weight initial", 80+ warnings per render)."""
    for _, table in report_tables:
        assert "font-weight: initial" not in table.as_raw_html()
    assert "font-weight: initial" in GT(pd.DataFrame({"a": ["1"]})).as_raw_html()  # great_tables, unless told


def test_the_html_keeps_labels_indented_bold_rows_and_notes():
    shown = html.unescape(ReportTable(_model()).as_raw_html())
    assert "\u2003CB" in shown and "\u2003PB/BM" in shown  # levels indented with an em space
    assert "NA: beyond follow-up." in shown
    assert "font-weight: bold" in shown


# --------------------------------------------------------------------------- Markdown (the Methods page)


def test_markdown_tables_are_pipe_tables_with_code_spans_and_a_caption():
    model = TableModel(columns=(Column("item", "Item", align="left"), Column("value", "Value", align="left")),
                       rows=(Row(None, ("Input file", "a|b.csv"), monospace=("value",)), Row(None, ("Synthetic", "yes"))),
                       title="The build and its input.")
    assert to_markdown(model) == ("| Item | Value |\n|:--|:--|\n| Input file | `a\\|b.csv` |\n| Synthetic | yes |"
                                  "\n\n: The build and its input.\n")
    with pytest.raises(ValueError, match="no stub"):
        to_markdown(_model())


# --------------------------------------------------------------------------- the output format


def _info(tmp_path, monkeypatch, content) -> None:
    path = tmp_path / "info.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    monkeypatch.setenv(EXECUTE_INFO_VARIABLE, str(path))


def test_without_quartos_execution_information_the_page_is_html(monkeypatch):
    monkeypatch.delenv(EXECUTE_INFO_VARIABLE, raising=False)
    assert output_format() == HTML and not renders_typst()


def test_quartos_execution_information_names_the_format(tmp_path, monkeypatch):
    _info(tmp_path, monkeypatch, execute_info(TYPST, tmp_path / "page.qmd"))
    assert renders_typst()
    _info(tmp_path, monkeypatch, {"format": {"identifier": {"target-format": "typst+raw_typst"}}})
    assert output_format() == TYPST
    _info(tmp_path, monkeypatch, {"document-path": "x.qmd", "format": {"identifier": {"base-format": "html"}}})
    assert output_format() == HTML


@pytest.mark.parametrize("content, message", [("{not json", "cannot be read as JSON"),
                                              ({"format": {}}, "gives no base-format or target-format")])
def test_unreadable_execution_information_is_an_error_naming_the_file(tmp_path, monkeypatch, content, message):
    _info(tmp_path, monkeypatch, content)
    with pytest.raises(RuntimeError, match=message) as error:
        output_format()
    assert str(tmp_path / "info.json") in str(error.value)


def test_a_table_shows_great_tables_html_for_html_and_a_raw_typst_block_for_typst(tmp_path, monkeypatch):
    table = ReportTable(_model())
    monkeypatch.delenv(EXECUTE_INFO_VARIABLE, raising=False)
    bundle = table._repr_mimebundle_()
    assert list(bundle) == ["text/html"] and "<table" in bundle["text/html"]
    _info(tmp_path, monkeypatch, execute_info(TYPST, tmp_path / "page.qmd"))
    bundle = table._repr_mimebundle_()
    assert list(bundle) == ["text/markdown"]
    shown = bundle["text/markdown"]
    assert shown.startswith("```{=typst}\n") and shown.endswith("\n```\n")
    assert "<table" not in shown and "&lt;" not in shown


def test_a_printed_markdown_table_becomes_a_raw_typst_block_for_typst(tmp_path, monkeypatch):
    model = TableModel(columns=(Column("item", "Item", align="left"), Column("value", "Value", align="left")),
                       rows=(Row(None, ("Commit", "abc")),))
    monkeypatch.delenv(EXECUTE_INFO_VARIABLE, raising=False)
    assert markdown_or_typst(model).startswith("| Item | Value |")
    _info(tmp_path, monkeypatch, execute_info(TYPST, tmp_path / "page.qmd"))
    assert markdown_or_typst(model).startswith("```{=typst}\n")
