"""Cumulative incidence (Aalen-Johansen, Gray's variance) and Gray's test.

Reference values come from `cmprsk::cuminc` via tests/reference/incidence_reference.R,
which also writes the input data it used to tests/reference/incidence/*.csv.
"""
from __future__ import annotations

import functools
import json
import math
import shutil
from fractions import Fraction as Fr
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.stats.aalen_johansen import cumulative_incidence
from analysis.stats.gray import gray_test
from r_reference import assert_reference_is_current, read_reference_csv

ROOT = Path(__file__).resolve().parents[2]
REF_DIR = ROOT / "tests" / "reference"
REF_JSON = REF_DIR / "incidence_reference.json"
COHORT = ROOT / "data" / "synthetic" / "ankl_cohort.csv"
MONTH_DAYS = 30.4375

# Hand-made data, rows unsorted.  Ties: two cause-1 events at t=2; at t=5 a
# cause-1 event, a competing event and a censoring coincide.
HAND_TIME = [5, 12, 2, 8, 5, 3, 10, 2, 7, 5]
HAND_STATUS = [1, 0, 1, 1, 2, 2, 2, 1, 0, 0]


# ---------------------------------------------------------------- helpers
@functools.lru_cache(maxsize=1)
def _reference() -> dict:
    return json.loads(REF_JSON.read_text())


def _cohort_endpoint(endpoint: str) -> pd.DataFrame:
    """Relapse / NRM (time in months, status) from the synthetic cohort, per SPEC.md."""
    co = pd.read_csv(COHORT, encoding="utf-8-sig")

    def days(column: str) -> pd.Series:
        if f"{column}_day" in co:
            return pd.to_numeric(co[f"{column}_day"])
        return (pd.to_datetime(co[f"{column}_date"]) - pd.to_datetime(co["hct_date"])).dt.days

    relapsed = co["relapse"] == 1
    time = np.where(relapsed, days("relapse"), days("last_contact")) / MONTH_DAYS
    death_first = (co["vital_status"] == "dead") & ~relapsed
    status = np.where(relapsed, 1, np.where(death_first, 2, 0))
    if endpoint == "nrm":
        status = np.where(status == 0, 0, 3 - status)
    ok = ~np.isnan(time) & co["relapse"].notna().to_numpy() & co["vital_status"].notna().to_numpy()
    frame = co.loc[ok, ["graft_source", "status_at_hct"]].copy()
    frame["time"] = time[ok]
    frame["status"] = status[ok]
    return frame.reset_index(drop=True)


def _case_data(name: str) -> pd.DataFrame:
    case = _reference()["cases"][name]
    if name.startswith("ankl_"):
        return _cohort_endpoint(case["endpoint"])
    return read_reference_csv(REF_DIR / case["data"])


