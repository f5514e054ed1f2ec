"""Tests of analysis.timedep: tmerge-style splitting, Mantel-Byar, Simon-Makuch.

By hand, against R (tests/reference/cox_reference.json, written by
tests/reference/cox_reference.R: tmerge, coxph(ties = "exact") score test,
survfit on the tmerge data) and identities.  The rerun of the R script is
tested in tests/test_cox.py.
"""
from __future__ import annotations

import hashlib
import math
from fractions import Fraction as F
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from analysis.stats.cox import cox_model
from analysis.stats.results import Curve
from analysis.stats.kaplan_meier import kaplan_meier, median_survival
from analysis.stats.logrank import logrank_test
from analysis.stats.timedep import CountingProcessData, mantel_byar, simon_makuch, split_at_event

from test_cox import arr, reference

ROOT = Path(__file__).resolve().parents[2]
COHORT_CSV = ROOT / "data" / "synthetic" / "ankl_cohort.csv"

Z = 1.9599639845400536  # R: qnorm(0.975)
EXACT = dict(rtol=1e-12, atol=0)
R_TOL = dict(rtol=1e-10, atol=1e-12)
SAME = dict(rtol=1e-10, atol=1e-12)


# --------------------------------------------------------------------- helpers


def assert_split_matches_r(cp: CountingProcessData, ref: dict, names) -> None:
    assert_array_equal(cp.patient + 1, arr(ref["id"]))
    assert_array_equal(cp.start, arr(ref["tstart"]))
    assert_array_equal(cp.stop, arr(ref["tstop"]))
    assert_array_equal(cp.event, arr(ref["event"]))
    for name in names:
        assert_array_equal(cp.covariates[name], arr(ref[name]), err_msg=name)


def assert_curve_matches_r(curve: Curve, ref: dict) -> None:
    assert_allclose(curve.time, arr(ref["time"]), **R_TOL)
    assert_array_equal(curve.n_risk, arr(ref["n_risk"]))
    assert_array_equal(curve.n_event, arr(ref["n_event"]))
    assert_array_equal(curve.n_censor, arr(ref["n_censor"]))
    assert_allclose(curve.estimate, arr(ref["surv"]), **R_TOL)
    assert_allclose(curve.variance, arr(ref["variance"]), **R_TOL)
    assert_allclose(curve.lower, arr(ref["lower"]), **R_TOL)
    assert_allclose(curve.upper, arr(ref["upper"]), **R_TOL)
    assert curve.n == ref["n"]
    med = median_survival(curve)
    expected = [np.nan if ref["median"][k] is None else ref["median"][k] for k in ("estimate", "lower", "upper")]
    assert_allclose([med.estimate, med.lower, med.upper], expected, **R_TOL)


def check_timedep_block(time, event, ref: dict) -> None:
    """Split rows, Mantel-Byar and both Simon-Makuch curves against R."""
    change = arr(ref["change"])
    cp = split_at_event(time, event, change, names="state")
    assert_split_matches_r(cp, ref["split"], ["state"])
    mb = mantel_byar(time, event, change)
    assert (mb.name, mb.df) == ("Mantel-Byar", 1)
    assert_allclose([mb.statistic, mb.p], [ref["mantel_byar"]["statistic"], ref["mantel_byar"]["p"]], **R_TOL)
    # the Breslow and Efron score tests of the time-dependent Cox model, as R's
    for ties in ("breslow", "efron"):
        fit = cox_model(cp.stop, cp.event, cp.matrix(["state"]), start=cp.start, ties=ties, iter_max=0)
        assert_allclose(fit.tests.score.statistic, ref[f"score_{ties}"]["statistic"], **R_TOL)
    sm = simon_makuch(time, event, change)
    assert sm.kind == "survival" and [c.label for c in sm.curves] == ["Not switched", "Switched"]
    assert sm.test == mb
    for curve, key in zip(sm.curves, ("0", "1")):
        assert_curve_matches_r(curve, ref["simon_makuch"][key])


def bmt_frame() -> pd.DataFrame:
    d = reference()["bmt"]["data"]
    return pd.DataFrame({k: arr(v) for k, v in d.items()})


# --------------------------------------------------------------- by hand


