"""Figures and tables drawn from hand-made result objects (no estimator involved).

The curves below are written out by hand: times in months, events and
censorings per time, numbers at risk counted down from n, and estimates typed
in.  What is checked is the presentation: what is drawn where, which text
appears, and how numbers are formatted.
"""
from __future__ import annotations

import html
import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from analysis.present.figures.curves import plot_curves, plot_panels  # noqa: E402

from analysis.present.style import PALETTE, SINGLE_COLOR, style  # noqa: E402
from analysis.present.numbers import (count_words, fmt_horizon, fmt_median, fmt_median_text, fmt_p, fmt_p_expr,  # noqa: E402
                                      fmt_signed, fmt_test_name)
from analysis.stats.core import frozen_array  # noqa: E402
from analysis.stats.results import Curve, EndpointResult, Median  # noqa: E402
from analysis.stats.results import TestResult as GroupTest  # noqa: E402  (not collected by pytest)
from analysis.present.tables.comparison import ComparisonRow, comparison_table  # noqa: E402
from analysis.present.tables.estimates import estimates_table  # noqa: E402

TICKS = (0, 12, 24, 36, 48, 60)


def make_curve(label, time, n_event, n_censor, estimate, *, kind="survival", half_width=0.1, n=None):
    """A Curve from per-time counts; n_risk counts down from n; CI = estimate -/+ half_width."""
    n_event, n_censor = np.asarray(n_event), np.asarray(n_censor)
    n = int(n_event.sum() + n_censor.sum()) if n is None else n
    n_risk = n - np.concatenate([[0], np.cumsum(n_event + n_censor)[:-1]])
    estimate = np.asarray(estimate, dtype=float)
    return Curve(
        kind=kind, label=label, n=n, events=int(n_event.sum()),
        time=frozen_array(time), n_risk=frozen_array(n_risk), n_event=frozen_array(n_event),
        n_censor=frozen_array(n_censor), estimate=frozen_array(estimate),
        variance=frozen_array(np.full(len(estimate), 0.0025)),
        lower=frozen_array(np.clip(estimate - half_width, 0, 1)),
        upper=frozen_array(np.clip(estimate + half_width, 0, 1)),
    )


# Curve A (n = 10): at risk 10 at 0, 7 at 12 (first time >= 12 is 14), 6 at 24, 4 at 36, 3 at 48, 2 at 60.
# Censored at 10, 30 and 50 within 60 months (and at 70, beyond the axis).
A_TIME = [3, 6, 10, 14, 25, 30, 40, 50, 62, 70]
A_EVENT = [1, 1, 0, 1, 1, 0, 1, 0, 1, 0]
A_CENSOR = [0, 0, 1, 0, 0, 1, 0, 1, 0, 1]
A_KM = [0.9, 0.8, 0.8, 0.6857, 0.5714, 0.5714, 0.4286, 0.4286, 0.2143, 0.2143]
A_AT_RISK = ["10", "7", "6", "4", "3", "2"]

# Curve B (n = 8): at risk 8, 5, 4, 2, then 0 at 48 and 60 (last follow-up 45 months); censored at 20 and 45.
B_TIME = [2, 8, 11, 20, 26, 33, 45]
B_EVENT = [1, 1, 1, 0, 1, 1, 0]
B_CENSOR = [0, 0, 0, 1, 0, 0, 2]
B_KM = [0.875, 0.75, 0.625, 0.625, 0.4688, 0.3125, 0.3125]
B_AT_RISK = ["8", "5", "4", "2", "0", "0"]

# Curve C (n = 6): no censoring before 60 months.
C_TIME = [5, 15, 27, 65]
C_EVENT = [2, 1, 1, 0]
C_CENSOR = [0, 0, 0, 2]
C_KM = [0.6667, 0.5, 0.3333, 0.3333]


def curve_a(kind="survival"):
    est = A_KM if kind == "survival" else [1 - v for v in A_KM]
    return make_curve("A", A_TIME, A_EVENT, A_CENSOR, est, kind=kind)


