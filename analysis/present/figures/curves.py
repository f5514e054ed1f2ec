"""Survival and cumulative-incidence figures drawn from result objects.

Only drawing happens here: every number comes from an `EndpointResult` (and its
`Curve`s) computed elsewhere.  The figures follow what readers of ggsurvfit and
survminer plots expect: step curves with shaded 95% confidence bands, censor
ticks, months on the x axis at 0, 12, ..., 60, a numbers-at-risk table aligned
under the ticks, the group test in the panel, and a legend naming each group
with its size.  Three or more groups get their 95% confidence limits as thin
dashed step lines instead of bands (overlapping translucent bands turn into one
muddy grey-brown), as survminer's ``conf.int.style = "step"`` and ggsurvfit's
``add_confidence_interval(type = "lines")`` draw them.  A group too small for a
curve (`EndpointResult.omitted`) is named in the panel with the reason.

The style is applied with `matplotlib.rc_context` inside each function, never
globally at import.  Figures are built with `matplotlib.figure.Figure` (not
`pyplot`), so a notebook shows a returned figure once and no global figure is
left open; nothing is randomised, so the same result draws the same figure.

Examples
--------
>>> fig = plot_curves(result)                      # doctest: +SKIP
>>> fig = plot_panels([os_, efs, relapse, nrm])     # doctest: +SKIP
>>> fig.savefig("fig1.png", dpi=300)                # doctest: +SKIP
"""
from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from analysis.present.numbers import fmt_test, fmt_number
from analysis.present.labels import curve_label
from analysis.present.style import (INK, PALETTE, PDF_FIGURE_HEIGHT_IN, PDF_TEXT_WIDTH_IN, SINGLE_COLOR, STYLE,
                                    ReportFigure, style)
from analysis.present.target import renders_typst
from analysis.present.context import resolve_min_cell
from analysis.present.privacy import CountSet, omitted_sizes, result_sizes
from analysis.present.prose import group_size_text
from analysis.present.source_data import RiskTable, record_curves
from analysis.data.schema import MONTH_DAYS, days_to_months
from analysis.stats.results import Curve, EndpointResult

__all__ = ["DEFAULT_TIMES", "day_ticks", "plot_curves", "plot_panels", "time_ticks"]

DEFAULT_TIMES = (0, 12, 24, 36, 48, 60)
_RISK_INK = "#333333"  # counts of the risk table
_FIGSIZE = (6.5, 4.5)
_PANEL_WIDTH_IN = 3.6  # each panel of `plot_panels`, and its height
_PANEL_HEIGHT_IN = 3.9
_TIGHT_PAD_IN = 0.25  # what saving with a tight bounding box (as Quarto does) adds around a figure
_BAND_ALPHA = 0.17
_TICK_CLEARANCE = 0.06  # fraction of the axis a tick keeps from the landmark's own tick
_MAX_BANDS = 2  # more groups than this: confidence limits as step lines, not bands
_CI_LINE_WIDTH = 0.7
_CI_LINE_ALPHA = 0.8
_RISK_FONTSIZE = 8.5
_RISK_ROW_PT = 12.0  # baseline-to-baseline distance of risk-table rows (points)
_RISK_GAP_PT = 7.0  # space between the x-axis label and the risk table (points)
_LETTER_FONTSIZE = 12.0


# --------------------------------------------------------------------------- helpers


def _ylabel_default(kind: str) -> str:
    return "Survival (%)" if kind == "survival" else "Cumulative incidence (%)"


def _is_single(result: EndpointResult) -> bool:
    """One curve of an ungrouped result (a grouped one whose other groups were too small keeps its legend)."""
    return len(result.curves) == 1 and not result.omitted


