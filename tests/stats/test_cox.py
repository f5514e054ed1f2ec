"""Tests of analysis.cox: by hand, against R's survival package, identities.

Reference values come from tests/reference/cox_reference.R, committed as
tests/reference/cox_reference.json; regenerate with
``Rscript tests/reference/cox_reference.R`` from the project root.
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
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import optimize

from analysis.stats.cox import CoxResult, cox_model
from analysis.stats.cox_zph import cox_zph
from analysis.stats.logrank import logrank_test
from analysis.stats.timedep import split_at_event
from r_reference import arr, assert_stored_json_is_current

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "tests" / "reference" / "cox_reference.json"
COHORT_CSV = ROOT / "data" / "synthetic" / "ankl_cohort.csv"

Z = 1.9599639845400536  # R: qnorm(0.975)
EXACT = dict(rtol=1e-12, atol=0)
R_TOL = dict(rtol=1e-9, atol=1e-12)  # coxph: coef, se, CI, tests, loglik, var, cox.zph
SAME = dict(rtol=1e-10, atol=1e-12)  # identities between two computations here


# --------------------------------------------------------------------- helpers


@lru_cache(maxsize=1)
def reference() -> dict:
    return json.loads(REFERENCE.read_text(encoding="utf-8"))


def strs(values) -> list[str]:
    return [str(v) for v in (values if isinstance(values, list) else [values])]


def matrix(rows) -> np.ndarray:
    return np.array([arr(r) for r in rows], dtype=float)


def r_name(name: str) -> str:
    """Our term name as R names the coefficient: grp[2] -> grp2."""
    return name.replace("[", "").replace("]", "")


def assert_fit_matches_r(fit: CoxResult, ref: dict, tol=R_TOL) -> None:
    assert [r_name(n) for n in fit.names] == strs(ref["names"])
    for field in ("coef", "se", "hr", "lower", "upper", "z", "p"):
        assert_allclose([getattr(t, field) for t in fit.terms], arr(ref[field]), **tol, err_msg=field)
    assert_allclose(fit.variance, matrix(ref["var"]), **tol)
    assert_allclose(fit.loglik, arr(ref["loglik"]), **tol)
    assert fit.iterations == ref["iter"]
    assert (fit.n, fit.events) == (ref["n"], ref["nevent"])
    for name in ("wald", "lr", "score"):
        test = fit.tests[name]
        assert test.df == ref[name]["df"], name
        assert_allclose([test.statistic, test.p], [ref[name]["statistic"], ref[name]["p"]], **tol,
                        err_msg=name)


def assert_zph_matches_r(zph, ref: dict, tol=R_TOL) -> None:
    assert [row.term for row in zph.table] == strs(ref["terms"])
    assert_allclose([row.chisq for row in zph.table], arr(ref["chisq"]), **tol)
    assert [row.df for row in zph.table] == [int(v) for v in arr(ref["df"])]
    assert_allclose([row.p for row in zph.table], arr(ref["p"]), **tol)
    assert_allclose(zph.time, arr(ref["time"]), **tol)
    assert_allclose(zph.x, arr(ref["x"]), **tol)
    assert_allclose(zph.residuals, matrix(ref["y"]).reshape(zph.residuals.shape), **tol)
    assert_allclose(zph.var, matrix(ref["var"]).reshape(zph.var.shape), **tol)


def check_pair(ref_pair: dict, **inputs) -> None:
    """Efron and Breslow fits and their cox.zph against R."""
    for ties in ("efron", "breslow"):
        fit = cox_model(**inputs, ties=ties)
        assert fit.converged and fit.ties == ties
        assert_fit_matches_r(fit, ref_pair[ties])
        assert_zph_matches_r(cox_zph(fit), ref_pair[f"{ties}_zph"])


def bmt_frame() -> pd.DataFrame:
    d = reference()["bmt"]["data"]
    return pd.DataFrame({k: arr(v) for k, v in d.items()})


def bmt_covariates(b: pd.DataFrame, columns=("z1", "z10")) -> pd.DataFrame:
    x = pd.DataFrame({"grp[2]": (b["group"] == 2) * 1.0, "grp[3]": (b["group"] == 3) * 1.0})
    for c in columns:
        x[c] = b[c].to_numpy()
    return x


def bmt_split():
    """bmt DFS split at aGVHD, cGVHD and platelet recovery, as tmerge."""
    b = bmt_frame()
    change = {
        "agvhd": np.where(b.da == 1, b.ta, np.nan),
        "cgvhd": np.where(b.dc == 1, b.tc, np.nan),
        "platelet": np.where(b.dp == 1, b.tp, np.nan),
    }
    fixed = bmt_covariates(b)
    return split_at_event(b.t2, b.d3, change, fixed=fixed)


# --------------------------------------------------------------- by hand
#
# id time event x     risk sets (n0 with x = 0, n1 with x = 1) and deaths
#  1   1    1   1     t=1: n0=4 n1=4, d=1 (x=1)
#  2   2    1   0     t=2: n0=4 n1=3, d=2 (one x=0, one x=1); id 4 censored at 2 is at risk
#  3   2    1   1     t=4: n0=2 n1=1, d=2 (one x=0, one x=1)
#  4   2    0   0
#  5   3    0   1
#  6   4    1   0
#  7   4    1   1
#  8   5    0   0

HAND_TIME = np.array([1, 2, 2, 2, 3, 4, 4, 5], dtype=float)
HAND_EVENT = np.array([1, 1, 1, 0, 0, 1, 1, 0])
HAND_X = np.array([1, 0, 1, 0, 1, 0, 1, 0], dtype=float)
# (n0, n1, d, deaths with x = 1, deaths with x = 0) per death time
HAND_RISK = [(4, 4, 1, 1, 0), (4, 3, 2, 1, 1), (2, 1, 2, 1, 1)]


def breslow_terms(b: float):
    """Loglik, score and information of Breslow's partial likelihood at b."""
    ll = u = info = 0.0
    for n0, n1, d, d1, _ in HAND_RISK:
        s0 = n0 + n1 * math.exp(b)
        m = n1 * math.exp(b) / s0
        ll += d1 * b - d * math.log(s0)
        u += d1 - d * m
        info += d * m * (1 - m)
    return ll, u, info


