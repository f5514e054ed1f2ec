"""lifelines as an independent third implementation: this package = R = lifelines.

For each quantity that lifelines (0.30) computes the way R's survival package does, the same data go
through our estimator, R (the stored references under tests/reference/) and lifelines, and the
three numbers must agree: Kaplan-Meier with its log-log CI and median, the Nelson-Aalen cumulative
hazard, the log-rank test (2 and k groups), Cox with Efron ties (stratified too) and the
time-varying Cox model on (start, stop] rows.  Data: a hand-made set with tied times and a
censoring at an event time, R's lung and KMsurv::bmt, and the synthetic cohort.

What lifelines lacks (the stratified log-rank test, Gray's test, Fine-Gray, Mantel-Byar) or
computes otherwise (Aalen-Johansen jitters tied times, the median where S(t) sits at 0.5) is
measured by benchmarks/lifelines_comparison.py; where lifelines' median is not R's, the Kaplan-Meier
test asserts lifelines' own number, so that what LIFELINES_NOTE.md says stays true.

The R numbers come from tests/reference/survival_reference.json and cox_reference.json (their own
tests rerun the scripts), and from lifelines_reference.json (Nelson-Aalen and a hand-made
time-varying Cox fit), written by ``Rscript tests/reference/lifelines_reference.R``.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter, CoxTimeVaryingFitter, KaplanMeierFitter, NelsonAalenFitter
from lifelines.statistics import multivariate_logrank_test
from lifelines.utils import median_survival_times
from numpy.testing import assert_allclose, assert_array_equal

from analysis.stats.cox import cox_model
from analysis.stats.kaplan_meier import kaplan_meier, median_survival
from analysis.stats.logrank import logrank_test
from analysis.stats.timedep import split_at_event
from r_reference import arr, assert_stored_json_is_current
from test_cox import COHORT_CSV, bmt_covariates, bmt_frame, bmt_split, cohort_inputs, cohort_reference, r_name
from test_cox import reference as cox_reference
from test_kaplan_meier import labels
from test_kaplan_meier import reference as survival_reference

ROOT = Path(__file__).resolve().parents[2]
LIFELINES_REFERENCE = ROOT / "tests" / "reference" / "lifelines_reference.json"

# Tolerances.
#
# SAME_ARITHMETIC: Kaplan-Meier, its CI and median, Nelson-Aalen and the log-rank test are closed
# formulas that all three compute from the same counts; they differ only in the order of floating-
# point sums and products (and lifelines takes z = scipy's norm.ppf(0.975), 2 ulp from R's qnorm).
# The largest relative difference measured is 1.1e-14 (a log-rank statistic); 1e-10 leaves room
# for another platform's rounding, not for a wrong count: one event more or less moves these
# numbers by more than 1e-3 in data sets of at most 228 patients.
SAME_ARITHMETIC = dict(rtol=1e-10, atol=1e-12)
# OURS_VS_R_COX: our Newton-Raphson returns the iterate coxph returns (same steps, same stopping
# rule), so the two agree to rounding error (as in tests/test_cox.py).
OURS_VS_R_COX = dict(rtol=1e-9, atol=1e-12)
# Cox fits by lifelines: lifelines damps its Newton steps (step size 0.95) and by default stops
# after a step shorter than 1e-7 or a relative change of the log-likelihood below 1e-9, which leaves
# its coefficients up to 1.2e-5 from R's on the synthetic cohort (benchmarks/RESULTS-lifelines.md).
# LIFELINES_TO_THE_OPTIMUM iterates lifelines to steps shorter than 1e-12, so that what is compared
# is the estimator, not a stopping rule.  R stops by |1 - loglik_old / loglik_new| <= 1e-9, which
# leaves its (and our) coefficients up to 4.9e-8 (hand-made data; lung 1.6e-9, elsewhere < 3e-11)
# from the optimum lifelines then reaches: coefficients get an absolute 1e-7 (1e-9 would fail on the
# hand-made data and lung), their SEs (the inverse information there, which moves with the
# coefficients; measured 4.6e-9) a relative 1e-7; the log-likelihood is flat at the optimum, so it
# agrees to second order (measured relative 4e-16): relative 1e-12.
LIFELINES_TO_THE_OPTIMUM = dict(precision=1e-12, r_precision=1e-15)
COEF_TOL = dict(rtol=0, atol=1e-7)
SE_TOL = dict(rtol=1e-7, atol=0)
LOGLIK_TOL = dict(rtol=1e-12, atol=0)


@lru_cache(maxsize=1)
def lifelines_reference() -> dict:
    return json.loads(LIFELINES_REFERENCE.read_text(encoding="utf-8"))


def finite_or_nan(values) -> np.ndarray:
    """lifelines says a median (or its CI limit) that is never reached is inf; R and we say NA/NaN."""
    values = np.asarray(values, dtype=float)
    return np.where(np.isinf(values), np.nan, values)


def vector(value) -> np.ndarray:
    """A JSON number or list as a 1-D array (R writes a length-1 vector as a scalar)."""
    return np.atleast_1d(arr(value))


# ---------------------------------------------------------------- Kaplan-Meier and log-rank data


def _survival_data() -> dict[str, tuple[np.ndarray, np.ndarray, dict, dict]]:
    """Per data set of survival_reference.json: time, event, R's overall curve, and per grouping
    its labels, R's curves by level (None where R stored none) and R's log-rank test."""
    ref = survival_reference()
    hand, lung, bmt, cohort = ref["hand"], ref["lung"], ref["bmt"], ref["cohort"]
    graft = labels(cohort["data"]["graft_source"])
    return {
        "hand": (arr(hand["data"]["time"]), arr(hand["data"]["event"]), hand["curves"]["all"],
                 {"group": (labels(hand["data"]["group"]), hand["curves"], hand["logrank"])}),
        "lung": (arr(lung["data"]["time"]), arr(lung["data"]["event"]), lung["curves"]["all"],
                 {"sex": (labels(lung["data"]["sex"]), lung["curves"], lung["logrank_sex"])}),
        "bmt_dfs": (arr(bmt["data"]["t2"]), arr(bmt["data"]["d3"]), bmt["dfs"]["curves"]["all"],
                    {"group": (labels(bmt["data"]["group"]), bmt["dfs"]["curves"], bmt["dfs"]["logrank"])}),
        "bmt_os": (arr(bmt["data"]["t1"]), arr(bmt["data"]["d1"]), bmt["os"]["curves"]["all"],
                   {"group": (labels(bmt["data"]["group"]), bmt["os"]["curves"], bmt["os"]["logrank"])}),
        "cohort": (arr(cohort["data"]["time"]), arr(cohort["data"]["event"]), cohort["curves"]["all"], {
            "graft_source": (graft, cohort["curves_graft_source"], cohort["logrank_graft_source"]),
            "cb_vs_other": (np.where(graft == "CB", "CB", "other"), None, cohort["logrank_cb_vs_other"]),
            "status_at_hct": (labels(cohort["data"]["status_at_hct"]), cohort["curves_status_at_hct"],
                              cohort["logrank_status_at_hct"]),
        }),
    }


def _km_cases() -> dict[str, tuple[np.ndarray, np.ndarray, dict]]:
    """Every Kaplan-Meier curve R stored: overall and per group, and the edge cases of the median
    and CI conventions (S reaching 0.5 or 0, a single event, time 0, all censored)."""
    cases = {}
    for name, (time, event, overall, groupings) in _survival_data().items():
        cases[f"{name}-all"] = (time, event, overall)
        for grouping, (group, curves, _) in groupings.items():
            for level in sorted(set(group)) if curves is not None else ():
                member = group == level
                cases[f"{name}-{grouping}={level}"] = (time[member], event[member], curves[level])
    for name, ref in survival_reference()["edge"].items():
        # near_ties holds times 1e-12 apart: R (timefix) and we merge them into one time, lifelines
        # keeps two, so its rows differ by construction; every other edge case is compared.
        if name != "near_ties":
            cases[f"edge-{name}"] = (vector(ref["data"]["time"]), vector(ref["data"]["event"]), ref["curves"]["all"])
    return cases


# Where lifelines' median (estimate, lower, upper limit) is not R's, and why.  Everywhere else the
# test below asserts lifelines = R; here it asserts lifelines' own numbers, so that the differences
# LIFELINES_NOTE.md reports stay true.  NaN: not reached.
LIFELINES_MEDIAN_WHERE_IT_DIFFERS = {
    # S(t) is 0.5 from one time to the next: R (quantile.survfit, with a sqrt(eps) tolerance) and we
    # take the midpoint of the two times (the last time, for a curve that ends at 0.5); lifelines the
    # first time S <= 0.5 in floating point: the first of the two, or the second where rounding
    # leaves the product a hair above 0.5 ((17/18)(16/17)...(9/10) in the PB group, (5/6)(4/5)(3/4)
    # in half_interval).  Two of the three graft-source groups of the synthetic cohort (R: 7.343 and
    # 7.064 months).
    "cohort-graft_source=BM": (7.227926078028747, 4.796714579055442, 10.546201232032855),
    "cohort-graft_source=PB": (7.5564681724846, 4.468172484599589, 8.377823408624231),
    "edge-ends_at_half": (2.0, 1.0, np.nan),
    # ... and S also reaches 0, where the CI is undefined: R has no upper CI curve there (the upper
    # limit of the median is not reached), lifelines sets the CI to (0, 0) and reports the time S
    # reaches 0 as the upper limit.
    "edge-all_events": (2.0, 1.0, 4.0),
    "edge-half_interval": (5.0, 1.0, 6.0),
    # S reaches 0 only.
    "hand-group=B": (8.0, 2.0, 11.0),
    "edge-single_event": (7.0, 7.0, 7.0),
    "edge-time_zero": (2.0, 0.0, 3.0),
}


def _logrank_cases() -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, dict]]:
    return {f"{name}-{grouping}": (time, event, group, logrank)
            for name, (time, event, _, groupings) in _survival_data().items()
            for grouping, (group, _, logrank) in groupings.items()}


KM_CASES = _km_cases()
LOGRANK_CASES = _logrank_cases()


def lifelines_km(time, event) -> tuple[KaplanMeierFitter, pd.Index]:
    """lifelines' Kaplan-Meier fit and its rows at the observed times (it adds a row at t = 0)."""
    kmf = KaplanMeierFitter().fit(time, event)
    observed = kmf.event_table.index[kmf.event_table["removed"].to_numpy() > 0]
    return kmf, observed