def curve_b(kind="survival"):
    est = B_KM if kind == "survival" else [1 - v for v in B_KM]
    return make_curve("B", B_TIME, B_EVENT, B_CENSOR, est, kind=kind)


def curve_c(kind="survival"):
    est = C_KM if kind == "survival" else [1 - v for v in C_KM]
    return make_curve("C", C_TIME, C_EVENT, C_CENSOR, est, kind=kind)


def single_result():
    curve = make_curve("all", A_TIME, A_EVENT, A_CENSOR, A_KM)
    return EndpointResult("os", "Overall survival", "survival", (curve,), median=(Median(40.0, 14.0, np.nan),))


def two_group_result(p=0.046):
    return EndpointResult("os", "Overall survival", "survival", (curve_a(), curve_b()),
                          test=GroupTest("log-rank", 4.0, 1, p), by="Group")


def three_group_incidence(p=0.12):
    return EndpointResult("relapse", "Relapse/progression", "incidence",
                          (curve_a("incidence"), curve_b("incidence"), curve_c("incidence")),
                          test=GroupTest("Gray", 4.2, 2, p), by="Group")


def by_gid(ax, prefix):
    return [a for a in [*ax.lines, *ax.collections, *ax.texts] if (a.get_gid() or "").startswith(prefix)]


def risk_counts(ax, label):
    texts = sorted(by_gid(ax, f"risk:{label}:"), key=lambda t: float(t.get_gid().rsplit(":", 1)[1]))
    return [t.get_text() for t in texts]


def rendered(fig):
    """Draw the figure (as saving it would) so that text positions are final."""
    fig.savefig(io.BytesIO(), format="png", dpi="figure")
    return fig


# --------------------------------------------------------------------------- figures


def test_single_curve_has_one_dark_line_band_censor_ticks_and_no_legend():
    fig = plot_curves(single_result())
    ax = fig.axes[0]
    (line,) = by_gid(ax, "curve:")
    assert line.get_color() == SINGLE_COLOR
    assert len(by_gid(ax, "ci:")) == 1
    (censor,) = by_gid(ax, "censor:")
    assert censor.get_marker() == "|"
    np.testing.assert_allclose(censor.get_xdata(), [10, 30, 50])  # 70 is beyond the axis
    np.testing.assert_allclose(censor.get_ydata(), [80.0, 57.14, 42.86])  # on the curve, in %
    assert ax.get_legend() is None
    assert not by_gid(ax, "test")
    assert risk_counts(ax, "all") == A_AT_RISK
    assert [t.get_text() for t in by_gid(ax, "risk-header")] == ["Number at risk"]
    assert ax.get_xlabel() == "Months after HCT"
    assert list(ax.get_xticks()) == list(TICKS)
    assert ax.get_ylim() == (0, 100)


def test_survival_curve_is_a_post_step_from_100_percent():
    fig = plot_curves(single_result())
    (line,) = by_gid(fig.axes[0], "curve:")
    assert line.get_drawstyle() == "steps-post"
    assert line.get_xdata()[0] == 0 and line.get_ydata()[0] == 100
    # truncated at the last tick: drawn up to 60 with the value in force there
    assert line.get_xdata()[-1] == 60
    assert line.get_ydata()[-1] == pytest.approx(42.86)  # the event at 62 months is not shown


def test_two_groups_lines_bands_legend_with_n_and_logrank_p():
    fig = plot_curves(two_group_result())
    ax = fig.axes[0]
    lines = by_gid(ax, "curve:")
    assert [line.get_gid() for line in lines] == ["curve:A", "curve:B"]
    assert [line.get_color() for line in lines] == list(PALETTE[:2])
    assert len(by_gid(ax, "ci:")) == 2
    censor = {c.get_gid(): list(c.get_xdata()) for c in by_gid(ax, "censor:")}
    assert censor == {"censor:A": [10, 30, 50], "censor:B": [20, 45]}
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["A (n = 10)", "B (n = 8)"]
    assert [t.get_text() for t in by_gid(ax, "test")] == ["Log-rank test, P = 0.046"]
    assert risk_counts(ax, "A") == A_AT_RISK
    assert risk_counts(ax, "B") == B_AT_RISK
    labels = by_gid(ax, "risk-label:")
    assert [t.get_text() for t in labels] == ["A", "B"]
    assert [t.get_color() for t in labels] == list(PALETTE[:2])


