"""Every chapter executes the way Quarto's Jupyter engine runs it, without error."""
import copy
import os
import re

import nbformat
import pytest

from analysis.data.paths import PROJECT_ROOT
from analysis import pages
from analysis.build import qmd
from analysis.build.qmd import (INLINE_TAG, cell_options, chapters, drop_hidden_content, execute_pages,
                          execute_qmd, html_figure_options, qmd_to_notebook, setup_cell)

PAGES = chapters()


def test_render_list_names_existing_pages():
    assert PAGES, "_quarto.yml renders no page"
    for page in PAGES:
        assert page.exists(), page


def test_split_keeps_cell_options_and_resolves_includes(tmp_path):
    (tmp_path / "_part.qmd").write_text("```{python}\nshared = 1\n```\n", encoding="utf-8")
    page = tmp_path / "page.qmd"
    page.write_text(
        "---\ntitle: T\n---\n{{< include _part.qmd >}}\n\nValue `{python} shared + 1`.\n\n"
        "```{python}\n#| label: fig-x\n#| fig-cap: \"X\"\nx = shared\n```\n",
        encoding="utf-8",
    )
    notebook = qmd_to_notebook(page)
    sources = [c.source for c in notebook.cells if c.cell_type == "code"]
    assert sources[0] == "shared = 1"
    assert "shared + 1" in sources[1]
    assert sources[2].startswith("#| label: fig-x\n#| fig-cap: \"X\"")


def test_a_failing_cell_fails_the_page(tmp_path):
    page = tmp_path / "broken.qmd"
    page.write_text("```{python}\nraise RuntimeError('boom')\n```\n", encoding="utf-8")
    with pytest.raises(Exception, match="boom"):
        execute_qmd(page)


def test_a_failing_inline_expression_fails_the_page(tmp_path):
    page = tmp_path / "broken_inline.qmd"
    page.write_text("Value `{python} undefined_name`.\n", encoding="utf-8")
    with pytest.raises(Exception, match="undefined_name"):
        execute_qmd(page)


def test_cells_run_in_the_pages_own_folder(tmp_path):
    page = tmp_path / "where.qmd"
    page.write_text("```{python}\nimport os\nassert os.getcwd() == %r\n```\n" % str(tmp_path), encoding="utf-8")
    execute_qmd(page)


@pytest.mark.skipif(os.name != "posix", reason="ZeroMQ's ipc transport is POSIX only")
def test_page_kernels_talk_over_files_not_tcp_ports(tmp_path):
    """A TCP port is chosen free, then bound by the kernel: a kernel started meanwhile by another
    process (the two test processes) took one in CI, and the page failed with "Kernel died before
    replying to kernel_info" (Address already in use).  The executor's kernels use ipc sockets."""
    page = tmp_path / "transport.qmd"
    page.write_text("```{python}\nfrom ipykernel.kernelapp import IPKernelApp\n"
                    "assert IPKernelApp.instance().transport == 'ipc', IPKernelApp.instance().transport\n```\n",
                    encoding="utf-8")
    execute_qmd(page)


def test_a_page_without_code_gets_no_kernel(tmp_path, monkeypatch):
    """Quarto renders such a page with its markdown engine."""
    page = tmp_path / "prose.qmd"
    page.write_text("---\ntitle: Prose\n---\n\nNo code here.\n", encoding="utf-8")

    def no_kernel(*args, **kwargs):
        raise AssertionError("a kernel was started")

    monkeypatch.setattr(qmd, "NotebookClient", no_kernel)
    notebook = execute_qmd(page)
    assert [c.cell_type for c in notebook.cells] == ["markdown"]