def _resolve_colors(result: EndpointResult, colors) -> list[str]:
    labels = [c.label for c in result.curves]
    if colors is None:
        if _is_single(result):
            return [SINGLE_COLOR]
        return [PALETTE[i % len(PALETTE)] for i in range(len(labels))]
    if isinstance(colors, str):
        return [colors] * len(labels)
    if isinstance(colors, Mapping):
        fallback = [SINGLE_COLOR] if _is_single(result) else list(PALETTE)
        return [colors.get(label, fallback[i % len(fallback)]) for i, label in enumerate(labels)]
    colors = list(colors)
    if not colors:
        raise ValueError("colors must name at least one colour")
    return [colors[i % len(colors)] for i in range(len(labels))]


def _step_arrays(curve: Curve, xmax: float, offset: float = 0.0):
    """The curve as step vertices from time 0, truncated at `xmax` (estimates in %).

    With an `offset` (a landmark), curve time t is drawn at x = offset + t and
    `xmax` is on that axis.
    """
    time = np.asarray(curve.time, dtype=float)
    xmax = xmax - offset
    keep = time <= xmax
    start = curve.start_value
    x = np.concatenate([[0.0], time[keep]])
    y = np.concatenate([[start], np.asarray(curve.estimate, dtype=float)[keep]])
    lo = np.concatenate([[start], np.asarray(curve.lower, dtype=float)[keep]])
    hi = np.concatenate([[start], np.asarray(curve.upper, dtype=float)[keep]])
    if time.size and time[-1] > xmax and x[-1] < xmax:  # followed beyond the window: draw to its edge
        x, y, lo, hi = (np.append(a, v) for a, v in ((x, xmax), (y, y[-1]), (lo, lo[-1]), (hi, hi[-1])))
    return x + offset, 100 * y, 100 * lo, 100 * hi


def _test_text(result: EndpointResult, min_cell: int = 0) -> str | None:
    """The test as the text names it ('Log-rank test, P = 0.042', 'Mantel-Byar test, P > 0.9'), and the
    groups left out for their size, each on its own line."""
    lines = []
    if result.test is not None and len(result.curves) >= 2:
        text = fmt_test(result.test)
        lines.append(text[:1].upper() + text[1:])
    for (label, _), size in zip(result.omitted, omitted_sizes(result, min_cell=min_cell)):
        lines.append(f"{curve_label(result, _Named(label))} ({group_size_text(size)}): too few patients for a curve")
    return "\n".join(lines) or None


@dataclass(frozen=True)
class _Named:
    """A group known only by its label (a group left out for its size), for `curve_label`."""

    label: str


def _legend_labels(result: EndpointResult, min_cell: int = 0) -> list[str]:
    """'CB (n = 29)' for each curve: the groups' sizes under the small-cell rule (`result_sizes`)."""
    return [f"{curve_label(result, curve)} ({group_size_text(size)})"
            for curve, size in zip(result.curves, result_sizes(result, min_cell=min_cell))]


def _entries_after_start(curve: Curve) -> bool:
    return curve.entry_time is not None and bool(np.any(np.asarray(curve.entry_time) > 0))


def _risk_texts(result: EndpointResult, ticks: list[float], min_cell: int, offset: float) -> list[list[str]]:
    """The numbers at risk of each curve at each tick, under the small-cell rule.

    At each tick the curves' numbers add up to the overall number at risk (which the overall
    figure shows); a curve's numbers never rise from one tick to the next unless patients enter
    later (Simon-Makuch curves), and never exceed its size in the legend.  A tick at which every
    curve still holds all its patients shows the sizes exactly as the legend does.
    """
    sizes = result_sizes(result, min_cell=min_cell)
    counts = CountSet(min_cell)
    size_keys = [counts.shown(size) for size in sizes]
    grid = [[curve.number_at_risk(t - offset) for t in ticks] for curve in result.curves]
    keys = [[None] * len(ticks) for _ in result.curves]
    for k in range(len(ticks)):
        column = [row[k] for row in grid]
        if column == [c.n for c in result.curves]:
            for i in range(len(column)):
                keys[i][k] = size_keys[i]
            continue
        for i, n in enumerate(column):
            keys[i][k] = counts.count(n)
        if len(column) > 1:
            counts.sums_to(counts.count(sum(column), may_hide=False), [keys[i][k] for i in range(len(column))])
    for i, curve in enumerate(result.curves):
        if _entries_after_start(curve):
            continue
        chain = [size_keys[i], *keys[i]]
        values = [curve.n, *grid[i]]
        for (a, b), (va, vb) in zip(zip(chain, chain[1:]), zip(values, values[1:])):
            if a != b and va >= vb:
                counts.at_least(a, b)
    return [[counts.text(key) for key in row] for row in keys]


