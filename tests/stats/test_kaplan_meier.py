"""Tests of analysis.survival: by hand, against R's survival package, identities.

Reference values come from tests/reference/survival_reference.R, committed as
tests/reference/survival_reference.json; regenerate with
``Rscript tests/reference/survival_reference.R`` from the project root.
"""
from __future__ import annotations

import hashlib
import json
import math
import shutil
from fractions import Fraction as F
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from analysis.stats.results import Curve
from analysis.stats.kaplan_meier import (
    FollowUp,
    kaplan_meier,
    median_survival,
    reverse_km_followup,
)
from analysis.stats.logrank import logrank_test
from r_reference import arr, assert_stored_json_is_current

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "tests" / "reference" / "survival_reference.json"
COHORT_CSV = ROOT / "data" / "synthetic" / "ankl_cohort.csv"

Z = 1.9599639845400536  # R: qnorm(0.975)
EXACT = dict(rtol=1e-12, atol=0)
R_TOL = dict(rtol=0, atol=1e-8)
P_TOL = dict(rtol=0, atol=1e-6)


# --------------------------------------------------------------------- helpers


@lru_cache(maxsize=1)
def reference() -> dict:
    return json.loads(REFERENCE.read_text(encoding="utf-8"))


def num(value) -> float:
    return float("nan") if value is None else float(value)


def labels(values) -> np.ndarray:
    """Group labels as R names the strata ("1", "CB", ...)."""
    values = values if isinstance(values, list) else [values]
    return np.array([str(v) for v in values], dtype=object)


def assert_curve_matches_r(curve: Curve, ref: dict) -> None:
    assert_allclose(curve.time, arr(ref["time"]), **R_TOL)
    assert_array_equal(curve.n_risk, arr(ref["n_risk"]))
    assert_array_equal(curve.n_event, arr(ref["n_event"]))
    assert_array_equal(curve.n_censor, arr(ref["n_censor"]))
    assert_allclose(curve.estimate, arr(ref["surv"]), **R_TOL)
    assert_allclose(curve.variance, arr(ref["variance"]), **R_TOL)  # NaN where R has NaN
    assert_allclose(curve.lower, arr(ref["lower"]), **R_TOL)
    assert_allclose(curve.upper, arr(ref["upper"]), **R_TOL)
    assert curve.n == arr(ref["n_risk"])[0]
    assert curve.events == int(arr(ref["n_event"]).sum())


def assert_median_matches_r(curve: Curve, ref: dict) -> None:
    med = median_survival(curve)
    assert_allclose(
        [med.estimate, med.lower, med.upper],
        [num(ref["estimate"]), num(ref["lower"]), num(ref["upper"])],
        **R_TOL,
    )


def assert_test_matches_r(result, ref: dict) -> None:
    assert result.name == "log-rank"
    assert result.df == ref["df"]
    assert_allclose(result.statistic, ref["statistic"], rtol=1e-10, atol=1e-10)
    assert_allclose(result.p, ref["p"], **P_TOL)


def assert_followup_matches_r(result: FollowUp, ref: dict) -> None:
    assert_allclose(
        [result.median, result.lower, result.upper, result.minimum, result.maximum],
        [num(ref[k]) for k in ("median", "lower", "upper", "minimum", "maximum")],
        **R_TOL,
    )
    assert (result.n, result.n_survivors) == (ref["n"], ref["n_survivors"])


def check_curves(time, event, group, ref_curves: dict) -> None:
    """Each stored curve ("all" and one per group) and its median against R."""
    for name, ref in ref_curves.items():
        mask = np.ones(len(time), bool) if name == "all" else group == name
        curve = kaplan_meier(time[mask], event[mask], label=name)
        assert_curve_matches_r(curve, ref)
        assert_median_matches_r(curve, ref["median"])


def loglog(s: F, greenwood: F) -> tuple[float, float]:
    """Log-log 95% bounds: S ** exp(+-z sqrt(G) / |log S|)."""
    c = Z * math.sqrt(greenwood) / abs(math.log(s))
    return float(s) ** math.exp(c), float(s) ** math.exp(-c)


