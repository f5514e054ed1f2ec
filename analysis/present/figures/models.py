"""Figures of regression models: forest plots, Schoenfeld-residual plots, landmark series.

Only drawing happens here: hazard ratios, confidence limits, p-values and
residuals come from `ModelResult` (and its `ZphResult`) or `LandmarkRow`
records computed elsewhere.  The figures share the style of
`analysis.figures` (rcParams applied with a context manager, Okabe-Ito
palette, `ReportFigure` that shows itself in a notebook) and the row layout of
`analysis.model_tables` (`model_rows`), so a forest plot and the model table
list the same rows in the same order with the same numbers.

The forest plots are laid out in inches, not by a layout engine: every text
column is as wide as its widest string, rows have a fixed height, and the
figure is as large as its content (or `figsize`).  Each row's label, marker,
"HR (95% CI)" and p sit on the same baseline.

Examples
--------
>>> forest_plot(models.os_cox, title="Overall survival")          # doctest: +SKIP
>>> forest_plots({"OS (Cox)": m.os_cox, "Relapse (Fine-Gray)": m.relapse_finegray})  # doctest: +SKIP
>>> zph_plot(models.os_cox, "graft_source")                        # doctest: +SKIP
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.textpath import text_to_path
from matplotlib.ticker import NullLocator
from matplotlib.transforms import blended_transform_factory

from analysis.domain.endpoints import ENDPOINTS
from analysis.present.figures.curves import PALETTE, SINGLE_COLOR, STYLE, ReportFigure, style
from analysis.present.numbers import fmt_p, fmt_p_expr
from analysis.analyses.landmark import LandmarkRow
from analysis.present.tables.models import (
    _as_landmark_row,
    _count_text,
    covariate_title,
    fmt_hr_ci,
    model_rows,
    row_entry,
    split_term,
)
from analysis.analyses.models import ModelResult
from analysis.domain.states import STATES
from analysis.present.privacy import suppress_count
from analysis.present.tables.estimates import _lower_first

__all__ = ["forest_plot", "forest_plots", "landmark_series_plot", "smooth", "zph_plot"]

_INK = "#222222"
_MUTED = "#555555"
_REF_LINE = "#888888"
_SHADE = "#F1F1F1"  # every other covariate block
_FONT = 8.5  # row text
_HEAD_FONT = 8.5  # column headers (bold)
_TITLE_FONT = float(STYLE["axes.titlesize"])
_ROW_IN = 0.22  # row height (inches)
_PAD_IN = 0.12  # outer margins
_GAP_IN = 0.14  # between columns
_PANEL_GAP_IN = 0.32  # between the panels of `forest_plots`
_INDENT_PT = 9.0  # levels under their covariate heading
_AXIS_IN = 0.42  # below the rows: ticks, tick labels and the axis label
_MARKER = 5.5  # points
_NICE = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0,
         200.0, 500.0, 1000.0)
_SPAN_CAP = 25.0  # a CI is shown at most this factor beyond the farthest HR (then clipped with an arrow)


# --------------------------------------------------------------------------- helpers


def _text_width_in(texts: Iterable[str], size: float = _FONT, weight: str = "normal") -> float:
    """Width in inches of the widest string, in the current style's font."""
    prop = FontProperties(size=size, weight=weight)
    widths = [text_to_path.get_text_width_height_descent(t, prop, ismath=False)[0] for t in texts if t]
    return max(widths, default=0.0) / 72.0


def _axis_label(model: ModelResult) -> str:
    if model.method == "finegray":
        return "Subdistribution hazard ratio"
    spec = ENDPOINTS.get(model.endpoint)
    if spec is not None and spec.kind == "incidence":
        return "Cause-specific hazard ratio"
    return "Hazard ratio"


def _ci_extent(hr: float, lower: float, upper: float) -> tuple[float, float]:
    """The ends of a CI whisker on a log axis, before clipping to the axis.

    A missing or non-positive lower limit runs to 0 and a NaN upper limit stops
    at the estimate; an infinite limit stays infinite (clipped with an arrow).
    """
    return (lower if np.isfinite(lower) and lower > 0 else 0.0,
            upper if not np.isnan(upper) else hr)