@dataclass
class _Panel:
    """What is drawn on one axes and still has to be placed once the layout is known."""

    ax: Axes
    xmax: float
    xmin: float = 0.0
    geometry: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    legend: object | None = None
    ptext: Text | None = None
    kind: str = "survival"
    risk: RiskTable | None = None  # the numbers at risk as drawn (also the source data under the rule)


# --------------------------------------------------------------------------- drawing


def _draw_curves(ax: Axes, result: EndpointResult, colors: list[str], xmax: float, show_ci: bool, panel: _Panel,
                 min_cell: int = 0, offset: float = 0.0):
    for curve, color, label in zip(result.curves, colors, _legend_labels(result, min_cell)):
        x, y, lo, hi = _step_arrays(curve, xmax, offset)
        panel.geometry.append((x, y, lo, hi))
        if show_ci and len(result.curves) <= _MAX_BANDS:
            ax.fill_between(x, lo, hi, step="post", color=color, alpha=_BAND_ALPHA, linewidth=0,
                            zorder=1, gid=f"ci:{curve.label}")
        elif show_ci:
            for limit, name in ((lo, "lower"), (hi, "upper")):
                ax.step(x, limit, where="post", color=color, linewidth=_CI_LINE_WIDTH, linestyle=(0, (3, 2)),
                        alpha=_CI_LINE_ALPHA, zorder=2, gid=f"ci-line:{name}:{curve.label}")
        (line,) = ax.step(x, y, where="post", color=color, zorder=3, label=label, clip_on=False,
                          gid=f"curve:{curve.label}")
        line.set_solid_capstyle("butt")
        time = np.asarray(curve.time, dtype=float)
        censored = (np.asarray(curve.n_censor) > 0) & (time <= xmax - offset)
        if censored.any():
            ax.plot(offset + time[censored], 100 * np.asarray(curve.estimate, dtype=float)[censored], linestyle="none",
                    marker="|", markersize=5.5, markeredgewidth=1.0, color=color, zorder=4, clip_on=False,
                    gid=f"censor:{curve.label}")


def _format_axes(ax: Axes, ticks: list[float], xmax: float, ylabel: str, xmin: float = 0.0, xunit: str = "months"):
    if xunit not in ("months", "days"):
        raise ValueError("xunit must be 'months' or 'days'")
    # The spines first: moving a spine throws its axis' ticks away, which would then be made twice.
    for side in ("left", "bottom"):
        ax.spines[side].set_position(("outward", 4))
        ax.spines[side].set_linewidth(0.8)
        ax.spines[side].set_color("#444444")
    ax.set_xlim(xmin, xmax)
    ax.set_ylim(0, 100)
    ax.set_xticks(ticks)
    # Curves are always in months; early endpoints (engraftment, acute GVHD) read better in days.  A tick
    # between whole months (the day-100 landmark, 3.3 months) shows one decimal.
    labels = ([f"{t:g}" if float(t).is_integer() else fmt_number(t, 1) for t in ticks] if xunit == "months"
              else [f"{round(t * MONTH_DAYS):d}" for t in ticks])
    ax.set_xticklabels(labels)
    ax.set_yticks([0, 20, 40, 60, 80, 100])
    ax.set_xlabel(f"{xunit.capitalize()} after HCT", fontsize=STYLE["axes.labelsize"], color=INK, labelpad=4)
    ax.set_ylabel(ylabel, fontsize=STYLE["axes.labelsize"], color=INK)
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.tick_params(axis="both", which="major", labelsize=STYLE["xtick.labelsize"], length=3.5, width=0.8,
                   color="#444444", labelcolor=INK)
    ax.grid(False)
    ax.set_facecolor("white")