def efron_terms(b: float):
    """Efron: the j-th of d tied deaths sees the risk set minus j/d of the dying."""
    ll = u = info = 0.0
    for n0, n1, d, d1, d0 in HAND_RISK:
        dying0, dying1 = d0, d1 * math.exp(b)
        for j in range(d):
            s0 = n0 + n1 * math.exp(b) - j / d * (dying0 + dying1)
            s1 = n1 * math.exp(b) - j / d * dying1
            m = s1 / s0
            ll -= math.log(s0)
            u -= m
            info += m * (1 - m)  # x is 0/1, so sum r x^2 = sum r x
        ll += d1 * b
        u += d1
    return ll, u, info


def test_breslow_score_and_information_at_zero_by_hand():
    # U = sum d1 - d n1/n;  I = sum d (n1/n)(n0/n)
    u = (1 - F(1) * 4 / 8) + (1 - F(2) * 3 / 7) + (1 - F(2) * 1 / 3)
    info = F(1, 4) + 2 * F(3, 7) * F(4, 7) + 2 * F(1, 3) * F(2, 3)
    assert (u, info) == (F(41, 42), F(1, 4) + F(24, 49) + F(4, 9))
    fit = cox_model(HAND_TIME, HAND_EVENT, HAND_X, ties="breslow", iter_max=0)
    assert fit.coef[0] == 0 and fit.iterations == 0
    assert_allclose(fit.tests.score.statistic, float(u**2 / info), **EXACT)
    assert_allclose(fit.variance[0, 0], float(1 / info), **EXACT)
    # loglik(0) = -sum d log n
    assert_allclose(fit.loglik[0], -(math.log(8) + 2 * math.log(7) + 2 * math.log(3)), **EXACT)
    ref = reference()["hand"]["breslow_at_zero"]
    assert_allclose([float(u), float(info), fit.loglik[0]], [ref["score"], ref["information"], ref["loglik"]],
                    **EXACT)


def test_efron_score_and_information_at_zero_by_hand():
    # t=2 (n=7, n1=3, two deaths, one with x=1): means 3/7, then (3 - 1/2)/(7 - 1) = 5/12
    # t=4 (n=3, n1=1, two deaths, one with x=1): means 1/3, then (1 - 1/2)/(3 - 1) = 1/4
    means = [[F(1, 2)], [F(3, 7), F(5, 12)], [F(1, 3), F(1, 4)]]
    deaths_x1 = [1, 1, 1]
    u = sum(d1 - sum(ms) for d1, ms in zip(deaths_x1, means))
    info = sum(m * (1 - m) for ms in means for m in ms)
    assert u == F(15, 14)
    fit = cox_model(HAND_TIME, HAND_EVENT, HAND_X, iter_max=0)  # Efron is the default
    assert_allclose(fit.tests.score.statistic, float(u**2 / info), **EXACT)
    assert_allclose(fit.variance[0, 0], float(1 / info), **EXACT)
    # loglik(0) = -(log 8 + log 7 + log 6 + log 3 + log 2): denominators n - j
    assert_allclose(fit.loglik[0], -math.log(8 * 7 * 6 * 3 * 2), **EXACT)
    ref = reference()["hand"]["efron_at_zero"]
    assert_allclose([float(u), float(info), fit.loglik[0]], [ref["score"], ref["information"], ref["loglik"]],
                    **EXACT)