# --------------------------------------------------------------- by hand
#
# id  time event group stratum     sorted: 2 A+ 2 B+ 3 A- 5 A+ 5 B+ 5 B- 8 A- 8 B+ 11 B+ 13 A-
#  1    5    1     A     1
#  2    2    1     B     1         distinct times 2 3 5 8 11 13
#  3    8    0     A     2         at risk       10 8 7 4 2 1
#  4    5    0     B     2         events         2 0 2 1 1 0
#  5    2    1     A     1         censored       0 1 1 1 0 1
#  6   11    1     B     2
#  7    5    1     B     1
#  8    3    0     A     2
#  9    8    1     B     1
# 10   13    0     A     2

HAND_TIME = np.array([5, 2, 8, 5, 2, 11, 5, 3, 8, 13], dtype=float)
HAND_EVENT = np.array([1, 1, 0, 0, 1, 1, 1, 0, 1, 0])
HAND_GROUP = np.array(["A", "B", "A", "B", "A", "B", "B", "A", "B", "A"])
HAND_STRATUM = np.array([1, 1, 2, 2, 1, 2, 1, 2, 1, 2])


def test_kaplan_meier_by_hand():
    curve = kaplan_meier(HAND_TIME, HAND_EVENT)
    assert_array_equal(curve.time, [2, 3, 5, 8, 11, 13])
    assert_array_equal(curve.n_risk, [10, 8, 7, 4, 2, 1])
    assert_array_equal(curve.n_event, [2, 0, 2, 1, 1, 0])
    assert_array_equal(curve.n_censor, [0, 1, 1, 1, 0, 1])
    assert (curve.n, curve.events, curve.kind, curve.label) == (10, 6, "survival", "all")

    s = [F(8, 10)]                      # t = 2: 1 - 2/10
    s.append(s[-1])                     # t = 3: censoring only
    s.append(s[-1] * F(5, 7))           # t = 5: 1 - 2/7 (the censored patient still at risk)
    s.append(s[-1] * F(3, 4))           # t = 8
    s.append(s[-1] * F(1, 2))           # t = 11
    s.append(s[-1])                     # t = 13
    assert s == [F(4, 5), F(4, 5), F(4, 7), F(3, 7), F(3, 14), F(3, 14)]

    # Greenwood: sum of d / (n (n - d))
    g = [F(2, 10 * 8)]
    g.append(g[-1])
    g.append(g[-1] + F(2, 7 * 5))
    g.append(g[-1] + F(1, 4 * 3))
    g.append(g[-1] + F(1, 2 * 1))
    g.append(g[-1])
    assert g == [F(1, 40), F(1, 40), F(23, 280), F(139, 840), F(559, 840), F(559, 840)]

    assert_allclose(curve.estimate, [float(v) for v in s], **EXACT)
    assert_allclose(curve.variance, [float(si**2 * gi) for si, gi in zip(s, g)], **EXACT)
    bounds = [loglog(si, gi) for si, gi in zip(s, g)]
    assert_allclose(curve.lower, [b[0] for b in bounds], **EXACT)
    assert_allclose(curve.upper, [b[1] for b in bounds], **EXACT)

    # S first <= 1/2 at t = 8; the lower curve at t = 2 (0.409); the upper never (0.579)
    med = median_survival(curve)
    assert med.estimate == 8 and med.lower == 2 and math.isnan(med.upper)


def test_kaplan_meier_groups_by_hand():
    b = HAND_GROUP == "B"
    curve = kaplan_meier(HAND_TIME[b], HAND_EVENT[b], label="B")
    assert_array_equal(curve.time, [2, 5, 8, 11])
    assert_array_equal(curve.n_risk, [5, 4, 2, 1])
    s = [F(4, 5), F(3, 5), F(3, 10)]
    g = [F(1, 20), F(1, 20) + F(1, 12), F(1, 20) + F(1, 12) + F(1, 2)]
    assert_allclose(curve.estimate, [float(v) for v in s] + [0.0], **EXACT)
    assert_allclose(curve.variance[:3], [float(si**2 * gi) for si, gi in zip(s, g)], **EXACT)
    # S = 0 at t = 11: Greenwood is 0 * Inf and the log-log bounds undefined, NA in R
    assert np.isnan(curve.variance[3]) and np.isnan(curve.lower[3]) and np.isnan(curve.upper[3])

    a = ~b
    curve = kaplan_meier(HAND_TIME[a], HAND_EVENT[a], label="A")
    assert_allclose(curve.estimate, [0.8, 0.8, float(F(8, 15)), float(F(8, 15)), float(F(8, 15))], **EXACT)
    assert math.isnan(median_survival(curve).estimate)  # never reaches 1/2


