"""Forest plots, model tables, Schoenfeld-residual plots and landmark displays from hand-made results.

The models below are written out by hand (`ModelResult` with `Coefficient`s whose
numbers are typed in), except one tiny Cox fit whose `cox.zph` residuals the
residual plot needs.  What is checked is the presentation: which rows, marks
and strings appear, where they are drawn, and how numbers are formatted.
"""
from __future__ import annotations

import html
import io
import math

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from analysis.stats.cox import cox_model  # noqa: E402
from analysis.stats.cox_zph import ZphResult, ZphTerm, cox_zph  # noqa: E402
from analysis.present.figures.curves import plot_curves, plot_panels  # noqa: E402
from analysis.analyses.landmark import LandmarkRow  # noqa: E402
from analysis.present.figures.forest import forest_plot, forest_plots  # noqa: E402
from analysis.present.figures.landmark_series import landmark_series_plot  # noqa: E402
from analysis.present.figures.zph import smooth, zph_plot  # noqa: E402
from analysis.present.model_rows import model_rows  # noqa: E402
from analysis.present.numbers import fmt_hr, fmt_hr_ci  # noqa: E402
from analysis.present.prose import ph_note  # noqa: E402
from analysis.present.tables.causes_of_death import causes_of_death_table  # noqa: E402
from analysis.present.tables.landmark_series import landmark_series_table  # noqa: E402
from analysis.present.tables.models import model_table  # noqa: E402
from analysis.present.tables.univariable import univariable_table  # noqa: E402
from analysis.analyses.models import ModelResult  # noqa: E402
from analysis.stats.results import Coefficient  # noqa: E402
from analysis.analyses.prognostic import UnivariableFactor  # noqa: E402
from analysis.stats.core import frozen_array  # noqa: E402
from analysis.stats.results import Curve, EndpointResult  # noqa: E402
from analysis.stats.results import TestResult as GroupTest  # noqa: E402  (not collected by pytest)

# --------------------------------------------------------------------------- hand-made models


def term(name, hr, lower, upper, p, se=0.38):
    coef = math.log(hr) if hr > 0 and math.isfinite(hr) else float("nan")
    return Coefficient(name, coef, se, hr, lower, upper, coef / se, p)


# Status at HCT (reference CR), graft source (reference CB), age (continuous).
OS_TERMS = (
    term("status_at_hct[PR]", 0.875, 0.276, 2.776, 0.821),
    term("status_at_hct[NR]", 1.786, 0.902, 3.537, 0.096),
    term("graft_source[PB]", 2.2, 1.04, 4.67, 0.0388),
    term("graft_source[BM]", 2.318, 1.047, 5.133, 0.0381),
    term("age", 0.979, 0.951, 1.008, 0.153, se=0.015),
)
REFERENCES = {"status_at_hct": "CR", "graft_source": "CB"}

# cox.zph of the OS model: graft source departs from proportional hazards (p = 0.012).
OS_ZPH = ZphResult(
    table=(ZphTerm("status_at_hct", 1.43, 2, 0.489), ZphTerm("graft_source", 8.8, 2, 0.012),
           ZphTerm("age", 1.45, 1, 0.229), ZphTerm("GLOBAL", 6.36, 5, 0.273)),
    transform="km", time=frozen_array([1.0, 2.0, 3.0]), x=frozen_array([0.0, 0.3, 0.6]),
    residuals=frozen_array(np.zeros((3, 3))), var=frozen_array(np.eye(3)),
)


def os_cox():
    return ModelResult("os", "cox", 59, 43, OS_TERMS, {}, "efron", None, None, (), REFERENCES, ph_test=OS_ZPH)


def relapse_finegray():
    terms = (
        term("status_at_hct[PR]", 0.514, 0.114, 2.322, 0.387),
        term("status_at_hct[NR]", 2.471, 1.205, 5.068, 0.0135),
        term("graft_source[PB]", 1.621, 0.699, 3.760, 0.260),
        term("graft_source[BM]", 3.205, 1.274, 8.059, 0.0133),
        term("age", 0.996, 0.961, 1.033, 0.841, se=0.018),
    )
    return ModelResult("relapse", "finegray", 59, 35, terms, {}, None, None, None, (), REFERENCES)