class _LabelExtent:
    """An axis label's window extent as annotations anchored to it read it (their ``xycoords``).

    Every count of a risk table hangs below the x-axis label: anchored to the label itself, each
    count would measure the label's text again at each layout pass, measuring and drawing.  This
    measures it once for as long as nothing it depends on changes (the renderer, the figure's dpi,
    the label's text, font, alignment, position and transform), so the extent is the label's own.
    """

    def __init__(self, label: Text):
        self.label = label
        self._key = None
        self._extent = None

    def _state(self) -> tuple:
        label = self.label
        # the font by value: setting a size or weight changes the label's FontProperties in place
        return (label.get_figure(root=True).dpi, label.get_text(), hash(label.get_fontproperties()),
                label.get_usetex(), label.get_rotation(), label.get_horizontalalignment(),
                label.get_verticalalignment(),
                label.get_unitless_position(), label.get_transform().get_matrix().tobytes())

    def __call__(self, renderer) -> Bbox:
        key = self._state()
        if self._extent is None or self._renderer() is not renderer or key != self._key:
            self._extent = self.label.get_window_extent(renderer)
            self._renderer, self._key = weakref.ref(renderer), key
        return self._extent


def _draw_risk_table(ax: Axes, result: EndpointResult, colors: list[str], ticks: list[float], min_cell: int = 0,
                     offset: float = 0.0) -> RiskTable | None:
    """Numbers at risk under the x-axis label: a header, then one row per curve and one count per tick.

    Group rows are labelled with the group name in the group's colour; a single
    curve's row has no label.  Positions are offsets in points from the x-axis
    label, so the table stays aligned with the ticks at any figure size.  Counts
    below `min_cell` are shown as "<5", and those from which one could be worked out as "≥5"
    (the small-cell rule, `_risk_texts`; 0 is shown as 0).
    With an `offset` (a landmark), the count under tick t is the curve's
    number at risk at t - offset (its time is measured from the landmark).
    """
    if not ticks or not result.curves:
        return None
    single = _is_single(result)
    anchor_y = _LabelExtent(ax.xaxis.label)  # rows hang below the x-axis label, whatever its size
    texts = _risk_texts(result, ticks, min_cell, offset)
    width = max(len(text) for row in texts for text in row)
    label_gap = 4.0 + 0.32 * _RISK_FONTSIZE * width  # clears half of the widest count at x = 0
    first_counts, labels = [], []
    for row, (curve, color) in enumerate(zip(result.curves, colors), start=1):
        dy = -(_RISK_GAP_PT + row * _RISK_ROW_PT)
        for k, t in enumerate(ticks):
            count = ax.annotate(texts[row - 1][k], xy=(t, 0),
                                xycoords=("data", anchor_y),
                                xytext=(0, dy), textcoords="offset points", ha="center", va="top",
                                fontsize=_RISK_FONTSIZE, color=_RISK_INK, annotation_clip=False,
                                gid=f"risk:{curve.label}:{t:g}")
            if k == 0:
                first_counts.append(count)
        if not single:
            labels.append(ax.annotate(curve_label(result, curve), xy=(0, 0), xycoords=("axes fraction", anchor_y),
                                      xytext=(-label_gap, dy), textcoords="offset points", ha="right", va="top",
                                      fontsize=_RISK_FONTSIZE, color=color, fontweight="bold",
                                      annotation_clip=False, gid=f"risk-label:{curve.label}"))
    left_of = labels if labels else first_counts  # the header starts where the table's first column does

    def left_column(renderer):
        return Bbox.union([t.get_window_extent(renderer) for t in left_of])

    ax.annotate("Number at risk", xy=(0, 0), xycoords=(left_column, anchor_y), xytext=(0, -_RISK_GAP_PT),
                textcoords="offset points", ha="left", va="top", fontsize=_RISK_FONTSIZE, color=INK,
                annotation_clip=False, gid="risk-header")
    return RiskTable(tuple(ticks), offset, tuple(tuple(row) for row in texts))