def test_show_ci_false_draws_no_bands():
    ax = plot_curves(two_group_result(), show_ci=False).axes[0]
    assert by_gid(ax, "ci:") == []
    assert len(by_gid(ax, "curve:")) == 2


def test_incidence_plots_f_of_t_with_grays_test():
    fig = plot_curves(three_group_incidence())
    ax = fig.axes[0]
    lines = by_gid(ax, "curve:")
    # three groups: the 95% limits as dashed step lines, not three overlapping bands
    assert len(lines) == 3 and by_gid(ax, "ci:") == [] and len(by_gid(ax, "ci-line:")) == 6
    assert lines[0].get_ydata()[0] == 0  # F(0) = 0
    assert lines[0].get_ydata()[1] == pytest.approx(10.0)  # F = 1 - 0.9 at 3 months, in %
    assert len(by_gid(ax, "censor:")) == 2  # curve C has no censoring before 60 months
    assert [t.get_text() for t in by_gid(ax, "test")] == ["Gray's test, P = 0.12"]
    assert ax.get_ylabel() == "Cumulative incidence (%)"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["A (n = 10)", "B (n = 8)", "C (n = 6)"]


def test_small_p_is_shown_as_inequality():
    ax = plot_curves(two_group_result(p=2e-5)).axes[0]
    assert [t.get_text() for t in by_gid(ax, "test")] == ["Log-rank test, P < 0.001"]


def test_xmax_truncates_display_and_risk_table():
    ax = plot_curves(two_group_result(), xmax=36).axes[0]
    assert ax.get_xlim() == (0, 36)
    assert list(ax.get_xticks()) == [0, 12, 24, 36]
    assert risk_counts(ax, "A") == A_AT_RISK[:4]
    for line in by_gid(ax, "curve:") + by_gid(ax, "censor:"):
        assert max(line.get_xdata()) <= 36


def test_risk_table_counts_sit_under_their_ticks_below_the_axis_label():
    fig = rendered(plot_curves(two_group_result()))
    ax = fig.axes[0]
    xlabel = ax.xaxis.label.get_window_extent()
    for label in ("A", "B"):
        counts = sorted(by_gid(ax, f"risk:{label}:"), key=lambda t: float(t.get_gid().rsplit(":", 1)[1]))
        for t, text in zip(TICKS, counts):
            box = text.get_window_extent()
            tick_x = ax.transData.transform((t, 0))[0]
            assert (box.x0 + box.x1) / 2 == pytest.approx(tick_x, abs=1.0)
            assert box.y1 < xlabel.y0
        first = counts[0].get_window_extent()
        name = by_gid(ax, f"risk-label:{label}")[0].get_window_extent()
        assert name.x1 < first.x0  # group label left of its first count, no overlap
        assert name.y0 == pytest.approx(first.y0, abs=1.0)  # on the same row
    rows = [by_gid(ax, f"risk:{label}:0")[0].get_window_extent() for label in ("A", "B")]
    assert rows[1].y1 <= rows[0].y0 + 1  # second row below the first


def test_risk_table_follows_the_axis_label_changed_after_drawing():
    """The rows hang below the x-axis label as it is at each draw: the label's extent, measured once
    for all the counts, is measured again when its font (changed in place), text or place changes."""
    fig = rendered(plot_curves(two_group_result()))
    ax = fig.axes[0]
    header = by_gid(ax, "risk-header")[0]
    count = by_gid(ax, "risk:B:60")[0]

    def gaps():
        bottom = ax.xaxis.label.get_window_extent().y0
        return bottom - header.get_window_extent().y1, bottom - count.get_window_extent().y1

    drawn = gaps()
    ax.xaxis.label.set_fontsize(20)
    assert gaps() == pytest.approx(drawn, abs=0.5)
    ax.set_xlabel("Months after HCT\n(from the day of the transplant)")
    assert gaps() == pytest.approx(drawn, abs=0.5)
    ax.xaxis.label.set_y(ax.xaxis.label.get_position()[1] - 30)
    assert gaps() == pytest.approx(drawn, abs=0.5)
    rendered(fig)
    assert gaps() == pytest.approx(drawn, abs=0.5)