def test_split_at_event_by_hand():
    # tmerge's conventions, one patient per case:
    #   change 2 inside (0, 5]          -> (0, 2] x=0, (2, 5] x=1, the event on the last row
    #   change -1 before the start      -> x=1 from the start
    #   change 0 at the start           -> x=1 from the start
    #   change NaN                      -> never
    #   change 7 after the end (5)      -> never
    #   change 6 at the end (6)         -> never: the event at 6 happens with x=0
    time = [5, 4, 3, 3, 5, 6]
    event = [1, 1, 0, 1, 1, 1]
    change = [2, -1, 0, np.nan, 7, 6]
    cp = split_at_event(time, event, change, fixed={"age": np.array([50, 40, 30, 20, 10, 60])})
    assert cp.n_rows == 7 and cp.n_patients == 6 and cp.time_dependent == ("switched",)
    assert_array_equal(cp.patient, [0, 0, 1, 2, 3, 4, 5])
    assert_array_equal(cp.start, [0, 2, 0, 0, 0, 0, 0])
    assert_array_equal(cp.stop, [2, 5, 4, 3, 3, 5, 6])
    assert_array_equal(cp.event, [0, 1, 1, 0, 1, 1, 1])
    assert_array_equal(cp.covariates["switched"], [0, 1, 1, 1, 0, 0, 0])
    assert_array_equal(cp.covariates["age"], [50, 50, 40, 30, 20, 10, 60])
    frame = cp.to_frame()
    assert list(frame.columns) == ["patient", "tstart", "tstop", "event", "switched", "age"]


def test_the_same_split_is_made_once_whatever_its_names():
    # A state's Cox model and its Simon-Makuch curves split the same follow-up at the same onsets:
    # the rows are made once (read-only, shared), each call naming its own covariates.
    time, event, change = [5.0, 4.0, 3.0], [1, 0, 1], [2.0, np.nan, 1.0]
    first = split_at_event(time, event, change, names="state")
    second = split_at_event(np.array(time), np.array(event), np.array(change), names=["agvhd"],
                            fixed={"age": np.array([50.0, 40.0, 30.0])})
    assert second.start is first.start and second.stop is first.stop and second.event is first.event
    assert second.covariates["agvhd"] is first.covariates["state"]
    assert_array_equal(second.covariates["agvhd"], [0, 1, 0, 0, 1])
    assert_array_equal(second.covariates["age"], [50, 50, 40, 30, 30])
    for array in (first.patient, first.start, first.stop, first.event, first.covariates["state"]):
        assert not array.flags.writeable
    other = split_at_event(time, [1, 1, 1], change, names="state")  # another outcome: its own rows
    assert other.event is not first.event and other.event.tolist() == [0, 1, 1, 0, 1]


def test_several_covariates_split_together_by_hand():
    # a at 2 and b at 3: three rows; equal times make one split; entry shifts the start
    cp = split_at_event([5, 8], [1, 0], {"a": [2, 4], "b": [3, 4]}, entry=[0, 1])
    assert_array_equal(cp.patient, [0, 0, 0, 1, 1])
    assert_array_equal(cp.start, [0, 2, 3, 1, 4])
    assert_array_equal(cp.stop, [2, 3, 5, 4, 8])
    assert_array_equal(cp.event, [0, 0, 1, 0, 0])
    assert_array_equal(cp.covariates["a"], [0, 1, 1, 0, 1])
    assert_array_equal(cp.covariates["b"], [0, 0, 1, 0, 1])
    assert_array_equal(cp.matrix(["b", "a"])[:, 0], cp.covariates["b"])


# Mantel-Byar hand case (also in the R reference as mb_hand):
#
# pt time status change   state-0 rows   state-1 rows
#  1    2    1     NA     (0,2] dies
#  2    3    1      1     (0,1]          (1,3] dies
#  3    3    1      2     (0,2]          (2,3] dies
#  4    4    0      1     (0,1]          (1,4]
#  5    5    1      3     (0,3]          (3,5] dies
#  6    5    1     NA     (0,5] dies
#  7    6    0      2     (0,2]          (2,6]
#  8    7    1     NA     (0,7] dies
#  9    8    1      4     (0,4]          (4,8] dies
# 10    8    0      0                    (0,8]  (switched from the start)
#
# event time   n0 n1  d  d1
#     2         7  3  1  0    (changes at 2 are not yet in state 1 at 2)
#     3         4  5  2  2
#     5         2  4  2  1
#     7         1  2  1  0
#     8         0  2  1  1