def _draw_title(ax: Axes, title: str | None, letter: str | None):
    if title:
        # At the top of the axes (y = 1), where matplotlib's automatic placing would leave it too (nothing
        # of the panel stands above the axes: no top ticks or spine), without measuring the y axis for it
        # at every layout pass and draw.
        ax.set_title(title, loc="left", fontsize=STYLE["axes.titlesize"], fontweight="bold", color=INK,
                     pad=STYLE["axes.titlepad"], y=1.0)
    if letter:
        # At the far left of the panel (left edge of the y-axis label), level with the title.
        ax.annotate(letter, xy=(0, 1), xycoords=(ax.yaxis.label, "axes fraction"),
                    xytext=(0, STYLE["axes.titlepad"]), textcoords="offset points", ha="left", va="baseline",
                    fontsize=_LETTER_FONTSIZE, fontweight="bold", color=INK, annotation_clip=False,
                    gid="panel-letter")


def _draw_endpoint(ax: Axes, result: EndpointResult, *, times, colors, show_ci, title, ylabel, xmax,
                   letter=None, min_cell: int = 0, landmark: float = 0.0, xunit: str = "months") -> _Panel:
    if not result.curves and not result.omitted:
        raise ValueError(f"{result.endpoint}: the result has no curves to draw")
    # every group too small (e.g. a small-cell rule above the cohort's size): an empty panel that names them
    landmark = float(landmark)
    if not np.isfinite(landmark) or landmark < 0:
        raise ValueError("landmark must be a finite number of months >= 0")
    times = [float(t) for t in times]
    xmax = float(max(times) if xmax is None else xmax)
    if xmax <= 0:
        raise ValueError("xmax must be positive")
    if xmax <= landmark:
        raise ValueError(f"xmax ({xmax:g}) must lie after the landmark ({landmark:g})")
    ticks = [t for t in times if landmark <= t <= xmax]
    if landmark > 0 and landmark not in ticks:
        # The axis starts at the landmark: a tick there, with the risk table's first column (all at risk);
        # a regular tick too close to it to be read apart gives way.
        crowded = _TICK_CLEARANCE * (xmax - landmark)
        ticks = [landmark, *(t for t in ticks if t - landmark >= crowded)]
    palette = _resolve_colors(result, colors)
    panel = _Panel(ax=ax, xmax=xmax, xmin=landmark, kind=result.kind)

    _draw_curves(ax, result, palette, xmax, show_ci, panel, min_cell, offset=landmark)
    _format_axes(ax, ticks, xmax, _ylabel_default(result.kind) if ylabel is None else ylabel, xmin=landmark,
                 xunit=xunit)
    panel.risk = _draw_risk_table(ax, result, palette, ticks, min_cell, offset=landmark)
    _draw_title(ax, result.title if title is None else title, letter)

    if result.curves and not _is_single(result):
        handles = [Line2D([], [], color=c, linewidth=STYLE["lines.linewidth"]) for c in palette]
        panel.legend = ax.legend(handles, _legend_labels(result, min_cell), loc="upper left",
                                 bbox_to_anchor=(0, 1), bbox_transform=ax.transAxes, frameon=False,
                                 borderpad=0, borderaxespad=0, handlelength=1.8, handletextpad=0.6,
                                 labelspacing=0.35, fontsize=STYLE["legend.fontsize"], labelcolor=INK)
        panel.legend.set_gid("legend")
    text = _test_text(result, min_cell)
    if text is not None:
        panel.ptext = ax.text(0, 0, text, transform=ax.transAxes, ha="left", va="top",
                              fontsize=STYLE["legend.fontsize"], color=INK, gid="test")
    return panel


# --------------------------------------------------------------------------- placing the legend and test