def test_legend_and_test_do_not_cover_the_curves():
    fig = rendered(plot_curves(two_group_result()))
    ax = fig.axes[0]
    boxes = [ax.get_legend().get_window_extent(), by_gid(ax, "test")[0].get_window_extent()]
    for line in by_gid(ax, "curve:"):
        x, y = line.get_xdata(), line.get_ydata()
        grid = np.linspace(0, x[-1], 400)
        values = np.asarray(y)[np.searchsorted(x, grid, side="right") - 1]
        points = ax.transData.transform(np.column_stack([grid, values]))
        for box in boxes:
            inside = (points[:, 0] >= box.x0) & (points[:, 0] <= box.x1) & \
                     (points[:, 1] >= box.y0) & (points[:, 1] <= box.y1)
            assert not inside.any()


def test_figure_is_standalone_deterministic_and_leaves_rcparams_alone():
    before_figs = plt.get_fignums()
    before_rc = dict(matplotlib.rcParams)
    pngs = []
    for _ in range(2):
        buffer = io.BytesIO()
        plot_curves(two_group_result()).savefig(buffer, format="png", dpi=60, metadata={"Software": None})
        pngs.append(buffer.getvalue())
    assert pngs[0] == pngs[1]
    assert plt.get_fignums() == before_figs  # nothing registered with pyplot, nothing to close
    assert dict(matplotlib.rcParams) == before_rc
    assert tuple(plot_curves(single_result()).get_size_inches()) == (6.5, 4.5)


def test_draws_on_a_given_axes_and_returns_its_figure():
    fig, ax = plt.subplots(layout="constrained")
    try:
        assert plot_curves(single_result(), ax=ax, title="", ylabel="OS (%)") is fig
        assert ax.get_title(loc="left") == ""
        assert ax.get_ylabel() == "OS (%)"
        assert len(by_gid(ax, "curve:")) == 1
    finally:
        plt.close(fig)


def _pixels(fig, dpi):
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    buffer.seek(0)
    return plt.imread(buffer)


@pytest.mark.parametrize("dpi", [96, 300])
def test_kept_layout_draws_the_same_pixels_as_a_fresh_layout(dpi):
    """The figures keep the constrained layout computed when they were built (so showing them
    does not lay them out again); laying them out afresh changes no pixel, at screen or print dpi
    (Quarto makes figures at the dpi it saves them with)."""
    with matplotlib.rc_context({"figure.dpi": dpi}):
        fig = plot_curves(three_group_incidence())
    assert fig.get_layout_engine() is None or not fig.get_layout_engine().adjust_compatible
    kept = _pixels(fig, dpi)
    with style():  # the engine takes its paddings from the figure style
        fig.set_layout_engine("constrained")
    np.testing.assert_array_equal(kept, _pixels(fig, dpi))


def test_a_given_axes_keeps_its_figures_layout_engine():
    fig, ax = plt.subplots(layout="constrained")
    try:
        plot_curves(single_result(), ax=ax)
        assert type(fig.get_layout_engine()).__name__ == "ConstrainedLayoutEngine"
    finally:
        plt.close(fig)


def test_colors_by_label():
    ax = plot_curves(two_group_result(), colors={"B": "#000000"}).axes[0]
    assert [line.get_color() for line in by_gid(ax, "curve:")] == [PALETTE[0], "#000000"]