def _finite_positive(values) -> list[float]:
    return [float(v) for v in values if v is not None and np.isfinite(v) and v > 0]


def _log_limits(hrs: Sequence[float], limits: Sequence[float]) -> tuple[float, float]:
    """Axis limits on "nice" values covering 1, every HR, and the CIs up to `_SPAN_CAP` beyond the HRs."""
    hrs = _finite_positive(hrs) or [1.0]
    lo_hr, hi_hr = min(min(hrs), 1.0), max(max(hrs), 1.0)
    limits = _finite_positive(limits)
    lo = max(min([lo_hr, *limits]), lo_hr / _SPAN_CAP)
    hi = min(max([hi_hr, *limits]), hi_hr * _SPAN_CAP)
    lo, hi = min(lo, 0.5), max(hi, 2.0)  # at least 0.5-2 around the line at 1
    lo = max([v for v in _NICE if v <= lo * (1 + 1e-9)], default=_NICE[0])
    hi = min([v for v in _NICE if v >= hi * (1 - 1e-9)], default=_NICE[-1])
    return lo, hi


def _log_ticks(lo: float, hi: float, max_ticks: int = 7) -> list[float]:
    """Ticks within the limits: 1-2-5, else 1-5, else decades, the first with at most `max_ticks`."""

    def mantissa(v: float) -> int:
        return int(round(v / 10 ** math.floor(math.log10(v) + 1e-9)))

    within = [v for v in _NICE if lo * (1 - 1e-9) <= v <= hi * (1 + 1e-9)]
    for allowed in ((1, 2, 5), (1, 5), (1,)):
        ticks = [v for v in within if mantissa(v) in allowed]
        # keep an end of the axis labelled when it is clear of the other ticks
        for end in (within[0], within[-1]):
            if end not in ticks and all(abs(math.log10(end / t)) >= 0.45 for t in ticks):
                ticks.append(end)
        ticks = sorted(ticks)
        if len(ticks) <= max_ticks:
            return ticks
    return ticks


def _fmt_tick(value: float) -> str:
    return f"{value:g}"


@dataclass
class _Column:
    """A text column: header, one string per row, x position (inches from the figure's left edge)."""

    header: str
    texts: list[str]
    width: float
    align: str = "left"
    x: float = 0.0


# --------------------------------------------------------------------------- forest plots


def _panel_columns(model: ModelResult, rows) -> tuple[list[str], list[str]]:
    hr_texts, p_texts = [], []
    for row in rows:
        entry = row_entry(model, row)
        if entry is None:
            hr_texts.append("" if row.kind == "heading" else "\u2014")
            p_texts.append("")
        elif entry == "reference":
            hr_texts.append("reference")
            p_texts.append("")
        else:
            hr_texts.append(fmt_hr_ci(entry.hr, entry.lower, entry.upper))
            p_texts.append(fmt_p(entry.p))
    return hr_texts, p_texts


def _draw_estimates(ax: Axes, model: ModelResult, rows, xlim: tuple[float, float], color: str,
                    scale_markers: bool):
    lo, hi = xlim
    weights = {}
    if scale_markers:
        se = [t.se for t in model.terms if np.isfinite(t.se) and t.se > 0]
        if se:
            smallest = min(se)
            weights = {t.term: (smallest / t.se) if np.isfinite(t.se) and t.se > 0 else 0.3 for t in model.terms}
    for y, row in enumerate(rows):
        entry = row_entry(model, row)
        if entry is None:
            continue
        if entry == "reference":
            ax.plot([1.0], [y], marker="s", markersize=_MARKER, markerfacecolor="white", markeredgecolor=color,
                    markeredgewidth=1.0, linestyle="none", zorder=4, gid=f"ref:{row.term}")
            continue
        hr, lower, upper = entry.hr, entry.lower, entry.upper
        name = entry.term
        if np.isfinite(lower) or np.isfinite(upper):
            left, right = _ci_extent(hr, lower, upper)
            x0, x1 = max(left, lo), min(right, hi)
            if x0 < x1:
                ax.plot([x0, x1], [y, y], color=color, linewidth=1.1, solid_capstyle="butt", zorder=3,
                        gid=f"ci:{name}")
            if left < lo:
                ax.plot([lo], [y], marker="<", markersize=4.5, color=color, linestyle="none", zorder=3,
                        clip_on=False, gid=f"clip-lower:{name}")
            if right > hi:
                ax.plot([hi], [y], marker=">", markersize=4.5, color=color, linestyle="none", zorder=3,
                        clip_on=False, gid=f"clip-upper:{name}")
        if np.isfinite(hr) and lo <= hr <= hi:
            size = _MARKER * (0.55 + 0.75 * math.sqrt(weights.get(name, 1.0))) / 1.3 if weights else _MARKER
            ax.plot([hr], [y], marker="s", markersize=size, color=color, markeredgecolor=color, linestyle="none",
                    zorder=4, gid=f"hr:{name}")