MB_TIME = np.array([2, 3, 3, 4, 5, 5, 6, 7, 8, 8], dtype=float)
MB_STATUS = np.array([1, 1, 1, 0, 1, 1, 0, 1, 1, 0])
MB_CHANGE = np.array([np.nan, 1, 2, 1, 3, np.nan, 2, np.nan, 4, 0])
MB_TABLE = [(7, 3, 1, 0), (4, 5, 2, 2), (2, 4, 2, 1), (1, 2, 1, 0), (0, 2, 1, 1)]


def test_mantel_byar_by_hand():
    observed = sum(F(d1) for *_, d1 in MB_TABLE)
    expected = sum(F(d * n1, n0 + n1) for n0, n1, d, _ in MB_TABLE)
    hyper = sum(F(d * (n0 + n1 - d) * n0 * n1, (n0 + n1) ** 2 * (n0 + n1 - 1)) for n0, n1, d, _ in MB_TABLE)
    assert (observed, expected) == (4, F(3, 10) + F(10, 9) + F(4, 3) + F(2, 3) + 1)
    assert hyper == F(21, 100) + F(35, 81) + F(16, 45) + F(2, 9)
    chisq = (observed - expected) ** 2 / hyper
    result = mantel_byar(MB_TIME, MB_STATUS, MB_CHANGE)
    assert_allclose(result.statistic, float(chisq), **EXACT)
    assert_allclose(result.p, math.erfc(math.sqrt(float(chisq) / 2)), **EXACT)
    assert_allclose(result.statistic, reference()["mb_hand"]["mantel_byar"]["statistic"], **EXACT)

    # Breslow's score test: the same O - E over the binomial variance d n0 n1 / n^2
    binomial = sum(F(d * n0 * n1, (n0 + n1) ** 2) for n0, n1, d, _ in MB_TABLE)
    cp = split_at_event(MB_TIME, MB_STATUS, MB_CHANGE)
    fit = cox_model(cp.stop, cp.event, cp.matrix(["switched"]), start=cp.start, ties="breslow", iter_max=0)
    assert_allclose(fit.tests.score.statistic, float((observed - expected) ** 2 / binomial), **EXACT)


def test_simon_makuch_by_hand():
    sm = simon_makuch(MB_TIME, MB_STATUS, MB_CHANGE, labels=("before", "after"))
    before, after = sm.curves
    # state 0: nine rows (patient 10 is switched from the start)
    assert before.n == 9 and before.events == 3 and before.label == "before"
    assert_array_equal(before.time, [1, 2, 3, 4, 5, 7])
    assert_array_equal(before.n_risk, [9, 7, 4, 3, 2, 1])
    assert_array_equal(before.n_event, [0, 1, 0, 0, 1, 1])
    assert_array_equal(before.n_censor, [2, 2, 1, 1, 0, 0])
    assert_allclose(before.estimate, [1, 6 / 7, 6 / 7, 6 / 7, 3 / 7, 0], **EXACT)
    # state 1: delayed entries, n at risk rises after 3
    assert after.n == 7 and after.events == 4
    assert_array_equal(after.time, [3, 4, 5, 6, 8])
    assert_array_equal(after.n_risk, [5, 4, 4, 3, 2])
    assert_array_equal(after.n_event, [2, 0, 1, 0, 1])
    s = [F(3, 5), F(3, 5), F(9, 20), F(9, 20), F(9, 40)]
    g = [F(2, 15), F(2, 15), F(2, 15) + F(1, 12), F(2, 15) + F(1, 12), F(2, 15) + F(1, 12) + F(1, 2)]
    assert_allclose(after.estimate, [float(v) for v in s], **EXACT)
    assert_allclose(after.variance, [float(si**2 * gi) for si, gi in zip(s, g)], **EXACT)
    c = [Z * math.sqrt(gi) / abs(math.log(si)) for si, gi in zip(s, g)]
    assert_allclose(after.lower, [float(si) ** math.exp(ci) for si, ci in zip(s, c)], **EXACT)
    assert_allclose(after.upper, [float(si) ** math.exp(-ci) for si, ci in zip(s, c)], **EXACT)
    assert sm.test.name == "Mantel-Byar" and sm.by == "time-dependent state"


# --------------------------------------------------------------- against R


def test_tmerge_conventions_against_r():
    ref = reference()["tmerge_edge"]
    d = ref["data"]
    cp = split_at_event(arr(d["time"]), arr(d["status"]), {"a": arr(d["a"]), "b": arr(d["b"])})
    assert_split_matches_r(cp, ref["split"], ["a", "b"])