def test_panels_grid_with_letters_titles_and_risk_tables():
    results = [single_result(), two_group_result(), three_group_incidence(),
               EndpointResult("nrm", "Non-relapse mortality", "incidence", (curve_c("incidence"),))]
    fig = rendered(plot_panels(results))
    assert len(fig.axes) == 4
    letters = [t.get_text() for ax in fig.axes for t in by_gid(ax, "panel-letter")]
    assert letters == ["A", "B", "C", "D"]
    assert [ax.get_title(loc="left") for ax in fig.axes] == [
        "Overall survival", "Overall survival", "Relapse/progression", "Non-relapse mortality"]
    for ax in fig.axes:
        assert len(by_gid(ax, "risk-header")) == 1
    assert risk_counts(fig.axes[1], "B") == B_AT_RISK
    assert [t.get_text() for t in by_gid(fig.axes[2], "test")] == ["Gray's test, P = 0.12"]
    # the top row's risk tables end above the bottom row's titles
    top_table = min(t.get_window_extent().y0 for t in fig.axes[0].texts)
    (bottom_title,) = [t for t in fig.axes[2].get_children()
                       if isinstance(t, Text) and t.get_text() == "Relapse/progression"]
    assert top_table > bottom_title.get_window_extent().y1


def test_panels_drop_unused_cells():
    fig = plot_panels([single_result(), two_group_result(), three_group_incidence()], ncols=2)
    assert len(fig.axes) == 3


# --------------------------------------------------------------------------- tables


def table_curve():
    """At 12 months 33.9% (22.1-46.2); at 60 months 27.3% (16.8-38.9); followed to 70."""
    return Curve(
        kind="survival", label="all", n=59, events=41,
        time=frozen_array([6, 12, 30, 60, 70]), n_risk=frozen_array([59, 30, 22, 16, 3]),
        n_event=frozen_array([20, 9, 6, 3, 3]), n_censor=frozen_array([9, 1, 0, 10, 0]),
        estimate=frozen_array([0.6, 0.339, 0.3, 0.273, 0.2]), variance=frozen_array([0.004] * 5),
        lower=frozen_array([0.47, 0.221, 0.19, 0.168, 0.1]), upper=frozen_array([0.71, 0.462, 0.41, 0.389, 0.3]),
    )


def table_results():
    os_ = EndpointResult("os", "Overall survival", "survival", (table_curve(),),
                         median=(Median(6.94, 4.12, 11.2),))
    by = EndpointResult("os", "Overall survival", "survival", (curve_a(), curve_b()),
                        test=GroupTest("log-rank", 4.0, 1, 0.046), by="Graft source",
                        median=(Median(np.nan, 14.0, np.nan), Median(26.0, 11.0, np.nan)))
    cir = three_group_incidence(p=0.12)
    return [os_, by, cir]


def raw_html(gt):
    return html.unescape(gt.as_raw_html())


def test_estimates_table_formats_estimates_medians_and_tests():
    text = raw_html(estimates_table(table_results(), times=(12, 60), title="Outcomes"))
    for expected in ("33.9% (22.1-46.2)", "27.3% (16.8-38.9)", "1 year", "5 years", "Outcomes",
                     "Median, months (95% CI)", "6.9 (4.1-11.2)", "not reached", "26.0 (11.0-not reached)",
                     "0.046", "0.12", "Log-rank test.", "Gray's test.", ">P<", "Overall survival by graft source",
                     ">59<", ">41<", "Kaplan-Meier", "Aalen-Johansen"):
        assert expected in text, expected
    # group rows are indented with em spaces (no CSS needed), one row per curve
    assert "\u2003A<" in text and "\u2003B<" in text and "\u2003C<" in text
    # curve A at 12 months (last time <= 12 is 10 months): 80.0% (70.0-90.0)
    assert "80.0% (70.0-90.0)" in text


def test_estimates_table_beyond_follow_up_is_na_with_a_note():
    text = raw_html(estimates_table(table_results(), times=(12, 60)))
    # curve B ends at 45 months: no 5-year estimate
    assert ">not estimable<" in text and ">NA<" not in text
    assert "Not estimable: the time lies beyond the last follow-up" in text


def test_estimates_table_single_test_name_is_a_column_footnote():
    text = raw_html(estimates_table([two_group_result()], times=(12, 60)))
    assert "Log-rank test." in text and "Gray's test" not in text
    assert "Median" not in text  # no medians given