def test_figures_come_out_once_in_the_html_format_of_quarto_yml(tmp_path):
    """Quarto's setup cell sets the figure format (svg for our HTML); a report figure is drawn in
    that format only, not also as a PNG, and the setup cell is not part of the page."""
    assert html_figure_options()["fig-format"] == "svg"
    page = tmp_path / "figure.qmd"
    page.write_text(
        "```{python}\nfrom analysis.present.style import ReportFigure\nfig = ReportFigure()\n"
        "fig.add_subplot().plot([0, 1], [0, 1])\nfig\n```\n",
        encoding="utf-8",
    )
    notebook = execute_qmd(page)
    assert len(notebook.cells) == 1
    shown = [o for o in notebook.cells[0].outputs if o.output_type in ("execute_result", "display_data")]
    assert len(shown) == 1
    assert "image/svg+xml" in shown[0].data and "image/png" not in shown[0].data


def test_setup_cell_follows_the_project_options():
    source = setup_cell({"fig-width": 6.5, "fig-height": 4.5, "fig-format": "png", "fig-dpi": 300}).source
    assert "(6.5, 4.5)" in source and "set_matplotlib_formats('png')" in source and "= 300" in source


def test_pages_executed_two_at_a_time_come_back_in_order(tmp_path):
    pages = []
    for i in range(3):
        pages.append(tmp_path / f"p{i}.qmd")
        pages[-1].write_text(f"```{{python}}\nvalue = {i}\n```\n\nValue `{{python}} value`.\n", encoding="utf-8")
    done = list(execute_pages(pages, jobs=2))
    assert [page for page, _ in done] == pages
    for i, (_, notebook) in enumerate(done):
        inline = [c for c in notebook.cells if c.cell_type == "code" and INLINE_TAG in c.metadata.get("tags", [])]
        assert inline[0].outputs[0]["text"].strip() == f'["{i}"]'


def test_drop_hidden_content_by_hand():
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("Intro.\n\n::: {.content-visible when-meta=\"has-x\"}"),
        nbformat.v4.new_code_cell("#| label: fig-x\nplot_x()"),
        nbformat.v4.new_markdown_cell(":::\n\n::: {.callout-note}\nKept note.\n:::\n\n"
                                      "::: {.content-hidden when-meta=\"has-x\"}\nNo x here.\n:::\nEnd."),
    ])
    shown = copy.deepcopy(notebook)
    drop_hidden_content(shown, {"has-x": True})
    assert [c.source for c in shown.cells] == [
        "Intro.\n", "#| label: fig-x\nplot_x()", "\n::: {.callout-note}\nKept note.\n:::\n\nEnd."]
    drop_hidden_content(notebook, {})  # a missing key is false
    assert [c.source for c in notebook.cells] == [
        "Intro.\n", "\n::: {.callout-note}\nKept note.\n:::\n\nNo x here.\nEnd."]


def assert_every_labelled_float_has_content(notebook, sections):
    """Quarto captions and numbers a `fig-`/`tbl-` cell even when it shows nothing
    (quarto-dev/quarto-cli#7520): such a cell must draw, or sit in a block the study's data hide."""
    notebook = copy.deepcopy(notebook)
    drop_hidden_content(notebook, sections)
    for cell in notebook.cells:
        label = str(cell_options(cell.source).get("label", "")) if cell.cell_type == "code" else ""
        if label.startswith(("fig-", "tbl-")):
            shown = [o for o in cell.outputs if o.output_type in ("display_data", "execute_result")]
            assert shown, f"{label} shows nothing but would get a numbered caption"


def _names():
    return [p.relative_to(PROJECT_ROOT).as_posix() for p in PAGES]


@pytest.mark.parametrize("page", _names())
def test_chapter_executes(page, ankl_pages):
    """Every page of the reference study executes (once a session: `ankl_pages`) without an error output."""
    notebook = ankl_pages.notebooks[page]
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    assert_every_labelled_float_has_content(notebook, ankl_pages.flags)


def test_chapters_are_thin():
    """No function definitions or data wrangling in a page: they belong in the package.  The page's
    display (the small-cell rule) is set once in _setup.qmd, never passed by hand."""
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"^\s*(def|class)\s", text, re.M), page
        assert "pd.read_" not in text and "import pandas" not in text, page
        assert "min_cell" not in text, page


