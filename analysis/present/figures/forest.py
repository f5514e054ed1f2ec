"""Forest plots of regression models: hazard ratios with 95% CIs, one row per covariate level.

Only drawing happens here: hazard ratios, confidence limits and p-values come from `ModelResult`
records computed elsewhere.  A forest plot and the model table list the same rows in the same
order with the same numbers: both are laid out by `analysis.present.model_rows`.

The plots are laid out in inches, not by a layout engine: every text column is as wide as its
widest string, rows have a fixed height, and the figure is as large as its content (or
`figsize`).  Each row's label, marker, "HR (95% CI)" ("sHR (95% CI)" for a Fine-Gray model) and P sit on
the same baseline.

Examples
--------
>>> forest_plot(models.os_cox, title="Overall survival")          # doctest: +SKIP
>>> forest_plots({"OS (Cox)": m.os_cox, "Relapse (Fine-Gray)": m.relapse_finegray})  # doctest: +SKIP
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import numpy as np
from matplotlib.axes import Axes
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.textpath import text_to_path
from matplotlib.ticker import NullLocator
from matplotlib.transforms import blended_transform_factory
from dataclasses import dataclass

from analysis.analyses.models import ModelResult
from analysis.domain.endpoints import ENDPOINTS
from analysis.present.context import resolve_min_cell
from analysis.present.figures.hazard_axis import FONT, MARKER, ci_extent, fmt_tick, log_limits, log_ticks
from analysis.present.model_rows import diverged, effect_label, model_rows, row_entry
from analysis.present.numbers import NOT_ESTIMABLE, fmt_hr_ci, fmt_p
from analysis.present.prose import count_text
from analysis.present.style import (INK, MUTED, PDF_FIGURE_HEIGHT_IN, PDF_TEXT_WIDTH_IN, REFERENCE_LINE,
                                    SINGLE_COLOR, STYLE, ReportFigure, style)
from analysis.present.target import renders_typst

__all__ = ["forest_plot", "forest_plots"]

_SHADE = "#F1F1F1"  # every other covariate block
_HEAD_FONT = 8.5  # column headers (bold)
_TITLE_FONT = float(STYLE["axes.titlesize"])
_ROW_IN = 0.22  # row height (inches)
_PAD_IN = 0.12  # outer margins
_GAP_IN = 0.14  # between columns
_PANEL_GAP_IN = 0.32  # between the panels of `forest_plots`
_INDENT_PT = 9.0  # levels under their covariate heading
_AXIS_IN = 0.42  # below the rows: ticks, tick labels and the axis label
_BAND_GAP_IN = 0.2  # between bands of panels drawn one under another
_LEAST_PLOT_IN = 1.2  # the narrowest plotting area when panels must fit a width
_LEAST_ROW_IN = 0.16  # the lowest row when the plot must fit a height


# --------------------------------------------------------------------------- helpers


def _text_width_in(texts: Iterable[str], size: float = FONT, weight: str = "normal") -> float:
    """Width in inches of the widest string, in the current style's font."""
    prop = FontProperties(size=size, weight=weight)
    widths = [text_to_path.get_text_width_height_descent(t, prop, ismath=False)[0] for t in texts if t]
    return max(widths, default=0.0) / 72.0


def _axis_label(model: ModelResult) -> str:
    if model.method == "finegray":
        return "Subdistribution hazard ratio (sHR)"
    spec = ENDPOINTS.get(model.endpoint)
    if spec is not None and spec.kind == "incidence":
        return "Cause-specific hazard ratio"
    return "Hazard ratio"


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
        elif diverged(entry):
            hr_texts.append(NOT_ESTIMABLE)
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
            ax.plot([1.0], [y], marker="s", markersize=MARKER, markerfacecolor="white", markeredgecolor=color,
                    markeredgewidth=1.0, linestyle="none", zorder=4, gid=f"ref:{row.term}")
            continue
        if diverged(entry):  # no finite estimate: nothing to draw (the column says "not estimable")
            continue
        hr, lower, upper = entry.hr, entry.lower, entry.upper
        name = entry.term
        if np.isfinite(lower) or np.isfinite(upper):
            left, right = ci_extent(hr, lower, upper)
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
            size = MARKER * (0.55 + 0.75 * math.sqrt(weights.get(name, 1.0))) / 1.3 if weights else MARKER
            ax.plot([hr], [y], marker="s", markersize=size, color=color, markeredgecolor=color, linestyle="none",
                    zorder=4, gid=f"hr:{name}")


