"""A table of the report as data: the one model both renderers draw.

Every table builder (`estimates_table`, `model_table`, Table 1, ...) turns its results into a
`TableModel`: columns with their labels and alignment, column spanners, rows of already
formatted text (counts already under the small-cell rule, so no renderer decides what a reader may
see), row groups, bold heading and total rows, indented levels, footnotes with the cells they
mark, and notes.  `render_html` draws it with great_tables for the website, `render_typst` as a
native Typst table for the PDF, and `ReportTable` (`display.py`) shows the one the page's output
format needs.  The two renderers therefore show the same text, the same footnote marks in the
same places and the same notes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from analysis.present.style import INDENT

__all__ = ["Align", "Column", "Footnote", "Marks", "Row", "Spanner", "TableModel", "footnote_mark"]

Align = Literal["left", "center", "right"]
RowKind = Literal["data", "heading", "total"]

#: great_tables' "standard" footnote marks, repeated after the fourth (**, ††, ...).
STANDARD_MARKS = ("*", "\u2020", "\u2021", "\u00a7")


def footnote_mark(index: int) -> str:
    """The mark of the `index`-th footnote (1-based): *, †, ‡, §, **, ††, ..."""
    symbol = STANDARD_MARKS[(index - 1) % len(STANDARD_MARKS)]
    return symbol * ((index - 1) // len(STANDARD_MARKS) + 1)


@dataclass(frozen=True)
class Column:
    """A column: its key, label, alignment, and whether its text may wrap onto several lines.

    Values (counts, estimates with their CI, p-values) never wrap: "33.9% (22.1-46.2)" stays on one
    line.  Labels and reasons (`wraps=True`) wrap at spaces, never with a hyphen.
    """

    key: str
    label: str
    align: Align = "center"
    wraps: bool = False


@dataclass(frozen=True)
class Spanner:
    """A label over several adjacent columns (e.g. "Estimate, % (95% CI)" over the time columns)."""

    label: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Row:
    """One line of the table.

    `label` is the stub's text (None in a table without a stub, whose first column is the row's
    label).  `kind` "heading" sets the label in bold (an endpoint or covariate over its levels),
    "total" the whole row.  `indent` indents the label (the levels under a heading); `group` is the
    row group the row belongs to; `monospace` names the columns whose text is set in a fixed-width
    font (file names, hashes).
    """

    label: str | None
    cells: tuple[str, ...]
    kind: RowKind = "data"
    indent: int = 0
    group: str | None = None
    monospace: tuple[str, ...] = ()


@dataclass(frozen=True)
class Footnote:
    """A footnote and what it marks: column labels, spanners (by label) and body cells (row index, column key)."""

    text: str
    columns: tuple[str, ...] = ()
    spanners: tuple[str, ...] = ()
    cells: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True)
class Marks:
    """The footnote marks of a table: in order of reading, and where each sits."""

    notes: tuple[tuple[str, str], ...]  # (mark, text), in the order they are printed under the table
    columns: dict[str, str] = field(default_factory=dict)  # column key -> its marks
    spanners: dict[str, str] = field(default_factory=dict)  # spanner label -> its marks
    cells: dict[tuple[int, str], str] = field(default_factory=dict)  # (row, key) -> its marks


@dataclass(frozen=True)
class TableModel:
    """Everything a reader sees in a table, as text.

    `stub` is the column of row labels (its `label` is the stub head), or None when the first
    column is an ordinary column.  `notes` are printed under the footnotes, in order.
    """

    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    stub: Column | None = None
    spanners: tuple[Spanner, ...] = ()
    title: str | None = None
    subtitle: str | None = None
    footnotes: tuple[Footnote, ...] = ()
    notes: tuple[str, ...] = ()

    def __post_init__(self):
        keys = [c.key for c in self.columns]
        if not keys:
            raise ValueError("a table needs at least one column")
        if len(set(keys)) != len(keys) or (self.stub is not None and self.stub.key in keys):
            raise ValueError(f"column keys must be unique: {keys}")
        for i, row in enumerate(self.rows):
            if len(row.cells) != len(keys):
                raise ValueError(f"row {i} has {len(row.cells)} cells for {len(keys)} columns: {row.cells!r}")
            if (row.label is None) != (self.stub is None):
                raise ValueError(f"row {i}: a label is given exactly when the table has a stub")
            if not set(row.monospace) <= set(keys):
                raise ValueError(f"row {i}: unknown monospace columns {row.monospace}")
        for spanner in self.spanners:
            positions = sorted(keys.index(k) for k in spanner.columns if k in keys)
            if len(positions) != len(spanner.columns) or positions != list(range(positions[0], positions[-1] + 1)):
                raise ValueError(f"spanner {spanner.label!r} must cover adjacent known columns: {spanner.columns}")
        spanner_labels = {s.label for s in self.spanners}
        for note in self.footnotes:
            unknown = ([k for k in note.columns if k not in keys] + [s for s in note.spanners if s not in spanner_labels]
                       + [c for c in note.cells if c[1] not in keys or not 0 <= c[0] < len(self.rows)])
            if unknown:
                raise ValueError(f"footnote {note.text!r} marks unknown places: {unknown}")

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.columns)

    def column(self, key: str) -> Column:
        return self.columns[self.keys.index(key)]

    @property
    def grouped(self) -> bool:
        return any(r.group for r in self.rows)

    def frame(self) -> pd.DataFrame:
        """The table's text as a DataFrame (the stub's column first; row labels indented with em
        spaces), as great_tables draws it and as the page's source data records it."""
        label_key = self.stub.key if self.stub is not None else self.keys[0]
        data: dict[str, list[str]] = {}
        if self.stub is not None:
            data[label_key] = [INDENT * r.indent + r.label for r in self.rows]
        for j, key in enumerate(self.keys):
            data[key] = [INDENT * r.indent + r.cells[j] if key == label_key else r.cells[j] for r in self.rows]
        return pd.DataFrame(data, columns=list(data))

    def marks(self) -> Marks:
        """Footnote marks numbered in reading order, as great_tables numbers them.

        Each place a footnote marks gets a position (spanners before column labels before body
        cells; then row, then column from the left); footnotes are numbered by their first place in
        that order, and a text given twice keeps one mark.
        """
        keys = self.keys
        places = []
        for note in self.footnotes:
            for label in note.spanners:
                spanner = next(s for s in self.spanners if s.label == label)
                places.append(((4, 0, min(keys.index(k) for k in spanner.columns)), note.text, ("spanner", label)))
            for key in note.columns:
                places.append(((5, 0, keys.index(key)), note.text, ("column", key)))
            for row, key in note.cells:
                places.append(((6, row, keys.index(key)), note.text, ("cell", (row, key))))
        numbers: dict[str, int] = {}
        for _, text, _ in sorted(places, key=lambda place: place[0]):
            numbers.setdefault(text, len(numbers) + 1)
        # Several notes on one place: their marks joined by commas, in the order the notes were given.
        where: dict[str, dict] = {"spanner": {}, "column": {}, "cell": {}}
        for _, text, (kind, target) in places:
            mark = footnote_mark(numbers[text])
            shown = where[kind].get(target)
            if shown is None:
                where[kind][target] = mark
            elif mark not in shown.split(","):
                where[kind][target] = f"{shown},{mark}"
        return Marks(notes=tuple((footnote_mark(n), text) for text, n in numbers.items()),
                     columns=where["column"], spanners=where["spanner"], cells=where["cell"])