def nrm_cause_specific(ph_p=0.251):
    zph = ZphResult(table=(ZphTerm("status_at_hct", 3.2, 2, 0.204), ZphTerm("GLOBAL", 3.2, 2, ph_p)),
                    transform="km", time=frozen_array([1.0]), x=frozen_array([0.0]),
                    residuals=frozen_array(np.zeros((1, 1))), var=frozen_array(np.eye(1)))
    terms = (term("status_at_hct[PR]", 2.22, 0.357, 13.82, 0.393), term("status_at_hct[NR]", 1.04, 0.205, 5.27, 0.964))
    return ModelResult("nrm", "cox", 59, 8, terms, {}, "efron", None, None, (), {"status_at_hct": "CR"}, ph_test=zph)


def unbounded_model():
    """A Fine-Gray model whose NR level has no upper confidence limit and a huge one for PB."""
    terms = (
        term("status_at_hct[NR]", 3.1, 1.2, float("inf"), 0.02),
        term("graft_source[PB]", 0.5, 0.0001, 2.0e6, 0.9),
    )
    return ModelResult("nrm", "finegray", 40, 7, terms, {}, None, None, None, (), REFERENCES)


def by_gid(fig, prefix):
    found = []
    for ax in fig.axes:
        found += [a for a in [*ax.lines, *ax.texts] if (a.get_gid() or "").startswith(prefix)]
    found += [a for a in [*fig.texts, *fig.artists, *fig.lines] if (a.get_gid() or "").startswith(prefix)]
    return found


def all_texts(fig):
    texts = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        texts += [t.get_text() for t in ax.texts]
        texts += [t.get_text() for t in ax.get_xticklabels()]
    return texts


def rendered(fig):
    fig.savefig(io.BytesIO(), format="png", dpi="figure")
    return fig


# --------------------------------------------------------------------------- number formats and rows


def test_hazard_ratio_formats():
    assert fmt_hr_ci(2.2, 1.04, 4.67) == "2.20 (1.04-4.67)"
    assert fmt_hr_ci(3.1, 1.2, float("inf")) == "3.10 (1.20-\u221e)"
    assert fmt_hr(0.004) == "<0.01" and fmt_hr(2.0e6) == ">999" and fmt_hr(150.4) == "150"
    assert fmt_hr_ci(float("nan"), 1.0, 2.0) == "not estimable"
    assert fmt_hr_ci(1.5, float("nan"), float("nan")) == "1.50"


def test_rows_group_levels_under_their_covariate_reference_first():
    rows = model_rows(os_cox())
    assert [(r.kind, r.label) for r in rows] == [
        ("heading", "Disease status at HCT"), ("level", "CR"), ("level", "PR"), ("level", "NR"),
        ("heading", "Graft source"), ("level", "CB"), ("level", "PB"), ("level", "BM"),
        ("single", "Age at HCT (per year)"),
    ]
    assert rows[1].term == "status_at_hct[CR]" and rows[8].term == "age" and rows[0].term is None
    relabelled = model_rows(os_cox(), {"age": "Age (per 10 years)", "graft_source[PB]": "Peripheral blood"})
    assert relabelled[6].label == "Peripheral blood" and relabelled[8].label == "Age (per 10 years)"


# --------------------------------------------------------------------------- forest plots


def test_forest_plot_marks_whiskers_reference_and_text_columns():
    fig = forest_plot(os_cox(), title="Overall survival")
    # one square and one whisker per estimated term, an open square per reference level
    assert len(by_gid(fig, "hr:")) == 5 and len(by_gid(fig, "ci:")) == 5
    refs = by_gid(fig, "ref:")
    assert len(refs) == 2 and all(list(r.get_xdata()) == [1.0] for r in refs)
    assert all(r.get_markerfacecolor() == "white" for r in refs)
    square = by_gid(fig, "hr:graft_source[PB]")[0]
    whisker = by_gid(fig, "ci:graft_source[PB]")[0]
    assert square.get_xdata()[0] == pytest.approx(2.2)
    assert list(whisker.get_xdata()) == pytest.approx([1.04, 4.67])
    texts = all_texts(fig)
    for expected in ("2.20 (1.04-4.67)", "2.32 (1.05-5.13)", "0.88 (0.28-2.78)", "reference", "0.038", "0.096", "0.15",
                     "HR (95% CI)", "P", "Disease status at HCT", "Graft source", "Age at HCT (per year)", "CR", "BM",
                     "n = 59, events = 43, 8.6 per parameter (<10)", "Overall survival"):
        assert expected in texts, expected
    assert texts.count("reference") == 2
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert [line.get_xdata()[0] for line in by_gid(fig, "null-line")] == [1.0]
    lo, hi = ax.get_xlim()
    assert lo <= 0.276 and hi >= 5.133


