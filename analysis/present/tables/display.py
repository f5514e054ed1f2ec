"""`ReportTable`: a table of the report, shown the way the page's output format needs.

A chapter's cell ends with a table builder's result (``estimates_table(...)``); Jupyter (and so
Quarto) asks it for its representations.  For the website it gives the great_tables HTML, exactly
as great_tables shows itself; when Quarto executes the page for Typst (the PDF) it gives a raw
Typst block of Markdown holding a native Typst table, which Quarto passes to Typst untouched.
Both come from the same `TableModel`.
"""
from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

import pandas as pd

from analysis.present.source_data import record_table
from analysis.present.target import renders_typst
from analysis.present.tables.model import TableModel
from analysis.present.tables.render_markdown import to_markdown
from analysis.present.tables.render_typst import to_typst, typst_block

__all__ = ["ReportTable", "markdown_or_typst", "report_table"]

if TYPE_CHECKING:
    from great_tables import GT


def report_table(title: str, model: TableModel, frame: pd.DataFrame | None = None) -> ReportTable:
    """The table of `model`, its cells recorded as the page's source data under `title` (as shown:
    the small-cell rule already applied); `frame` records other columns than the model's."""
    record_table(title, model.frame() if frame is None else frame)
    return ReportTable(model)


def markdown_or_typst(model: TableModel) -> str:
    """A small table as Markdown text a page prints (``output: asis``): a pipe table for the
    website, a raw Typst block for the PDF."""
    return typst_block(to_typst(model)) if renders_typst() else to_markdown(model)


class ReportTable:
    """A table model with its two renderings; displays itself for the page's output format."""

    def __init__(self, model: TableModel):
        self.model = model

    @cached_property
    def gt(self) -> GT:
        """The great_tables table (the website's rendering); great_tables is imported here, by the
        first table a page shows for the website (a page executed for Typst never imports it)."""
        from analysis.present.tables.render_html import to_gt

        return to_gt(self.model)

    def as_raw_html(self, **options) -> str:
        """The table's HTML, as `great_tables.GT.as_raw_html`."""
        return self.gt.as_raw_html(**options)

    def as_typst(self) -> str:
        """The table's Typst source."""
        return to_typst(self.model)

    def _repr_mimebundle_(self, include=None, exclude=None):
        if renders_typst():
            # Quarto prefers text/markdown for Typst output and keeps a raw block as it is.
            return {"text/markdown": typst_block(self.as_typst())}
        return {"text/html": self.gt._repr_html_()}

    def __repr__(self) -> str:
        return f"<ReportTable: {len(self.model.rows)} rows x {len(self.model.columns)} columns>"