def test_logrank_by_hand():
    # Group A at each event time: E = d n_A / N, V = n_A n_B d (N - d) / (N^2 (N - 1))
    #   t=2:  N=10 n_A=5 d=2 d_A=1   E=1    V=5*5*2*8/(100*9) = 4/9
    #   t=5:  N=7  n_A=3 d=2 d_A=1   E=6/7  V=3*4*2*5/(49*6)  = 20/49
    #   t=8:  N=4  n_A=2 d=1 d_A=0   E=1/2  V=2*2*1*3/(16*3)  = 1/4
    #   t=11: N=2  n_A=1 d=1 d_A=0   E=1/2  V=1*1*1*1/(4*1)   = 1/4
    observed = F(2)
    expected = F(1) + F(6, 7) + F(1, 2) + F(1, 2)
    variance = F(4, 9) + F(20, 49) + F(1, 4) + F(1, 4)
    chisq = (observed - expected) ** 2 / variance
    assert chisq == F(648, 1193)

    result = logrank_test(HAND_TIME, HAND_EVENT, HAND_GROUP)
    assert (result.name, result.df) == ("log-rank", 1)
    assert_allclose(result.statistic, float(chisq), **EXACT)
    assert_allclose(result.p, math.erfc(math.sqrt(float(chisq) / 2)), **EXACT)  # chi2(1) tail


def test_logrank_stratified_by_hand():
    # Stratum 1 (ids 1 2 5 7 9): t=2 N=5 n_A=2 d=2 d_A=1 E=4/5 V=9/25;
    #                            t=5 N=3 n_A=1 d=2 d_A=1 E=2/3 V=2/9; t=8 N=1 n_A=0
    # Stratum 2 (ids 3 4 6 8 10): t=11 N=2 n_A=1 d=1 d_A=0 E=1/2 V=1/4
    o_minus_e = (F(2) - F(4, 5) - F(2, 3)) + (F(0) - F(1, 2))
    variance = F(9, 25) + F(2, 9) + F(1, 4)
    chisq = o_minus_e**2 / variance
    assert chisq == F(1, 749)
    result = logrank_test(HAND_TIME, HAND_EVENT, HAND_GROUP, strata=HAND_STRATUM)
    assert result.df == 1
    assert_allclose(result.statistic, float(chisq), **EXACT)


def test_reverse_km_by_hand():
    # Flipped: the 4 censorings (3, 5, 8, 13) are events; deaths tied with them
    # (5, 8) stay at risk. S: 1, 7/8, 7/8 * 6/7 = 3/4, 3/4 * 3/4 = 9/16, 9/16, 0
    fu = reverse_km_followup(HAND_TIME, HAND_EVENT)
    assert fu.median == 13
    assert (fu.minimum, fu.maximum, fu.n, fu.n_survivors) == (3, 13, 10, 4)
    curve = kaplan_meier(HAND_TIME, 1 - HAND_EVENT)
    assert_allclose(curve.estimate, [1, 7 / 8, 3 / 4, 9 / 16, 9 / 16, 0], **EXACT)


def test_median_midpoint_rule_by_hand():
    # No censoring: S = 3/4, 1/2, 1/4, 0, exactly 1/2 on [2, 3): median (2 + 3) / 2
    curve = kaplan_meier([3, 1, 4, 2], [1, 1, 1, 1])
    assert median_survival(curve).estimate == 2.5
    # S ends at exactly 1/2 (from 2 to the last time 4): quantile.survfit gives (2 + 4) / 2
    curve = kaplan_meier([1, 2, 3, 4], [1, 1, 0, 0])
    assert median_survival(curve).estimate == 3.0


# --------------------------------------------------------------- against R


def test_normal_quantile_is_r_qnorm():
    assert Z == reference()["qnorm_975"]


def test_hand_case_against_r():
    ref = reference()["hand"]
    d = ref["data"]
    time, event, group = arr(d["time"]), arr(d["event"]), labels(d["group"])
    check_curves(time, event, group, ref["curves"])
    assert_test_matches_r(logrank_test(time, event, group), ref["logrank"])
    assert_test_matches_r(
        logrank_test(time, event, group, strata=arr(d["strata"])), ref["logrank_strata"]
    )
    assert_followup_matches_r(reverse_km_followup(time, event), ref["followup"])


@pytest.mark.parametrize("case", sorted(reference()["edge"]))
def test_edge_cases_against_r(case):
    ref = reference()["edge"][case]
    time, event = arr(ref["data"]["time"]), arr(ref["data"]["event"])
    check_curves(time, event, None, ref["curves"])
    assert_followup_matches_r(reverse_km_followup(time, event), ref["followup"])