def test_forest_plot_rows_are_aligned_and_texts_do_not_overlap():
    fig = rendered(forest_plot(os_cox(), title="Overall survival"))
    ax = fig.axes[0]
    # label, square and "HR (95% CI)" text of a row share one height
    label = by_gid(fig, "label:graft_source[PB]")[0]
    square = by_gid(fig, "hr:graft_source[PB]")[0]
    y_square = ax.transData.transform((2.2, square.get_ydata()[0]))[1]
    row = [t for t in fig.texts if t.get_text() == "2.20 (1.04-4.67)"][0]
    for text in (label, row):
        box = text.get_window_extent()
        assert box.y0 - 1 <= y_square <= box.y1 + 1
    boxes = [t.get_window_extent() for t in fig.texts if t.get_text()]
    boxes += [t.get_window_extent() for t in ax.get_xticklabels() if t.get_text()]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not a.overlaps(b), (a, b)
    # everything inside the figure
    figure_box = fig.bbox
    assert all(figure_box.x0 - 1 <= b.x0 and b.x1 <= figure_box.x1 + 1 for b in boxes)


def test_forest_plot_clips_infinite_and_huge_limits_with_arrows():
    fig = forest_plot(unbounded_model())
    lo, hi = fig.axes[0].get_xlim()
    assert math.isfinite(hi) and hi <= 3.1 * 25 * 2 and lo >= 0.5 / 25 / 2.5
    assert len(by_gid(fig, "clip-upper:")) == 2 and len(by_gid(fig, "clip-lower:")) == 1
    whisker = by_gid(fig, "ci:status_at_hct[NR]")[0]
    assert list(whisker.get_xdata()) == pytest.approx([1.2, hi])
    texts = all_texts(fig)
    assert "3.10 (1.20-\u221e)" in texts and "0.50 (<0.01->999)" in texts


def test_forest_plots_share_rows_across_panels():
    models = {"OS (Cox)": os_cox(), "Relapse (Fine-Gray)": relapse_finegray(), "NRM (cause-specific Cox)":
              nrm_cause_specific()}
    fig = rendered(forest_plots(models))
    assert len(fig.axes) == 3
    texts = all_texts(fig)
    for name in models:
        assert name in texts
    # the Fine-Gray panel's ratios are subdistribution hazard ratios
    assert texts.count("Graft source") == 1 and texts.count("HR (95% CI)") == 2 and texts.count("sHR (95% CI)") == 1
    assert "2.47 (1.21-5.07)" in texts and "n = 59, events = 35, 7.0 per parameter (<10)" in texts
    # the NRM model has no graft source (CB, PB, BM) or age: dashes, no marks
    assert texts.count("\u2014") == 4
    assert not by_gid(fig, "ref:graft_source[CB]")[2:] and len(by_gid(fig, "ref:graft_source[CB]")) == 2
    assert [a.get_xlabel() for a in fig.axes] == ["Hazard ratio", "Subdistribution hazard ratio (sHR)",
                                                  "Cause-specific hazard ratio"]
    # the same row sits at the same height in every panel
    heights = [ax.transData.transform((1.0, 6))[1] for ax in fig.axes]
    assert max(heights) - min(heights) < 0.5
    boxes = [t.get_window_extent() for t in fig.texts if t.get_text()]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert not a.overlaps(b)


# --------------------------------------------------------------------------- tables


def raw_html(gt):
    return html.unescape(gt.as_raw_html())


