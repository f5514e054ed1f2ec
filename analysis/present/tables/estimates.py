"""Tables of estimates and of published-versus-computed numbers (great-tables).

Only formatting happens here: every number comes from a result object computed
elsewhere and is turned into text with `analysis.formatting`, so the HTML page,
the PDF and the prose show the same strings.  The tables are plain HTML
``<table>``s: meaning never depends on CSS (group rows are indented with em
spaces, not padding; notes are footnotes and source notes, not colours), so
they survive Quarto's conversion to Typst for the PDF.

Examples
--------
>>> estimates_table([os_, relapse], times=(12, 60))            # doctest: +SKIP
>>> comparison_table([("OS at 1 year", "33.9%", "34.2%", "+0.3 points")])  # doctest: +SKIP
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import pandas as pd
from great_tables import GT, loc, style

from analysis.present.numbers import fmt_est_ci, fmt_horizon, fmt_median, fmt_months, fmt_p, fmt_pct, fmt_test_name
from analysis.present.privacy import is_suppressed, suppress_count, suppression_note
from analysis.present.labels import curve_label
from analysis.stats.results import EndpointResult

__all__ = ["ComparisonRow", "comparison_table", "estimates_table"]

_INDENT = "\u2003"  # em space: an indentation that survives HTML -> Typst
_DASH = "\u2014"  # em dash: "not applicable"

_SPANNER = "Estimate, % (95% CI)"


def _estimate_note(results: Sequence[EndpointResult]) -> str:
    kinds = {r.kind for r in results}
    if kinds == {"survival"}:
        return "Kaplan-Meier estimate with 95% confidence interval."
    if kinds == {"incidence"}:
        return "Cumulative incidence with competing risks (Aalen-Johansen) with 95% confidence interval."
    return ("Survival endpoints: Kaplan-Meier estimate; incidence endpoints: cumulative incidence with "
            "competing risks (Aalen-Johansen); with 95% confidence intervals.")


def _lower_first(text: str) -> str:
    """'Graft source' -> 'graft source', but 'HCT status' stays (an acronym)."""
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def _endpoint_label(result: EndpointResult) -> str:
    if result.by and len(result.curves) > 1:
        return f"{result.title} by {_lower_first(result.by)}"
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
    min_cell: int = 0,
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
    min_cell
        The study's small-cell rule: N and events below it are shown as "<5"
        (0, the default: off).

    Returns
    -------
    great_tables.GT
        Columns: N, Events, estimate (95% CI) at each time, median in months
        (95% CI) when any result carries medians, and p-value when any result
        carries a group test.  Test names are footnotes.
    """
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

    def curve_row(label: str, curve, median) -> dict[str, str]:
        nonlocal any_missing
        row = {"label": label, "n": suppress_count(curve.n, min_cell), "events": suppress_count(curve.events, min_cell)}
        for col, t in zip(time_cols, times):
            row[col] = fmt_est_ci(curve.at(t))
            any_missing |= row[col] == "NA"
        row["median"] = fmt_median(median) if median is not None else ""
        row["p"] = ""
        return row

    for result in results:
        medians = _medians(result)
        if len(result.curves) == 1:
            rows.append(curve_row(result.title, result.curves[0], medians[0]))
            continue
        heading = {"label": _endpoint_label(result), "n": "", "events": "", "median": "", "p": ""}
        heading.update({col: "" for col in time_cols})
        if result.test is not None:
            heading["p"] = fmt_p(result.test.p)
            test_rows.setdefault(fmt_test_name(result.test.name), []).append(len(rows))
        heading_rows.append(len(rows))
        rows.append(heading)
        for curve, median in zip(result.curves, medians):
            rows.append(curve_row(_INDENT + curve_label(result, curve), curve, median))

    columns = ["label", "n", "events", *time_cols]
    if has_median:
        columns.append("median")
    if has_test:
        columns.append("p")
    frame = pd.DataFrame(rows, columns=["label", "n", "events", *time_cols, "median", "p"])[columns]

    labels = {"n": "N", "events": "Events", "median": "Median, months (95% CI)", "p": "p-value"}
    labels.update({col: fmt_horizon(t) for col, t in zip(time_cols, times)})
    gt = (
        GT(frame, rowname_col="label")
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

    gt = gt.tab_footnote(_estimate_note(results), locations=loc.spanner_labels(ids=[_SPANNER]))
    if has_median:
        gt = gt.tab_footnote("Kaplan-Meier median with 95% confidence interval; not reached: the curve "
                             "(or its confidence limit) stays above 50% during follow-up.",
                             locations=loc.column_labels(columns="median"))
    if len(test_rows) == 1:
        (name,) = test_rows
        gt = gt.tab_footnote(f"{name}.", locations=loc.column_labels(columns="p"))
    else:
        for name, where in test_rows.items():
            gt = gt.tab_footnote(f"{name}.", locations=loc.body(columns="p", rows=where), placement="right")
    if any_missing:
        gt = gt.tab_source_note("NA: the time lies beyond the last follow-up of the group.")
    rule = suppression_note(min_cell)
    if rule and any(is_suppressed(v, min_cell) for r in results for c in r.curves for v in (c.n, c.events)):
        gt = gt.tab_source_note(rule)
    if source_note:
        gt = gt.tab_source_note(source_note)
    return gt


# --------------------------------------------------------------------------- published vs computed

Kind = Literal["text", "pct", "p", "count", "months", "number"]


@dataclass(frozen=True)
class ComparisonRow:
    """One number as published and as this report computes it.

    `published`, `computed` and `difference` may be text (shown as given) or
    numbers, formatted by `kind`: "pct" (proportions 0-1 shown as percentages,
    differences in percentage points), "p" (p-values), "count", "months" or
    "number" (`digits` decimals).  Without a `difference`, the difference of
    two numbers is computed; otherwise a dash is shown.  Rows sharing a
    `section` are grouped under it.
    """

    label: str
    published: str | float | None
    computed: str | float | None
    difference: str | float | None = None
    kind: Kind = "number"
    section: str | None = None
    digits: int | None = None


def _number(value) -> float | None:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) else value