@pytest.mark.parametrize("case", sorted(KM_CASES))
def test_kaplan_meier_equals_R_and_lifelines(case):
    time, event, ref = KM_CASES[case]
    ours = kaplan_meier(time, event)
    kmf, observed = lifelines_km(time, event)

    assert_allclose(ours.time, vector(ref["time"]), **SAME_ARITHMETIC)
    assert_array_equal(observed.to_numpy(), ours.time)
    assert_array_equal(ours.n_risk, vector(ref["n_risk"]))
    assert_array_equal(kmf.event_table.loc[observed, "at_risk"].to_numpy(), ours.n_risk)

    surv = kmf.survival_function_.iloc[:, 0].loc[observed].to_numpy()
    assert_allclose(ours.estimate, vector(ref["surv"]), **SAME_ARITHMETIC)
    assert_allclose(surv, ours.estimate, **SAME_ARITHMETIC)

    # The log-log ("exponential Greenwood") 95% CI.  Where S is 1 or 0 it is undefined: R says NA
    # and we NaN; lifelines gives the degenerate interval (S, S) there.
    ci = kmf.confidence_interval_.loc[observed].to_numpy()
    defined = np.isfinite(vector(ref["lower"]))
    assert_array_equal(np.isfinite(ours.lower), defined)
    assert_array_equal(defined, (ours.estimate > 0) & (ours.estimate < 1))
    for ours_limit, r_limit, lifelines_limit in ((ours.lower, ref["lower"], ci[:, 0]),
                                                 (ours.upper, ref["upper"], ci[:, 1])):
        assert_allclose(ours_limit[defined], vector(r_limit)[defined], **SAME_ARITHMETIC)
        assert_allclose(lifelines_limit[defined], ours_limit[defined], **SAME_ARITHMETIC)
        assert_array_equal(lifelines_limit[~defined], surv[~defined])

    # The median and its CI: the first time S (or the CI curve) is at or below 0.5, but see
    # LIFELINES_MEDIAN_WHERE_IT_DIFFERS.
    median = median_survival(ours)
    r_median = vector([ref["median"]["estimate"], ref["median"]["lower"], ref["median"]["upper"]])
    lifelines_median = finite_or_nan([kmf.median_survival_time_,
                                      *median_survival_times(kmf.confidence_interval_).to_numpy().ravel()])
    assert_allclose([median.estimate, median.lower, median.upper], r_median, **SAME_ARITHMETIC)
    assert_allclose(lifelines_median, LIFELINES_MEDIAN_WHERE_IT_DIFFERS.get(case, r_median), **SAME_ARITHMETIC)