def _km(time, event) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan-Meier S(t) at the distinct times (ties processed together)."""
    ut, inv = np.unique(np.asarray(time, float), return_inverse=True)
    d = np.bincount(inv, weights=np.asarray(event, float), minlength=ut.size)
    n_at = np.bincount(inv, minlength=ut.size)
    r = n_at[::-1].cumsum()[::-1]
    return ut, np.cumprod(1 - d / r)


def _tied_data(n: int, causes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    time = rng.integers(0, 40, n) / 4.0  # heavy ties, including time 0
    status = rng.integers(0, causes + 1, n)
    return time, status


def _loglog(f, var):
    se = math.sqrt(var)
    k = 1.96 * se / abs(f * math.log(f))
    return f ** math.exp(k), f ** math.exp(-k)


# ---------------------------------------------------------------- by hand
def test_cif_by_hand():
    c = cumulative_incidence(HAND_TIME, HAND_STATUS, cause=1, label="hand")
    # at risk 10, 8, 7, 4, 3, 2, 1; all-cause S(t-) = 1, 4/5, 7/10, 1/2, 1/2, 1/3, 1/6
    # F jumps by S(t-) * d1 / n: t=2: 1*2/10; t=5: 7/10*1/7; t=8: 1/2*1/3
    f2 = Fr(2, 10)
    f5 = f2 + Fr(7, 10) * Fr(1, 7)
    f8 = f5 + Fr(1, 2) * Fr(1, 3)
    assert (f2, f5, f8) == (Fr(1, 5), Fr(3, 10), Fr(7, 15))
    expected = [f2, f2, f5, f5, f8, f8, f8]
    np.testing.assert_array_equal(c.time, [2, 3, 5, 7, 8, 10, 12])
    np.testing.assert_array_equal(c.n_risk, [10, 8, 7, 4, 3, 2, 1])
    np.testing.assert_array_equal(c.n_event, [2, 0, 1, 0, 1, 0, 0])
    np.testing.assert_array_equal(c.n_censor, [0, 0, 1, 1, 0, 0, 1])
    np.testing.assert_allclose(c.estimate, [float(x) for x in expected], rtol=1e-12)
    assert (c.kind, c.label, c.n, c.events, c.competing_events) == ("incidence", "hand", 10, 4, 3)


def test_competing_cif_by_hand():
    c = cumulative_incidence(HAND_TIME, HAND_STATUS, cause=2)
    # competing deaths at 3 (S- = 4/5, n = 8), 5 (S- = 7/10, n = 7), 10 (S- = 1/3, n = 2)
    f3 = Fr(4, 5) * Fr(1, 8)
    f5 = f3 + Fr(7, 10) * Fr(1, 7)
    f10 = f5 + Fr(1, 3) * Fr(1, 2)
    assert (f3, f5, f10) == (Fr(1, 10), Fr(1, 5), Fr(11, 30))
    expected = [0, f3, f5, f5, f5, f10, f10]
    np.testing.assert_allclose(c.estimate, [float(x) for x in expected], rtol=1e-12, atol=0)
    assert (c.events, c.competing_events) == (3, 4)
    # with all-cause S(12) = 1/6: F1 + F2 + S = 7/15 + 11/30 + 1/6 = 1
    assert Fr(7, 15) + f10 + Fr(1, 6) == 1


def test_variance_and_ci_by_hand():
    c = cumulative_incidence(HAND_TIME, HAND_STATUS, cause=1)
    # first jump (S- = 1, F = d/n): cinc's sums collapse to d/n^2 times Gray's
    # tie correction (n-d)/(n-1), i.e. F(1-F)/(n-1)
    n, d, f = 10, 2, Fr(1, 5)
    v2 = Fr(d, n * n) * Fr(n - d, n - 1)
    assert v2 == f * (1 - f) / (n - 1) == Fr(16, 900)
    assert c.variance[0] == pytest.approx(float(v2), rel=1e-12)
    # a competing-only time (t=3) leaves the variance of F unchanged
    assert c.variance[1] == pytest.approx(float(v2), rel=1e-12)
    lo, up = _loglog(float(f), float(v2))
    assert (c.lower[0], c.upper[0]) == (pytest.approx(lo, rel=1e-12), pytest.approx(up, rel=1e-12))
    for i in range(len(c.time)):
        lo, up = _loglog(c.estimate[i], c.variance[i])
        assert c.lower[i] == pytest.approx(lo, rel=1e-12)
        assert c.upper[i] == pytest.approx(up, rel=1e-12)
    p = c.at(6.0)
    assert (p.estimate, p.lower, p.upper) == (c.estimate[2], c.lower[2], c.upper[2])
    assert p.std_err == pytest.approx(math.sqrt(c.variance[2]), rel=1e-12)
    # no CI where F = 0 (cause 2 before its first event)
    c2 = cumulative_incidence(HAND_TIME, HAND_STATUS, cause=2)
    assert c2.estimate[0] == 0 and c2.variance[0] == 0
    assert np.isnan(c2.lower[0]) and np.isnan(c2.upper[0])


def test_ci_undefined_where_cif_reaches_one():
    c = cumulative_incidence([1, 2, 2, 3], [1, 1, 1, 1])
    np.testing.assert_allclose(c.estimate, [0.25, 0.75, 1.0], rtol=1e-12)
    assert np.isnan(c.lower[-1]) and np.isnan(c.upper[-1])
    assert np.all(c.lower[:-1] < c.estimate[:-1]) and np.all(c.upper[:-1] > c.estimate[:-1])


def test_ci_of_a_tiny_estimate_with_a_wide_variance_is_zero_to_one_without_overflow():
    """exp(k) overflows for F near 0 with a wide variance (a study grouped by a column with small
    groups raised numpy's overflow warning, an error here): the interval is its limit, 0 to 1."""
    from analysis.stats.aalen_johansen import _loglog_ci

    lower, upper = _loglog_ci(np.array([1e-6, 0.5]), np.array([1e-4, 0.01]))
    assert lower[0] == 0.0 and upper[0] == 1.0
    assert 0 < lower[1] < 0.5 < upper[1] < 1


def test_arrays_are_read_only():
    c = cumulative_incidence(HAND_TIME, HAND_STATUS)
    with pytest.raises(ValueError):
        c.estimate[0] = 0.5


# ---------------------------------------------------------------- identities
def test_single_cause_cif_is_one_minus_km():
    time, status = _tied_data(400, causes=1, seed=7)
    c = cumulative_incidence(time, status)
    ut, s = _km(time, status == 1)
    np.testing.assert_array_equal(c.time, ut)
    np.testing.assert_allclose(c.estimate, 1 - s, rtol=1e-12, atol=1e-15)
    assert c.competing_events == 0


def test_cifs_and_event_free_km_sum_to_one():
    time, status = _tied_data(600, causes=2, seed=11)
    f1 = cumulative_incidence(time, status, cause=1).estimate
    f2 = cumulative_incidence(time, status, cause=2).estimate
    _, s = _km(time, status != 0)
    np.testing.assert_allclose(f1 + f2 + s, 1.0, rtol=0, atol=1e-12)


def test_other_nonzero_codes_compete():
    time, status = _tied_data(300, causes=3, seed=3)
    merged = np.where(status == 3, 2, status)
    a = cumulative_incidence(time, status, cause=1)
    b = cumulative_incidence(time, merged, cause=1)
    np.testing.assert_array_equal(a.estimate, b.estimate)
    np.testing.assert_array_equal(a.variance, b.variance)
    assert a.competing_events == b.competing_events == int(np.sum(status >= 2))


def test_gray_test_invariances():
    time, status = _tied_data(300, causes=2, seed=5)
    group = np.random.default_rng(5).integers(0, 3, time.size)
    base = gray_test(time, status, group)
    assert base.name == "Gray" and base.df == 2 and base.statistic >= 0
    # labels (and so which group is left out of the score) do not matter
    relabelled = gray_test(time, status, np.array(["z", "b", "m"])[group])
    assert relabelled.statistic == pytest.approx(base.statistic, rel=1e-10)
    # row order does not matter
    perm = np.random.default_rng(1).permutation(time.size)
    shuffled = gray_test(time[perm], status[perm], group[perm])
    assert shuffled.statistic == pytest.approx(base.statistic, rel=1e-10)
    # one stratum is no stratification
    one = gray_test(time, status, group, strata=np.ones(time.size))
    assert one.statistic == pytest.approx(base.statistic, rel=1e-12)


def test_gray_test_singular_covariance_is_nan():
    # group 3 leaves before the first event: cuminc reports stat = -1 here
    r = gray_test([1, 2, 3, 4, 5, 0.5, 2, 3, 6], [1, 2, 1, 0, 1, 0, 1, 1, 2], [1, 1, 1, 1, 2, 3, 2, 2, 2])
    assert r.df == 2 and math.isnan(r.statistic) and math.isnan(r.p)


@pytest.mark.parametrize("copies", [1, 7, 4230, 4231, 5000])
def test_gray_test_of_copied_patients_keeps_its_hand_value(copies):
    """Gray's test with a single event time is the log-rank test, so its value is known by hand.

    Group A: 10 patients, 9 events at t = 1, 1 censored at t = 2; group B: 10 patients, 3 events
    at t = 1, 7 censored at t = 2.  With n_A = n_B = 10, N = 20, D = 12 events: score
    d_A - D n_A / N = 3, variance D n_A n_B (N - D) / (N^2 (N - 1)) = 24/19, statistic 57/8.
    Every patient copied k times: score 3k, variance 24 k^2 / (20k - 1), statistic 3 (20k - 1) / 8.

    cmprsk::cuminc (2.2.11) returns exactly this up to k = 4230 and not from k = 4231 on
    (792,901.58 there, 559,688.50 at k = 5000 against 37,499.625): the score statement of its
    Fortran (`crstm.f`, subroutine `crst`, the line before label 74) forms nd1 * rs(i), here
    12k * 10k, as a 32-bit INTEGER product, which wraps once 120 k^2 exceeds 2^31 - 1.
    """
    time = np.tile(np.r_[np.ones(9), 2.0, np.ones(3), np.full(7, 2.0)], copies)
    status = np.tile(np.r_[np.ones(9), 0, np.ones(3), np.zeros(7)].astype(int), copies)
    group = np.tile(np.repeat(["A", "B"], 10), copies)
    r = gray_test(time, status, group)
    assert r.statistic == pytest.approx(3 * (20 * copies - 1) / 8, rel=1e-12)


def test_large_tied_input():
    rng = np.random.default_rng(2)
    n = 1_000_000
    time = np.ceil(rng.exponential(400, n)) / MONTH_DAYS
    status = rng.choice([0, 1, 2], n, p=[0.5, 0.3, 0.2])
    f1 = cumulative_incidence(time, status, cause=1)
    f2 = cumulative_incidence(time, status, cause=2)
    _, s = _km(time, status != 0)
    np.testing.assert_allclose(f1.estimate + f2.estimate + s, 1.0, atol=1e-10)
    assert f1.n == n and np.all(np.isfinite(f1.variance))
    r = gray_test(time, status, rng.integers(0, 3, n), strata=rng.integers(0, 2, n))
    assert np.isfinite(r.statistic) and 0 <= r.p <= 1


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(time=[], status=[]), "empty"),
        (dict(time=[1, 2], status=[1]), "length"),
        (dict(time=[1, -2], status=[1, 0]), ">= 0"),
        (dict(time=[1, np.nan], status=[1, 0]), "missing"),
        (dict(time=[1, 2], status=[1, None]), "missing"),
        (dict(time=[1, np.inf], status=[1, 0]), "infinite"),
        (dict(time=[1, 2], status=[1, 0.5]), "integer"),
        (dict(time=["a", "b"], status=[1, 0]), "numeric"),
        (dict(time=[[1, 2]], status=[[1, 0]]), "one-dimensional"),
        (dict(time=[1, 2], status=[1, 0], cause=0), "cause"),
        (dict(time=[1, 2], status=[1, 0], cause=1.5), "cause"),
        (dict(time=[1, 2], status=[1, 0], cause="x"), "cause"),
    ],
)
def test_cumulative_incidence_rejects_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        cumulative_incidence(**kwargs)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(group=[1, 1, 1, 1]), "two groups"),
        (dict(group=[1, 2, 1]), "group has 3"),
        (dict(group=["a", None, "b", "a"]), "group has 1 missing"),
        (dict(group=[1, 2, 1, 2], strata=[1, 2, np.nan, 1]), "strata has 1 missing"),
        (dict(group=pd.Series([1, "a", 1, "a"], dtype=object)), "cannot be ordered"),
        (dict(group=[1, 2, 1, 2], cause=0), "cause"),
    ],
)
def test_gray_test_rejects_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        gray_test([1, 2, 3, 4], [1, 2, 0, 1], **kwargs)


