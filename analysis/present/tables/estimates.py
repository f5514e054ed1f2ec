"""Tables of estimates with 95% CIs at fixed times, medians and group tests (great-tables).

Only formatting happens here: every number comes from a result object computed
elsewhere and is turned into text with `analysis.present.numbers`, so the HTML page,
the PDF and the prose show the same strings.  The tables are plain HTML
``<table>``s: meaning never depends on CSS (group rows are indented with em
spaces, not padding; notes are footnotes and source notes, not colours), so
they survive Quarto's conversion to Typst for the PDF.

Examples
--------
>>> estimates_table([os_, relapse], times=(12, 60))            # doctest: +SKIP
"""
from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from analysis.present.source_data import record_table
from great_tables import GT, loc, style

from analysis.data.schema import lower_first
from analysis.present.context import resolve_min_cell
from analysis.present.labels import curve_label
from analysis.present.numbers import NOT_ESTIMABLE, fmt_est_ci, fmt_horizon, fmt_median, fmt_p, fmt_test_name
from analysis.present.prose import estimates_note, omitted_groups_text
from analysis.present.privacy import result_counts, suppression_note
from analysis.present.style import INDENT, report_table
from analysis.stats.results import EndpointResult

__all__ = ["estimates_table"]

_SPANNER = "Estimate, % (95% CI)"


def _endpoint_label(result: EndpointResult) -> str:
    if result.by and len(result.curves) > 1:
        return f"{result.title} by {lower_first(result.by)}"
    return result.title


def _medians(result: EndpointResult) -> list:
    if not result.median:
        return [None] * len(result.curves)
    if len(result.median) != len(result.curves):
        raise ValueError(
            f"{result.endpoint}: {len(result.median)} medians for {len(result.curves)} curves; "
            "give one median per curve or none"
        )
    return list(result.median)


def estimates_table(
    results: Sequence[EndpointResult],
    times: Sequence[float] = (12, 60),
    *,
    title: str | None = None,
    subtitle: str | None = None,
    stubhead: str = "Endpoint",
    source_note: str | None = None,
    note: str | None = None,
    min_cell: int | None = None,
) -> GT:
    """Estimates with 95% CIs at fixed times, medians and group tests, one row per curve.

    An endpoint estimated for the whole cohort takes one row.  An endpoint
    estimated by group takes a heading row (its title, "by" the grouping, and
    the group test's p-value) followed by one indented row per group.

    Parameters
    ----------
    results
        Endpoint results, in display order.
    times
        Months at which to show the estimates; column labels are derived
        from them ("1 year", "5 years", "6 months", "Day 100").
    title, subtitle
        Table header; none by default (a Quarto ``tbl-cap`` usually names the table).
    stubhead
        Label of the first column.
    source_note
        Extra note printed under the footnotes.
    note
        What the estimates are (the footnote of the estimates' header); by default which estimator gave
        them (`estimates_note`).
    min_cell
        The study's small-cell rule (default: the page's): N and events below it are shown as "<5",
        and those from which one could be worked out (a group's N from the cohort, events from
        the overall events or from N) as "≥5" (`analysis.present.privacy`).

    Returns
    -------
    great_tables.GT
        Columns: N, Events, estimate (95% CI) at each time, median in months
        (95% CI) when any result carries medians, and p-value when any result
        carries a group test.  Test names are footnotes.
    """
    min_cell = resolve_min_cell(min_cell)
    results = list(results)
    if not results:
        raise ValueError("estimates_table needs at least one result")
    times = [float(t) for t in times]
    time_cols = [f"t{i}" for i in range(len(times))]
    has_median = any(r.median for r in results)
    has_test = any(r.test is not None and len(r.curves) > 1 for r in results)

    rows: list[dict[str, str]] = []
    heading_rows: list[int] = []
    test_rows: dict[str, list[int]] = {}
    any_missing = False

    any_hidden = False

    def curve_row(label: str, curve, median, counts) -> dict[str, str]:
        nonlocal any_missing, any_hidden
        n, events = counts
        any_hidden |= n.hidden or events.hidden
        row = {"label": label, "n": n.text, "events": events.text}
        for col, t in zip(time_cols, times):
            row[col] = fmt_est_ci(curve.at(t))
            any_missing |= row[col] == NOT_ESTIMABLE
        row["median"] = fmt_median(median) if median is not None else ""
        row["p"] = ""
        return row

    for result in results:
        medians = _medians(result)
        counts = result_counts(result, min_cell=min_cell)
        if len(result.curves) == 1:
            rows.append(curve_row(result.title, result.curves[0], medians[0], counts[0]))
            continue
        heading = {"label": _endpoint_label(result), "n": "", "events": "", "median": "", "p": ""}
        heading.update({col: "" for col in time_cols})
        if result.test is not None:
            heading["p"] = fmt_p(result.test.p)
            test_rows.setdefault(fmt_test_name(result.test.name), []).append(len(rows))
        heading_rows.append(len(rows))
        rows.append(heading)
        for curve, median, shown in zip(result.curves, medians, counts):
            rows.append(curve_row(INDENT + curve_label(result, curve), curve, median, shown))

    columns = ["label", "n", "events", *time_cols]
    if has_median:
        columns.append("median")
    if has_test:
        columns.append("p")
    frame = pd.DataFrame(rows, columns=["label", "n", "events", *time_cols, "median", "p"])[columns]

    labels = {"n": "N", "events": "Events", "median": "Median, months (95% CI)", "p": "P"}
    labels.update({col: fmt_horizon(t) for col, t in zip(time_cols, times)})
    gt = (
        report_table(record_table("Estimates", frame), rowname_col="label")
        .tab_stubhead(stubhead)
        .cols_label(**{k: v for k, v in labels.items() if k in columns})
        .tab_spanner(_SPANNER, columns=time_cols)
        .opt_footnote_marks("standard")
        .cols_align("center", columns=columns[1:])
    )
    if heading_rows:
        gt = gt.tab_style(style.text(weight="bold"), loc.stub(rows=heading_rows))
    if title or subtitle:
        gt = gt.tab_header(title=title or "", subtitle=subtitle)

    gt = gt.tab_footnote(note or estimates_note(results), locations=loc.spanner_labels(ids=[_SPANNER]))
    if has_median:
        gt = gt.tab_footnote("Kaplan-Meier median with 95% confidence interval; not reached: the curve "
                             "(or its confidence limit) does not fall to one half during follow-up.",
                             locations=loc.column_labels(columns="median"))
    if len(test_rows) == 1:
        (name,) = test_rows
        gt = gt.tab_footnote(f"{name}.", locations=loc.column_labels(columns="p"))
    else:
        for name, where in test_rows.items():
            gt = gt.tab_footnote(f"{name}.", locations=loc.body(columns="p", rows=where), placement="right")
    if any_missing:
        gt = gt.tab_source_note(f"{NOT_ESTIMABLE.capitalize()}: the time lies beyond the last follow-up of the group.")
    for result in results:
        omitted = omitted_groups_text(result, min_cell=min_cell)
        if omitted:
            gt = gt.tab_source_note(f"{_endpoint_label(result)}: {omitted}")
    rule = suppression_note(min_cell)
    if rule and any_hidden:
        gt = gt.tab_source_note(rule)
    if source_note:
        gt = gt.tab_source_note(source_note)
    return gt
