"""Fine-Gray regression (`analysis.finegray.fine_gray`) against `cmprsk::crr`.

Reference values come from tests/reference/finegray_reference.R, which also
writes the input data it used to tests/reference/finegray/*.csv (the synthetic
cohort is read from data/synthetic/ and its endpoints derived on both sides as
in tests/reference/endpoints_reference.R).
"""
from __future__ import annotations

import dataclasses
import functools
import json
import math
import shutil
import time as _time
from fractions import Fraction as Fr
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.stats.finegray import FineGrayResult, fine_gray
from r_reference import assert_reference_is_current, read_reference_csv

ROOT = Path(__file__).resolve().parents[2]
REF_DIR = ROOT / "tests" / "reference"
REF_JSON = REF_DIR / "finegray_reference.json"
COHORT = ROOT / "data" / "synthetic" / "ankl_cohort.csv"
MONTH_DAYS = 30.4375

# Hand-made data (rows unsorted), one binary covariate.  Sorted by time:
#   t=1 competing (x=1); t=2 censored (x=0); t=3 events (x=1, x=0) and a
#   censoring (x=1); t=4 competing (x=0); t=5 event (x=0); t=6 censored (x=1).
HAND_TIME = [3, 1, 5, 2, 3, 6, 4, 3]
HAND_STATUS = [1, 2, 1, 0, 0, 0, 2, 1]
HAND_X = [1, 1, 0, 0, 1, 1, 0, 0]


# ---------------------------------------------------------------- helpers
@functools.lru_cache(maxsize=1)
def _reference() -> dict:
    return json.loads(REF_JSON.read_text())


