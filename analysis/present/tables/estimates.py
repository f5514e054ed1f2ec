"""Tables of estimates with 95% CIs at fixed times, medians and group tests.

Only formatting happens here: every number comes from a result object computed
elsewhere and is turned into text with `analysis.present.numbers`, so the HTML page,
the PDF and the prose show the same strings: the table is a `TableModel`, drawn with
great_tables for the website and as a native Typst table for the PDF.

Examples
--------
>>> estimates_table([os_, relapse], times=(12, 60))            # doctest: +SKIP
"""
from __future__ import annotations

from collections.abc import Sequence

from analysis.data.schema import lower_first
from analysis.present.context import resolve_min_cell
from analysis.present.labels import curve_label
from analysis.present.numbers import NOT_ESTIMABLE, fmt_est_ci, fmt_horizon, fmt_median, fmt_p, fmt_test_name
from analysis.present.prose import estimates_note, omitted_groups_text
from analysis.present.privacy import result_counts, suppression_note
from analysis.present.source_data import display_title
from analysis.present.tables.display import ReportTable, report_table
from analysis.present.tables.model import Column, Footnote, Row, Spanner, TableModel
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
    source_qualifier: str | None = None,
) -> ReportTable:
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
    source_qualifier
        What kind of estimates, in the page's source-data list ("Adjusted" estimates of ...).

    Returns
    -------
    ReportTable
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

    rows: list[Row] = []
    test_rows: dict[str, list[int]] = {}
    any_missing = False
    any_hidden = False
    keys = ["n", "events", *time_cols] + (["median"] if has_median else []) + (["p"] if has_test else [])

    def curve_row(label: str, curve, median, counts, indent: int = 0) -> Row:
        nonlocal any_missing, any_hidden
        n, events = counts
        any_hidden |= n.hidden or events.hidden
        values = {"n": n.text, "events": events.text, "median": fmt_median(median) if median is not None else "",
                  "p": ""}
        for col, t in zip(time_cols, times):
            values[col] = fmt_est_ci(curve.at(t))
            any_missing |= values[col] == NOT_ESTIMABLE
        return Row(label, tuple(values[k] for k in keys), indent=indent)

    for result in results:
        medians = _medians(result)
        counts = result_counts(result, min_cell=min_cell)
        if len(result.curves) == 1:
            rows.append(curve_row(result.title, result.curves[0], medians[0], counts[0]))
            continue
        heading = {k: "" for k in keys}
        if result.test is not None:
            heading["p"] = fmt_p(result.test.p)
            test_rows.setdefault(fmt_test_name(result.test.name), []).append(len(rows))
        rows.append(Row(_endpoint_label(result), tuple(heading[k] for k in keys), kind="heading"))
        for curve, median, shown in zip(result.curves, medians, counts):
            rows.append(curve_row(curve_label(result, curve), curve, median, shown, indent=1))

    labels = {"n": "N", "events": "Events", "median": "Median, months (95% CI)", "p": "P"}
    labels.update({col: fmt_horizon(t) for col, t in zip(time_cols, times)})
    footnotes = [Footnote(note or estimates_note(results), spanners=(_SPANNER,))]
    if has_median:
        footnotes.append(Footnote("Kaplan-Meier median with 95% confidence interval; not reached: the curve "
                                  "(or its confidence limit) does not fall to one half during follow-up.",
                                  columns=("median",)))
    if len(test_rows) == 1:
        (name,) = test_rows
        footnotes.append(Footnote(f"{name}.", columns=("p",)))
    else:
        footnotes += [Footnote(f"{name}.", cells=tuple((r, "p") for r in where)) for name, where in test_rows.items()]
    notes = []
    if any_missing:
        notes.append(f"{NOT_ESTIMABLE.capitalize()}: the time lies beyond the last follow-up of the group.")
    for result in results:
        omitted = omitted_groups_text(result, min_cell=min_cell)
        if omitted:
            notes.append(f"{_endpoint_label(result)}: {omitted}")
    rule = suppression_note(min_cell)
    if rule and any_hidden:
        notes.append(rule)
    if source_note:
        notes.append(source_note)
    # named by its endpoints in the page's source-data list, where a page may hold several estimates tables
    qualifier = f"{source_qualifier} estimates of" if source_qualifier else "Estimates of"
    return report_table(display_title(results, qualifier) if results else "Estimates", TableModel(
        columns=tuple(Column(k, labels[k]) for k in keys),
        rows=tuple(rows),
        stub=Column("label", stubhead, align="left", wraps=True),
        spanners=(Spanner(_SPANNER, tuple(time_cols)),),
        title=title, subtitle=subtitle, footnotes=tuple(footnotes), notes=tuple(notes),
    ))
