"""Adjusted probabilities drawn and worded: curves beside the unadjusted ones, and the sentence papers use.

Only presentation: every number comes from an `AdjustedOutcome` (`analysis.analyses.adjusted`)
and the unadjusted `EndpointResult` of the same grouping (`analysis.estimates`). The figure is
`analysis.figures.plot_panels` with two panels, so it has the report's style, palette, numbers
at risk and small-cell rule: A, the unadjusted Kaplan-Meier or Aalen-Johansen curves with the
group test; B, the adjusted curves with their 95% pointwise band. Adjusted curves carry no censor
ticks (they are model-based averages over all patients); their numbers at risk are the group's own
patients, as under the unadjusted curves.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from .analyses.adjusted import AdjustedOutcome
from .figures import DEFAULT_TIMES, plot_panels
from .formatting import fmt_est_ci, fmt_horizon
from .groups import grouping_title
from .privacy import suppress_count
from .results import Curve, EndpointResult

__all__ = ["adjusted_as_endpoint", "adjusted_for_phrase", "adjusted_sentence", "plot_adjusted"]


def adjusted_for_phrase(outcome: AdjustedOutcome) -> str:
    """'status at HCT and age': the adjustment set as a clause."""
    names = [_lower_first(grouping_title(c)) for c in outcome.adjusted_for]
    if not names:
        return "nothing"
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]


def _lower_first(title: str) -> str:
    """'Status at HCT' -> 'status at HCT'; acronyms ('CR/PR', 'HCT year') keep their capitals."""
    return title if title[1:2].isupper() else title[:1].lower() + title[1:]


def adjusted_as_endpoint(outcome: AdjustedOutcome, unadjusted: EndpointResult) -> EndpointResult:
    """The adjusted curves as an `EndpointResult` the report's figures draw.

    Time 0 and times beyond follow-up (undefined) are left out; the numbers at risk are each group's own
    (from the unadjusted curve of the same level); there are no censor ticks and no test.
    """
    if not outcome.estimated:
        raise ValueError(f"{outcome.title} by {outcome.by_title}: no adjusted curves ({outcome.reason})")
    curves = []
    for adjusted in outcome.result.curves:
        own = unadjusted.curve(adjusted.level)
        # the figures start every curve at time 0 themselves; times beyond follow-up are undefined
        defined = ~np.isnan(adjusted.estimate) & (adjusted.time > 0)
        time = adjusted.time[defined]
        zeros = np.zeros(time.size)
        # the group's patients leave follow-up when the unadjusted curve says: numbers at risk at any time
        own_risk = np.asarray(own.n_risk, dtype=float)
        leaving = own_risk - np.r_[own_risk[1:], 0.0]
        curves.append(Curve(
            kind=outcome.kind, label=adjusted.level, n=adjusted.n, events=adjusted.events, time=time,
            n_risk=zeros, n_event=zeros, n_censor=zeros,
            estimate=adjusted.estimate[defined], variance=adjusted.se[defined] ** 2,
            lower=adjusted.lower[defined], upper=adjusted.upper[defined],
            entry_time=np.zeros(int(own_risk[0]) if own_risk.size else 0),
            exit_time=np.repeat(np.asarray(own.time, dtype=float), leaving.astype(np.int64)),
        ))
    return EndpointResult(endpoint=outcome.endpoint, title=outcome.title, kind=outcome.kind, curves=tuple(curves),
                          test=None, by=outcome.by_title)


def plot_adjusted(
    outcome: AdjustedOutcome,
    unadjusted: EndpointResult,
    *,
    times: Sequence[float] = DEFAULT_TIMES,
    show_ci: bool = True,
    xmax: float | None = None,
    min_cell: int = 0,
) -> Figure:
    """Unadjusted (A) and adjusted (B) curves of one endpoint by one grouping, side by side."""
    adjusted = adjusted_as_endpoint(outcome, unadjusted)
    titles = ["Unadjusted", f"Adjusted for {adjusted_for_phrase(outcome)}"]
    return plot_panels([unadjusted, adjusted], ncols=2, times=times, show_ci=show_ci, titles=titles, xmax=xmax,
                       min_cell=min_cell)


def adjusted_sentence(outcome: AdjustedOutcome, horizon: float, *, min_cell: int = 0) -> str:
    """The registry papers' wording, e.g. 'Adjusted for status at HCT and age, the probability of overall
    survival at 5 years was 40.7% (95% CI 23.3-58.0) for CB (n = 29) and 16.1% (...) for PB (n = 18).'

    Groups below the small-cell rule are named with their size suppressed ("<5").
    """
    if not outcome.estimated:
        return f"Adjusted {outcome.title.lower()} by {_lower_first(outcome.by_title)} could not be estimated: {outcome.reason}"
    several = len(outcome.result.curves) > 1
    if outcome.kind == "survival":
        what = ("probabilities" if several else "probability") + " of " + outcome.title.lower()
        verb = "were" if several else "was"
    else:
        what, verb = "cumulative incidence of " + outcome.title.lower(), "was"
    parts = []
    for curve in outcome.result.curves:
        shown = fmt_est_ci(curve.at(horizon)).replace(" (", " (95% CI ", 1)
        parts.append(f"{shown} for {curve.level} (n = {suppress_count(curve.n, min_cell)})")
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"Adjusted for {adjusted_for_phrase(outcome)}, the {what} at {fmt_horizon(horizon)} {verb} {listed}."
