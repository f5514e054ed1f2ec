"""A `TableModel` as a native Typst table, for the PDF.

The Typst source is self-contained: every text is a Typst string literal (so ``#``, ``$``, ``*``,
``_``, ``<``, ``@``, brackets, backslashes and backticks are plain characters, and nothing is an
HTML entity), followed by a small layout program that Typst runs where the table is placed:

- it measures every cell in the document's own font and plans the column widths from content:
  values (counts, estimates with their CI, p-values) never wrap (their spaces are non-breaking, so
  "33.9% (22.1-46.2)" stays on one line); labels wrap at spaces, without hyphenation or
  justification; a table narrower than the text is set at its natural width, a wider one fills the
  text width with its label columns wrapped;
- it sets the table at 9 pt, or at the largest size down to 7 pt at which it fits the text width
  (A4 or US Letter alike: the width is the page's, read by Typst); a table that does not fit even
  at 7 pt is split into several tables under one another, each repeating the row labels and taking
  whole column spanners (e.g. the multivariable models, one group of models per table);
- the header (with its spanners and rules) repeats on every page the table runs onto, and the
  table breaks across pages (Quarto's table figure is made breakable by the project's Typst header,
  `_quarto.yml`);
- footnotes with their marks, then the notes, are printed beneath the table.

Quarto takes the table as a raw Typst block of Markdown (`typst_block`).
"""
from __future__ import annotations

import re

from analysis.present.tables.model import TableModel

__all__ = ["MIN_FONT_PT", "FONT_SIZES_PT", "to_typst", "typst_block", "typst_string"]

#: The sizes a table is tried at, largest first: never smaller than 7 pt.
FONT_SIZES_PT = (9.0, 8.5, 8.0, 7.5, 7.0)
MIN_FONT_PT = FONT_SIZES_PT[-1]