@pytest.mark.parametrize("ties, terms", [("breslow", breslow_terms), ("efron", efron_terms)])
def test_fit_solves_the_score_equation_by_hand(ties, terms):
    fit = cox_model(HAND_TIME, HAND_EVENT, HAND_X, ties=ties)
    root = optimize.brentq(lambda b: terms(b)[1], -5, 5, xtol=1e-15)
    # coxph stops when the loglik changes by <= 1e-9 (relative): its answer (and
    # ours, the same Newton iterate) is within ~1e-10 of the exact root here
    assert_allclose(fit.coef[0], root, rtol=1e-8)
    ll, u, info = terms(fit.coef[0])
    assert abs(u) < 1e-8
    assert_allclose(fit.loglik[1], ll, rtol=1e-13)
    assert_allclose(fit.loglik[0], terms(0.0)[0], rtol=1e-13)
    term = fit.terms[0]
    assert_allclose(term.se, 1 / math.sqrt(info), rtol=1e-9)
    assert_allclose([term.hr, term.lower, term.upper],
                    [math.exp(term.coef), math.exp(term.coef - Z * term.se), math.exp(term.coef + Z * term.se)],
                    **EXACT)
    assert_allclose(term.z, term.coef / term.se, **EXACT)
    assert_allclose(term.p, math.erfc(abs(term.z) / math.sqrt(2)), rtol=1e-12)
    # one covariate: Wald = z^2, LR = 2 (l1 - l0), score = U(0)^2 / I(0)
    assert_allclose(fit.tests.wald.statistic, term.z**2, rtol=1e-12)
    assert_allclose(fit.tests.lr.statistic, 2 * (ll - terms(0.0)[0]), rtol=1e-12)
    _, u0, i0 = terms(0.0)
    assert_allclose(fit.tests.score.statistic, u0**2 / i0, rtol=1e-12)


def test_counting_process_rows_by_hand():
    # Each patient's (0, t] cut into pieces with the same covariate: same risk sets, same model.
    cuts = np.array([0.5, 1.0, 1.5, np.nan, 2.5, 3.0, 0.2, 4.5])
    inside = ~np.isnan(cuts) & (cuts < HAND_TIME)
    start = np.r_[np.zeros(8), cuts[inside]]
    stop = np.r_[np.where(inside, cuts, HAND_TIME), HAND_TIME[inside]]
    event = np.r_[np.where(inside, 0, HAND_EVENT), HAND_EVENT[inside]]
    x = np.r_[HAND_X, HAND_X[inside]]
    for ties in ("efron", "breslow"):
        plain = cox_model(HAND_TIME, HAND_EVENT, HAND_X, ties=ties)
        split = cox_model(stop, event, x, start=start, ties=ties)
        assert split.counting_process and split.n == 8 + inside.sum()
        assert_allclose(split.coef, plain.coef, **SAME)
        assert_allclose(split.variance, plain.variance, **SAME)
        assert_allclose(split.loglik, plain.loglik, **SAME)


# --------------------------------------------------------------- against R


def test_normal_quantile_is_r_qnorm():
    assert Z == reference()["qnorm_975"]


def test_hand_case_against_r():
    ref = reference()["hand"]
    d = ref["data"]
    for ties in ("efron", "breslow"):
        fit = cox_model(arr(d["time"]), arr(d["event"]), {"x": arr(d["x"])}, ties=ties)
        assert_fit_matches_r(fit, ref[ties])


def test_monotone_likelihood_against_r():
    """x = 1 always dies first: the coefficient diverges; R stops at the same iterate and warns."""
    ref = reference()["monotone"]
    d = ref["data"]
    fit = cox_model(arr(d["time"]), arr(d["event"]), {"x": arr(d["x"])})
    # ill-conditioned (information ~ 1e-9): R's own rounding shows at 1e-7
    assert_fit_matches_r(fit, ref["fit"], tol=dict(rtol=1e-6, atol=1e-12))
    assert fit.converged
    assert ref["warning"].startswith("Loglik converged before variable  1")
    assert fit.warnings == ("Loglik converged before variable 1; coefficient may be infinite",)


