"""A `TableModel` as a Markdown pipe table (the Methods page's small two-column tables).

Pandoc reads it for the website; the model's title becomes the table's caption.  Monospace cells
are code spans.
"""
from __future__ import annotations

from analysis.present.tables.model import TableModel

__all__ = ["to_markdown"]

_ALIGN = {"left": ":--", "center": ":-:", "right": "--:"}


def to_markdown(model: TableModel) -> str:
    """The pipe table, followed by its caption (``: title``) when the model has a title."""
    if model.stub is not None or model.spanners or model.footnotes or model.notes:
        raise ValueError("a Markdown table has no stub, spanners, footnotes or notes")

    def cell(text: str, monospace: bool) -> str:
        return (f"`{text}`" if monospace else text).replace("|", "\\|")

    lines = ["| " + " | ".join(c.label for c in model.columns) + " |",
             "|" + "|".join(_ALIGN[c.align] for c in model.columns) + "|"]
    for row in model.rows:
        lines.append("| " + " | ".join(cell(text, key in row.monospace) for key, text in zip(model.keys, row.cells))
                     + " |")
    caption = f"\n\n: {model.title}\n" if model.title else "\n"
    return "\n".join(lines) + caption
