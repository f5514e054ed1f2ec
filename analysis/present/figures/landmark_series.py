"""A dynamic landmark series drawn: the hazard ratio (95% CI) at each landmark, with the numbers under it."""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from matplotlib.ticker import NullLocator

from analysis.analyses.landmark import LandmarkRow, landmark_row
from analysis.present.context import resolve_min_cell
from analysis.present.figures.hazard_axis import FONT, MARKER, ci_extent, fmt_tick, log_limits, log_ticks
from analysis.present.privacy import events_counts
from analysis.present.style import INK, REFERENCE_LINE, SINGLE_COLOR, ReportFigure, style

__all__ = ["landmark_series_plot"]


def landmark_series_plot(
    rows: Iterable[LandmarkRow],
    *,
    title: str | None = None,
    ylabel: str = "Hazard ratio (95% CI)",
    figsize: tuple[float, float] = (5.2, 3.6),
    color: str = SINGLE_COLOR,
    min_cell: int | None = None,
) -> ReportFigure:
    """Hazard ratio (95% CI) at each landmark of a dynamic landmark series.

    Parameters
    ----------
    rows
        `LandmarkRow`s (or tuples of its fields).
    title, ylabel, figsize, color
        Title (none by default), y-axis label, size in inches, colour.

    Returns
    -------
    matplotlib.figure.Figure
        Squares with CI whiskers on a log axis (line at HR = 1; infinite or far
        limits clipped with an arrow), landmarks in months after HCT on the x
        axis, and the patients at risk and events at each landmark under it.
    """
    min_cell = resolve_min_cell(min_cell)
    rows = [landmark_row(r) for r in rows]
    if not rows:
        raise ValueError("landmark_series_plot needs at least one row")
    rows = sorted(rows, key=lambda r: r.landmark)
    landmarks = np.array([r.landmark for r in rows], float)
    ylim = log_limits([r.hr for r in rows], [v for r in rows for v in (r.lower, r.upper)])
    lo, hi = ylim

    with style():
        fig = ReportFigure(figsize=figsize, layout="constrained")
        ax = fig.add_subplot()
        ax.set_yscale("log")
        ax.axhline(1.0, color=REFERENCE_LINE, linewidth=0.8, zorder=1, gid="null-line")
        shown = [(r.landmark, r.hr) for r in rows if np.isfinite(r.hr) and lo <= r.hr <= hi]
        if len(shown) > 1:
            ax.plot(*zip(*shown), color=color, linewidth=0.8, alpha=0.5, zorder=2, gid="path")
        for r in rows:
            name = f"{r.landmark:g}"
            lower, upper = ci_extent(r.hr, r.lower, r.upper)
            y0, y1 = max(lower, lo), min(upper, hi)
            if np.isfinite(y0) and np.isfinite(y1) and y0 < y1:
                ax.plot([r.landmark, r.landmark], [y0, y1], color=color, linewidth=1.1, zorder=3,
                        gid=f"ci:{name}")
            if lower < lo:
                ax.plot([r.landmark], [lo], marker="v", markersize=4.5, color=color, clip_on=False,
                        linestyle="none", gid=f"clip-lower:{name}")
            if upper > hi:
                ax.plot([r.landmark], [hi], marker="^", markersize=4.5, color=color, clip_on=False,
                        linestyle="none", gid=f"clip-upper:{name}")
            if np.isfinite(r.hr) and lo <= r.hr <= hi:
                ax.plot([r.landmark], [r.hr], marker="s", markersize=MARKER, color=color, linestyle="none",
                        zorder=4, gid=f"hr:{name}")
        ax.set_ylim(lo, hi)
        ticks = log_ticks(lo, hi)
        ax.set_yticks(ticks)
        ax.set_yticklabels([fmt_tick(t) for t in ticks])
        ax.yaxis.set_minor_locator(NullLocator())
        span = max(landmarks.max() - landmarks.min(), 1.0)
        ax.set_xlim(landmarks.min() - 0.06 * span, landmarks.max() + 0.06 * span)
        ax.set_xticks(landmarks)
        ax.set_xticklabels([f"{v:g}" for v in landmarks])
        ax.set_xlabel("Landmark, months after HCT")
        ax.set_ylabel(ylabel)
        if title:
            ax.set_title(title, loc="left")
        for side in ("left", "bottom"):
            ax.spines[side].set_position(("outward", 4))

        # patients at risk and events under the axis label, aligned with the landmarks
        anchor = ax.xaxis.label
        shown = events_counts([(r.n, r.events) for r in rows], ordered=True, min_cell=min_cell)
        width = max(len(v.text) for pair in shown for v in pair)
        label_gap = 4.0 + 0.32 * FONT * width  # clears half of the widest count at the first landmark
        first_x = (landmarks[0] - ax.get_xlim()[0]) / (ax.get_xlim()[1] - ax.get_xlim()[0])
        table = (("At risk", [n.text for n, _ in shown]), ("Events", [events.text for _, events in shown]))
        for line, (header, values) in enumerate(table):
            dy = -(7.0 + line * 12.0)
            ax.annotate(header, xy=(first_x, 0), xycoords=("axes fraction", anchor), xytext=(-label_gap, dy),
                        textcoords="offset points", ha="right", va="top", fontsize=FONT, color=INK,
                        fontweight="bold", annotation_clip=False, gid=f"table-label:{header}")
            for landmark_value, value in zip(landmarks, values):
                ax.annotate(str(value), xy=(landmark_value, 0), xycoords=("data", anchor), xytext=(0, dy),
                            textcoords="offset points", ha="center", va="top", fontsize=FONT, color=INK,
                            annotation_clip=False, gid=f"table:{header}:{landmark_value:g}")
    return fig