def _shown(value, kind: str, digits: int | None) -> str:
    if value is None:
        return _DASH
    if isinstance(value, str):
        return value
    number = _number(value)
    if number is None:
        return "NA"
    if kind == "pct":
        return fmt_pct(number, 1 if digits is None else digits)
    if kind == "p":
        return fmt_p(number)
    if kind == "count":
        return f"{number:.0f}"
    if kind == "months":
        return fmt_months(number, 1 if digits is None else digits)
    return f"{number:.{2 if digits is None else digits}f}"


def _shown_difference(row: ComparisonRow) -> str:
    difference = row.difference
    if isinstance(difference, str):
        return difference
    if difference is None:
        published, computed = _number(row.published), _number(row.computed)
        if published is None or computed is None:
            return _DASH
        difference = computed - published
    number = _number(difference)
    if number is None:
        return "NA"
    if row.kind == "pct":
        return _signed(100 * number, 1 if row.digits is None else row.digits) + " points"
    if row.kind == "count":
        return _signed(number, 0)
    if row.kind == "p":
        return _signed(number, 3)
    return _signed(number, (1 if row.kind == "months" else 2) if row.digits is None else row.digits)


def _signed(value: float, digits: int) -> str:
    """'+0.3', '-1.2'; no sign where the rounded value is zero ('0.0')."""
    shown = f"{value:+.{digits}f}"
    return shown[1:] if float(shown) == 0 else shown


def _as_row(row) -> ComparisonRow:
    if isinstance(row, ComparisonRow):
        return row
    if isinstance(row, Mapping):
        return ComparisonRow(**row)
    values = tuple(row)
    if not 3 <= len(values) <= 4:
        raise ValueError(f"a comparison row is (label, published, computed[, difference]); got {row!r}")
    return ComparisonRow(*values)


def comparison_table(
    rows: Iterable[ComparisonRow | Mapping | Sequence],
    *,
    title: str | None = None,
    subtitle: str | None = None,
    label_header: str = "",
    published_label: str = "Published",
    computed_label: str = "This report",
    difference_label: str = "Difference",
    source_note: str | None = None,
    min_cell: int = 0,
) -> GT:
    """Rows of "published vs this report vs difference".

    Parameters
    ----------
    rows
        `ComparisonRow`s, mappings with its fields, or tuples
        ``(label, published, computed[, difference])`` whose values are text
        (shown as given) or numbers.
    title, subtitle
        Table header, none by default.
    label_header, published_label, computed_label, difference_label
        Column labels.
    source_note
        A note under the table (e.g. where the published numbers come from).
    min_cell
        The study's small-cell rule: a computed count (kind "count") below it
        is shown as "<5" and its difference as a dash (0, the default: off).
        Published numbers are public and shown as published.

    Returns
    -------
    great_tables.GT
    """
    parsed = [_as_row(r) for r in rows]
    hidden = [r.kind == "count" and is_suppressed(_number(r.computed), min_cell) for r in parsed]
    frame = pd.DataFrame(
        {
            "label": [r.label for r in parsed],
            "published": [_shown(r.published, r.kind, r.digits) for r in parsed],
            "computed": [suppress_count(_number(r.computed), min_cell) if h else _shown(r.computed, r.kind, r.digits)
                         for r, h in zip(parsed, hidden)],
            "difference": [_DASH if h else _shown_difference(r) for r, h in zip(parsed, hidden)],
            "section": [r.section or "" for r in parsed],
        }
    )
    grouped = any(r.section for r in parsed)
    gt = GT(frame, rowname_col="label", groupname_col="section" if grouped else None)
    if not grouped:
        gt = gt.cols_hide("section")
    gt = (
        gt.tab_stubhead(label_header)
        .cols_label(published=published_label, computed=computed_label, difference=difference_label)
        .cols_align("center", columns=["published", "computed", "difference"])
    )
    if title or subtitle:
        gt = gt.tab_header(title=title or "", subtitle=subtitle)
    if any(hidden):
        gt = gt.tab_source_note(suppression_note(min_cell))
    if source_note:
        gt = gt.tab_source_note(source_note)
    return gt