_CANDIDATES = (  # (name, horizontal anchor, vertical anchor), in order of preference
    ("upper right", "right", "top"),
    ("lower left", "left", "bottom"),
    ("upper left", "left", "top"),
    ("lower right", "right", "bottom"),
    ("center right", "right", "center"),
    ("upper center", "center", "top"),
    ("lower center", "center", "bottom"),
)


def _occupancy(panel: _Panel, box: tuple[float, float, float, float]) -> float:
    """How much of the curves (heavily) and bands (lightly) a box in axes fraction covers."""
    x0, x1, y0, y1 = box
    span = panel.xmax - panel.xmin
    grid = panel.xmin + np.linspace(x0, x1, 60) * span
    step = (x1 - x0) * span / 59
    margin = 0.025
    score = 0.0
    for x, y, lo, hi in panel.geometry:
        inside = grid[grid <= x[-1]] if x.size else grid[:0]
        if inside.size == 0:
            continue
        i = np.searchsorted(x, inside, side="right") - 1
        j = np.clip(np.searchsorted(x, inside - step, side="right") - 1, 0, None)
        # the line covers the interval swept since the previous grid point (vertical drops)
        ya, yb = y[i] / 100, y[j] / 100
        line_lo, line_hi = np.minimum(ya, yb) - margin, np.maximum(ya, yb) + margin
        score += 6.0 * np.count_nonzero((line_hi >= y0) & (line_lo <= y1))
        blo, bhi = np.nan_to_num(lo[i] / 100, nan=1.0), np.nan_to_num(hi[i] / 100, nan=0.0)
        score += 1.0 * np.count_nonzero((bhi >= y0) & (blo <= y1))
    return score


def _place_annotations(panel: _Panel):
    """Put the legend and the test (one block) where they cover the least of the curves."""
    ax, legend, ptext = panel.ax, panel.legend, panel.ptext
    if legend is None and ptext is None:
        return
    axes_box = ax.get_window_extent()
    aw, ah = max(axes_box.width, 1.0), max(axes_box.height, 1.0)
    lw = lh = pw = ph = 0.0
    if legend is not None:
        extent = legend.get_window_extent()
        lw, lh = extent.width / aw, extent.height / ah
    if ptext is not None:
        extent = ptext.get_window_extent()
        pw, ph = extent.width / aw, extent.height / ah
    gap = (0.35 * STYLE["legend.fontsize"] / 72 * ax.figure.dpi) / ah if legend is not None and ptext else 0.0
    width, height = max(lw, pw), lh + gap + ph
    pad_x, pad_y, left_min = 0.015, 0.015, 0.05

    best = None
    for order, (name, h, v) in enumerate(_CANDIDATES):
        x0 = {"left": left_min, "right": 1 - pad_x - width, "center": 0.5 - width / 2}[h]
        y1 = {"top": 1 - pad_y, "bottom": 0.04 + height, "center": 0.5 + height / 2}[v]
        box = (x0, x0 + width, y1 - height, y1)
        score = _occupancy(panel, box)
        if best is None or score < best[0]:
            best = (score, order, name, h, box)
    _, _, _, h, (x0, x1, _, y1) = best

    anchor_x = {"left": x0, "right": x1, "center": (x0 + x1) / 2}[h]
    if legend is not None:
        legend.set_loc({"left": "upper left", "right": "upper right", "center": "upper center"}[h])
        legend.set_bbox_to_anchor((anchor_x, y1), transform=ax.transAxes)
    if ptext is not None:
        ptext.set_position((anchor_x, y1 - lh - gap))
        ptext.set_horizontalalignment(h)


def _finish(fig: Figure, panels: list[_Panel], *, own_figure: bool):
    # Legends and tests end up inside their axes, so where they stand before being placed
    # must not shape the layout.
    annotations = [a for panel in panels for a in (panel.legend, panel.ptext) if a is not None]
    for annotation in annotations:
        annotation.set_in_layout(False)
    # The axes' places are final once the layout engine has run (a whole draw adds nothing the
    # placing reads: the legends' and tests' sizes do not depend on where they stand).
    engine = fig.get_layout_engine()
    if engine is not None:
        engine.execute(fig)
    for panel in panels:
        _place_annotations(panel)
    for annotation in annotations:
        annotation.set_in_layout(True)
    if own_figure:
        # The layout is final: keep it, so that showing or saving the figure does not lay out
        # every panel and risk table again.
        fig.set_layout_engine("none")