def test_estimates_table_without_groups_has_no_p_column():
    text = raw_html(estimates_table([table_results()[0]], times=(6, 12, 24)))
    assert ">P<" not in text
    assert "6 months" in text and "2 years" in text
    assert "60.0% (47.0-71.0)" in text


def test_comparison_table_from_tuples_and_rows():
    rows = [
        ("OS at 1 year", "33.9%", "34.2%", "+0.3 points"),
        ComparisonRow("OS at 5 years", 0.273, 0.2611, kind="pct", section="Outcomes"),
        ComparisonRow("OS CR/PR vs NR: log-rank P", 0.046, 0.0512, kind="p", section="Factors"),
        {"label": "Patients", "published": 59, "computed": 59, "kind": "count", "section": "Cohort"},
        ComparisonRow("Median OS, months", "not given", 7.3, kind="months"),
    ]
    text = raw_html(comparison_table(rows, title="Reproduction"))
    for expected in ("Published", "This report", "Difference", "Reproduction", "33.9%", "34.2%",
                     "+0.3 points", "27.3%", "26.1%", "\u22121.2 points", "0.046", "0.051", "+0.005",
                     ">59<", ">0<", "not given", "7.3", "\u2014", "Outcomes", "Factors"):
        assert expected in text, expected


def test_comparison_table_plain_tuples_have_no_groups():
    text = raw_html(comparison_table([("Patients", "59", "59", "0")], source_note="Fujimoto et al. 2021"))
    assert 'class="gt_group_heading"' not in text
    assert "Fujimoto et al. 2021" in text


def test_formatting_helpers():
    assert fmt_horizon(12) == "1 year" and fmt_horizon(60) == "5 years" and fmt_horizon(6) == "6 months"
    assert fmt_horizon(100 / 30.4375) == "Day 100"
    assert fmt_p_expr(0.046) == "P = 0.046" and fmt_p_expr(0.0001) == "P < 0.001"
    # gtsummary's style: two decimals from 0.1, three below, and >0.9 (never "1.00"); 0.0996 reads 0.10
    assert [fmt_p(p) for p in (0.0004, 0.001, 0.0423, 0.0996, 0.12, 0.9, 0.95, 1.0)] == [
        "<0.001", "0.001", "0.042", "0.10", "0.12", "0.90", ">0.9", ">0.9"]
    assert fmt_p_expr(0.95) == "P > 0.9" and fmt_p(float("nan")) == "\u2014"
    assert fmt_median_text(Median(np.nan, 3.0, np.nan)) == "not reached"
    assert fmt_median_text(Median(8.1, 6.6, 9.8)) == "8.1 months (95% CI 6.6-9.8)"
    assert fmt_median_text(Median(12.7, 7.2, np.nan)) == "12.7 months (95% CI 7.2 months to not reached)"
    assert fmt_signed(-1.24, 1) == "\u22121.2" and fmt_signed(0.04, 1) == "0.0" and fmt_signed(0.3, 1) == "+0.3"
    assert count_words(9, 20) == ("9", "20") and count_words(3, 9) == ("three", "nine")
    assert fmt_test_name("log-rank") == "Log-rank test" and fmt_test_name("Gray") == "Gray's test"
    assert fmt_median(Median(np.nan, 3.0, np.nan)) == "not reached"
    assert fmt_median(Median(6.94, 4.12, 11.2)) == "6.9 (4.1-11.2)"


def test_day_ticks_count_patients_followed_until_that_very_day():
    """A tick at day 30 used to sit 1 ulp after a follow-up ending on day 30, leaving that patient out
    of the number at risk; R counts everyone with time >= the tick."""
    from analysis.data.schema import days_to_months
    from analysis.present.figures.curves import day_ticks
    from analysis.stats.kaplan_meier import kaplan_meier

    days = np.array([10, 30, 30, 45, 60, 90])
    curve = kaplan_meier(days_to_months(days.astype(float)), [1, 0, 1, 0, 1, 0])
    ticks = day_ticks((0, 30, 60, 90))
    assert ticks[1] == days_to_months(30.0)
    assert [curve.number_at_risk(t) for t in ticks] == [6, 5, 2, 1]
    result = EndpointResult("engraftment", "Engraftment", "survival", (curve,))
    fig = rendered(plot_curves(result, times=ticks, xunit="days"))
    assert risk_counts(fig.axes[0], curve.label) == ["6", "5", "2", "1"]