def _format_forest_axes(ax: Axes, n_rows: int, xlim: tuple[float, float], xlabel: str):
    ax.set_xscale("log")
    ax.set_xlim(*xlim)
    ax.set_ylim(n_rows - 0.5, -0.5)
    width_in = ax.get_position().width * ax.figure.get_figwidth()
    ticks = _log_ticks(*xlim, max_ticks=max(3, int(width_in / 0.3)))
    ax.set_xticks(ticks)
    ax.set_xticklabels([_fmt_tick(t) for t in ticks])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_position(("outward", 3))
    ax.spines["bottom"].set_linewidth(0.8)
    ax.spines["bottom"].set_color("#444444")
    ax.tick_params(axis="x", labelsize=STYLE["xtick.labelsize"], length=3.5, width=0.8, color="#444444",
                   labelcolor=_INK, pad=2)
    ax.set_xlabel(xlabel, fontsize=_FONT, color=_INK, labelpad=3)
    ax.set_facecolor("none")
    ax.axvline(1.0, color=_REF_LINE, linewidth=0.8, zorder=1, gid="null-line")


def _forest(models: dict[str, ModelResult], *, labels, figsize, title, panel_titles: bool, xlim, min_cell: int = 0,
            scale_markers: bool, plot_width: float | None, color: str) -> ReportFigure:
    names = list(models)
    rows = model_rows(list(models.values()), labels)
    if not rows:
        raise ValueError("the model has no terms to plot")
    n_rows = len(rows)
    n_panels = len(names)

    # ---- widths (inches) of the text columns, measured in the figure's font
    indent_in = _INDENT_PT / 72.0
    label_w = max(
        _text_width_in([r.label for r in rows if r.kind != "level"], weight="bold"),
        indent_in + _text_width_in([r.label for r in rows if r.kind == "level"]),
    )
    panels = []
    for name in names:
        hr_texts, p_texts = _panel_columns(models[name], rows)
        hr_col = _Column("HR (95% CI)", hr_texts, max(_text_width_in(hr_texts),
                                                      _text_width_in(["HR (95% CI)"], _HEAD_FONT, "bold")))
        p_width = max(_text_width_in(p_texts + ["0.00"]), _text_width_in(["p"], _HEAD_FONT, "bold"))
        p_col = _Column("p", p_texts, p_width, align="right")
        panels.append((name, hr_col, p_col))

    text_w = sum(hr.width + p.width + 3 * _GAP_IN for _, hr, p in panels)
    fixed_w = 2 * _PAD_IN + label_w + _GAP_IN + text_w + _PANEL_GAP_IN * (n_panels - 1)
    if figsize is not None:
        width, height = figsize
        plot_w = max((width - fixed_w) / n_panels, 0.8)
    else:
        plot_w = plot_width if plot_width is not None else (max(6.5 - fixed_w, 1.6) if n_panels == 1 else 1.7)
        width = fixed_w + n_panels * plot_w

    # ---- heights: title line(s), panel title, n/events line, column header, rows, x axis
    header_lines = 1  # column headers
    header_lines += 1  # n = .., events = ..
    if panel_titles:
        header_lines += 1
    title_in = 0.30 if title else 0.0
    top_in = _PAD_IN + title_in + header_lines * _ROW_IN + 0.06
    if figsize is not None:
        row_in = max((height - top_in - _AXIS_IN - _PAD_IN) / n_rows, 0.12)
    else:
        row_in = _ROW_IN
        height = top_in + n_rows * row_in + _AXIS_IN + _PAD_IN
    rows_h = n_rows * row_in
    bottom_in = height - top_in - rows_h

    with style():
        fig = ReportFigure(figsize=(width, height))
        x = _PAD_IN
        label_x = x
        x += label_w + _GAP_IN
        axes = []
        for k, (name, hr_col, p_col) in enumerate(panels):
            model = models[name]
            ax = fig.add_axes((x / width, bottom_in / height, plot_w / width, rows_h / height))
            ax.set_gid(f"forest:{name}")
            hrs = [t.hr for t in model.terms]
            lims = [v for t in model.terms for v in (t.lower, t.upper)]
            panel_xlim = tuple(xlim) if xlim is not None else _log_limits(hrs, lims)
            _format_forest_axes(ax, n_rows, panel_xlim, _axis_label(model))
            _draw_estimates(ax, model, rows, panel_xlim, color, scale_markers)
            x += plot_w + _GAP_IN
            hr_col.x = x
            x += hr_col.width + _GAP_IN
            p_col.x = x + p_col.width  # right-aligned
            x = p_col.x + _GAP_IN + (_PANEL_GAP_IN if k < n_panels - 1 else 0.0)
            axes.append((ax, name, hr_col, p_col))

        first_ax = axes[0][0]
        to_fig = blended_transform_factory(fig.dpi_scale_trans, first_ax.transData)

        # shading of every other covariate block, across the whole width
        block, blocks = -1, []
        for y, row in enumerate(rows):
            if row.kind != "level":
                block += 1
            blocks.append(block)
        for y, b in enumerate(blocks):
            if b % 2 == 1:
                fig.add_artist(Rectangle((_PAD_IN * 0.5, y - 0.5), width - _PAD_IN, 1.0, transform=to_fig,
                                         facecolor=_SHADE, edgecolor="none", zorder=-10, gid="shade"))

        # row labels
        for y, row in enumerate(rows):
            is_level = row.kind == "level"
            fig.text(label_x + (indent_in if is_level else 0.0), y, row.label, transform=to_fig, ha="left",
                     va="center_baseline", fontsize=_FONT, color=_INK, fontweight="normal" if is_level else "bold",
                     gid=f"label:{row.term or row.column}")

        # text columns, headers, panel titles and counts
        header_y = -0.5 - 0.5 * _ROW_IN / row_in - 0.06 / row_in
        count_y = header_y - _ROW_IN / row_in
        title_y = count_y - _ROW_IN / row_in
        for ax, name, hr_col, p_col in axes:
            model = models[name]
            panel_left = ax.get_position().x0 * width
            for col in (hr_col, p_col):
                for y, text in enumerate(col.texts):
                    if text:
                        fig.text(col.x, y, text, transform=to_fig, ha=col.align, va="center_baseline",
                                 fontsize=_FONT, color=_INK if text != "reference" else _MUTED,
                                 gid=f"{'hr' if col is hr_col else 'p'}-text:{name}:{y}")
                fig.text(col.x, header_y, col.header, transform=to_fig, ha=col.align, va="center_baseline",
                         fontsize=_HEAD_FONT, fontweight="bold", color=_INK, gid=f"header:{name}:{col.header}")
            fig.text(panel_left if panel_titles else label_x, count_y, _count_text(model, min_cell), transform=to_fig,
                     ha="left", va="center_baseline",
                     fontsize=_FONT - 0.5, color=_MUTED, gid=f"count:{name}")
            if panel_titles:
                fig.text(panel_left, title_y, name, transform=to_fig, ha="left", va="center_baseline",
                         fontsize=_TITLE_FONT, fontweight="bold", color=_INK, gid=f"panel-title:{name}")
        # rules: under the column headers and under the last row
        rule_y = header_y + 0.5 * _ROW_IN / row_in + 0.02 / row_in
        for y in (rule_y,):
            fig.add_artist(Line2D([_PAD_IN * 0.5, width - _PAD_IN * 0.5], [y, y], transform=to_fig,
                                  color="#444444", linewidth=0.6, gid="rule"))
        if title:
            fig.text(_PAD_IN, height - _PAD_IN - 0.5 * title_in, title, transform=fig.dpi_scale_trans, ha="left",
                     va="center_baseline",
                     fontsize=_TITLE_FONT + 0.5, fontweight="bold", color=_INK, gid="title")
    return fig