# ---------------------------------------------------------------- against R
CASES = ["hand", "edge", "bmt", "sim", "two_times", "ankl_relapse", "ankl_nrm"]


def _require_case(name: str) -> None:
    if name not in _reference()["cases"]:
        pytest.skip(f"no stored R values for {name} (synthetic cohort absent when the script ran)")
    if name.startswith("ankl_") and not COHORT.exists():
        pytest.skip(f"{COHORT} absent")


def test_hand_data_match_reference_csv():
    d = read_reference_csv(REF_DIR / "incidence" / "hand.csv")
    np.testing.assert_array_equal(d["time"], HAND_TIME)
    np.testing.assert_array_equal(d["status"], HAND_STATUS)


@pytest.mark.parametrize("name", CASES)
def test_curves_against_r(name):
    _require_case(name)
    d = _case_data(name)
    curves = _reference()["cases"][name]["curves"]
    assert curves
    for block in curves:
        where = f"{name} {block['by']}={block['level']} cause {block['cause']}"
        sel = np.ones(len(d), bool) if block["by"] is None else (d[block["by"]].astype(str) == block["level"]).to_numpy()
        c = cumulative_incidence(d["time"][sel], d["status"][sel], cause=block["cause"], label=block["level"])
        # timepoints() at every distinct observed time
        np.testing.assert_array_equal(c.time, block["time"], err_msg=where)
        np.testing.assert_allclose(c.estimate, block["est"], rtol=0, atol=1e-8, err_msg=where)
        np.testing.assert_allclose(c.variance, block["var"], rtol=0, atol=1e-8, err_msg=where)
        np.testing.assert_array_equal(c.n_risk, block["n_risk"], err_msg=where)
        np.testing.assert_array_equal(c.n_censor, block["n_censor"], err_msg=where)
        np.testing.assert_array_equal(c.n_event, block["n_event"], err_msg=where)
        # cuminc's own doubled-step output: [0, t1, t1, ..., tk, tk, t_max]
        jt, je, jv = (np.asarray(block[k]) for k in ("jump_time", "jump_est", "jump_var"))
        jumps = jt[2:-1:2]
        np.testing.assert_array_equal(jumps, c.time[c.n_event > 0], err_msg=where)
        idx = np.searchsorted(c.time, jumps)
        np.testing.assert_allclose(c.estimate[idx], je[2:-1:2], rtol=0, atol=1e-8, err_msg=where)
        np.testing.assert_allclose(c.variance[idx], jv[2:-1:2], rtol=0, atol=1e-8, err_msg=where)
        before = np.where(idx > 0, c.estimate[np.maximum(idx - 1, 0)], 0.0)
        np.testing.assert_allclose(before, je[1:-1:2], rtol=0, atol=1e-8, err_msg=where)
        assert jt[-1] == c.time[-1] and je[-1] == pytest.approx(c.estimate[-1], abs=1e-8)