# --------------------------------------------------------------------------- public API


def day_ticks(days) -> tuple[float, ...]:
    """Ticks of a day axis (engraftment, acute GVHD by day 100), in months: day d at d / 30.4375, the
    very time of an event on day d, so the number at risk under the tick counts the patients still
    followed on that day (time >= tick, as R's `summary.survfit`), those whose follow-up ends that day
    included."""
    return days_to_months(tuple(days))


def time_ticks(horizons) -> tuple[float, ...]:
    """Axis ticks and numbers-at-risk times: 0 to the last horizon, yearly (6-monthly for short horizons)."""
    last = max(horizons)
    step = 12 if last >= 36 else 6 if last >= 12 else 1
    ticks = list(range(0, int(last) + 1, step))
    return tuple(ticks if ticks[-1] == last else [*ticks, last])


def plot_curves(
    result: EndpointResult,
    *,
    times: Sequence[float] = DEFAULT_TIMES,
    ax: Axes | None = None,
    colors: Sequence[str] | Mapping[str, str] | str | None = None,
    show_ci: bool = True,
    title: str | None = None,
    ylabel: str | None = None,
    xmax: float | None = None,
    figsize: tuple[float, float] = _FIGSIZE,
    min_cell: int | None = None,
    landmark: float = 0.0,
    xunit: str = "months",
) -> Figure:
    """Kaplan-Meier or cumulative-incidence curves with numbers at risk.

    Parameters
    ----------
    result
        An endpoint estimated overall (one curve) or by group (several curves,
        usually with a log-rank or Gray's test).
    times
        Months of the x-axis ticks and of the numbers-at-risk columns.
    ax
        Draw on this axes (the risk table goes below it; leave room, e.g. with
        ``layout="constrained"``).  By default a new 6.5 x 4.5 in figure.
    colors
        One colour, a sequence (in curve order) or a mapping label -> colour.
        Default: Okabe-Ito for groups, one dark colour for a single curve.
    show_ci
        Shade the pointwise 95% confidence band.
    title
        Panel title; default ``result.title``; ``""`` for none.
    ylabel
        Default "Survival (%)" or "Cumulative incidence (%)".
    xmax
        Right end of the x axis (months); default the last tick.  Curves are
        drawn up to it; their estimates come from the full follow-up.
    figsize
        Size in inches of a new figure.
    min_cell
        The study's small-cell rule: numbers at risk and group sizes below it
        are shown as "<5" (0, the default: off; a count of 0 is shown as 0).
    xunit
        "months" (default) or "days": how the time axis is labelled (ticks stay in months).
    landmark
        Months after HCT of a landmark from which the curves' times are
        measured (default 0: from HCT).  The curves are drawn on the "months
        after HCT" axis from the landmark on (x = landmark + t); ticks before
        it are left out, and the number at risk under tick t is the curve's
        number at risk at t - landmark.

    Returns
    -------
    matplotlib.figure.Figure
        The figure holding the plot (``ax.figure`` when `ax` was given).
    """
    min_cell = resolve_min_cell(min_cell)
    with style():
        own_figure = ax is None
        if own_figure:
            fig = ReportFigure(figsize=figsize, layout="constrained")
            ax = fig.add_subplot()
        else:
            fig = ax.figure
        panel = _draw_endpoint(ax, result, times=times, colors=colors, show_ci=show_ci, title=title,
                               ylabel=ylabel, xmax=xmax, min_cell=min_cell, landmark=landmark,
                               xunit=xunit)
        _finish(fig, [panel], own_figure=own_figure)
    record_curves([result], min_cell, risk=[panel.risk])
    return fig