def test_hand_case_against_r():
    ref = reference()["mb_hand"]
    check_timedep_block(arr(ref["time"]), arr(ref["status"]), ref)


def test_bmt_split_against_r():
    b = bmt_frame()
    change = {
        "agvhd": np.where(b.da == 1, b.ta, np.nan),
        "cgvhd": np.where(b.dc == 1, b.tc, np.nan),
        "platelet": np.where(b.dp == 1, b.tp, np.nan),
    }
    cp = split_at_event(b.t2, b.d3, change, fixed={"z1": b.z1.to_numpy()})
    assert_split_matches_r(cp, reference()["bmt"]["split"], list(change))


@pytest.mark.parametrize("state, t, d", [("agvhd", "ta", "da"), ("cgvhd", "tc", "dc"), ("platelet", "tp", "dp")])
def test_bmt_mantel_byar_and_simon_makuch_against_r(state, t, d):
    b = bmt_frame()
    ref = reference()["bmt"][state]
    assert_array_equal(arr(ref["change"]), np.where(b[d] == 1, b[t], np.nan))
    check_timedep_block(b.t2.to_numpy(), b.d3.to_numpy(), ref)


@pytest.mark.parametrize("state", ["cr_after", "agvhd2", "cgvhd"])
def test_cohort_against_r(state):
    ref = reference().get("cohort")
    if ref is None:
        pytest.skip("no cohort reference values stored (cohort file was absent)")
    if COHORT_CSV.exists():
        md5 = hashlib.md5(COHORT_CSV.read_bytes()).hexdigest()
        assert md5 == ref["source_md5"], "cohort changed: rerun Rscript tests/reference/cox_reference.R"
    d = ref["data"]
    time, event = arr(d["time"]), arr(d["event"])
    assert_array_equal(arr(ref[state]["change"]), arr(d[state]))
    check_timedep_block(time, event, ref[state])


# --------------------------------------------------------------- identities


def untied_bmt():
    """bmt DFS with every time distinct (ties broken by 0.01 steps)."""
    b = bmt_frame()
    time = b.t2.to_numpy()
    order = np.lexsort((np.arange(time.size), time))
    step = np.empty(time.size)
    step[order] = np.arange(time.size) - np.searchsorted(time[order], time[order], side="left")
    return time + 0.01 * step, b.d3.to_numpy(), np.where(b.da == 1, b.ta, np.nan)


def test_mantel_byar_is_the_time_dependent_cox_score_test_without_ties():
    time, event, change = untied_bmt()
    mb = mantel_byar(time, event, change)
    cp = split_at_event(time, event, change)
    assert np.unique(cp.stop[cp.event == 1]).size == int(cp.event.sum())
    for ties in ("efron", "breslow"):
        fit = cox_model(cp.stop, cp.event, cp.matrix(), start=cp.start, ties=ties)
        assert_allclose(mb.statistic, fit.tests.score.statistic, **SAME)
        assert_allclose(mb.p, fit.tests.score.p, **SAME)


def test_mantel_byar_without_real_switches_is_the_logrank_test():
    # changes at time 0 or never: the state is a fixed group, Mantel-Byar is the log-rank test
    b = bmt_frame()
    group = (b.z10 == 1).to_numpy()
    change = np.where(group, 0.0, np.nan)
    mb = mantel_byar(b.t2, b.d3, change)
    lr = logrank_test(b.t2, b.d3, group)
    assert_allclose(mb.statistic, lr.statistic, **SAME)
    sm = simon_makuch(b.t2, b.d3, change)
    for curve, mask in zip(sm.curves, (~group, group)):
        km = kaplan_meier(b.t2[mask], b.d3[mask])
        for field in ("time", "n_risk", "n_event", "estimate", "variance", "lower", "upper"):
            assert_allclose(getattr(curve, field), getattr(km, field), **SAME, err_msg=field)


def test_simon_makuch_without_switches_is_kaplan_meier():
    b = bmt_frame()
    sm = simon_makuch(b.t2, b.d3, np.full(len(b), np.nan))
    km = kaplan_meier(b.t2, b.d3)
    curve = sm.curves[0]
    for field in ("time", "n_risk", "n_event", "n_censor", "estimate", "variance", "lower", "upper"):
        assert_array_equal(getattr(curve, field), getattr(km, field), err_msg=field)
    assert (curve.n, curve.events) == (km.n, km.events)
    assert sm.curves[1].n == 0 and sm.curves[1].time.size == 0 and sm.test is None
    assert sm.median[0] == median_survival(km)
    with pytest.raises(ValueError, match="variance is 0"):
        mantel_byar(b.t2, b.d3, np.full(len(b), np.nan))