def test_setup_imports_the_pages_names_explicitly_and_each_is_used():
    """report/_setup.qmd imports analysis.pages by name (no star import); every name is used by a page."""
    setup = (PROJECT_ROOT / "report" / "_setup.qmd").read_text(encoding="utf-8")
    assert "import *" not in setup
    listed = setup.split("from analysis.pages import (", 1)[1].split(")", 1)[0]
    imported = set(re.findall(r"\w+", listed))
    assert imported == set(pages.__all__)
    # The pages as Quarto sees them: with their included parts (e.g. _source-data.qmd).
    used = "\n".join(qmd.resolve_includes(p.read_text(encoding="utf-8"), p.parent) for p in PAGES) + \
        setup.split("from analysis.pages import (", 1)[1].split(")", 1)[1]
    unused = sorted(name for name in imported if not re.search(rf"\b{name}\b", used))
    assert not unused, f"imported by _setup.qmd but used by no page: {unused}"


@pytest.mark.parametrize("page", _names())
def test_chapter_executes_without_optional_columns(page, minimal_pages):
    """An extract without engraftment, GVHD, CR after HCT, causes of death: the sections it cannot
    fill say so, and no empty figure or table is left."""
    assert_every_labelled_float_has_content(minimal_pages.notebooks[page], minimal_pages.flags)


@pytest.mark.parametrize("page", _names())
def test_chapter_executes_for_a_second_study(page, bmt_pages):
    """The same chapters serve another study (bmt) through its study.yml, without code changes."""
    notebook = bmt_pages.notebooks[page]
    assert_every_labelled_float_has_content(notebook, bmt_pages.flags)
    text = "".join(o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "ankl_cohort" not in text


@pytest.mark.parametrize("page", _names())
def test_chapter_executes_for_the_japanese_registry_example(page, example_jp_pages):
    """studies/example_jp.yml (CP932, Japanese column names and codes, small-cell rule 5) renders every page."""
    assert_every_labelled_float_has_content(example_jp_pages.notebooks[page], example_jp_pages.flags)


def _page_text(notebook) -> str:
    parts = []
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            parts.append(cell.source)
        for output in cell.get("outputs", []):
            parts.append(output.get("text", "") or "".join(str(v) for v in output.get("data", {}).values()))
    return "\n".join(parts)


# What each registry delivery must show besides executing: its own labels, its caveat, its audit trail.
DELIVERY_TEXTS = {
    "months_pairs": {"report/cohort.qmd": ["Phase at HCT", "Donor age, years", "BM+PB"],
                     "report/prognostic.qmd": ["Phase at HCT", "Donor age (per year)"]},
    "status_column": {"report/outcomes.qmd": ["records the first event only"]},
    "days_known_bad": {"report/cohort.qmd": ["chronic GVHD recorded after death (registry query open)",
                                             "Before validation the study file excluded 1 record"]},
}


@pytest.fixture(params=sorted(DELIVERY_TEXTS))
def delivery_pages(request):
    """A registry delivery's example study, its pages executed once a session (`tests/conftest.py`, shared
    with the reader tests)."""
    return request.param, request.getfixturevalue(f"{request.param}_pages")


def test_every_page_executes_for_each_registry_delivery(delivery_pages):
    """Issue 15: months with (time, indicator) pairs, one status column, days with a known-bad record:
    each goes from the registry's own file to every page through its study file alone."""
    shape, study_pages = delivery_pages
    flags = study_pages.flags
    for page, notebook in study_pages.notebooks.items():
        outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])]
        assert not [o for o in outputs if o.output_type == "error"], page
        assert_every_labelled_float_has_content(notebook, flags)
        shown = _page_text(notebook)
        for expected in DELIVERY_TEXTS[shape].get(page, []):
            assert expected in shown, (page, expected)