def plot_panels(
    results: Sequence[EndpointResult],
    *,
    ncols: int = 2,
    times: Sequence[float] = DEFAULT_TIMES,
    colors: Sequence[str] | Mapping[str, str] | str | None = None,
    show_ci: bool = True,
    titles: Sequence[str | None] | None = None,
    letters: Sequence[str] | str | None = "ABCDEFGHIJKL",
    xmax: float | None = None,
    figsize: tuple[float, float] | None = None,
    min_cell: int | None = None,
    landmark: float | Sequence[float] = 0.0,
    xunit: str = "months",
    source_qualifier: str | None = None,
) -> Figure:
    """Several endpoints side by side, e.g. OS, EFS, CIR, NRM as the paper's Fig. 1.

    Every panel has the elements of `plot_curves` (bands, censor ticks, its own
    numbers-at-risk table, legend and test) and a bold letter A, B, C, ...

    Parameters
    ----------
    results
        The endpoints, filled row by row.
    ncols
        Panels per row (2 gives a 2 x 2 grid for four endpoints).
    titles
        Panel titles (default each ``result.title``).
    letters
        Panel letters in order; ``None`` or ``""`` for none.
    figsize
        Default 3.6 in wide per column and 3.9 in high per row
        (plus room for larger risk tables); drawn for the PDF (Typst), the
        rows together stay within `PDF_FIGURE_HEIGHT_IN` at the size Typst
        places the figure (scaled to `PDF_TEXT_WIDTH_IN`).
    landmark
        As in `plot_curves`: one landmark for every panel, or one per panel.
    source_qualifier
        Words before the endpoints in the title of the figure's source data ("Unadjusted and adjusted"),
        where another figure of the page shows the same endpoints by the same groupings.
    The other parameters are as in `plot_curves`.
    """
    min_cell = resolve_min_cell(min_cell)
    results = list(results)
    if not results:
        raise ValueError("plot_panels needs at least one result")
    if ncols < 1:
        raise ValueError("ncols must be at least 1")
    ncols = min(ncols, len(results))
    nrows = -(-len(results) // ncols)
    if titles is not None and len(titles) != len(results):
        raise ValueError("titles must give one title per result")
    landmarks = list(landmark) if isinstance(landmark, Sequence) else [landmark] * len(results)
    if len(landmarks) != len(results):
        raise ValueError("landmark must be one number or one per result")
    if figsize is None:
        extra_rows = max(len(r.curves) for r in results) - 1
        width, height = _PANEL_WIDTH_IN * ncols, (_PANEL_HEIGHT_IN + 0.17 * extra_rows) * nrows
        if renders_typst():
            # Typst shrinks a figure wider than the PDF's text to fit it (two panels: to 90%, their
            # 8.5 pt text to 7.7 pt); rows taller than a page with its caption are made flatter,
            # so that the figure is not shrunk further.
            shrink = min(1.0, PDF_TEXT_WIDTH_IN / (width + _TIGHT_PAD_IN))
            height = min(height, PDF_FIGURE_HEIGHT_IN / shrink - _TIGHT_PAD_IN)
        figsize = (width, height)
    with style():
        fig = ReportFigure(figsize=figsize, layout="constrained")
        fig.get_layout_engine().set(w_pad=0.06, h_pad=0.08, hspace=0.04, wspace=0.04)
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
        panels = []
        for i, (ax, result) in enumerate(zip(axes, results)):
            letter = letters[i] if letters and i < len(letters) else None
            panels.append(_draw_endpoint(ax, result, times=times, colors=colors, show_ci=show_ci,
                                         title=None if titles is None else titles[i], ylabel=None,
                                         xmax=xmax, letter=letter, min_cell=min_cell, landmark=landmarks[i],
                                         xunit=xunit))
        for ax in axes[len(results):]:
            ax.remove()
        _finish(fig, panels, own_figure=True)
    record_curves(results, min_cell, risk=[panel.risk for panel in panels], qualifier=source_qualifier)
    return fig