def test_bmt_dfs_against_r():
    b = bmt_frame()
    ref = reference()["bmt"]
    check_pair(ref["dfs"], time=b.t2, event=b.d3, covariates=bmt_covariates(b))


def test_bmt_dfs_stratified_against_r():
    b = bmt_frame()
    check_pair(reference()["bmt"]["dfs_strata_z10"], time=b.t2, event=b.d3,
               covariates=bmt_covariates(b, ("z1",)), strata=b.z10)


@pytest.mark.parametrize("transform", ["rank", "identity", "log"])
def test_bmt_zph_transforms_against_r(transform):
    b = bmt_frame()
    ref = reference()["bmt"]
    fit = cox_model(b.t2, b.d3, bmt_covariates(b))
    assert_zph_matches_r(cox_zph(fit, transform=transform), ref["dfs_zph_transforms"][transform])
    cp = bmt_split()
    names = ["grp[2]", "grp[3]", "z1", "z10", "agvhd", "cgvhd", "platelet"]
    fit = cox_model(cp.stop, cp.event, cp.matrix(names), start=cp.start, names=names)
    assert_zph_matches_r(cox_zph(fit, transform=transform), ref["timedep_zph_transforms"][transform])


def test_bmt_zph_per_column_against_r():
    b = bmt_frame()
    ref = reference()["bmt"]["dfs_zph_columns"]
    zph = cox_zph(cox_model(b.t2, b.d3, bmt_covariates(b)), terms=False)
    assert [r_name(row.term) for row in zph.table] == strs(ref["terms"])
    assert_allclose([row.chisq for row in zph.table], arr(ref["chisq"]), **R_TOL)


def test_bmt_time_dependent_against_r():
    ref = reference()["bmt"]
    cp = bmt_split()
    names = ["grp[2]", "grp[3]", "z1", "z10", "agvhd", "cgvhd", "platelet"]
    check_pair(ref["timedep"], time=cp.stop, event=cp.event, covariates=cp.matrix(names),
               start=cp.start, names=names)
    names = ["grp[2]", "grp[3]", "agvhd", "platelet"]
    check_pair(ref["timedep_strata_z10"], time=cp.stop, event=cp.event, covariates=cp.matrix(names),
               start=cp.start, names=names, strata=cp.covariates["z10"])


def test_lung_against_r():
    ref = reference()["lung"]
    d = ref["data"]
    time, event = arr(d["time"]), arr(d["event"])
    x = pd.DataFrame({"age": arr(d["age"]), "sex": arr(d["sex"])})
    check_pair(ref["strata_ecog"], time=time, event=event, covariates=x, strata=arr(d["ph_ecog"]))
    x["ph.ecog"] = arr(d["ph_ecog"])
    check_pair(ref["unstratified"], time=time, event=event, covariates=x)


def cohort_inputs():
    """OS and time-dependent states of the synthetic cohort, derived here as the R script does."""
    ref = reference()["cohort"]
    co = pd.read_csv(COHORT_CSV, encoding="utf-8-sig")
    hct = pd.to_datetime(co["hct_date"])

    def months(column):
        return ((pd.to_datetime(co[column]) - hct).dt.days / 30.4375).to_numpy(dtype=float)

    time = months("last_contact_date")
    event = (co["vital_status"] == "dead").to_numpy(int)
    change = {
        "cr_after": months("cr_after_hct_date"),
        "agvhd2": np.where(co["agvhd_grade"] >= 2, months("agvhd_date"), np.nan),
        "cgvhd": np.where(co["cgvhd"] != "none", months("cgvhd_date"), np.nan),
    }
    x = pd.DataFrame({
        "status_nr": (co["status_at_hct"] == "NR").astype(float),
        "graft_source[PB]": (co["graft_source"] == "PB").astype(float),
        "graft_source[BM]": (co["graft_source"] == "BM").astype(float),
        "age": co["age"].astype(float),
    })
    d = ref["data"]
    assert_array_equal(time, arr(d["time"]))
    assert_array_equal(event, arr(d["event"]))
    for name, values in change.items():
        assert_array_equal(values, arr(d[name]))
    return time, event, change, x


def cohort_reference() -> dict:
    ref = reference().get("cohort")
    if ref is None:
        pytest.skip("no cohort reference values stored (cohort file was absent)")
    if not COHORT_CSV.exists():
        pytest.skip(f"{COHORT_CSV} not found")
    md5 = hashlib.md5(COHORT_CSV.read_bytes()).hexdigest()
    assert md5 == ref["source_md5"], (
        f"{COHORT_CSV} changed since the reference was made: rerun Rscript tests/reference/cox_reference.R"
    )
    return ref