def _cohort_case(endpoint: str) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Relapse / NRM (months, status) and the model's covariates, as the R script derives them."""
    co = pd.read_csv(COHORT, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    hct = pd.to_datetime(co["hct_date"])

    def day(column: str) -> np.ndarray:
        return (pd.to_datetime(co[column].replace("", None)) - hct).dt.days.to_numpy(float)

    relapsed = (co["relapse"] == "1").to_numpy()
    dead = (co["vital_status"] == "dead").to_numpy()
    time = np.where(relapsed, day("relapse_date"), day("last_contact_date")) / MONTH_DAYS
    if endpoint == "relapse":
        status = np.where(relapsed, 1, np.where(dead, 2, 0))
    else:
        status = np.where(relapsed, 2, np.where(dead, 1, 0))
    x = pd.DataFrame({
        "graft_source[PB]": (co["graft_source"] == "PB").astype(float),
        "graft_source[BM]": (co["graft_source"] == "BM").astype(float),
        "status_at_hct[PR]": (co["status_at_hct"] == "PR").astype(float),
        "status_at_hct[NR]": (co["status_at_hct"] == "NR").astype(float),
        "age": pd.to_numeric(co["age"]).astype(float),
    })
    ok = ~np.isnan(time)
    return time[ok], status[ok], x.loc[ok].reset_index(drop=True)


def _case_data(name: str) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    case = _reference()["cases"][name]
    if name.startswith("ankl_"):
        return _cohort_case(case["endpoint"])
    d = read_reference_csv(REF_DIR / case["data"])
    status = d["status"].to_numpy()
    if name == "cox_identity":
        status = (status == 1).astype(int)
    return d["time"].to_numpy(), status, d[case["covariates"]]


def _require_case(name: str) -> None:
    if name not in _reference()["cases"]:
        pytest.skip(f"no stored R values for {name} (synthetic cohort absent when the script ran)")
    if name.startswith("ankl_") and not COHORT.exists():
        pytest.skip(f"{COHORT} absent")


def _simulated(n: int, seed: int, causes: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    graft = rng.integers(0, 3, n)
    x = np.column_stack([rng.normal(45, 12, n), rng.integers(0, 2, n), graft == 1, graft == 2, rng.normal(size=n)])
    lp = 0.02 * (x[:, 0] - 45) + 0.3 * x[:, 1] - 0.4 * x[:, 2] + 0.2 * x[:, 4]
    days = np.floor(rng.exponential(200 * np.exp(-lp)))
    cens = rng.integers(0, 730, n)
    status = np.where(days <= cens, rng.integers(1, causes + 1, n), 0)
    return np.minimum(days, cens) / MONTH_DAYS, status, x.astype(float)


# ---------------------------------------------------------------- by hand
# Censoring KM (every patient with T >= t at risk, events included):
#   Y = 8, 7, 6, 3, 2, 1 at t = 1..6; censored 1 of 7 at t=2 and 1 of 6 at t=3.
#   G(t-) = 1, 1, 6/7, 5/7, 5/7, 5/7 at t = 1..6 (the censoring at 3 does not
#   count at 3 itself).
# t=3 (2 events): at risk T >= 3 (6 patients, 3 with x=1) plus the competing
#   patient of t=1 (x=1) with weight G(3-)/G(1-) = 6/7: S0 = 48/7, S1 = 27/7.
# t=5 (1 event): T >= 5 (x = 0, 1) plus competing at 1 (x=1) with weight
#   G(5-)/G(1-) = 5/7 and competing at 4 (x=0) with G(5-)/G(4-) = 1:
#   S0 = 26/7, S1 = 12/7.
S0 = {3: Fr(48, 7), 5: Fr(26, 7)}
S1 = {3: Fr(27, 7), 5: Fr(12, 7)}
D = {3: 2, 5: 1}


def _hand_score_at_zero() -> Fr:
    # events: x = 1, 0 at t=3 and x = 0 at t=5; minus d * S1/S0 (Breslow ties)
    return Fr(1) - sum(D[t] * S1[t] / S0[t] for t in D)


def _hand_information_at_zero() -> Fr:
    # binary x: S2 = S1, so each time adds d * xbar (1 - xbar)
    return sum(D[t] * (S1[t] / S0[t]) * (1 - S1[t] / S0[t]) for t in D)


def test_score_and_information_at_zero_by_hand():
    u, i = _hand_score_at_zero(), _hand_information_at_zero()
    assert u == Fr(1) - 2 * Fr(9, 16) - Fr(6, 13) == Fr(-61, 104)
    assert i == Fr(63, 128) + Fr(42, 169)
    r = fine_gray(HAND_TIME, HAND_STATUS, HAND_X, maxiter=0)
    assert not r.converged and r.iterations == 0 and r.coef[0] == 0.0
    assert r.score[0] == pytest.approx(float(u), rel=1e-14)
    assert r.information[0, 0] == pytest.approx(float(i), rel=1e-14)
    loglik0 = -(2 * math.log(48 / 7) + math.log(26 / 7))
    assert r.loglik == pytest.approx(loglik0, rel=1e-14)
    assert r.loglik_null == pytest.approx(loglik0, rel=1e-14)
    assert r.naive_var[0, 0] == pytest.approx(float(1 / i), rel=1e-14)
    # baseline subdistribution hazard jumps d / S0 at beta = 0
    np.testing.assert_array_equal(r.baseline_time, [3, 5])
    np.testing.assert_allclose(r.baseline_hazard, [2 / (48 / 7), 1 / (26 / 7)], rtol=1e-14)
    # and crr agrees
    ref = _reference()["cases"]["hand"]["at_zero"]
    assert r.score[0] == pytest.approx(ref["score"][0], abs=1e-12)
    assert r.information[0, 0] == pytest.approx(ref["inf"][0], abs=1e-12)
    assert r.loglik == pytest.approx(ref["loglik"], abs=1e-12)
    assert r.var[0, 0] == pytest.approx(ref["var"][0], abs=1e-10)


def test_first_newton_step_by_hand():
    step = _hand_score_at_zero() / _hand_information_at_zero()
    r = fine_gray(HAND_TIME, HAND_STATUS, HAND_X, maxiter=1)
    # the full step decreases -loglik enough, so crr's line search accepts it
    assert r.coef[0] == pytest.approx(float(step), rel=1e-13)
    assert r.iterations == 1 and not r.converged
    ref = _reference()["cases"]["hand"]["step1"]
    assert r.coef[0] == pytest.approx(ref["coef"][0], abs=1e-12)
    assert r.loglik == pytest.approx(ref["loglik"], abs=1e-12)


def test_hand_fit_reports_counts_and_terms():
    r = fine_gray(HAND_TIME, HAND_STATUS, HAND_X, names=["x"])
    assert isinstance(r, FineGrayResult)
    assert (r.n, r.events, r.competing_events, r.censored, r.cause) == (8, 3, 2, 3, 1)
    assert r.converged and r.names == ("x",)
    t = r.term("x")
    assert t.hr == pytest.approx(math.exp(t.coef), rel=1e-15)
    assert t.lower == pytest.approx(math.exp(t.coef - 1.959963984540054 * t.se), rel=1e-14)
    assert t.upper == pytest.approx(math.exp(t.coef + 1.959963984540054 * t.se), rel=1e-14)
    assert t.z == pytest.approx(t.coef / t.se, rel=1e-15)
    # with one covariate the Wald test is z^2 with the same p
    assert r.wald.statistic == pytest.approx(t.z ** 2, rel=1e-12) and r.wald.df == 1
    assert r.wald.p == pytest.approx(t.p, rel=1e-10)
    assert r.pseudo_lr.statistic == pytest.approx(2 * (r.loglik - r.loglik_null), rel=1e-14)
    assert r.pseudo_lr.name == "pseudo-likelihood ratio"


def test_hand_data_match_reference_csv():
    d = read_reference_csv(REF_DIR / "finegray" / "hand.csv")
    np.testing.assert_array_equal(d["time"], HAND_TIME)
    np.testing.assert_array_equal(d["status"], HAND_STATUS)
    np.testing.assert_array_equal(d["x"], HAND_X)


# ---------------------------------------------------------------- against R
CASES = ["hand", "bmt_relapse", "bmt_nrm", "sim", "cox_identity", "ankl_relapse", "ankl_nrm"]


@pytest.mark.parametrize("name", CASES)
def test_fit_against_r(name):
    _require_case(name)
    ref = _reference()["cases"][name]["fit"]
    time, status, x = _case_data(name)
    r = fine_gray(time, status, x, cause=ref["cause"])
    p = len(ref["coef"])
    assert list(r.names) == ref["terms"]
    assert (r.n, r.events, r.competing_events, r.censored) == (ref["n"], ref["events"], ref["competing"],
                                                                  ref["censored"])
    assert r.converged is ref["converged"] and r.iterations == ref["iterations"]
    np.testing.assert_allclose(r.coef, ref["coef"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(r.se, ref["se"], rtol=0, atol=1e-5)
    np.testing.assert_allclose(r.se_naive, ref["se_naive"], rtol=0, atol=1e-5)
    np.testing.assert_allclose([t.z for t in r.terms], ref["z"], rtol=0, atol=1e-6)
    np.testing.assert_allclose([t.p for t in r.terms], ref["p"], rtol=0, atol=1e-6)
    np.testing.assert_allclose([t.p for t in r.terms], ref["p_summary"], rtol=0, atol=1e-6)
    for key in ("hr", "lower", "upper"):
        np.testing.assert_allclose([getattr(t, key) for t in r.terms], ref[key], rtol=1e-6, atol=0, err_msg=key)
    np.testing.assert_allclose(r.var, np.reshape(ref["var"], (p, p), order="F"), rtol=0, atol=1e-8)
    np.testing.assert_allclose(r.naive_var, np.reshape(ref["invinf"], (p, p), order="F"), rtol=0, atol=1e-8)
    np.testing.assert_allclose(r.information, np.reshape(ref["inf"], (p, p), order="F"), rtol=1e-8, atol=0)
    np.testing.assert_allclose(r.score, ref["score"], rtol=0, atol=1e-8)
    assert r.loglik == pytest.approx(ref["loglik"], rel=1e-10)
    assert r.loglik_null == pytest.approx(ref["loglik_null"], rel=1e-10)
    assert r.pseudo_lr.statistic == pytest.approx(ref["pseudo_lr"], abs=1e-6)
    assert r.pseudo_lr.df == ref["pseudo_lr_df"] == p
    assert r.pseudo_lr.p == pytest.approx(ref["pseudo_lr_p"], abs=1e-6)
    assert r.wald.statistic == pytest.approx(ref["wald"], abs=1e-6)
    assert r.wald.df == ref["wald_df"] and r.wald.p == pytest.approx(ref["wald_p"], abs=1e-6)
    np.testing.assert_allclose(r.baseline_time, ref["uftime"], rtol=1e-15, atol=0)
    np.testing.assert_allclose(r.baseline_hazard, ref["bfitj"], rtol=1e-8, atol=0)


def test_ci_quantile_is_summary_crr():
    # summary.crr uses qnorm(0.975), not 1.96
    from analysis.stats.core import Z_975_NDTRI as Z_975

    assert Z_975 == pytest.approx(_reference()["z_975"], rel=1e-15)


def test_no_competing_events_is_cox_breslow():
    """Without competing events G cancels: crr's model is coxph(ties = "breslow")."""
    _require_case("cox_identity")
    case = _reference()["cases"]["cox_identity"]
    cox = case["cox"]
    time, status, x = _case_data("cox_identity")
    assert not np.any(status > 1)
    # coxph was run to full convergence; iterate further than crr's default to compare
    r = fine_gray(time, status, x, gtol=1e-12, maxiter=50)
    assert r.converged and r.competing_events == 0
    np.testing.assert_allclose(r.coef, cox["coef"], rtol=0, atol=1e-8)
    np.testing.assert_allclose(r.se_naive, cox["se_naive"], rtol=0, atol=1e-8)
    # crr's sandwich reduces to the Lin-Wei robust variance of coxph(robust = TRUE)
    np.testing.assert_allclose(r.se, cox["se"], rtol=0, atol=1e-8)
    assert r.loglik == pytest.approx(cox["loglik"], rel=1e-10)
    assert r.loglik_null == pytest.approx(cox["loglik_null"], rel=1e-10)
    # and with crr's stopping rule it is crr's fit on the same data
    default = fine_gray(time, status, x)
    np.testing.assert_allclose(default.coef, case["fit"]["coef"], rtol=0, atol=1e-6)


# ---------------------------------------------------------------- identities
def test_row_order_does_not_matter():
    time, status, x = _simulated(500, seed=1)
    a = fine_gray(time, status, x)
    perm = np.random.default_rng(2).permutation(time.size)
    b = fine_gray(time[perm], status[perm], x[perm])
    np.testing.assert_allclose(b.coef, a.coef, rtol=0, atol=1e-12)
    np.testing.assert_allclose(b.se, a.se, rtol=0, atol=1e-12)
    assert b.loglik == pytest.approx(a.loglik, rel=1e-12)


def test_cause_codes():
    time, status, x = _simulated(400, seed=3, causes=3)
    # other non-zero codes all compete
    merged = np.where(status == 3, 2, status)
    a, b = fine_gray(time, status, x, cause=1), fine_gray(time, merged, x, cause=1)
    np.testing.assert_allclose(a.coef, b.coef, rtol=0, atol=1e-13)
    np.testing.assert_allclose(a.se, b.se, rtol=0, atol=1e-13)
    assert a.competing_events == b.competing_events == int(np.sum(status >= 2))
    # cause = 2 is the same as relabelling 2 as 1
    swapped = np.where(merged == 1, 2, np.where(merged == 2, 1, 0))
    c, d = fine_gray(time, merged, x, cause=2), fine_gray(time, swapped, x, cause=1)
    np.testing.assert_allclose(c.coef, d.coef, rtol=0, atol=1e-13)
    np.testing.assert_allclose(c.se, d.se, rtol=0, atol=1e-13)
    assert c.cause == 2 and c.events == d.events


def test_covariate_shift_and_scale():
    time, status, x = _simulated(400, seed=4)
    a = fine_gray(time, status, x)
    shifted = x + np.array([100.0, 0.0, 0.0, 0.0, -7.0])
    b = fine_gray(time, status, shifted)
    np.testing.assert_allclose(b.coef, a.coef, rtol=0, atol=1e-11)
    np.testing.assert_allclose(b.se, a.se, rtol=0, atol=1e-11)
    assert b.loglik == pytest.approx(a.loglik, rel=1e-12)
    scaled = x * np.array([0.1, 1.0, 1.0, 1.0, 2.0])
    c = fine_gray(time, status, scaled)
    np.testing.assert_allclose(c.coef, a.coef / [0.1, 1, 1, 1, 2], rtol=1e-9)
    assert [t.p for t in c.terms] == pytest.approx([t.p for t in a.terms], rel=1e-8)


def test_dataframe_and_array_inputs_agree():
    time, status, x = _simulated(300, seed=5)
    frame = pd.DataFrame(x, columns=["age", "female", "graft[PB]", "graft[BM]", "score"])
    a = fine_gray(pd.Series(time), pd.Series(status), frame)
    b = fine_gray(time, status, x, names=list(frame.columns))
    assert a.names == b.names == tuple(frame.columns)
    np.testing.assert_array_equal(a.coef, b.coef)
    assert fine_gray(time, status, x).names == ("x1", "x2", "x3", "x4", "x5")
    one = fine_gray(time, status, frame["age"])
    assert one.names == ("age",)


def test_result_is_immutable():
    r = fine_gray(HAND_TIME, HAND_STATUS, HAND_X)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.loglik = 0.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.terms[0].coef = 0.0
    for array in (r.var, r.naive_var, r.score, r.information, r.baseline_hazard, r.coef):
        with pytest.raises(ValueError):
            array[0] = 1.0


def test_large_tied_input_is_fast():
    # crr needs ~355 s for 20,000 patients on the reference machine; O(n log n) here
    time, status, x = _simulated(20_000, seed=6)
    start = _time.perf_counter()
    r = fine_gray(time, status, x)
    elapsed = _time.perf_counter() - start
    assert r.converged and np.all(np.isfinite(r.se))
    assert elapsed < 3.5, f"{elapsed:.2f} s for 20,000 patients"
    time, status, x = _simulated(300_000, seed=7)
    r = fine_gray(time, status, x)
    assert r.converged and np.all(np.isfinite(r.se)) and r.n == 300_000


# ---------------------------------------------------------------- validation
T4, S4 = [1, 2, 3, 4], [1, 2, 0, 1]
X4 = [[0.0], [1.0], [1.0], [0.0]]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(time=[], status=[], covariates=np.empty((0, 1))), "empty"),
        (dict(time=[1, 2], status=[1], covariates=[0, 1]), "length"),
        (dict(time=[1, -2, 3, 4], status=S4, covariates=X4), ">= 0"),
        (dict(time=[1, np.nan, 3, 4], status=S4, covariates=X4), "time has 1 missing"),
        (dict(time=T4, status=[1, None, 0, 1], covariates=X4), "status has 1 missing"),
        (dict(time=[1, np.inf, 3, 4], status=S4, covariates=X4), "infinite"),
        (dict(time=T4, status=[1, 0.5, 0, 1], covariates=X4), "integer"),
        (dict(time=T4, status=S4, covariates=X4, cause=0), "cause"),
        (dict(time=T4, status=S4, covariates=X4, cause=1.5), "cause"),
        (dict(time=T4, status=[0, 2, 0, 2], covariates=X4), "no events of cause 1"),
        (dict(time=T4, status=S4, covariates=[[0.0], [np.nan], [1.0], [0.0]]), "'x1' has 1 missing"),
        (dict(time=T4, status=S4, covariates=pd.DataFrame({"age": [1.0, 2.0, None, 3.0]})),
         "'age' has 1 missing.*position 2"),
        (dict(time=T4, status=S4, covariates=[[0.0], [np.inf], [1.0], [0.0]]), "infinite"),
        (dict(time=T4, status=S4, covariates=pd.DataFrame({"sex": [1, 1, 1, 1]})), "'sex' is constant"),
        (dict(time=T4, status=S4, covariates=pd.DataFrame({"graft": ["CB", "PB", "CB", "BM"]})),
         "'graft' is not numeric.*dummy-code"),
        (dict(time=T4, status=S4, covariates=[["a"], ["b"], ["a"], ["b"]]), "numeric"),
        (dict(time=T4, status=S4, covariates=[[0, 1], [1, 0], [1, 0], [0, 1]]), "collinear.*'x2'"),
        (dict(time=T4, status=S4, covariates=[0, 1, 1]), "3 rows but time has 4"),
        (dict(time=T4, status=S4, covariates=np.empty((4, 0))), "at least one"),
        (dict(time=T4, status=S4, covariates=X4, names=["a", "b"]), "names has 2"),
        (dict(time=T4, status=S4, covariates=[[0, 1], [1, 3], [1, 2], [0, 5]], names=["a", "a"]), "unique"),
        (dict(time=T4, status=S4, covariates=X4, init=[0.0, 1.0]), "init"),
        (dict(time=T4, status=S4, covariates=X4, maxiter=-1), "maxiter"),
        (dict(time=[[1, 2]], status=[[1, 0]], covariates=X4), "one-dimensional"),
    ],
)
def test_rejects_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        fine_gray(**kwargs)


# ---------------------------------------------------------------- the reference file
@pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript not on PATH")
def test_reference_file_is_current(tmp_path):
    assert_reference_is_current(tmp_path, "finegray")
