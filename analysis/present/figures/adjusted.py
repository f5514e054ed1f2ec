"""Adjusted probabilities drawn: curves beside the unadjusted ones (the sentence is in `analysis.present.prose`).

Only presentation: every number comes from an `AdjustedOutcome` (`analysis.analyses.adjusted`)
and the unadjusted `EndpointResult` of the same grouping (`analysis.analyses.estimates`). The figure is
`analysis.present.figures.curves.plot_panels` with two panels, so it has the report's style, palette, numbers
at risk and small-cell rule: A, the unadjusted Kaplan-Meier or Aalen-Johansen curves with the
group test; B, the adjusted curves with their 95% pointwise band. Adjusted curves carry no censor
ticks (they are model-based averages over all patients); their numbers at risk are the group's own
patients, as under the unadjusted curves.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from analysis.analyses.adjusted import AdjustedOutcome
from analysis.analyses.factors import FactorComparisons
from analysis.present.figures.curves import DEFAULT_TIMES, plot_panels
from analysis.present.prose import adjusted_for_phrase
from analysis.stats.results import Curve, EndpointResult

__all__ = ["adjusted_as_endpoint", "plot_adjusted", "plot_adjusted_comparisons"]

# the page also shows the unadjusted curves alone: the source-data list tells the two figures apart
SOURCE_QUALIFIER = "Unadjusted and adjusted"


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
                          test=None, by=outcome.by_title, grouping=outcome.by)


def plot_adjusted(
    outcome: AdjustedOutcome,
    unadjusted: EndpointResult,
    *,
    times: Sequence[float] = DEFAULT_TIMES,
    show_ci: bool = True,
    xmax: float | None = None,
    min_cell: int | None = None,
) -> Figure:
    """Unadjusted (A) and adjusted (B) curves of one endpoint by one grouping, side by side."""
    adjusted = adjusted_as_endpoint(outcome, unadjusted)
    titles = ["Unadjusted", f"Adjusted for {adjusted_for_phrase(outcome)}"]
    return plot_panels([unadjusted, adjusted], ncols=2, times=times, show_ci=show_ci, titles=titles, xmax=xmax,
                       min_cell=min_cell, source_qualifier=SOURCE_QUALIFIER)


def plot_adjusted_comparisons(
    comparisons: FactorComparisons,
    endpoint: str,
    *,
    times: Sequence[float] = DEFAULT_TIMES,
    min_cell: int | None = None,
) -> Figure | None:
    """One row per grouping: the unadjusted curves (left) beside the adjusted ones (right).

    Groupings whose adjusted probabilities could not be estimated are left out (the prose says why);
    None when no grouping could be adjusted (the chapter then hides the figure).
    """
    unadjusted = {result.grouping: result for result in comparisons.unadjusted(endpoint)}
    panels, titles = [], []
    for grouping in comparisons.adjusted:
        outcome = grouping.outcome(endpoint)
        if not outcome.estimated or grouping.by not in unadjusted:
            continue
        panels += [unadjusted[grouping.by], adjusted_as_endpoint(outcome, unadjusted[grouping.by])]
        titles += [f"{grouping.title}: unadjusted", f"{grouping.title}: adjusted"]
    if not panels:
        return None
    return plot_panels(panels, ncols=2, times=times, titles=titles, min_cell=min_cell,
                       source_qualifier=SOURCE_QUALIFIER)