def typst_string(text: str) -> str:
    """`text` as a Typst string literal: every character stands for itself."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    escaped = escaped.replace("\t", "\\t")
    return f'"{escaped}"'


def _value(value) -> str:
    """A Python value (str, bool, int, None, list, dict) as Typst code."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return typst_string(value)
    if isinstance(value, (list, tuple)):
        inner = ", ".join(_value(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, dict):
        return "(" + ", ".join(f"{k}: {_value(v)}" for k, v in value.items()) + ")" if value else "(:)"
    raise TypeError(f"no Typst form for {value!r}")


def _spec(model: TableModel) -> dict:
    """The table as plain data for the Typst layout program."""
    marks = model.marks()
    columns = ([model.stub] if model.stub is not None else []) + list(model.columns)
    label_positions = [0]  # the row labels, repeated in every part of a split table
    spanned = {key: s.label for s in model.spanners for key in s.columns}
    blocks: list[list[int]] = []
    for position, column in enumerate(columns):
        if position in label_positions:
            continue
        spanner = spanned.get(column.key)
        if spanner is not None and blocks and spanned.get(columns[blocks[-1][-1]].key) == spanner:
            blocks[-1].append(position)
        else:
            blocks.append([position])
    rows = []
    for i, row in enumerate(model.rows):
        texts = ([row.label] if model.stub is not None else []) + list(row.cells)
        cells = []
        for position, (column, text) in enumerate(zip(columns, texts)):
            is_label = position == 0
            cells.append({
                "t": text,
                "m": marks.cells.get((i, column.key)),
                "b": row.kind == "total" or (row.kind == "heading" and is_label),
                "mono": column.key in row.monospace,
                "ind": row.indent if is_label else 0,
            })
        rows.append({"group": row.group, "cells": cells})
    return {
        "columns": [{"label": c.label, "mark": marks.columns.get(c.key),
                     "align": c.align, "wraps": c.wraps or i == 0} for i, c in enumerate(columns)],
        "spanners": [{"label": s.label, "mark": marks.spanners.get(s.label),
                      "first": columns.index(model.column(s.columns[0])),
                      "last": columns.index(model.column(s.columns[-1]))} for s in model.spanners],
        "blocks": blocks,
        "labels": label_positions,
        "rows": rows,
        "title": model.title,
        "subtitle": model.subtitle,
        "footnotes": [{"mark": mark, "text": text} for mark, text in marks.notes],
        "notes": list(model.notes),
    }


# The layout program.  Widths are measured once at REF and scaled: Typst sets text linearly in its size.
_PROGRAM = r"""
let REF = 10pt
let PAD = 0.45   // horizontal cell inset, in em
let LABEL-EM = 9  // the least width of a label column that holds longer labels, in em
let align-of(name) = if name == "left" { left } else if name == "right" { right } else { center }
let cell-body(c, col) = {
  let body = if c.mono { raw(c.t) } else if col.wraps { c.t } else { c.t.replace(" ", "\u{a0}") }
  let body = if c.b { strong(body) } else { body }
  let body = if c.m != none { [#body#super(c.m)] } else { body }
  if c.ind > 0 { pad(left: c.ind * 1em, body) } else { body }
}
let header-body(col) = if col.mark != none { [#col.label#super(col.mark)] } else { col.label }
let spanner-body(s) = if s.mark != none { [#s.label#super(s.mark)] } else { s.label }
let width-at-ref(body) = measure(text(size: REF, body)).width
let widest-word(text-string, bold: false) = calc.max(0pt, ..text-string.split(" ").map(w => width-at-ref(if bold { strong(w) } else { w })))
// Natural and least widths of every column at REF (cell insets included).
let column-widths(spec) = spec.columns.enumerate().map(((j, col)) => {
  let natural = width-at-ref(header-body(col))
  let least = widest-word(col.label) + (if col.mark != none { width-at-ref(super(col.mark)) } else { 0pt })
  for row in spec.rows {
    let c = row.cells.at(j)
    let w = width-at-ref(cell-body(c, col))
    natural = calc.max(natural, w)
    if col.wraps and not c.mono {
      let extra = c.ind * REF + (if c.m != none { width-at-ref(super(c.m)) } else { 0pt })
      least = calc.max(least, widest-word(c.t, bold: c.b) + extra)
    } else {
      least = calc.max(least, w)
    }
  }
  // A label column keeps room for a few words a line: wrapping it word by word reads badly.
  if col.wraps { least = calc.max(least, calc.min(natural, LABEL-EM * REF)) }
  (natural: natural + 2 * PAD * REF, least: least + 2 * PAD * REF)
})
// Widths (at `size`) of the columns `keep`, or none when they cannot fit `avail`.
let plan(spec, measured, keep, size, avail) = {
  let scale = size / REF
  let natural = keep.map(j => measured.at(j).natural * scale)
  let least = keep.map(j => measured.at(j).least * scale)
  for s in spec.spanners {
    let inside = keep.enumerate().filter(((p, j)) => j >= s.first and j <= s.last).map(((p, j)) => p)
    if inside.len() == 0 { continue }
    let need = (width-at-ref(spanner-body(s)) + 2 * PAD * REF) * scale
    let need-least = (widest-word(s.label) + 2 * PAD * REF) * scale
    let have = inside.map(p => natural.at(p)).sum()
    if have < need { for p in inside { natural.at(p) += (need - have) / inside.len() } }
    let have-least = inside.map(p => least.at(p)).sum()
    if have-least < need-least { for p in inside { least.at(p) += (need-least - have-least) / inside.len() } }
  }
  let total = natural.sum()
  let total-least = least.sum()
  if total <= avail { return natural }
  if total-least > avail { return none }
  let share = (avail - total-least) / (total - total-least)
  natural.zip(least).map(((n, l)) => l + (n - l) * share)
}
let draw(spec, keep, size, widths) = {
  set text(size: size, hyphenate: false)
  set par(justify: false)
  let pos-of(j) = keep.position(k => k == j)
  let spanners = spec.spanners.filter(s => keep.any(j => j >= s.first and j <= s.last))
  let spanned(j) = spanners.find(s => j >= s.first and j <= s.last)
  let head = ()
  if spanners.len() > 0 {
    for j in keep {
      let s = spanned(j)
      if s == none {
        let col = spec.columns.at(j)
        head.push(table.cell(rowspan: 2, align: align-of(col.align) + bottom, header-body(col)))
      } else if keep.find(k => k >= s.first and k <= s.last) == j {
        let n = keep.filter(k => k >= s.first and k <= s.last).len()
        head.push(table.cell(colspan: n, align: center + bottom, spanner-body(s)))
      }
    }
    for s in spanners {
      let inside = keep.filter(k => k >= s.first and k <= s.last)
      head.push(table.hline(y: 1, start: pos-of(inside.first()), end: pos-of(inside.last()) + 1, stroke: 0.5pt))
    }
    for j in keep {
      if spanned(j) != none {
        let col = spec.columns.at(j)
        head.push(table.cell(align: align-of(col.align) + bottom, header-body(col)))
      }
    }
  } else {
    for j in keep {
      let col = spec.columns.at(j)
      head.push(table.cell(align: align-of(col.align) + bottom, header-body(col)))
    }
  }
  let body = ()
  let group = none
  for row in spec.rows {
    if row.group != none and row.group != group {
      group = row.group
      body.push(table.hline(stroke: 0.4pt))
      body.push(table.cell(colspan: keep.len(), align: left, emph(row.group)))
    }
    for j in keep {
      let col = spec.columns.at(j)
      body.push(table.cell(align: align-of(col.align) + top, cell-body(row.cells.at(j), col)))
    }
  }
  table(
    columns: widths,
    stroke: none,
    inset: (x: PAD * 1em, y: 0.3em),
    table.header(table.hline(stroke: 0.8pt), ..head, table.hline(stroke: 0.5pt)),
    ..body,
    table.hline(stroke: 0.8pt),
  )
}
let notes(spec, size) = {
  set text(size: size, hyphenate: false)
  set par(justify: false)
  let lines = spec.footnotes.map(f => [#super(f.mark)#f.text]) + spec.notes.map(n => [#n])
  if lines.len() > 0 { align(left, block(above: 0.5em, width: 100%, lines.join(linebreak()))) }
}
// The columns split into parts that each fit `avail` at `size` (whole blocks packed left to right,
// the row labels in every part), or none.
let split(spec, measured, size, avail) = {
  let parts = ()
  let current = ()
  for b in spec.blocks {
    if plan(spec, measured, spec.labels + current + b, size, avail) != none {
      current = current + b
    } else {
      if current.len() > 0 { parts.push(spec.labels + current) }
      current = b
      if plan(spec, measured, spec.labels + current, size, avail) == none { return none }
    }
  }
  if current.len() > 0 { parts.push(spec.labels + current) }
  // As many parts, with the blocks shared out evenly (3 + 3 models rather than 4 + 2), when they fit.
  let k = parts.len()
  let n = spec.blocks.len()
  let even = ()
  let start = 0
  for i in range(k) {
    let count = calc.quo(n, k) + (if i < calc.rem(n, k) { 1 } else { 0 })
    even.push(spec.labels + spec.blocks.slice(start, start + count).flatten())
    start += count
  }
  if even.all(keep => plan(spec, measured, keep, size, avail) != none) { even } else { parts }
}
let render(spec, avail) = {
  let measured = column-widths(spec)
  let all = range(spec.columns.len())
  // Whole at 9 to 8 pt; else split into parts at 9 to 8 pt; else whole, then split, at 7.5 to 7 pt.
  let large = SIZES.filter(s => s >= 8pt)
  let small = SIZES.filter(s => s < 8pt)
  let attempts = large.map(s => (s, false)) + large.map(s => (s, true)) + small.map(s => (s, false)) + small.map(s => (s, true))
  let chosen = none
  for (size, splitting) in attempts {
    let parts = if splitting { split(spec, measured, size, avail) } else if plan(spec, measured, all, size, avail) != none { (all,) } else { none }
    if parts != none {
      chosen = (size: size, parts: parts.map(keep => (keep: keep, widths: plan(spec, measured, keep, size, avail))))
      break
    }
  }
  if chosen == none {
    // Wider than the page even one column group at a time at 7 pt: set at the least widths.
    let size = SIZES.last()
    chosen = (size: size, parts: ((keep: all, widths: all.map(j => measured.at(j).least * size / REF)),))
  }
  let table-width = calc.max(..chosen.parts.map(part => part.widths.sum()))
  let notes-width = calc.min(avail, calc.max(table-width, 0.6 * avail))
  if spec.title != none {
    align(center, block(below: 0.4em, text(size: chosen.size * 1.15, strong(spec.title))))
  }
  if spec.subtitle != none { align(center, block(below: 0.4em, text(size: chosen.size, spec.subtitle))) }
  for (i, part) in chosen.parts.enumerate() {
    if i > 0 { v(0.9em) }
    align(center, draw(spec, part.keep, chosen.size, part.widths))
  }
  align(center, block(width: notes-width, notes(spec, chosen.size)))
}
block(width: 100%, layout(region => render(spec, region.width)))
"""


def to_typst(model: TableModel) -> str:
    """Typst source that sets the table (a code block: place it in markup as is)."""
    sizes = "(" + ", ".join(f"{s:g}pt" for s in FONT_SIZES_PT) + ")"
    return ("#{\nlet spec = " + _value(_spec(model)) + "\nlet SIZES = " + sizes + "\n"
            + _PROGRAM.strip("\n") + "\n}\n")


def typst_block(source: str) -> str:
    """Typst source as a raw Typst block of Markdown (```{=typst}), fenced longer than any run of
    backticks inside it."""
    longest = max((len(run) for run in re.findall(r"`+", source)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{{=typst}}\n{source.rstrip()}\n{fence}\n"