def _format_forest_axes(ax: Axes, n_rows: int, xlim: tuple[float, float], xlabel: str):
    ax.set_xscale("log")
    ax.set_xlim(*xlim)
    ax.set_ylim(n_rows - 0.5, -0.5)
    width_in = ax.get_position().width * ax.figure.get_figwidth()
    ticks = log_ticks(*xlim, max_ticks=max(3, int(width_in / 0.3)))
    ax.set_xticks(ticks)
    ax.set_xticklabels([fmt_tick(t) for t in ticks])
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.spines["bottom"].set_position(("outward", 3))
    ax.spines["bottom"].set_linewidth(0.8)
    ax.spines["bottom"].set_color("#444444")
    ax.tick_params(axis="x", labelsize=STYLE["xtick.labelsize"], length=3.5, width=0.8, color="#444444",
                   labelcolor=INK, pad=2)
    ax.set_xlabel(xlabel, fontsize=FONT, color=INK, labelpad=3)
    ax.set_facecolor("none")
    ax.axvline(1.0, color=REFERENCE_LINE, linewidth=0.8, zorder=1, gid="null-line")


def _forest(models: dict[str, ModelResult], *, labels, figsize, title, panel_titles: bool, xlim, min_cell: int = 0,
            scale_markers: bool, plot_width: float | None, color: str, per_band: int | None = None,
            max_width: float | None = None, max_height: float | None = None) -> ReportFigure:
    """The forest plot of `models`: one panel per model, `per_band` panels side by side in each band
    of the figure (all of them by default), bands one under another, each with its own row labels
    and axis.  `max_width`/`max_height` (inches) bound the figure drawn without `figsize`."""
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
        header = effect_label(models[name])
        hr_col = _Column(header, hr_texts, max(_text_width_in(hr_texts), _text_width_in([header], _HEAD_FONT, "bold")))
        p_width = max(_text_width_in(p_texts + ["0.00"]), _text_width_in(["P"], _HEAD_FONT, "bold"))
        p_col = _Column("P", p_texts, p_width, align="right")
        panels.append((name, hr_col, p_col))

    def fixed_width(band) -> float:
        """Everything but the plotting areas of a band of panels."""
        text_w = sum(hr.width + p.width + 3 * _GAP_IN for _, hr, p in band)
        return 2 * _PAD_IN + label_w + _GAP_IN + text_w + _PANEL_GAP_IN * (len(band) - 1)

    if per_band is None:
        per_band = n_panels
        if max_width is not None and figsize is None:
            least_plot = plot_width if plot_width is not None else _LEAST_PLOT_IN
            while per_band > 1 and fixed_width(panels[:per_band]) + per_band * least_plot > max_width:
                per_band -= 1
    bands = [panels[i:i + per_band] for i in range(0, n_panels, per_band)]
    fixed_w = max(fixed_width(band) for band in bands)
    if figsize is not None:
        width, height = figsize
        plot_w = max((width - fixed_w) / per_band, 0.8)
    else:
        if max_width is not None and len(bands) > 1:
            plot_w = max((max_width - fixed_w) / per_band, _LEAST_PLOT_IN)  # bands fill the width
        else:
            plot_w = plot_width if plot_width is not None else (max(6.5 - fixed_w, 1.6) if n_panels == 1 else 1.7)
        width = fixed_w + per_band * plot_w

    # ---- heights: title line(s); per band: panel title, n/events line, column header, rows, x axis
    header_lines = 1  # column headers
    header_lines += 1  # n = .., events = ..
    if panel_titles:
        header_lines += 1
    title_in = 0.30 if title else 0.0
    header_in = header_lines * _ROW_IN + 0.06
    fixed_h = 2 * _PAD_IN + title_in + len(bands) * (header_in + _AXIS_IN) + (len(bands) - 1) * _BAND_GAP_IN
    if figsize is not None:
        row_in = max((height - fixed_h) / (len(bands) * n_rows), 0.12)
    else:
        row_in = _ROW_IN
        if max_height is not None and fixed_h + len(bands) * n_rows * row_in > max_height:
            row_in = max((max_height - fixed_h) / (len(bands) * n_rows), _LEAST_ROW_IN)
        height = fixed_h + len(bands) * n_rows * row_in
    rows_h = n_rows * row_in
    top_in = _PAD_IN + title_in + header_in  # of the first band's rows

    # shading of every other covariate block, across the whole width
    block, blocks = -1, []
    for row in rows:
        if row.kind != "level":
            block += 1
        blocks.append(block)

    with style():
        fig = ReportFigure(figsize=(width, height))
        for b, band in enumerate(bands):
            bottom_in = height - top_in - rows_h - b * (header_in + rows_h + _AXIS_IN + _BAND_GAP_IN)
            _draw_band(fig, models, rows, blocks, band, width=width, height=height, bottom_in=bottom_in,
                       label_w=label_w, plot_w=plot_w, row_in=row_in, xlim=xlim, color=color,
                       scale_markers=scale_markers, panel_titles=panel_titles, min_cell=min_cell)
        if title:
            fig.text(_PAD_IN, height - _PAD_IN - 0.5 * title_in, title, transform=fig.dpi_scale_trans, ha="left",
                     va="center_baseline",
                     fontsize=_TITLE_FONT + 0.5, fontweight="bold", color=INK, gid="title")
    return fig