def test_state_zero_curve_is_km_censored_at_the_switch():
    b = bmt_frame()
    change = np.where(b.da == 1, b.ta, np.nan).astype(float)
    time, event = b.t2.to_numpy(), b.d3.to_numpy()
    switched = change < time
    km = kaplan_meier(np.where(switched, change, time), np.where(switched, 0, event))
    curve = simon_makuch(time, event, change).curves[0]
    for field in ("time", "n_risk", "n_event", "n_censor", "estimate", "variance", "lower", "upper"):
        assert_allclose(getattr(curve, field), getattr(km, field), **SAME, err_msg=field)


def test_results_do_not_depend_on_row_order():
    b = bmt_frame()
    change = np.where(b.dp == 1, b.tp, np.nan)
    perm = np.random.default_rng(5).permutation(len(b))
    time, event = b.t2.to_numpy(), b.d3.to_numpy()
    a = mantel_byar(time, event, change)
    c = mantel_byar(time[perm], event[perm], change[perm])
    assert_allclose(a.statistic, c.statistic, rtol=1e-12)
    for x, y in zip(simon_makuch(time, event, change).curves, simon_makuch(time[perm], event[perm], change[perm]).curves):
        assert_array_equal(x.estimate, y.estimate)
        assert_array_equal(x.n_risk, y.n_risk)


def test_large_cohort_runs_vectorised():
    rng = np.random.default_rng(3)
    n = 1_000_000
    time = np.round(rng.exponential(700, n)) / 30.4375 + 1 / 30.4375
    event = (rng.random(n) < 0.6).astype(int)
    change = np.where(rng.random(n) < 0.4, np.round(rng.uniform(0, 600, n)) / 30.4375, np.nan)
    agvhd = np.where(rng.random(n) < 0.3, np.round(rng.uniform(10, 100, n)) / 30.4375, np.nan)
    cp = split_at_event(time, event, {"cr": change, "agvhd": agvhd}, fixed={"age": rng.normal(50, 10, n)})
    assert cp.n_patients == n and cp.n_rows > n
    assert np.all(cp.start < cp.stop) and cp.event.sum() == event.sum()
    mb = mantel_byar(time, event, change)
    assert mb.df == 1 and np.isfinite(mb.statistic)
    sm = simon_makuch(time, event, change)
    assert sm.curves[0].n == n - int(np.sum(change <= 0))
    assert np.all(np.diff(sm.curves[1].estimate) <= 0)


# --------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "args, kwargs, message",
    [
        (([0, 2], [1, 0], [1, 1]), {}, "end after it starts"),
        (([3, 2], [1, 0], [1, 1]), dict(entry=[3, 0]), "end after it starts"),
        (([3, 2], [1, 0], [1, 1, 1]), {}, "one value per patient"),
        (([3, 2], [1, 0], ["a", "b"]), {}, "numeric"),
        (([3, 2], [1, 0], [1, 1]), dict(names=["a", "b"]), "names has 2"),
        (([3, 2], [1, 0], {"a": [1, 1], "b": [1, 2]}), dict(fixed={"a": np.array([1, 2])}), "both"),
        (([3, 2], [1, 0], [1, 1]), dict(fixed={"age": np.array([1, 2, 3])}), "fixed covariate"),
        (([3, -2], [1, 0], [1, 1]), {}, "negative"),
        (([3, 2], [1, 3], [1, 1]), {}, "0 or 1"),
    ],
)
def test_bad_input_is_rejected(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        split_at_event(*args, **kwargs)


def test_mantel_byar_needs_events():
    with pytest.raises(ValueError, match="no events"):
        mantel_byar([1, 2, 3], [0, 0, 0], [0.5, np.nan, 1])


def test_change_a_rounding_error_before_the_stop_does_not_split():
    # day 7 computed two ways: 6/30.4375 + 1/30.4375 > 7/30.4375 in the last bit
    stop = 6 / 30.4375 + 1 / 30.4375
    change = 7 / 30.4375
    assert change < stop
    cp = split_at_event([stop, 2.0], [1, 0], [change, 0.5])
    assert_array_equal(cp.patient, [0, 1, 1])
    assert_array_equal(cp.covariates["switched"], [0, 0, 1])
    assert cp.stop[0] == min(stop, change)
