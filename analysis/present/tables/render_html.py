"""A `TableModel` drawn with great_tables, for the website.

The table is a plain HTML ``<table>`` whose meaning never depends on CSS: levels are indented with
em spaces (not padding), bold rows are bold text, notes are footnotes and source notes.  Font
weights are set explicitly ("normal" where great_tables writes "initial", which a browser reads as
normal but Quarto's Typst CSS filter rejects with a warning).
"""
from __future__ import annotations

from great_tables import GT, loc, style

from analysis.present.tables.model import TableModel

__all__ = ["to_gt"]

_BOLD = style.text(weight="bold")


def to_gt(model: TableModel) -> GT:
    """The great_tables `GT` of a table model."""
    stub = model.stub
    label_key = stub.key if stub is not None else model.keys[0]
    frame = model.frame()
    group_key = None
    if model.grouped:
        group_key = "\x00group"  # a name no column of the report uses
        frame[group_key] = [r.group or "" for r in model.rows]

    gt = GT(frame, rowname_col=stub.key if stub is not None else None, groupname_col=group_key)
    gt = gt.tab_options(heading_title_font_weight="normal", heading_subtitle_font_weight="normal",
                        stub_font_weight="normal", stub_row_group_font_weight="normal",
                        row_group_font_weight="normal")
    if stub is not None:
        gt = gt.tab_stubhead(stub.label)
    gt = gt.cols_label(**{c.key: c.label for c in model.columns})
    for spanner in model.spanners:
        gt = gt.tab_spanner(spanner.label, columns=list(spanner.columns), id=spanner.label)
    if model.footnotes:
        gt = gt.opt_footnote_marks("standard")
    for column in model.columns:
        gt = gt.cols_align(column.align, columns=column.key)

    headings = [i for i, r in enumerate(model.rows) if r.kind == "heading"]
    totals = [i for i, r in enumerate(model.rows) if r.kind == "total"]
    bold_labels = headings + totals
    if bold_labels:
        where = loc.stub(rows=bold_labels) if stub is not None else loc.body(columns=label_key, rows=bold_labels)
        gt = gt.tab_style(_BOLD, where)
    if totals:
        gt = gt.tab_style(_BOLD, loc.body(rows=totals))
    monospace = {(i, key) for i, r in enumerate(model.rows) for key in r.monospace}
    for i, key in sorted(monospace):
        gt = gt.tab_style(style.text(font="monospace"), loc.body(columns=key, rows=[i]))
    if model.title or model.subtitle:
        gt = gt.tab_header(title=model.title or "", subtitle=model.subtitle)

    for note in model.footnotes:
        for label in note.spanners:
            gt = gt.tab_footnote(note.text, locations=loc.spanner_labels(ids=[label]))
        if note.columns:
            gt = gt.tab_footnote(note.text, locations=loc.column_labels(columns=list(note.columns)))
        for row, key in note.cells:
            gt = gt.tab_footnote(note.text, locations=loc.body(columns=key, rows=[row]), placement="right")
    for text in model.notes:
        gt = gt.tab_source_note(text)
    return gt