@pytest.mark.parametrize("case", sorted(LOGRANK_CASES))
def test_logrank_equals_R_and_lifelines(case):
    # lifelines has no stratified log-rank test (multivariate_logrank_test takes no strata): the
    # stratified tests are checked against R alone, in tests/test_survival.py.
    time, event, group, ref = LOGRANK_CASES[case]
    ours = logrank_test(time, event, group)
    theirs = multivariate_logrank_test(time, group, event)
    assert ours.df == ref["df"] == theirs.degrees_of_freedom == len(set(group)) - 1
    assert_allclose([ours.statistic, ours.p], [ref["statistic"], ref["p"]], **SAME_ARITHMETIC)
    assert_allclose([theirs.test_statistic, theirs.p_value], [ours.statistic, ours.p], **SAME_ARITHMETIC)


# ---------------------------------------------------------------- Nelson-Aalen


@pytest.mark.parametrize("case", sorted(lifelines_reference()["nelson_aalen"]))
def test_nelson_aalen_equals_R_and_lifelines(case):
    # The package has no Nelson-Aalen estimator (the report shows no cumulative hazard).  Ours is
    # therefore the Nelson-Aalen sum of d / n over the risk table of our Kaplan-Meier estimator.
    # lifelines' default (nelson_aalen_smoothing=True) counts d tied events as d successive single
    # events (1/n + 1/(n-1) + ...); R's survfit and the textbook estimator, which lifelines computes
    # with nelson_aalen_smoothing=False, take d / n.  lifelines' variance (d (n - d) / n^3 per time)
    # is not R's std.chaz (d / n^2): only the estimate is compared.
    ref = lifelines_reference()["nelson_aalen"][case]
    if "source_md5" in ref:
        assert hashlib.md5(COHORT_CSV.read_bytes()).hexdigest() == ref["source_md5"], (
            f"{COHORT_CSV} changed: rerun Rscript tests/reference/lifelines_reference.R")
    time, event = arr(ref["data"]["time"]), arr(ref["data"]["event"])
    km = kaplan_meier(time, event)
    ours = np.cumsum(km.n_event / km.n_risk)
    naf = NelsonAalenFitter(nelson_aalen_smoothing=False).fit(time, event)
    observed = naf.event_table.index[naf.event_table["removed"].to_numpy() > 0]
    theirs = naf.cumulative_hazard_.iloc[:, 0].loc[observed].to_numpy()

    assert_allclose(km.time, arr(ref["time"]), **SAME_ARITHMETIC)
    assert_array_equal(observed.to_numpy(), km.time)
    assert_allclose(ours, arr(ref["cumhaz"]), **SAME_ARITHMETIC)
    assert_allclose(theirs, ours, **SAME_ARITHMETIC)