def test_median_print_and_quantile_differ_only_at_curve_ending_at_half():
    """R's print(survfit) and quantile.survfit agree except when S ends at 0.5."""
    ref = reference()
    blocks = [(c, v) for c, e in ref["edge"].items() for v in e["curves"].values()]
    blocks += [("lung", v) for v in ref["lung"]["curves"].values()]
    for case, block in blocks:
        q, p = block["median"], block["median_print"]
        same = [num(q[k]) == num(p[k]) or (q[k] is None and p[k] is None) for k in q]
        assert all(same) == (case != "ends_at_half"), case


def test_lung_against_r():
    ref = reference()["lung"]
    d = ref["data"]
    time, event, sex = arr(d["time"]), arr(d["event"]), labels(d["sex"])
    check_curves(time, event, sex, ref["curves"])
    assert_test_matches_r(logrank_test(time, event, sex), ref["logrank_sex"])
    ecog = arr(d["ph_ecog"])
    ok = ~np.isnan(ecog)  # survdiff drops the row with missing ph.ecog
    assert_test_matches_r(
        logrank_test(time[ok], event[ok], sex[ok], strata=ecog[ok]),
        ref["logrank_sex_strata_ecog"],
    )
    assert_followup_matches_r(reverse_km_followup(time, event), ref["followup"])


@pytest.mark.parametrize("endpoint, t, d", [("dfs", "t2", "d3"), ("os", "t1", "d1")])
def test_bmt_against_r(endpoint, t, d):
    ref = reference()["bmt"]
    data = ref["data"]
    time, event, group = arr(data[t]), arr(data[d]), labels(data["group"])
    ref = ref[endpoint]
    check_curves(time, event, group, ref["curves"])
    assert_test_matches_r(logrank_test(time, event, group), ref["logrank"])
    assert_test_matches_r(
        logrank_test(time, event, group, strata=arr(data["z10"])), ref["logrank_strata_z10"]
    )
    assert_followup_matches_r(reverse_km_followup(time, event), ref["followup"])


def test_cohort_against_r():
    ref = reference().get("cohort")
    if ref is None:
        pytest.skip("no cohort reference values stored (cohort file was absent)")
    if COHORT_CSV.exists():
        md5 = hashlib.md5(COHORT_CSV.read_bytes()).hexdigest()
        assert md5 == ref["source_md5"], (
            f"{COHORT_CSV} changed since the reference was made: rerun "
            "Rscript tests/reference/survival_reference.R"
        )
    d = ref["data"]
    time, event = arr(d["time"]), arr(d["event"])
    graft, status = labels(d["graft_source"]), labels(d["status_at_hct"])
    cb = np.where(graft == "CB", "CB", "other")
    check_curves(time, event, None, ref["curves"])
    check_curves(time, event, graft, ref["curves_graft_source"])
    check_curves(time, event, status, ref["curves_status_at_hct"])
    assert_test_matches_r(logrank_test(time, event, graft), ref["logrank_graft_source"])
    assert_test_matches_r(logrank_test(time, event, cb), ref["logrank_cb_vs_other"])
    assert_test_matches_r(logrank_test(time, event, status), ref["logrank_status_at_hct"])
    assert_test_matches_r(
        logrank_test(time, event, graft, strata=status),
        ref["logrank_graft_source_strata_status"],
    )
    assert_followup_matches_r(reverse_km_followup(time, event), ref["followup"])


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript not on PATH")
def test_stored_reference_is_current(tmp_path):
    assert_stored_json_is_current(tmp_path, "survival")


# --------------------------------------------------------------- identities


def test_reverse_km_is_km_with_flipped_indicator():
    d = reference()["bmt"]["data"]
    time, event = arr(d["t1"]), arr(d["d1"])
    fu = reverse_km_followup(time, event)
    med = median_survival(kaplan_meier(time, 1 - event))
    assert (fu.median, fu.lower, fu.upper) == (med.estimate, med.lower, med.upper)
    alive = time[event == 0]
    assert (fu.minimum, fu.maximum, fu.n_survivors) == (alive.min(), alive.max(), alive.size)


def test_logrank_one_stratum_equals_unstratified():
    d = reference()["bmt"]["data"]
    time, event, group = arr(d["t2"]), arr(d["d3"]), arr(d["group"])
    plain = logrank_test(time, event, group)
    assert logrank_test(time, event, group, strata=np.full(time.size, "x")) == plain