def test_cohort_os_against_r():
    ref = cohort_reference()
    time, event, _, x = cohort_inputs()
    check_pair(ref["os"], time=time, event=event, covariates=x)


def test_cohort_time_dependent_against_r():
    ref = cohort_reference()
    time, event, change, x = cohort_inputs()
    cp = split_at_event(time, event, change, fixed=x)
    names = list(x.columns) + list(change)
    check_pair(ref["os_timedep"], time=cp.stop, event=cp.event, covariates=cp.matrix(names),
               start=cp.start, names=names)


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript not on PATH")
def test_stored_reference_is_current(tmp_path):
    assert_stored_json_is_current(tmp_path, "cox")


# --------------------------------------------------------------- identities


def lung_untied():
    """lung with every time made distinct (ties broken by 0.01 steps)."""
    d = reference()["lung"]["data"]
    time, event = arr(d["time"]), arr(d["event"])
    order = np.lexsort((np.arange(time.size), time))
    rank_in_tie = np.empty(time.size)
    rank_in_tie[order] = np.arange(time.size) - np.searchsorted(time[order], time[order], side="left")
    x = pd.DataFrame({"age": arr(d["age"]), "sex": arr(d["sex"]), "ph.ecog": arr(d["ph_ecog"])})
    return time + 0.01 * rank_in_tie, event, x


def test_efron_equals_breslow_without_ties():
    time, event, x = lung_untied()
    assert np.unique(time).size == time.size
    efron, breslow = cox_model(time, event, x), cox_model(time, event, x, ties="breslow")
    assert_allclose(efron.coef, breslow.coef, **SAME)
    assert_allclose(efron.variance, breslow.variance, **SAME)
    assert_allclose(efron.loglik, breslow.loglik, **SAME)
    for name in ("wald", "lr", "score"):
        assert_allclose(efron.tests[name].statistic, breslow.tests[name].statistic, **SAME)
    for a, b in zip(cox_zph(efron).table, cox_zph(breslow).table):
        assert_allclose(a.chisq, b.chisq, **SAME)


def test_score_test_is_the_logrank_test_without_ties():
    time, event, x = lung_untied()
    ecog = x["ph.ecog"].to_numpy()
    dummies = np.column_stack([(ecog == k) * 1.0 for k in (1, 2, 3)])
    fit = cox_model(time, event, dummies, iter_max=0)
    logrank = logrank_test(time, event, ecog)
    assert fit.tests.score.df == logrank.df == 3
    assert_allclose(fit.tests.score.statistic, logrank.statistic, **SAME)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_counting_process_from_zero_equals_ordinary_cox(ties):
    b = bmt_frame()
    for strata in (None, b.z10):
        x = bmt_covariates(b, ("z1", "z10") if strata is None else ("z1",))
        plain = cox_model(b.t2, b.d3, x, ties=ties, strata=strata)
        counting = cox_model(b.t2, b.d3, x, ties=ties, strata=strata, start=np.zeros(len(b)))
        assert counting.counting_process and not plain.counting_process
        assert counting.iterations == plain.iterations
        assert_allclose(counting.coef, plain.coef, **SAME)
        assert_allclose(counting.variance, plain.variance, **SAME)
        assert_allclose(counting.loglik, plain.loglik, **SAME)
        assert_allclose(counting.tests.score.statistic, plain.tests.score.statistic, **SAME)
        za, zb = cox_zph(plain), cox_zph(counting)
        assert_allclose([r.chisq for r in za.table], [r.chisq for r in zb.table], **SAME)


def test_splitting_without_changing_covariates_changes_nothing():
    b = bmt_frame()
    x = bmt_covariates(b)
    # split everyone at day 100 and 365 (survSplit): covariates constant, so the same model
    cp = split_at_event(b.t2, b.d3, {"c100": np.full(len(b), 100.0), "c365": np.full(len(b), 365.0)},
                        fixed=x)
    assert cp.n_rows > len(b)
    plain = cox_model(b.t2, b.d3, x)
    split = cox_model(cp.stop, cp.event, cp.matrix(x.columns), start=cp.start)
    assert_allclose(split.coef, plain.coef, **SAME)
    assert_allclose(split.variance, plain.variance, **SAME)
    assert_allclose(split.loglik, plain.loglik, **SAME)