def forest_plot(
    model: ModelResult,
    *,
    title: str | None = None,
    labels: Mapping[str, str] | None = None,
    figsize: tuple[float, float] | None = None,
    xlim: tuple[float, float] | None = None,
    scale_markers: bool = False,
    color: str = SINGLE_COLOR,
    min_cell: int = 0,
) -> ReportFigure:
    """Forest plot of one model: hazard ratios with 95% CIs, one row per covariate level.

    Parameters
    ----------
    model
        A Cox or Fine-Gray `ModelResult`.
    title
        Figure title, none by default.
    labels
        Overrides of covariate or level labels, keyed by column
        (``"age": "Age (per 10 years)"``) or term (``"graft_source[PB]": "PBSC"``).
    figsize
        Width and height in inches; by default 6.5 in wide and as high as the
        rows need.
    xlim
        Hazard-ratio axis limits; by default nice values covering 1, every HR
        and the CIs (a CI reaching more than 25 times beyond the farthest HR,
        or infinite, is clipped with an arrow).
    scale_markers
        Size the squares by precision (1 / SE), as meta-analysis forest plots.
    color
        Colour of squares and whiskers.

    Returns
    -------
    matplotlib.figure.Figure
        Rows: each categorical covariate's title (bold) with its levels
        indented below (the reference level drawn as an open square at 1,
        "reference" in the text column), one row per continuous covariate
        ("Age (per year)"); a log-scale axis with a line at HR = 1; columns
        "HR (95% CI)" and "p" at the right; "n = .., events = .." above.
    """
    return _forest({"": model}, labels=labels, figsize=figsize, title=title, panel_titles=False, xlim=xlim,
                   min_cell=min_cell,
                   scale_markers=scale_markers, plot_width=None, color=color)


