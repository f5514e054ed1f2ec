"""A dynamic landmark series as a table: at each landmark, patients at risk, events and the hazard ratio."""
from __future__ import annotations

from collections.abc import Iterable

from analysis.analyses.landmark import LandmarkRow, landmark_row
from analysis.analyses.models import EVENTS_PER_PARAMETER_MINIMUM
from analysis.present.context import resolve_min_cell
from analysis.present.numbers import fmt_hr_ci, fmt_p
from analysis.present.privacy import events_counts, suppression_note
from analysis.present.tables.display import ReportTable, report_table
from analysis.present.tables.model import Column, Footnote, Row, TableModel

__all__ = ["landmark_series_table"]


def landmark_series_table(
    rows: Iterable[LandmarkRow],
    *,
    title: str | None = None,
    effect: str = "HR (95% CI)",
    source_note: str | None = None,
    min_cell: int | None = None,
) -> ReportTable:
    """A dynamic landmark series: at each landmark, patients still at risk, events and the hazard ratio.

    Parameters
    ----------
    rows
        `LandmarkRow`s (or tuples / mappings of its fields), in landmark order.
    title
        Table header; none by default.
    effect
        Label of the hazard-ratio column.
    source_note
        A note under the table, e.g. which covariate the hazard ratio compares.
    """
    min_cell = resolve_min_cell(min_cell)
    rows = [landmark_row(r) for r in rows]
    if not rows:
        raise ValueError("landmark_series_table needs at least one row")
    shown = events_counts([(r.n, r.events) for r in rows], ordered=True, min_cell=min_cell)
    # a landmark whose events the small-cell rule hides is not named: "fewer than 10" would bound them
    few = [r for r, (_, events) in zip(rows, shown) if r.events < EVENTS_PER_PARAMETER_MINIMUM and not events.hidden]
    footnotes = (Footnote("Patients still under observation at the landmark; follow-up measured from it.",
                          columns=("n",)),)
    if few:
        which = ("landmark " if len(few) == 1 else "landmarks ") + ", ".join(f"{r.landmark:g}" for r in few)
        footnotes += (Footnote(f"Each landmark's Cox model estimates one parameter; with fewer than "
                               f"{EVENTS_PER_PARAMETER_MINIMUM} events (here: {which}) its estimate may be unstable.",
                               columns=("events",)),)
    rows = tuple(Row(None, (f"{r.landmark:g}", n.text, events.text, fmt_hr_ci(r.hr, r.lower, r.upper), fmt_p(r.p)))
                 for r, (n, events) in zip(rows, shown))
    notes = ((suppression_note(min_cell),) if any(v.hidden for pair in shown for v in pair) else ()) + \
        ((source_note,) if source_note else ())
    return report_table("Landmark series", TableModel(
        columns=(Column("landmark", "Landmark, months after HCT"), Column("n", "Patients at risk"),
                 Column("events", "Events"), Column("hr", effect), Column("p", "P")),
        rows=rows,
        title=title,
        footnotes=footnotes,
        notes=notes,
    ))
