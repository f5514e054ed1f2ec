"""The proportional-hazards check of a Cox model drawn: scaled Schoenfeld residuals against time.

As R's ``plot(cox.zph(fit)[term])``: the residuals, a lowess smooth of beta(t), the model's
constant coefficient and zero.  Every number comes from the model's `ZphResult`.

Examples
--------
>>> zph_plot(models.os_cox, "graft_source")                        # doctest: +SKIP
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.lines import Line2D

from analysis.analyses.models import ModelResult
from analysis.data.schema import lower_first
from analysis.present.model_rows import covariate_title, split_term
from analysis.present.numbers import fmt_p_expr
from analysis.present.style import PALETTE, REFERENCE_LINE, STYLE, ReportFigure, style
from analysis.domain.states import STATES

__all__ = ["smooth", "zph_plot"]


# Above this many residuals the smoother is fitted at anchor points and interpolated between them, as R's
# lowess does by default (`delta = 0.01 * diff(range(x))`): fitted at every residual it costs O(n^2)
# (10^6 patients give some 10^5 residuals).  Up to it, every residual is fitted, as before.
SMOOTH_EVERY_POINT_LIMIT = 2_000
# ... and the residuals are drawn as one image (in the SVG too) rather than one marker each.
RASTERIZE_POINTS_ABOVE = 20_000


def smooth(x, y, *, frac: float = 2 / 3, iterations: int = 3, at=None) -> np.ndarray:
    """Lowess (locally weighted linear regression, tricube weights, bisquare robustness steps).

    A display smoother, as R's ``lowess(x, y, f = 2/3, iter = 3)``: the fitted
    values at `at` (default: the sorted `x`).  With more than `SMOOTH_EVERY_POINT_LIMIT`
    points, the robustness steps fit at points at least 1% of the range of `x` apart and
    interpolate linearly between them (R's ``delta``).
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    at = np.sort(x) if at is None else np.asarray(at, float)
    n = x.size
    if n < 3:
        return np.full(at.shape, np.nan)
    k = min(n, max(int(math.ceil(frac * n)), 2))
    robustness = np.ones(n)

    def fit(points):
        out = np.empty(points.shape)
        for i, x0 in enumerate(points):
            distance = np.abs(x - x0)
            h = np.partition(distance, k - 1)[k - 1]  # (the k-th smallest distance, as a full sort gives it)
            h = h if h > 0 else (distance.max() or 1.0)
            w = np.clip(1 - (distance / (h * 1.000001)) ** 3, 0, None) ** 3 * robustness
            sw = w.sum()
            if sw <= 0:
                out[i] = np.nan
                continue
            mx, my = (w * x).sum() / sw, (w * y).sum() / sw
            sxx = (w * (x - mx) ** 2).sum()
            slope = (w * (x - mx) * (y - my)).sum() / sxx if sxx > 1e-12 * max(1.0, mx * mx) else 0.0
            out[i] = my + slope * (x0 - mx)
        return out

    def fit_every_point():
        if n <= SMOOTH_EVERY_POINT_LIMIT:
            return fit(x)
        anchors = _anchors(np.unique(x), 0.01 * float(np.ptp(x)))
        return np.interp(x, anchors, fit(anchors))

    for _ in range(iterations):
        residual = y - fit_every_point()
        scale = 6 * np.median(np.abs(residual))
        if scale <= 0:
            break
        robustness = np.clip(1 - (residual / scale) ** 2, 0, None) ** 2
    return fit(at)


def _anchors(values: np.ndarray, delta: float) -> np.ndarray:
    """The sorted `values` thinned so that consecutive ones are more than `delta` apart, the first and
    the last kept (where R's lowess fits when it skips the points within `delta`)."""
    kept = [values[0]]
    for value in values[1:-1]:
        if value - kept[-1] > delta:
            kept.append(value)
    if values[-1] != kept[-1]:
        kept.append(values[-1])
    return np.asarray(kept)


def _zph_column(model: ModelResult, term: str) -> int:
    names = [row.term for row in model.ph_test.table[:-1]]
    if term in names:
        return names.index(term)
    column, _ = split_term(term)
    if column in names:
        return names.index(column)
    raise KeyError(f"{term!r} is not a term of the cox.zph test; choose from {', '.join(names)}")


def _term_title(term: str) -> str:
    if term in STATES:
        return STATES[term].title
    return covariate_title(term)


def zph_plot(
    model: ModelResult,
    term: str,
    *,
    times: Sequence[float] | None = None,
    figsize: tuple[float, float] = (5.2, 3.6),
    title: str | None = None,
) -> ReportFigure:
    """Scaled Schoenfeld residuals of one term against time, as R's ``plot(cox.zph(fit)[term])``.

    Parameters
    ----------
    model
        A Cox `ModelResult` carrying its ``cox.zph`` test (`model.ph_test`).
    term
        A term of the test: a continuous covariate (``"age"``) or a whole
        categorical covariate (``"graft_source"``; its level terms such as
        ``"graft_source[PB]"`` name the same test term).
    times
        Months labelled on the x axis; the axis itself is the transformed
        time of the test (for the default "km" transform, 1 - KM(t-)), as R
        draws it.  Default: every 12 months within the follow-up.
    figsize, title
        Figure size in inches and title (default the covariate's title).

    Returns
    -------
    matplotlib.figure.Figure
        Residuals (open circles), a lowess smooth of beta(t) (a flat smooth
        means proportional hazards), the fitted constant effect (dashed) and
        zero (no effect, dotted); the term's ``cox.zph`` p-value in the panel.
        For a categorical covariate of several levels the residuals are those
        of the term's combined effect, whose constant fitted value is 1.
    """
    if model.method != "cox":
        raise ValueError("Fine-Gray models have no cox.zph test of proportional hazards")
    if model.ph_test is None:
        raise ValueError("this Cox model carries no cox.zph test (time-dependent covariate in counting-process form)")
    zph = model.ph_test
    j = _zph_column(model, term)
    row = zph.table[j]
    x = np.asarray(zph.x, float)
    y = np.asarray(zph.residuals, float)[:, j]
    time = np.asarray(zph.time, float)
    keep = np.isfinite(x) & np.isfinite(y)
    x, y, time = x[keep], y[keep], time[keep]

    single_column = row.df == 1
    if single_column:
        constant = model.term(row.term).coef if _has_term(model, row.term) else float(np.nanmean(y))
    else:
        constant = 1.0

    with style():
        fig = ReportFigure(figsize=figsize, layout="constrained")
        ax = fig.add_subplot()
        ax.axhline(0.0, color=REFERENCE_LINE, linewidth=0.8, linestyle=":", zorder=1, gid="zero")
        ax.axhline(constant, color=PALETTE[1], linewidth=1.1, linestyle="--", zorder=2, gid="constant")
        ax.plot(x, y, linestyle="none", marker="o", markersize=3.6, markerfacecolor="none",
                markeredgecolor="#7F7F7F", markeredgewidth=0.7, zorder=3, gid="residuals",
                rasterized=x.size > RASTERIZE_POINTS_ABOVE)
        if x.size >= 4:
            grid = np.linspace(x.min(), x.max(), 101)
            ax.plot(grid, smooth(x, y, at=grid), color=PALETTE[0], linewidth=1.8, zorder=4, gid="smooth")
        _zph_time_axis(ax, zph.transform, time, x, times)

        what = _term_title(row.term)
        ax.set_ylabel(f"Beta(t) for {lower_first(what)}" + ("" if single_column else " (all levels)"))
        ax.set_title(title if title is not None else what, loc="left")
        ax.set_title(f"cox.zph {fmt_p_expr(row.p)}", loc="right", fontweight="normal",
                     fontsize=STYLE["legend.fontsize"], gid="zph-p")
        for side in ("left", "bottom"):
            ax.spines[side].set_position(("outward", 4))
        handles = [Line2D([], [], linestyle="none", marker="o", markersize=3.6, markerfacecolor="none",
                          markeredgecolor="#7F7F7F", markeredgewidth=0.7),
                   Line2D([], [], color=PALETTE[0], linewidth=1.8),
                   Line2D([], [], color=PALETTE[1], linewidth=1.1, linestyle="--")]
        names = ["Scaled Schoenfeld residuals", "Lowess smooth", "Constant effect (model)"]
        fig.legend(handles, names, loc="outside lower center", ncol=3, frameon=False,
                   fontsize=STYLE["legend.fontsize"] - 0.5, handlelength=1.6, handletextpad=0.5, columnspacing=1.0)
    return fig


def _zph_time_axis(ax: Axes, transform: str, time: np.ndarray, x: np.ndarray, times):
    """Label the transformed time axis with months after HCT, as R's plot.cox.zph does."""
    if transform == "identity":
        ax.set_xlabel("Months after HCT")
        return
    if transform == "log":
        ax.set_xscale("log")  # x holds log(time): show it as time on a log axis instead
        ax.set_xlabel("log(months after HCT)")
        return
    if time.size == 0:
        return
    order = np.argsort(time, kind="stable")
    t_sorted, x_sorted = time[order], x[order]
    if transform == "km":  # 1 - KM(0-) = 0 at time 0
        t_sorted, x_sorted = np.r_[0.0, t_sorted], np.r_[0.0, x_sorted]
    if times is None:
        top = float(t_sorted[-1])
        step = next((s for s in (1, 2, 3, 6, 12, 24, 36, 60, 120) if top / s <= 8), 240)
        times = np.arange(0.0, top + 1e-9, step)
    labelled = [float(t) for t in times if t_sorted[0] <= t <= t_sorted[-1]]
    positions = np.interp(labelled, t_sorted, x_sorted)
    spread = max(float(np.ptp(x_sorted)), 1e-9)
    kept, last = [], -np.inf
    for t, pos in zip(labelled, positions):
        if pos - last >= 0.07 * spread:  # transformed scales crowd late times together
            kept.append((t, pos))
            last = pos
    ax.set_xticks([pos for _, pos in kept])
    ax.set_xticklabels([f"{t:g}" for t, _ in kept])
    scale = "Kaplan-Meier scale" if transform == "km" else f"{transform} scale"
    ax.set_xlabel(f"Months after HCT ({scale})")


def _has_term(model: ModelResult, term: str) -> bool:
    try:
        model.term(term)
    except KeyError:
        return False
    return True