def forest_plots(
    models: Mapping[str, ModelResult],
    *,
    title: str | None = None,
    labels: Mapping[str, str] | None = None,
    figsize: tuple[float, float] | None = None,
    xlim: tuple[float, float] | None = None,
    scale_markers: bool = False,
    color: str = SINGLE_COLOR,
    plot_width: float = 1.7,
    min_cell: int = 0,
) -> ReportFigure:
    """Several models side by side, sharing the covariate rows (e.g. OS Cox | relapse and NRM Fine-Gray).

    Parameters
    ----------
    models
        Panel title -> model, e.g. ``{"OS (Cox)": m.os_cox, "Relapse (Fine-Gray)": m.relapse_finegray,
        "NRM (Fine-Gray)": m.nrm_finegray}``.  A level or covariate absent
        from a model shows a dash in its panel.
    xlim
        One set of limits for every panel; by default each panel has its own.
    plot_width
        Width in inches of each panel's plotting area (ignored with `figsize`).
    The other parameters are as in `forest_plot`.
    """
    models = dict(models)
    if not models:
        raise ValueError("forest_plots needs at least one model")
    return _forest(models, labels=labels, figsize=figsize, title=title, panel_titles=True, xlim=xlim,
                   min_cell=min_cell,
                   scale_markers=scale_markers, plot_width=plot_width, color=color)


# --------------------------------------------------------------------------- Schoenfeld residuals