def test_model_table_rows_columns_and_footnotes():
    text = raw_html(model_table({"OS (Cox)": os_cox(), "Relapse (Fine-Gray)": relapse_finegray(),
                                 "NRM (cause-specific Cox)": nrm_cause_specific()}, title="Multivariable models"))
    for expected in ("Multivariable models", "OS (Cox)", "Relapse (Fine-Gray)", "HR (95% CI)", "sHR (95% CI)", ">P<",
                     "1 (reference)", "2.20 (1.04-4.67)", "2.47 (1.21-5.07)", "0.038", "Age at HCT (per year)",
                     "n = 59, events = 43", "n = 59, events = 35", "n = 59, events = 8",
                     "Efron ties, Wald 95% CI", "subdistribution hazard ratio", "cmprsk::crr",
                     "Cause-specific Cox model (competing events censored)",
                     "Proportional hazards (scaled Schoenfeld residuals, cox.zph): global P = 0.27",
                     "P < 0.05 for graft source (P = 0.012)", "global P = 0.25; no covariate with P < 0.05",
                     "Proportional subdistribution hazards: not assessed by cox.zph", "not in this model"):
        assert expected in text, expected
    assert "\u2003PR<" in text and "\u2003CB<" in text  # levels indented with em spaces
    assert text.count("1 (reference)") == 2 * 2 + 1
    for mark in ("*", "\u2020", "\u2021"):  # symbols, not CSS, mark the footnotes
        assert f">{mark}<" in text


def test_ph_note_sentences():
    assert ph_note(os_cox()) == (
        "Overall survival, Cox model: the global test of proportional hazards (scaled Schoenfeld residuals, "
        "`cox.zph`) gave P = 0.27; P < 0.05 for graft source (P = 0.012).")
    assert ph_note(nrm_cause_specific(), label="NRM").endswith("gave P = 0.25; no covariate had P < 0.05.")
    assert "not assessed by `cox.zph`" in ph_note(relapse_finegray())
    assert ph_note(relapse_finegray()).startswith("Relapse/progression, Fine-Gray model:")


def make_curve(label, time, n_event, estimate, *, kind="survival", n=None):
    n_event = np.asarray(n_event, float)
    n_censor = np.zeros_like(n_event)
    n = int(n_event.sum()) + 2 if n is None else n
    n_risk = n - np.concatenate([[0], np.cumsum(n_event)[:-1]])
    estimate = np.asarray(estimate, float)
    return Curve(kind=kind, label=label, n=n, events=int(n_event.sum()), time=frozen_array(time),
                 n_risk=frozen_array(n_risk), n_event=frozen_array(n_event), n_censor=frozen_array(n_censor),
                 estimate=frozen_array(estimate), variance=frozen_array(np.full(len(estimate), 0.0025)),
                 lower=frozen_array(np.clip(estimate - 0.1, 0, 1)), upper=frozen_array(np.clip(estimate + 0.1, 0, 1)))


def univariable_factor():
    os_ = EndpointResult("os", "Overall survival", "survival",
                         (make_curve("CB", [6, 30, 70], [1, 1, 1], [0.8, 0.6, 0.4], n=5),
                          make_curve("PB", [3, 20, 50], [1, 1, 1], [0.75, 0.5, 0.25], n=4)),
                         test=GroupTest("log-rank", 4.0, 1, 0.046), by="Graft source")
    rel = EndpointResult("relapse", "Relapse/progression", "incidence",
                         (make_curve("CB", [4, 30], [1, 1], [0.2, 0.4], kind="incidence", n=5),
                          make_curve("PB", [2, 20], [1, 1], [0.25, 0.5], kind="incidence", n=4)),
                         test=GroupTest("Gray", 1.2, 1, 0.27), by="Graft source")
    nrm = EndpointResult("nrm", "Non-relapse mortality", "incidence",
                         (make_curve("CB", [10], [1], [0.2], kind="incidence", n=5),
                          make_curve("PB", [8], [1], [0.25], kind="incidence", n=4)),
                         test=GroupTest("Gray", 0.01, 1, 0.0004), by="Graft source")
    return UnivariableFactor("graft_source", "Graft source", os_, rel, nrm)


def test_univariable_table_levels_estimates_and_tests():
    text = raw_html(univariable_table((univariable_factor(),), os_at=60, incidence_at=12))
    for expected in ("5-year OS", "1-year relapse", "1-year NRM", ">N<", "Graft source", "0.046", "0.27",
                     "<0.001", "Log-rank test.", "Gray's test.", "Kaplan-Meier", "Aalen-Johansen",
                     "60.0% (50.0-70.0)", "25.0% (15.0-35.0)", "20.0% (10.0-30.0)", ">5<", ">4<"):
        assert expected in text, expected
    assert "\u2003CB<" in text and "\u2003PB<" in text
    assert ">not estimable<" in text  # PB followed to 50 months only: no 5-year OS
    assert "6-month OS" in raw_html(univariable_table((univariable_factor(),), os_at=6))