def _draw_band(fig, models, rows, blocks, band, *, width, height, bottom_in, label_w, plot_w, row_in, xlim, color,
               scale_markers, panel_titles, min_cell):
    """One band of panels side by side, with its row labels, shading, texts and rule."""
    n_rows = len(rows)
    rows_h = n_rows * row_in
    indent_in = _INDENT_PT / 72.0
    x = _PAD_IN
    label_x = x
    x += label_w + _GAP_IN
    axes = []
    for k, (name, hr_col, p_col) in enumerate(band):
        model = models[name]
        ax = fig.add_axes((x / width, bottom_in / height, plot_w / width, rows_h / height))
        ax.set_gid(f"forest:{name}")
        finite = [t for t in model.terms if not diverged(t)]  # a diverged estimate would stretch the axis
        hrs = [t.hr for t in finite]
        lims = [v for t in finite for v in (t.lower, t.upper)]
        panel_xlim = tuple(xlim) if xlim is not None else log_limits(hrs, lims)
        _format_forest_axes(ax, n_rows, panel_xlim, _axis_label(model))
        _draw_estimates(ax, model, rows, panel_xlim, color, scale_markers)
        x += plot_w + _GAP_IN
        hr_col.x = x
        x += hr_col.width + _GAP_IN
        p_col.x = x + p_col.width  # right-aligned
        x = p_col.x + _GAP_IN + (_PANEL_GAP_IN if k < len(band) - 1 else 0.0)
        axes.append((ax, name, hr_col, p_col))

    first_ax = axes[0][0]
    to_fig = blended_transform_factory(fig.dpi_scale_trans, first_ax.transData)

    for y, b in enumerate(blocks):
        if b % 2 == 1:
            fig.add_artist(Rectangle((_PAD_IN * 0.5, y - 0.5), width - _PAD_IN, 1.0, transform=to_fig,
                                     facecolor=_SHADE, edgecolor="none", zorder=-10, gid="shade"))

    # row labels
    for y, row in enumerate(rows):
        is_level = row.kind == "level"
        fig.text(label_x + (indent_in if is_level else 0.0), y, row.label, transform=to_fig, ha="left",
                 va="center_baseline", fontsize=FONT, color=INK, fontweight="normal" if is_level else "bold",
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
                             fontsize=FONT, color=INK if text != "reference" else MUTED,
                             gid=f"{'hr' if col is hr_col else 'p'}-text:{name}:{y}")
            fig.text(col.x, header_y, col.header, transform=to_fig, ha=col.align, va="center_baseline",
                     fontsize=_HEAD_FONT, fontweight="bold", color=INK, gid=f"header:{name}:{col.header}")
        fig.text(panel_left if panel_titles else label_x, count_y, count_text(model, min_cell, short=True), transform=to_fig,
                 ha="left", va="center_baseline",
                 fontsize=FONT - 0.5, color=MUTED, gid=f"count:{name}")
        if panel_titles:
            fig.text(panel_left, title_y, name, transform=to_fig, ha="left", va="center_baseline",
                     fontsize=_TITLE_FONT, fontweight="bold", color=INK, gid=f"panel-title:{name}")
    # rules: under the column headers and under the last row
    rule_y = header_y + 0.5 * _ROW_IN / row_in + 0.02 / row_in
    for y in (rule_y,):
        fig.add_artist(Line2D([_PAD_IN * 0.5, width - _PAD_IN * 0.5], [y, y], transform=to_fig,
                              color="#444444", linewidth=0.6, gid="rule"))


def forest_plot(
    model: ModelResult,
    *,
    title: str | None = None,
    labels: Mapping[str, str] | None = None,
    figsize: tuple[float, float] | None = None,
    xlim: tuple[float, float] | None = None,
    scale_markers: bool = False,
    color: str = SINGLE_COLOR,
    min_cell: int | None = None,
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
        "HR (95% CI)" (or "sHR (95% CI)") and "P" at the right; "n = .., events = .., events per
        parameter" above.
    """
    min_cell = resolve_min_cell(min_cell)
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
    min_cell: int | None = None,
) -> ReportFigure:
    """Several models side by side, sharing the covariate rows (e.g. OS Cox | relapse and NRM Fine-Gray).

    Drawn for the PDF (Typst), the panels stand side by side only as far as the PDF's text width
    (`PDF_TEXT_WIDTH_IN`) allows, the others in bands below, each band with its own row labels.

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
    min_cell = resolve_min_cell(min_cell)
    models = dict(models)
    if not models:
        raise ValueError("forest_plots needs at least one model")
    if renders_typst() and figsize is None:
        # In the PDF the panels stand side by side only as far as the text width allows, then one
        # under another, so the figure is placed at its own size and its 8 pt text stays 8 pt.
        return _forest(models, labels=labels, figsize=None, title=title, panel_titles=True, xlim=xlim,
                       min_cell=min_cell, scale_markers=scale_markers, plot_width=None, color=color,
                       max_width=PDF_TEXT_WIDTH_IN, max_height=PDF_FIGURE_HEIGHT_IN)
    return _forest(models, labels=labels, figsize=figsize, title=title, panel_titles=True, xlim=xlim,
                   min_cell=min_cell,
                   scale_markers=scale_markers, plot_width=plot_width, color=color)