def test_results_do_not_depend_on_row_order_or_scale():
    b = bmt_frame()
    x = bmt_covariates(b, ("z1",))
    fit = cox_model(b.t2, b.d3, x, strata=b.z10)
    perm = np.random.default_rng(11).permutation(len(b))
    shuffled = cox_model(b.t2.to_numpy()[perm], b.d3.to_numpy()[perm], x.iloc[perm], strata=b.z10.to_numpy()[perm])
    assert_allclose(shuffled.coef, fit.coef, **SAME)
    assert_allclose(shuffled.variance, fit.variance, **SAME)
    assert_allclose([r.chisq for r in cox_zph(shuffled).table], [r.chisq for r in cox_zph(fit).table], **SAME)
    # age in decades: coefficient x 10, z and tests unchanged; times x 30.4375 change nothing
    x10 = x.assign(z1=x["z1"] / 10)
    rescaled = cox_model(b.t2 / 30.4375, b.d3, x10, strata=b.z10)
    assert_allclose(rescaled.coef[2], 10 * fit.coef[2], rtol=1e-9)
    assert_allclose([t.z for t in rescaled.terms], [t.z for t in fit.terms], rtol=1e-9)
    assert_allclose(rescaled.loglik, fit.loglik, rtol=1e-12)


def test_zph_from_inputs_equals_zph_from_fit():
    b = bmt_frame()
    inputs = dict(time=b.t2, event=b.d3, covariates=bmt_covariates(b))
    a, c = cox_zph(cox_model(**inputs)), cox_zph(inputs)
    assert [r.chisq for r in a.table] == [r.chisq for r in c.table]
    assert a["grp"].df == 2 and a.global_test.term == "GLOBAL" and a.global_test.df == 4


def test_large_cohort_runs_vectorised():
    rng = np.random.default_rng(7)
    n = 1_000_000
    x = np.column_stack([rng.integers(0, 2, n), rng.normal(50, 10, n)])
    time = np.round(rng.exponential(700, n) * np.exp(-0.4 * x[:, 0])) / 30.4375 + 1 / 30.4375
    event = (rng.random(n) < 0.6).astype(int)
    fit = cox_model(time, event, x, names=["treated", "age"])
    assert fit.converged and fit.n == n
    assert abs(fit.coef[0] - 0.4) < 0.01 and abs(fit.coef[1]) < 0.002
    zph = cox_zph(fit)
    assert zph.global_test.df == 2 and zph.residuals.shape == (fit.events, 2)


def test_models_of_the_same_times_share_their_risk_sets_and_keep_only_their_data():
    # A report fits many models to the same endpoint: the risk sets are laid out once for each
    # (times, events, strata, ties); a fitted model keeps its data, not its working arrays; and
    # cox.zph, which needs them again, gives the numbers it gave before.
    rng = np.random.default_rng(8)
    n = 5000
    time = rng.integers(1, 400, n) / 30.4375
    event = (rng.random(n) < 0.6).astype(int)
    x = np.column_stack([rng.integers(0, 2, n), rng.normal(50, 10, n)])
    first = cox_model(time, event, x)
    zph_first = cox_zph(first)
    second = cox_model(time.copy(), event.copy(), x[:, :1])
    other = cox_model(time, 1 - event, x)
    assert second.design.layout is first.design.layout
    assert other.design.layout is not first.design.layout
    assert first.design._arrays is None and first.design._xc is None and first.design._scratch is None
    again = cox_zph(first)
    assert [row.chisq for row in again.table] == [row.chisq for row in zph_first.table]
    assert np.array_equal(again.residuals, zph_first.residuals, equal_nan=True)
    assert np.array_equal(first.coef, cox_model(time, event, x).coef)


def _efron_row_by_row(time, event, x, beta, start=None):
    """Efron's log partial likelihood, score and information written out: for each tied group of d
    deaths and j = 0..d-1, the weighted mean and covariance of x over the risk set with the fraction
    j/d of the deaths' risk taken out (exp() of beta' x as it comes)."""
    start = np.full(time.size, -np.inf) if start is None else start
    xc = x - x.mean(axis=0)
    eta = xc @ beta
    r = np.exp(eta)
    loglik, score, info = 0.0, np.zeros(x.shape[1]), np.zeros((x.shape[1], x.shape[1]))
    for t in np.unique(time[event == 1]):
        at_risk = (start < t) & (time >= t)
        dead = (time == t) & (event == 1)
        d = dead.sum()
        loglik += eta[dead].sum()
        score += xc[dead].sum(axis=0)
        for j in range(d):
            w = r * at_risk - (j / d) * r * dead
            mean = w @ xc / w.sum()
            loglik -= np.log(w.sum())
            score -= mean
            info += (xc * w[:, None]).T @ xc / w.sum() - np.outer(mean, mean)
    return loglik, score, info