def test_landmark_series_table_and_causes_of_death_table():
    rows = [LandmarkRow(0, 59, 43, 1.8, 0.9, 3.5, 0.09), (12.0, 20, 9, 0.8, 0.2, float("inf"), 0.8)]
    text = raw_html(landmark_series_table(rows, source_note="HR: NR vs CR/PR at HCT."))
    for expected in ("Landmark, months after HCT", "Patients at risk", "Events", "1.80 (0.90-3.50)",
                     "0.80 (0.20-\u221e)", "0.090", ">12<", ">59<", "NR vs CR/PR"):
        assert expected in text, expected

    causes = [("Relapse/progression", 30, 30 / 43, 30, 0), ("Infection", 8, 8 / 43, 3, 5), ("GVHD", 5, 5 / 43, 0, 5)]
    text = raw_html(causes_of_death_table(causes))
    for expected in ("Cause", "All deaths, n (%)", "After relapse", "Without relapse", "30 (69.8%)",
                     "8 (18.6%)", "Total", "43 (100.0%)", ">33<", ">10<"):
        assert expected in text, expected
    as_percent = raw_html(causes_of_death_table([(c, n, 100 * s, a, w) for c, n, s, a, w in causes]))
    assert "30 (69.8%)" in as_percent


# --------------------------------------------------------------------------- Schoenfeld residuals


def tiny_cox_model():
    """A Cox model of 14 patients (age and a two-level graft source) with its cox.zph test."""
    time = np.array([2, 3, 3, 5, 6, 8, 9, 11, 12, 14, 15, 18, 20, 24], float)
    event = np.array([1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 0, 1])
    age = np.array([60, 52, 41, 58, 33, 47, 29, 55, 38, 61, 45, 36, 50, 44], float)
    pb = np.array([1, 1, 0, 1, 0, 1, 0, 0, 1, 0, 0, 1, 0, 1], float)
    fit = cox_model(time, event, np.c_[age, pb], names=["age", "graft_source[PB]"])
    zph = cox_zph(fit)
    return ModelResult("os", "cox", fit.n, fit.events, fit.terms, {}, "efron", None, None, (),
                       {"graft_source": "CB"}, ph_test=zph, fit=fit)


def test_zph_plot_residuals_smooth_and_constant_line():
    model = tiny_cox_model()
    fig = zph_plot(model, "age")
    ax = fig.axes[0]
    points = by_gid(fig, "residuals")[0]
    assert len(points.get_xdata()) == model.events == 10
    assert list(points.get_ydata()) == pytest.approx(list(model.ph_test.residuals[:, 0]))
    assert by_gid(fig, "smooth")
    constant = by_gid(fig, "constant")[0]
    assert constant.get_ydata()[0] == pytest.approx(model.term("age").coef)
    assert ax.get_title(loc="right") == f"cox.zph P = {model.ph_test['age'].p:.2f}"
    assert ax.get_ylabel() == "Beta(t) for age at HCT"
    # the km-transformed axis is labelled in months after HCT
    assert "Months after HCT" in ax.get_xlabel()
    assert [t.get_text() for t in ax.get_xticklabels()][0] == "0"
    # a level term names the same test term; unknown terms and Fine-Gray models are refused
    fig = zph_plot(model, "graft_source[PB]")
    assert by_gid(fig, "constant")[0].get_ydata()[0] == pytest.approx(model.term("graft_source[PB]").coef)
    with pytest.raises(KeyError):
        zph_plot(model, "sex")
    with pytest.raises(ValueError):
        zph_plot(relapse_finegray(), "age")


def test_smooth_reproduces_a_line_and_resists_an_outlier():
    x = np.linspace(0, 1, 21)
    assert smooth(x, 2 * x + 1) == pytest.approx(2 * x + 1)
    y = 2 * x + 1
    y[10] = 50.0  # one outlier: the robustness steps ignore it
    assert smooth(x, y, at=[0.5])[0] == pytest.approx(2.0, abs=0.05)