def smooth(x, y, *, frac: float = 2 / 3, iterations: int = 3, at=None) -> np.ndarray:
    """Lowess (locally weighted linear regression, tricube weights, bisquare robustness steps).

    A display smoother, as R's ``lowess(x, y, f = 2/3, iter = 3)``: the fitted
    values at `at` (default: the sorted `x`).
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
            h = np.sort(distance)[k - 1]
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

    for _ in range(iterations):
        residual = y - fit(x)
        scale = 6 * np.median(np.abs(residual))
        if scale <= 0:
            break
        robustness = np.clip(1 - (residual / scale) ** 2, 0, None) ** 2
    return fit(at)


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
        ax.axhline(0.0, color=_REF_LINE, linewidth=0.8, linestyle=":", zorder=1, gid="zero")
        ax.axhline(constant, color=PALETTE[1], linewidth=1.1, linestyle="--", zorder=2, gid="constant")
        ax.plot(x, y, linestyle="none", marker="o", markersize=3.6, markerfacecolor="none",
                markeredgecolor="#7F7F7F", markeredgewidth=0.7, zorder=3, gid="residuals")
        if x.size >= 4:
            grid = np.linspace(x.min(), x.max(), 101)
            ax.plot(grid, smooth(x, y, at=grid), color=PALETTE[0], linewidth=1.8, zorder=4, gid="smooth")
        _zph_time_axis(ax, zph.transform, time, x, times)

        what = _term_title(row.term)
        ax.set_ylabel(f"Beta(t) for {_lower_first(what)}" + ("" if single_column else " (all levels)"))
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


# --------------------------------------------------------------------------- landmark series


def landmark_series_plot(
    rows: Iterable[LandmarkRow],
    *,
    title: str | None = None,
    ylabel: str = "Hazard ratio (95% CI)",
    figsize: tuple[float, float] = (5.2, 3.6),
    color: str = SINGLE_COLOR,
    min_cell: int = 0,
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
    rows = [_as_landmark_row(r) for r in rows]
    if not rows:
        raise ValueError("landmark_series_plot needs at least one row")
    rows = sorted(rows, key=lambda r: r.landmark)
    landmarks = np.array([r.landmark for r in rows], float)
    ylim = _log_limits([r.hr for r in rows], [v for r in rows for v in (r.lower, r.upper)])
    lo, hi = ylim

    with style():
        fig = ReportFigure(figsize=figsize, layout="constrained")
        ax = fig.add_subplot()
        ax.set_yscale("log")
        ax.axhline(1.0, color=_REF_LINE, linewidth=0.8, zorder=1, gid="null-line")
        shown = [(r.landmark, r.hr) for r in rows if np.isfinite(r.hr) and lo <= r.hr <= hi]
        if len(shown) > 1:
            ax.plot(*zip(*shown), color=color, linewidth=0.8, alpha=0.5, zorder=2, gid="path")
        for r in rows:
            name = f"{r.landmark:g}"
            lower, upper = _ci_extent(r.hr, r.lower, r.upper)
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
                ax.plot([r.landmark], [r.hr], marker="s", markersize=_MARKER, color=color, linestyle="none",
                        zorder=4, gid=f"hr:{name}")
        ax.set_ylim(lo, hi)
        ticks = _log_ticks(lo, hi)
        ax.set_yticks(ticks)
        ax.set_yticklabels([_fmt_tick(t) for t in ticks])
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
        width = max(len(suppress_count(v, min_cell)) for r in rows for v in (r.n, r.events))
        label_gap = 4.0 + 0.32 * _FONT * width  # clears half of the widest count at the first landmark
        first_x = (landmarks[0] - ax.get_xlim()[0]) / (ax.get_xlim()[1] - ax.get_xlim()[0])
        table = (("At risk", [suppress_count(r.n, min_cell) for r in rows]),
                 ("Events", [suppress_count(r.events, min_cell) for r in rows]))
        for line, (header, values) in enumerate(table):
            dy = -(7.0 + line * 12.0)
            ax.annotate(header, xy=(first_x, 0), xycoords=("axes fraction", anchor), xytext=(-label_gap, dy),
                        textcoords="offset points", ha="right", va="top", fontsize=_FONT, color=_INK,
                        fontweight="bold", annotation_clip=False, gid=f"table-label:{header}")
            for landmark_value, value in zip(landmarks, values):
                ax.annotate(str(value), xy=(landmark_value, 0), xycoords=("data", anchor), xytext=(0, dy),
                            textcoords="offset points", ha="center", va="top", fontsize=_FONT, color=_INK,
                            annotation_clip=False, gid=f"table:{header}:{landmark_value:g}")
    return fig
