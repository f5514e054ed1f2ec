"""Landmark and time-dependent comparisons on the synthetic cohort against R, plus identities."""
import json
import math
import shutil
import subprocess

import numpy as np
import pytest

from analysis.data.paths import PROJECT_ROOT, SYNTHETIC_DATA
from analysis.analyses.landmark import cr_after_hct_comparison, efs_landmark, gvhd_effects, landmark_series
from analysis.data.cohort import load_cohort
from analysis.stats.results import EndpointResult
from analysis.stats.kaplan_meier import kaplan_meier
from analysis.stats.timedep import delayed_entry_comparison

R_SCRIPT = PROJECT_ROOT / "tests" / "reference" / "landmark_reference.R"
R_VALUES = PROJECT_ROOT / "tests" / "reference" / "landmark_reference.json"
TOLERANCE = 1e-8


@pytest.fixture(scope="module")
def data():
    return load_cohort(SYNTHETIC_DATA).data


@pytest.fixture(scope="module")
def reference():
    return json.loads(R_VALUES.read_text())


def close(ours, theirs):
    if theirs is None:
        return math.isnan(ours)
    return math.isclose(ours, theirs, abs_tol=TOLERANCE)


def assert_curves_agree(result: EndpointResult, expected_curves):
    expected = [c for c in expected_curves if c is not None]
    assert len(result.curves) == len(expected)
    for curve, theirs in zip(result.curves, expected):
        assert (curve.n, curve.events) == (theirs["n"], theirs["events"])
        for i, t in enumerate(theirs["time"]):
            if t > curve.time[-1]:
                continue  # beyond follow-up we report NA; R's extend=TRUE carries the curve on
            point = curve.at(t)
            assert close(point.estimate, theirs["estimate"][i]), (curve.label, t)
            assert close(point.lower, theirs["lower"][i]) and close(point.upper, theirs["upper"][i]), (curve.label, t)


def test_efs12_landmark_against_r(data, reference):
    result = efs_landmark(data, at=12)
    assert_curves_agree(result, reference["efs12"]["curves"])
    assert math.isclose(result.test.p, reference["efs12"]["test"]["p"], abs_tol=1e-6)


def test_day100_acute_gvhd_landmark_against_r(data, reference):
    result = gvhd_effects(data).acute_day100
    assert_curves_agree(result, reference["day100"]["curves"])
    assert math.isclose(result.test.statistic, reference["day100"]["test"]["statistic"], rel_tol=1e-8)


def test_cr_after_hct_delayed_entry_against_r(data, reference):
    comparison = cr_after_hct_comparison(data)
    expected = reference["versus_crpr"]
    assert_curves_agree(comparison.versus_crpr, expected["curves"])
    assert math.isclose(comparison.versus_crpr.test.statistic, expected["mantel_byar"]["statistic"], rel_tol=1e-8)
    assert math.isclose(comparison.versus_crpr.test.p, expected["mantel_byar"]["p"], abs_tol=1e-6)
    term = comparison.versus_crpr_cox.terms[0]
    assert math.isclose(term.coef, expected["cox"]["coef"], abs_tol=1e-6)
    assert math.isclose(term.se, expected["cox"]["se"], abs_tol=1e-6)


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript is not installed")
def test_landmark_reference_values_are_current_against_r(tmp_path, reference):
    fresh = tmp_path / "fresh.json"
    subprocess.run(["Rscript", str(R_SCRIPT), str(fresh)], cwd=PROJECT_ROOT, check=True, capture_output=True,
                   timeout=300)
    assert json.loads(fresh.read_text()) == reference


def test_delayed_entry_from_zero_is_kaplan_meier_by_hand():
    # Everyone enters at 0: the curves are plain Kaplan-Meier curves.
    stop = np.array([2.0, 3.0, 3.0, 5.0, 6.0, 7.0, 8.0, 9.0])
    event = np.array([1, 1, 0, 1, 0, 1, 1, 0])
    group = np.array([0, 1, 0, 1, 0, 1, 0, 1])
    result = delayed_entry_comparison(np.zeros(8), stop, event, group, labels=("a", "b"))
    for g, curve in enumerate(result.curves):
        km = kaplan_meier(stop[group == g], event[group == g])
        np.testing.assert_allclose(curve.estimate, km.estimate, rtol=1e-14)
    # Group a (times 2+, 3, 6, 8+ with + = death): 3/4 after 2, unchanged by the censorings, 0 at 8.
    assert result.curves[0].at(6).estimate == pytest.approx(3 / 4, rel=1e-14)
    assert result.curves[0].at(8).estimate == 0


def test_delayed_entry_patients_count_only_after_entry_by_hand():
    # b enters at 4: the death at 2 of a is not b's; b's first death at 5 among 2 at risk.
    start = np.array([0.0, 0.0, 4.0, 4.0])
    stop = np.array([2.0, 10.0, 5.0, 10.0])
    event = np.array([1, 0, 1, 0])
    result = delayed_entry_comparison(start, stop, event, np.array([0, 0, 1, 1]), labels=("a", "b"))
    assert result.curves[1].at(5).estimate == pytest.approx(0.5)
    assert result.curves[0].at(5).estimate == pytest.approx(0.5)


def test_landmark_series_skips_unbounded_estimates(data):
    rows = landmark_series(data, "cgvhd", [3, 6, 12, 24])
    assert all(np.isfinite([r.lower, r.upper]).all() and r.lower > 0 for r in rows)
    assert [r.landmark for r in rows] == sorted(r.landmark for r in rows)
