"""Every table and figure of the report for one study, built in this process (a helper of the tests).

`report_outputs` runs the code cells of every chapter in order, in one namespace per page, as the
page's kernel would (after `report/_setup.qmd`'s imports), but in the test's own process, so the
tests get the objects themselves: each table's `ReportTable` (its model, HTML and Typst), the
Markdown a page prints (the Methods page's tables) and each figure.  Quarto's Typst execution is
simulated (`QUARTO_EXECUTE_INFO` names a Typst execution-information file, as
`python -m analysis.build execute --to typst` writes it) and matplotlib has the Typst format's
figure settings of `_quarto.yml`.  Cells that the study's data hide are left out, as on the page.

Imported by the tests of this folder as a plain module (pytest puts their folder on sys.path).
"""
from __future__ import annotations

import ast
import contextlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import matplotlib as mpl
import nbformat

from analysis import pages
from analysis.build.qmd import INLINE_TAG, cell_options, chapters, drop_hidden_content, figure_options, qmd_to_notebook
from analysis.build.sections import study_section_flags
from analysis.present.target import EXECUTE_INFO_VARIABLE, TYPST, execute_info


@dataclass
class Output:
    page: str
    label: str  # the cell's label (tbl-..., fig-...), "" for none
    caption: str
    value: object  # a ReportTable, a Figure, or the Markdown text a cell printed


def _run(source: str, namespace: dict):
    """Run a cell; return the value of its last expression (what Jupyter displays), else None."""
    tree = ast.parse(source)
    last = tree.body[-1] if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    body = ast.Module(body=tree.body[:-1] if last else tree.body, type_ignores=[])
    exec(compile(body, "<cell>", "exec"), namespace)
    return eval(compile(ast.Expression(last.value), "<cell>", "eval"), namespace) if last else None


def report_outputs(tmp_path: Path, monkeypatch, study: Path | None = None) -> list[Output]:
    """Every shown table, printed table and figure of every chapter, for `study` (default study.yml)."""
    if study is not None:
        monkeypatch.setenv("REPORT_STUDY", str(study))
    info = tmp_path / "execute-info.json"
    options = figure_options(TYPST)
    outputs: list[Output] = []
    pages.study.cache_clear()
    pages.cohort.cache_clear()
    sections = study_section_flags()
    try:
        for page in chapters():
            notebook = qmd_to_notebook(page)
            if not any(c.cell_type == "code" for c in notebook.cells):
                continue
            info.write_text(json.dumps(execute_info(TYPST, page, options)), encoding="utf-8")
            monkeypatch.setenv(EXECUTE_INFO_VARIABLE, str(info))
            monkeypatch.chdir(page.parent)
            namespace: dict = {}
            rc = {"figure.figsize": (options["fig-width"], options["fig-height"]), "figure.dpi": options["fig-dpi"],
                  "savefig.dpi": options["fig-dpi"]}
            with mpl.rc_context(rc):
                for cell in notebook.cells:
                    if cell.cell_type != "code" or INLINE_TAG in cell.metadata.get("tags", []):
                        continue
                    printed = io.StringIO()
                    with contextlib.redirect_stdout(printed):
                        value = _run(cell.source, namespace)
                    shown = []
                    if value is not None:
                        shown.append(nbformat.v4.new_output("display_data", data={"text/plain": ""},
                                                            metadata={"value": id(value)}))
                        namespace.setdefault("__values__", {})[id(value)] = value
                    if cell_options(cell.source).get("output") == "asis" and printed.getvalue():
                        shown.append(nbformat.v4.new_output("stream", name="stdout", text=printed.getvalue()))
                    cell.outputs = shown
            values = namespace.get("__values__", {})
            drop_hidden_content(notebook, sections)
            for cell in notebook.cells:
                if cell.cell_type != "code":
                    continue
                opts = cell_options(cell.source)
                label = str(opts.get("label", ""))
                caption = str(opts.get("tbl-cap") or opts.get("fig-cap") or "")
                for output in cell.get("outputs", []):
                    value = values[output.metadata["value"]] if output.output_type == "display_data" else output.text
                    outputs.append(Output(page.stem, label, caption, value))
    finally:
        pages.study.cache_clear()
        pages.cohort.cache_clear()
        pages.use_display(None)  # the pages set the study's small-cell rule: back to off
    return outputs
