"""A dynamic landmark series as a table: at each landmark, patients at risk, events and the hazard ratio."""
from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
from analysis.present.source_data import record_table
from great_tables import GT, loc

from analysis.analyses.landmark import LandmarkRow, landmark_row
from analysis.analyses.models import EVENTS_PER_PARAMETER_MINIMUM
from analysis.present.context import resolve_min_cell
from analysis.present.numbers import fmt_hr_ci, fmt_p
from analysis.present.privacy import events_counts, suppression_note
from analysis.present.style import report_table

__all__ = ["landmark_series_table"]


def landmark_series_table(
    rows: Iterable[LandmarkRow],
    *,
    title: str | None = None,
    effect: str = "HR (95% CI)",
    source_note: str | None = None,
    min_cell: int | None = None,
) -> GT:
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
    frame = pd.DataFrame(
        {
            "landmark": [f"{r.landmark:g}" for r in rows],
            "n": [n.text for n, _ in shown],
            "events": [events.text for _, events in shown],
            "hr": [fmt_hr_ci(r.hr, r.lower, r.upper) for r in rows],
            "p": [fmt_p(r.p) for r in rows],
        }
    )
    gt = (
        report_table(record_table("Landmark series", frame))
        .cols_label(landmark="Landmark, months after HCT", n="Patients at risk", events="Events", hr=effect,
                    p="P")
        .opt_footnote_marks("standard")
        .cols_align("center", columns=["landmark", "n", "events", "hr", "p"])
        .tab_footnote("Patients still under observation at the landmark; follow-up measured from it.",
                      locations=loc.column_labels(columns="n"))
    )
    # a landmark whose events the small-cell rule hides is not named: "fewer than 10" would bound them
    few = [r for r, (_, events) in zip(rows, shown) if r.events < EVENTS_PER_PARAMETER_MINIMUM and not events.hidden]
    if few:
        which = ("landmark " if len(few) == 1 else "landmarks ") + ", ".join(f"{r.landmark:g}" for r in few)
        gt = gt.tab_footnote(
            f"Each landmark's Cox model estimates one parameter; with fewer than {EVENTS_PER_PARAMETER_MINIMUM} "
            f"events (here: {which}) its estimate may be unstable.", locations=loc.column_labels(columns="events"))
    if title:
        gt = gt.tab_header(title=title)
    if any(v.hidden for pair in shown for v in pair):
        gt = gt.tab_source_note(suppression_note(min_cell))
    if source_note:
        gt = gt.tab_source_note(source_note)
    return gt
