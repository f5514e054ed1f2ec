"""The headline results of a release, machine-readable, and what changed between two releases.

Quarto's pre-render step writes `results.json` (a project resource, so it is in every site and
every published version): for each outcome of the outcomes chapter (overall and event-free
survival, relapse, non-relapse mortality), the patients analysed, their events and the estimate
with its 95% CI at each horizon of the study, and the median follow-up of survivors.  It holds
aggregates only and applies the study's small-cell rule (`analysis.present.privacy`) as the outcomes
table does: a count from 1 to min_cell - 1 is written as the string "<min_cell", and one that would
reveal it (the events of an endpoint with few patients without one) as "≥min_cell".

`publish` reads the record of each release and writes, for each release after the first, its
numbers beside the previous release's with the differences (`changes_html`), and whether the
input, the study settings or the code changed (from `provenance.json`).
"""
from __future__ import annotations

import html
import math

from analysis.analyses.cohort import cohort_overview
from analysis.analyses.outcomes import outcomes
from analysis.data.cohort import Cohort
from analysis.data.study import Study
from analysis.present.numbers import fmt_horizon
from analysis.present.context import using_display
from analysis.present.privacy import Shown, is_suppressed, result_counts

RESULTS_FILE = "results.json"
FORMAT = 1  # bumped when the record's shape changes; publish compares only records of one format
DIGITS = 4  # estimates are proportions; four decimals keep a tenth of a percentage point exact


def _count(shown: Shown) -> int | str:
    """A count as JSON: the number, or the small-cell rule's text ("<5", "≥5") when it is hidden."""
    return shown.text if shown.hidden else int(shown.value)


def _number(value: float) -> float | None:
    return None if value is None or math.isnan(value) else round(float(value), DIGITS)


def headline_record(cohort: Cohort, study: Study) -> dict:
    """The release's headline numbers: aggregate only, the small-cell rule applied."""
    min_cell = study.min_cell
    follow_up = cohort_overview(cohort).follow_up
    endpoints = {}
    with using_display(study, cohort):  # the counts as the outcomes table shows them
        for name, result in outcomes(cohort).items():
            curve = result.overall
            at = {}
            for horizon in study.horizons:
                point = curve.at(horizon)
                at[f"{horizon:g}"] = {"estimate": _number(point.estimate), "lower": _number(point.lower),
                                      "upper": _number(point.upper)}
            ((n, events),) = result_counts(result)
            endpoints[name] = {"title": result.title, "kind": result.kind, "n": _count(n),
                               "events": _count(events), "at": at}
    return {
        "format": FORMAT,
        "time_unit": "months",
        "min_cell": min_cell,
        "patients": _count(Shown(cohort.n, "small" if is_suppressed(cohort.n, min_cell) else "shown", min_cell)),
        "median_follow_up_months": _number(follow_up.median),
        "endpoints": endpoints,
    }


# --- what changed between two releases ----------------------------------------------------------------

def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _difference(new, old) -> str:
    """new - old in percentage points (or patients), '–' when either is missing or suppressed."""
    if not isinstance(new, (int, float)) or not isinstance(old, (int, float)):
        return "–"
    return f"{new - old:+g}"


def _pp(new: float | None, old: float | None) -> str:
    if new is None or old is None:
        return "–"
    return f"{100 * (new - old):+.1f} pp"


def headline_rows(current: dict, previous: dict) -> list[tuple[str, str, str, str]]:
    """(what, previous, this release, difference) for every headline number both records hold."""
    rows = [("Patients analysed", str(previous.get("patients", "–")), str(current.get("patients", "–")),
             _difference(current.get("patients"), previous.get("patients")))]
    new_fu, old_fu = current.get("median_follow_up_months"), previous.get("median_follow_up_months")
    rows.append(("Median follow-up (months)", "–" if old_fu is None else f"{old_fu:.1f}",
                 "–" if new_fu is None else f"{new_fu:.1f}",
                 "–" if new_fu is None or old_fu is None else f"{new_fu - old_fu:+.1f}"))
    old_endpoints = previous.get("endpoints", {})
    for name, new in current.get("endpoints", {}).items():
        old = old_endpoints.get(name)
        if old is None:
            continue
        for horizon, point in new.get("at", {}).items():
            before = old.get("at", {}).get(horizon)
            if before is None:
                continue
            what = f"{new['title']} at {fmt_horizon(float(horizon))}"
            rows.append((what, _pct(before["estimate"]), _pct(point["estimate"]),
                         _pp(point["estimate"], before["estimate"])))
    return rows


# Configuration entries that name the input rather than a setting: the input is compared by its hash.
INPUT_ENTRIES = ("Input file", "Chosen by")


def _settings(record: dict) -> dict:
    return {k: v for k, v in (record.get("configuration") or {}).items() if k not in INPUT_ENTRIES}


def what_changed(current: dict, previous: dict) -> dict[str, bool]:
    """Whether the input, the study settings or the code differ between two provenance records."""
    return {
        "input": current.get("data", {}).get("sha256") != previous.get("data", {}).get("sha256"),
        "study settings": _settings(current) != _settings(previous),
        "code": current.get("code_sha256") != previous.get("code_sha256") or current.get("code_sha256") is None,
    }


def changes_html(entries: list[dict], prefix: str) -> str:
    """The "what changed, in numbers" section: one table per release after the first, newest first.

    `entries` are oldest first, each {"tag", "path", "results", "provenance"} (records may be None for
    releases published before the records existed); `prefix` leads from the page to the published root.
    """
    blocks = []
    for previous, current in zip(entries, entries[1:]):
        tag, before = current["tag"], previous["tag"]
        heading = (f'<h3 class="report-change-heading">{html.escape(tag)} compared with '
                   f'<a href="{html.escape(prefix + previous["path"])}index.html">{html.escape(before)}</a></h3>\n')
        results, old_results = current.get("results"), previous.get("results")
        if not results or not old_results or results.get("format") != old_results.get("format"):
            blocks.append(heading + "<p>No machine-readable results to compare (a release published before "
                                    "they were recorded).</p>\n")
            continue
        flags = what_changed(current.get("provenance") or {}, previous.get("provenance") or {})
        changed = [name for name, yes in flags.items() if yes]
        same = [name for name, yes in flags.items() if not yes]
        summary = ("Changed: " + ", ".join(changed) + "." if changed else "Nothing changed in input, study settings or code.")
        if changed and same:
            summary += " Unchanged: " + ", ".join(same) + "."
        rows = "\n".join(
            f"<tr><td>{html.escape(what)}</td><td>{html.escape(old)}</td><td>{html.escape(new)}</td>"
            f"<td>{html.escape(diff)}</td></tr>" for what, old, new, diff in headline_rows(results, old_results))
        blocks.append(
            heading + f'<p class="report-change-summary">{html.escape(summary)}</p>\n'
            f'<table class="table table-sm report-changes-table" data-release="{html.escape(tag)}">\n'
            f"<thead><tr><th>Headline result</th><th>{html.escape(before)}</th><th>{html.escape(tag)}</th>"
            "<th>Difference</th></tr></thead>\n"
            f"<tbody>\n{rows}\n</tbody>\n</table>\n")
    if not blocks:
        return "\n<p>Only one release is published so far: there is nothing to compare yet.</p>\n"
    intro = ("\n<p>For each release after the first: its headline results beside the previous release's "
             "(estimates with the difference in percentage points), and whether the input, the study settings "
             "or the code changed. Each release's numbers are in its <code>results.json</code>.</p>\n")
    return intro + "".join(reversed(blocks))