@pytest.mark.slow  # in `make test`; left out of `make test-fast` (under a minute)
def test_smooth_at_registry_scale_is_bounded_and_agrees_with_every_point_fitted(monkeypatch):
    """10^6 patients give some 10^5 scaled Schoenfeld residuals: fitting the robustness steps at every
    one of them (O(n^2)) did not finish in 10 minutes.  Above `SMOOTH_EVERY_POINT_LIMIT` they are
    fitted at points 1% of the range apart and interpolated, as R's lowess does (`delta`)."""
    from analysis.present.figures import zph

    rng = np.random.default_rng(1)
    x = np.sort(rng.uniform(0, 60, 3_000))
    y = np.sin(x / 10) + rng.normal(0, 0.3, x.size)
    grid = np.linspace(0, 60, 101)
    anchored = smooth(x, y, at=grid)
    monkeypatch.setattr(zph, "SMOOTH_EVERY_POINT_LIMIT", 10**9)
    every_point = smooth(x, y, at=grid)
    assert anchored == pytest.approx(every_point, abs=0.01)
    monkeypatch.undo()
    fits = []
    partition = np.partition
    monkeypatch.setattr(np, "partition", lambda *a, **k: fits.append(1) or partition(*a, **k))
    x = np.sort(rng.uniform(0, 60, 200_000))
    smooth(x, np.sin(x / 10) + rng.normal(0, 0.3, x.size), at=grid)
    assert len(fits) <= 3 * 102 + grid.size  # (three robustness steps at <= 102 anchors, then the grid)


# --------------------------------------------------------------------------- landmark displays


def landmark_result():
    """OS from a 12-month landmark: times are months after the landmark."""
    curve = make_curve("all", [5, 14, 30, 40], [1, 1, 1, 1], [0.9, 0.8, 0.7, 0.6], n=10)
    return EndpointResult("os", "OS from the 12-month landmark", "survival", (curve,))


def risk_counts(fig):
    texts = by_gid(fig, "risk:all:")
    return {float(t.get_gid().rsplit(":", 1)[1]): t.get_text() for t in texts}


def test_landmark_shifts_curves_axis_and_risk_table():
    result = landmark_result()
    fig = plot_curves(result, landmark=12, times=(0, 12, 24, 36, 48, 60))
    ax = fig.axes[0]
    line = by_gid(fig, "curve:all")[0]
    assert line.get_xdata()[0] == 12.0  # time 0 of the curve is drawn at 12 months after HCT
    assert list(line.get_xdata()[1:5]) == [17.0, 26.0, 42.0, 52.0]
    assert ax.get_xlim() == (12.0, 60.0)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["12", "24", "36", "48", "60"]
    # counted at tick - 12 on the curve's own time: 10 at 0, 9 at 12, 8 at 24, 7 at 36, none at 48
    assert risk_counts(fig) == {12.0: "10", 24.0: "9", 36.0: "8", 48.0: "7", 60.0: "0"}
    curve = result.overall
    assert [curve.number_at_risk(t - 12) for t in (12, 24, 36, 48, 60)] == [10, 9, 8, 7, 0]

    default = plot_curves(result)  # without a landmark nothing moves
    assert by_gid(default, "curve:all")[0].get_xdata()[0] == 0.0
    assert risk_counts(default)[0.0] == "10"

    panels = plot_panels([result, result], landmark=6, times=(0, 12, 24))
    for ax in panels.axes:
        assert ax.get_xlim()[0] == 6.0
        # the axis starts at the landmark with a tick of its own (and a risk-table column there)
        assert [t.get_text() for t in ax.get_xticklabels()] == ["6", "12", "24"]
    with pytest.raises(ValueError):
        plot_curves(result, landmark=60)


def test_landmark_series_plot_marks_clipping_and_counts():
    rows = [LandmarkRow(0, 59, 43, 1.8, 0.9, 3.5, 0.09), LandmarkRow(6, 35, 22, 1.2, 0.5, 2.9, 0.6),
            LandmarkRow(12, 20, 9, 0.8, 0.2, float("inf"), 0.8)]
    fig = landmark_series_plot(rows, title="HR by landmark")
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    assert [m.get_xdata()[0] for m in by_gid(fig, "hr:")] == [0.0, 6.0, 12.0]
    assert len(by_gid(fig, "ci:")) == 3 and len(by_gid(fig, "clip-upper:")) == 1
    assert by_gid(fig, "null-line")[0].get_ydata()[0] == 1.0
    counts = {t.get_gid(): t.get_text() for t in by_gid(fig, "table:")}
    assert counts["table:At risk:6"] == "35" and counts["table:Events:12"] == "9"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "6", "12"]
    assert isinstance(by_gid(fig, "table-label:At risk")[0], Text)