@pytest.mark.parametrize("counting", [False, True])
def test_information_by_hand_with_ties_and_censoring_at_death_times(counting):
    # The information is computed in working arrays reused by every iteration and every model: the same
    # numbers as the sums written out, and as before another model used those arrays.
    rng = np.random.default_rng(9)
    n = 60
    time = rng.integers(1, 12, n).astype(float)  # many deaths tied, censored rows at death times
    event = (rng.random(n) < 0.6).astype(int)
    x = np.column_stack([rng.integers(0, 2, n), rng.normal(0, 1, n), rng.integers(0, 3, n)])
    start = np.where(rng.random(n) < 0.3, time - rng.integers(1, 3, n) * 0.5, 0.0) if counting else None
    fit = cox_model(time, event, x, start=start)
    _, _, info = fit.design.loglik_score_info(fit.coef)
    assert_allclose(info, _efron_row_by_row(time, event, x, fit.coef, start)[2], rtol=1e-12)
    cox_model(time, event, x[:, ::-1] * 2.0, start=start)  # the same risk sets, other covariates
    refit = cox_model(time, event, x, start=start)
    assert np.array_equal(refit.coef, fit.coef) and np.array_equal(refit.variance, fit.variance)
    assert np.array_equal(fit.design.loglik_score_info(fit.coef)[2], info)


@pytest.mark.parametrize("strata", [False, True])
def test_rows_never_at_risk_and_strata_by_hand(strata):
    # Rows at risk at no death time (censored before the first, or an interval between two death times)
    # are left out of the sorted rows; strata make rows enter at their stratum's first death time:
    # the log-likelihood, score and information are still the sums written out, stratum by stratum.
    rng = np.random.default_rng(13)
    n = 50
    time = rng.integers(2, 12, n).astype(float)
    event = (rng.random(n) < 0.6).astype(int)
    time[:4], event[:4] = 0.5, 0  # censored before any death
    start = np.where(rng.random(n) < 0.3, time - 0.25, 0.0)  # some intervals hold no death time
    x = np.column_stack([rng.normal(0, 1, n), rng.integers(0, 2, n)])
    group = rng.integers(0, 2, n) if strata else np.zeros(n, dtype=int)
    beta = np.array([0.4, -0.3])
    for s in (None, start):
        design = cox_model(time, event, x, start=s, strata=group if strata else None).design
        loglik, score, info = design.loglik_score_info(beta)
        hands = [_efron_row_by_row(time[group == g], event[group == g], x[group == g] - x.mean(axis=0)
                                   + x[group == g].mean(axis=0), beta, None if s is None else s[group == g])
                 for g in np.unique(group)]
        assert_allclose(loglik, sum(h[0] for h in hands), rtol=1e-12)
        assert_allclose(score, sum(h[1] for h in hands), rtol=1e-10, atol=1e-12)
        assert_allclose(info, sum(h[2] for h in hands), rtol=1e-12)


def test_risks_beyond_the_range_of_exp_are_taken_relative_to_the_largest():
    # Where some beta' x exceeds 500 the risks are computed as exp(beta' x - the largest) and the
    # log-likelihood corrected: the same log-likelihood, score and information as written out.
    rng = np.random.default_rng(10)
    n = 40
    time = rng.integers(1, 10, n).astype(float)
    event = (rng.random(n) < 0.7).astype(int)
    x = np.column_stack([rng.normal(0, 1, n), rng.integers(0, 2, n)])
    design = cox_model(time, event, x).design
    beta = np.array([0.5, 1100.0])  # beta' x near 550 where the 0/1 covariate is 1, near -550 where 0
    assert ((x - x.mean(axis=0)) @ beta).max() > 500
    loglik, score, info = design.loglik_score_info(beta)
    hand = _efron_row_by_row(time, event, x, beta)
    assert_allclose(loglik, hand[0], rtol=1e-12)
    assert_allclose(score, hand[1], rtol=1e-10, atol=1e-10)
    assert info[0, 0] > 1
    assert_allclose(info, hand[2], rtol=1e-10, atol=1e-12)