def test_results_do_not_depend_on_row_order_or_labels():
    d = reference()["lung"]["data"]
    time, event, sex = arr(d["time"]), arr(d["event"]), arr(d["sex"])
    perm = np.random.default_rng(20210101).permutation(time.size)
    a, b = kaplan_meier(time, event), kaplan_meier(time[perm], event[perm])
    for field in ("time", "n_risk", "estimate", "variance", "lower", "upper"):
        assert_array_equal(getattr(a, field), getattr(b, field))
    t1 = logrank_test(time, event, sex)
    t2 = logrank_test(time[perm], event[perm], np.where(sex[perm] == 1, "male", "female"))
    assert_allclose(t2.statistic, t1.statistic, rtol=1e-12)


def test_uncensored_km_is_empirical_survival():
    time = np.array([4.0, 1.0, 3.0, 3.0, 2.0, 5.0, 3.0, 1.0])
    curve = kaplan_meier(time, np.ones(time.size))
    assert_allclose(curve.estimate, [(time > t).mean() for t in curve.time], **EXACT)


def test_near_tied_times_are_merged_like_r():
    # 1 and 1 + 1e-9 are one time in survfit (aeqSurv), as are 3 - 1e-12 and 3
    curve = kaplan_meier([1, 1 + 1e-9, 2, 3, 3 - 1e-12, 4], [1, 1, 0, 1, 1, 0])
    assert_array_equal(curve.n_event, [2, 0, 2, 0])
    assert_allclose(curve.time, [1, 2, 3, 4], rtol=1e-11)


def test_k_groups_and_degenerate_groups():
    time = np.array([1, 2, 3, 4, 5, 6, 7, 8], float)
    event = np.array([1, 1, 0, 1, 1, 0, 1, 0])
    # a group with nobody at risk at any event time has E = 0 and is dropped (df 1, not 2)
    result = logrank_test(np.r_[time, 0.5, 0.5], np.r_[event, 0, 0], np.r_[[0, 1] * 4, 2, 2])
    assert result.df == 1
    # no events: R reports chisq 0 on -1 df with p NA
    none = logrank_test(time, np.zeros(8), [0, 1] * 4)
    assert (none.statistic, none.df) == (0.0, -1) and math.isnan(none.p)


def test_large_cohort_runs_vectorised():
    rng = np.random.default_rng(7)
    n = 1_000_000
    time = np.round(rng.exponential(700, n)) / 30.4375
    event = (rng.random(n) < 0.6).astype(int)
    group = rng.integers(0, 3, n)
    curve = kaplan_meier(time, event)
    assert curve.n == n and np.all(np.diff(curve.estimate) <= 0)
    assert logrank_test(time, event, group, strata=rng.integers(0, 4, n)).df == 2
    assert reverse_km_followup(time, event).n == n


# --------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "time, event, message",
    [
        ([1, 2, -1], [1, 0, 1], "negative"),
        ([1, np.nan, 3], [1, 0, 1], "time has 1 missing"),
        ([1, np.inf, 3], [1, 0, 1], "time has 1 infinite"),
        ([1, 2, 3], [1, 2, 1], "0 or 1"),
        ([1, 2, 3], [1, np.nan, 1], "event has 1 missing"),
        ([1, 2, 3], [1, 0], "3"),
        ([[1, 2], [3, 4]], [1, 0], "one-dimensional"),
        ([], [], "empty"),
        (["a", "b"], [1, 0], "numeric"),
    ],
)
def test_bad_input_is_rejected(time, event, message):
    with pytest.raises(ValueError, match=message):
        kaplan_meier(time, event)
    with pytest.raises(ValueError, match=message):
        reverse_km_followup(time, event)


def test_bad_groups_are_rejected():
    with pytest.raises(ValueError, match="only one distinct"):
        logrank_test([1, 2, 3], [1, 0, 1], ["a", "a", "a"])
    with pytest.raises(ValueError, match="group has 1 missing"):
        logrank_test([1, 2, 3], [1, 0, 1], ["a", None, "b"])
    with pytest.raises(ValueError, match="strata has 2 values"):
        logrank_test([1, 2, 3], [1, 0, 1], ["a", "b", "b"], strata=[1, 2])
    with pytest.raises(ValueError, match="survival Curve"):
        median_survival("not a curve")