# ---------------------------------------------------------------- Cox, Efron ties


def _cox_cases() -> dict[str, tuple[np.ndarray, np.ndarray, pd.DataFrame, np.ndarray | None, dict]]:
    """Per case: time, event, covariates (our names), strata or None, and R's Efron fit block."""
    ref = cox_reference()
    hand, lung = ref["hand"], ref["lung"]["data"]
    lung_time, lung_event = arr(lung["time"]), arr(lung["event"])
    lung_x = pd.DataFrame({"age": arr(lung["age"]), "sex": arr(lung["sex"])})
    b = bmt_frame()
    cases = {
        "hand": (arr(hand["data"]["time"]), arr(hand["data"]["event"]),
                 pd.DataFrame({"x": arr(hand["data"]["x"])}), None, hand["efron"]),
        "lung": (lung_time, lung_event, lung_x.assign(**{"ph.ecog": arr(lung["ph_ecog"])}), None,
                 ref["lung"]["unstratified"]["efron"]),
        "lung-strata_ecog": (lung_time, lung_event, lung_x, arr(lung["ph_ecog"]),
                             ref["lung"]["strata_ecog"]["efron"]),
        "bmt_dfs": (b.t2.to_numpy(), b.d3.to_numpy(), bmt_covariates(b), None, ref["bmt"]["dfs"]["efron"]),
        "bmt_dfs-strata_z10": (b.t2.to_numpy(), b.d3.to_numpy(), bmt_covariates(b, ("z1",)), b.z10.to_numpy(),
                               ref["bmt"]["dfs_strata_z10"]["efron"]),
    }
    time, event, _, x = cohort_inputs()
    cases["cohort_os"] = (time, event, x, None, ref["cohort"]["os"]["efron"])
    return cases