@pytest.mark.parametrize("name", [c for c in CASES if c != "hand"])
def test_gray_against_r(name):
    _require_case(name)
    d = _case_data(name)
    tests = _reference()["cases"][name]["tests"]
    assert tests
    for t in tests:
        strata = None if t["strata"] is None else d[t["strata"]]
        r = gray_test(d["time"], d["status"], d[t["by"]], cause=t["cause"], strata=strata)
        where = f"{name} by {t['by']} strata {t['strata']} cause {t['cause']}"
        assert r.df == t["df"], where
        assert r.statistic == pytest.approx(t["statistic"], rel=0, abs=1e-6), where
        if t["statistic"] < 0:  # R's "pv" of 1 is no evidence: the covariance is not positive definite
            assert t["p"] == 1 and math.isnan(r.p), where
        else:
            assert r.p == pytest.approx(t["p"], rel=0, abs=1e-6), where


def test_gray_test_negative_statistic_has_no_p_value():
    d = read_reference_csv(REF_DIR / "incidence" / "two_times.csv")
    r = gray_test(d["time"], d["status"], d["group"])
    assert r.statistic < 0 and math.isnan(r.p)


def test_ankl_cohort_size_against_r():
    for name in ("ankl_relapse", "ankl_nrm"):
        _require_case(name)
        assert len(_case_data(name)) == _reference()["cases"][name]["n"]


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript not on PATH")
def test_reference_file_is_current(tmp_path):
    assert_reference_is_current(tmp_path, "incidence")