def test_a_panel_whose_every_group_is_too_small_names_them_and_draws_nothing():
    """A small-cell rule above every group's size (e.g. 100 on a 59-patient study) leaves a factor with no
    curve: the panel says so (it raised "the result has no curves to draw")."""
    result = EndpointResult("os", "Overall survival", "survival", (), by="Group",
                            omitted=(("A", 29), ("B", 30)))
    fig = rendered(plot_panels([result, two_group_result()], titles=["By group", "Two groups"], times=[0, 12, 24]))
    empty, full = fig.axes[:2]
    assert not empty.lines and not by_gid(empty, "risk") and empty.get_legend() is None
    note = by_gid(empty, "test")[0].get_text()
    assert "too few patients for a curve" in note and note.count("\n") == 1
    assert by_gid(full, "risk:")
    plt.close(fig)


def test_a_gray_test_without_a_p_value_says_why():
    """A negative Gray statistic (covariance not positive definite) is not 'no event in the groups'."""
    from analysis.present.prose import test_phrase

    def result(statistic):
        return EndpointResult("relapse", "Relapse", "incidence", (), GroupTest("Gray", statistic, 2, float("nan")),
                              by="Graft")

    assert test_phrase(result(-12.75)) == ("Gray's test not estimable (its variance estimate is not positive "
                                           "definite, as with few distinct event times)")
    assert test_phrase(result(float("nan"))) == "Gray's test not estimable (no event in the groups compared)"


def test_report_figures_lay_texts_out_as_matplotlib_does():
    """A report figure's renderer answers each font's line metrics from a cache (style._ReportRenderer):
    every text must still take exactly the box matplotlib's own Agg renderer gives it, whatever its
    font, size, weight, lines (the line gap) and the figure's dpi."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from analysis.present.style import ReportFigure

    texts = [("Months after HCT", {}), ("CB (n = 29)\nPB (n = 18)\nBM (n = 12)", {"fontsize": 8.5}),
             ("Number at risk", {"fontsize": 8.5, "fontweight": "bold"}), ("A", {"fontsize": 12, "fontweight": "bold"}),
             ("Log-rank test, P = 0.042\n≥5 \u2212 <5", {"fontsize": 8.5}), ("Survival (%)", {"family": "sans-serif"}),
             ("DejaVu\ntwo lines", {"family": "DejaVu Sans", "fontsize": 10})]
    for dpi in (72, 100, 300):
        with style():
            ours, plain = ReportFigure(dpi=dpi), Figure(dpi=dpi)
            FigureCanvasAgg(plain)
            for fig in (ours, plain):
                for text, options in texts:
                    fig.text(0.1, 0.5, text, **options)
        ours_renderer, plain_renderer = ours.canvas.get_renderer(), plain.canvas.get_renderer()
        assert hasattr(ours_renderer, "_get_font_height_metrics")  # the cache is what is checked
        for mine, theirs in zip(ours.texts, plain.texts, strict=True):
            assert mine.get_window_extent(ours_renderer).bounds == theirs.get_window_extent(plain_renderer).bounds


def test_report_figure_shows_itself_outside_quarto():
    """Without matplotlib's notebook formatter (plain Python, a notebook that never imported pyplot) a
    report figure gives its own PNG (`_repr_png_`); moved to its canvas by mistake, it was lost."""
    from analysis.present.style import ReportFigure

    with style():
        fig = ReportFigure(figsize=(2, 1.5))
        fig.add_subplot().plot([0, 1], [0, 1])
    assert fig._repr_png_().startswith(b"\x89PNG\r\n\x1a\n")
    assert not hasattr(fig.canvas, "_repr_png_")