def assert_cox_three_ways(ours, r_fit: dict, theirs) -> None:
    """Our fit = R's (to rounding) = lifelines' (to the optimum): coefficients, SEs, log-likelihood."""
    assert [r_name(n) for n in ours.names] == [str(n) for n in np.atleast_1d(r_fit["names"])]
    assert ours.converged
    assert_allclose(ours.coef, vector(r_fit["coef"]), **OURS_VS_R_COX)
    assert_allclose(ours.se, vector(r_fit["se"]), **OURS_VS_R_COX)
    assert_allclose(ours.loglik, vector(r_fit["loglik"]), **OURS_VS_R_COX)
    names = list(ours.names)
    assert sorted(theirs.params_.index) == sorted(names)
    assert_allclose(theirs.params_[names].to_numpy(), ours.coef, **COEF_TOL)
    assert_allclose(theirs.standard_errors_[names].to_numpy(), ours.se, **SE_TOL)
    assert_allclose(theirs.log_likelihood_, ours.loglik[1], **LOGLIK_TOL)


@pytest.mark.parametrize("case", ["hand", "lung", "lung-strata_ecog", "bmt_dfs", "bmt_dfs-strata_z10", "cohort_os"])
def test_cox_efron_equals_R_and_lifelines(case):
    if case == "cohort_os":
        cohort_reference()  # the stored R fit was made from the committed cohort file
    time, event, x, strata, r_fit = _cox_cases()[case]
    ours = cox_model(time, event, x, strata=strata, ties="efron")
    frame = x.assign(time=time, event=event)
    if strata is not None:
        frame["stratum"] = strata
    theirs = CoxPHFitter(penalizer=0.0).fit(frame, "time", "event", strata=None if strata is None else ["stratum"],
                                           fit_options=LIFELINES_TO_THE_OPTIMUM)
    assert_cox_three_ways(ours, r_fit, theirs)


# ---------------------------------------------------------------- time-varying Cox


def _timedep_cases():
    """Per case: our (start, stop] rows, the covariate names, the strata column or None, R's fit.

    The hand-made rows are checked against R's tmerge here (bmt's and the cohort's are in
    tests/test_cox.py and test_timedep.py): with other rows the fits would compare other data."""
    hand = lifelines_reference()["timedep_hand"]
    d = hand["data"]
    hand_rows = split_at_event(arr(d["time"]), arr(d["status"]), arr(d["change"]), fixed={"x": arr(d["x"])},
                               names="state")
    r_split = hand["split"]
    assert_array_equal(hand_rows.patient + 1, arr(r_split["id"]))
    for ours_column, r_column in (("start", "tstart"), ("stop", "tstop"), ("event", "event")):
        assert_array_equal(getattr(hand_rows, ours_column), arr(r_split[r_column]))
    for name in ("state", "x"):
        assert_array_equal(hand_rows.covariates[name], arr(r_split[name]))
    bmt_rows = bmt_split()
    ref = cox_reference()
    cases = {
        "hand": (hand_rows, ["state", "x"], None, hand),
        "bmt": (bmt_rows, ["grp[2]", "grp[3]", "z1", "z10", "agvhd", "cgvhd", "platelet"], None,
                ref["bmt"]["timedep"]["efron"]),
        "bmt-strata_z10": (bmt_rows, ["grp[2]", "grp[3]", "agvhd", "platelet"], "z10",
                           ref["bmt"]["timedep_strata_z10"]["efron"]),
    }
    time, event, change, x = cohort_inputs()
    cases["cohort_os"] = (split_at_event(time, event, change, fixed=x), list(x.columns) + list(change), None,
                          ref["cohort"]["os_timedep"]["efron"])
    return cases


@pytest.mark.parametrize("case", ["hand", "bmt", "bmt-strata_z10", "cohort_os"])
def test_time_varying_cox_equals_R_and_lifelines(case):
    if case == "cohort_os":
        cohort_reference()
    rows, names, strata_column, r_fit = _timedep_cases()[case]
    strata = None if strata_column is None else rows.covariates[strata_column]
    ours = cox_model(rows.stop, rows.event, rows.matrix(names), start=rows.start, names=names, strata=strata,
                     ties="efron")
    assert ours.counting_process
    frame = pd.DataFrame(rows.matrix(names), columns=names).assign(
        id=rows.patient, start=rows.start, stop=rows.stop, event=rows.event)
    if strata is not None:
        frame["stratum"] = strata
    # CoxTimeVaryingFitter (Efron ties) reports the SEs and log-likelihood of the iterate before its
    # last step: iterated to the optimum, that iterate is the optimum too.
    theirs = CoxTimeVaryingFitter(penalizer=0.0).fit(
        frame, id_col="id", start_col="start", stop_col="stop", event_col="event",
        strata=None if strata is None else ["stratum"], fit_options=LIFELINES_TO_THE_OPTIMUM)
    assert_cox_three_ways(ours, r_fit, theirs)


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript not on PATH")
def test_lifelines_reference_is_current(tmp_path):
    assert_stored_json_is_current(tmp_path, "lifelines")
