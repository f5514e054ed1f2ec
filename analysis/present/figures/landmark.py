"""The landmark chapter's curves: overall survival from each landmark, and GVHD as a time-dependent state.

Only arranging happens here: the curves are drawn by `analysis.present.figures.curves`, one panel per
landmark of the study or per GVHD state the extract records (a single one fills the figure).
"""
from __future__ import annotations

from collections.abc import Sequence

from matplotlib.figure import Figure

from analysis.analyses.landmark import GvhdEffects, LandmarkAnalyses
from analysis.present.figures.curves import DEFAULT_TIMES, plot_curves, plot_panels

__all__ = ["plot_gvhd_states", "plot_landmarks"]


def plot_landmarks(lm: LandmarkAnalyses, *, times: Sequence[float] = DEFAULT_TIMES) -> Figure | None:
    """Overall survival from each landmark by event-free status at it; None when no landmark has a patient."""
    shown = lm.shown
    if not shown:
        return None
    if len(shown) == 1:
        (at, result), = shown
        return plot_curves(result, landmark=at, times=times, title="")
    return plot_panels([result for _, result in shown], landmark=[at for at, _ in shown], times=times,
                       titles=[f"{at:g}-month landmark" for at, _ in shown])


def plot_gvhd_states(gvhd: GvhdEffects | None, *, times: Sequence[float] = DEFAULT_TIMES) -> Figure | None:
    """Simon-Makuch curves of each GVHD state the extract records (enough patients to estimate); None if none."""
    states = gvhd.states if gvhd is not None else ()
    if not states:
        return None
    if len(states) == 1:
        return plot_curves(states[0].curves, times=times, title=states[0].title)
    return plot_panels([state.curves for state in states], titles=[state.title for state in states], times=times)