def test_more_death_times_than_sixteen_bit_keys_hold():
    # Rows are ordered by death group with 16-bit keys (a radix sort) up to 32,767 groups and cox.zph's
    # deaths up to 65,535, with 64-bit keys beyond: 70,000 distinct death times take the second way.
    rng = np.random.default_rng(12)
    n = 72_000
    time = rng.permutation(n) + 1.0
    event = (rng.random(n) < 0.97).astype(int)
    group = rng.integers(0, 2, n)
    assert event.sum() > 65_535
    fit = cox_model(time, event, group)
    assert_allclose(fit.tests.score.statistic, logrank_test(time, event, group).statistic, **SAME)
    perm = rng.permutation(n)
    shuffled = cox_model(time[perm], event[perm], group[perm])
    assert_allclose(shuffled.coef, fit.coef, **SAME)
    assert_allclose(shuffled.variance, fit.variance, **SAME)
    zph = cox_zph(fit)
    assert np.array_equal(zph.time, np.sort(time[event == 1]))
    assert_allclose(zph.global_test.chisq, cox_zph(shuffled).global_test.chisq, **SAME)


# --------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(time=[1, 2, -1], event=[1, 0, 1], covariates=[1, 0, 1]), "negative"),
        (dict(time=[1, 2, 3], event=[1, 2, 1], covariates=[1, 0, 1]), "0 or 1"),
        (dict(time=[1, 2, 3], event=[0, 0, 0], covariates=[1, 0, 1]), "no events"),
        (dict(time=[1, 2, 3], event=[1, 0, 1], covariates=[1, np.nan, 1]), "missing"),
        (dict(time=[1, 2, 3], event=[1, 0, 1], covariates=["a", "b", "a"]), "numeric"),
        (dict(time=[1, 2, 3], event=[1, 0, 1], covariates=pd.DataFrame({"g": ["a", "b", "a"]})), "dummy-code"),
        (dict(time=[1, 2, 3], event=[1, 0, 1], covariates=[1, 0]), "rows"),
        (dict(time=[1, 2, 3], event=[1, 0, 1], covariates=[1, 0, 1], names=["a", "b"]), "names"),
        (dict(time=[1, 2, 3], event=[1, 0, 1], covariates=[1, 0, 1], ties="exact"), "ties"),
        (dict(time=[1, 2, 3], event=[1, 0, 1], covariates=[1, 0, 1], start=[0, 2, 1]), "start must be < stop"),
        (dict(time=[1, 2, 3], event=[1, 0, 1], covariates=[1, 0, 1], start=[0, np.nan, 1]), "start has"),
        (dict(time=[1, 2, 3], event=[1, 0, 1], covariates=[1, 1, 1]), "singular"),
        (dict(time=[1, 2, 3, 4], event=[1, 0, 1, 1], covariates=[[1, 2], [0, 0], [1, 2], [0, 0]]), "singular"),
        (dict(time=[1, 2, 3], event=[1, 0, 1], covariates=np.empty((3, 0))), "at least one"),
    ],
)
def test_bad_input_is_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        cox_model(**kwargs)


def test_bad_zph_input_is_rejected():
    fit = cox_model(HAND_TIME, HAND_EVENT, HAND_X)
    with pytest.raises(ValueError, match="unrecognised transform"):
        cox_zph(fit, transform="sqrt")
    with pytest.raises(ValueError, match="CoxResult"):
        cox_zph([1, 2, 3])


def test_not_converged_against_r():
    """iter.max = 2: R warns, returns the last accepted iterate and its loglik.

    For right-censored data R's reported iteration count is iter.max + 1 and
    its variance is not the inverse information (coxfit6 recomputes the
    information at the last iterate and inverts it with chinv2 without the
    Cholesky step); ours is the inverse information, which is what R's
    counting-process code (agfit4) reports at the same coefficients.
    """
    b = bmt_frame()
    ref = reference()["bmt"]["dfs_not_converged"]
    rc = cox_model(b.t2, b.d3, bmt_covariates(b), iter_max=2)
    cp = cox_model(b.t2, b.d3, bmt_covariates(b), iter_max=2, start=np.zeros(len(b)))
    assert_fit_matches_r(cp, ref["counting"])
    assert not rc.converged and not cp.converged
    assert rc.warnings == cp.warnings == ("Ran out of iterations and did not converge",)
    r = ref["right_censored"]
    assert rc.iterations == r["iter"] == 3 and cp.iterations == 2
    assert_allclose(rc.coef, arr(r["coef"]), **R_TOL)
    assert_allclose(rc.loglik, arr(r["loglik"]), **R_TOL)
    assert_allclose(rc.variance, cp.variance, **SAME)
    assert not np.allclose(rc.se, arr(r["se"]), rtol=1e-2)  # R's right-censored SE here is not 1/sqrt(I)
