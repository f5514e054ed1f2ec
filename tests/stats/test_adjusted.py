"""Tests of the adjusted (standardised) probabilities: against riskRegression::ate, by hand, identities.

Reference values come from tests/reference/adjusted_reference.R (riskRegression 2022.11.28),
committed as tests/reference/adjusted_reference.json with the input data in
tests/reference/adjusted/; regenerate with ``Rscript tests/reference/adjusted_reference.R``.
"""
from __future__ import annotations

import contextlib
import io
import json
import math
import shutil
import tracemalloc
from fractions import Fraction as F
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from analysis.analyses.adjusted import adjusted_endpoint, adjusted_factors, adjustment_set
from analysis.cli.main import main
from analysis.data.cohort import load_cohort
from analysis.stats.aalen_johansen import cumulative_incidence
from analysis.stats.cox import cox_model
from analysis.stats.adjusted import AdjustedResult, adjusted_incidence, adjusted_survival, adjustment_design
from r_reference import arr, assert_reference_is_current, read_reference_csv

ROOT = Path(__file__).resolve().parents[2]
REF_DIR = ROOT / "tests" / "reference"
COHORT = ROOT / "data" / "synthetic" / "ankl_cohort.csv"

# ate: estimates within 1e-6 and standard errors within 1e-5 (relative) are the bar; the
# implementation reproduces ate's arithmetic, so the comparison holds far tighter.
R_TOL = dict(rtol=1e-9, atol=1e-12)
SAME = dict(rtol=1e-12, atol=1e-14)


@lru_cache(maxsize=1)
def reference() -> dict:
    return json.loads((REF_DIR / "adjusted_reference.json").read_text(encoding="utf-8"))


def case_names(prefix: str = "") -> list[str]:
    return [name for name in reference()["cases"] if name.startswith(prefix) and not name.startswith("ankl_")]


def covariates_of(d: pd.DataFrame, case: dict) -> pd.DataFrame:
    """The case's covariates as R codes them: numeric columns, then dummies against the first level."""
    columns = {name: d[name].astype(float) for name in case["numeric"]}
    for name, levels in (case["categorical"] or {}).items():
        for level in levels[1:]:
            columns[f"{name}[{level}]"] = (d[name].astype(str) == level).astype(float)
    return pd.DataFrame(columns)


def run_case(name: str, whole_curve: bool | None = None) -> tuple[AdjustedResult, dict]:
    case = reference()["cases"][name]
    d = read_reference_csv(REF_DIR / case["data"])
    if case.get("subset") == "time <= 6":
        d = d[d["time"] <= 6].reset_index(drop=True)
    use_curve = case.get("whole_curve", False) if whole_curve is None else whole_curve
    times = None if use_curve else arr(case["times"])
    common = dict(times=times, ties=case["ties"], levels=case["levels"], group_name=case["group"])
    x = covariates_of(d, case)
    if case["kind"] == "survival":
        result = adjusted_survival(d[case["time"]], d[case["status"]], d[case["group"]], x, **common)
    else:
        result = adjusted_incidence(d[case["time"]], d[case["status"]], d[case["group"]], x, cause=case["cause"],
                                    **common)
    return result, case


def assert_matches_ate(result: AdjustedResult, case: dict, tol=R_TOL) -> None:
    assert_allclose(result.time, arr(case["times"]), rtol=0, atol=0)
    assert list(result.levels) == case["levels"]
    for curve in result.curves:
        ref = case["curves"][curve.level]
        for field in ("estimate", "se", "lower", "upper"):
            assert_allclose(getattr(curve, field), arr(ref[field]), **tol, err_msg=f"{curve.level} {field}")
    for ours, refs in ((result.differences, case["differences"]), (result.ratios, case["ratios"])):
        assert [(c.level, c.reference) for c in ours] == [(r["level"], r["reference"]) for r in refs]
        for contrast, ref in zip(ours, refs):
            for field in ("estimate", "se", "lower", "upper", "p"):
                assert_allclose(getattr(contrast, field), arr(ref[field]), **tol,
                                err_msg=f"{contrast.measure} {contrast.level} vs {contrast.reference} {field}")


# ------------------------------------------------------------------ against R


@pytest.mark.parametrize("name", case_names())
def test_standardised_curves_against_R(name):
    # R: ate(coxph(Surv(time, event) ~ grp + covariates, ties = ...), treatment = "grp", times = ...) or
    #    ate(CSC(Hist(time, status) ~ grp + covariates, ties = ...), treatment = "grp", cause = ...)
    result, case = run_case(name)
    assert_matches_ate(result, case)
    fitted = [m.coef for m in result.models]
    expected = [arr(case["coef"]["event"])] + ([arr(case["coef"]["competing"])] if "competing" in case["coef"] else [])
    for ours, theirs in zip(fitted, expected, strict=True):
        assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


def test_the_default_times_are_the_whole_curve_as_R_was_given_it():
    for name in ("sim_os_efron", "sim_cif1_efron"):
        assert reference()["cases"][name]["whole_curve"]
        result, case = run_case(name, whole_curve=True)
        assert result.time[0] == 0 and result.time.size == len(case["times"]) > 100
        assert_matches_ate(result, case)


def test_beyond_follow_up_is_undefined_as_in_R():
    result, case = run_case("hand_os_efron")
    assert case["curves"]["a"]["estimate"][-1] is None  # R: NA at 9 months, after the last follow-up (7)
    for curve in result.curves:
        assert np.isnan(curve.estimate[-1]) and np.isnan(curve.se[-1])
        assert curve.estimate[0] == 1.0 and curve.se[0] == 0.0  # before the first event
    d = read_reference_csv(REF_DIR / case["data"])
    early = adjusted_incidence(d["time"], d["status"], d["grp"], times=[0.5])  # no event time to sum over
    assert [c.estimate[0] for c in early.curves] == [0.0, 0.0] and early.differences[0].p[0] == 1.0


@pytest.mark.skipif(not COHORT.exists(), reason="synthetic cohort absent")
@pytest.mark.parametrize("endpoint", ["os", "relapse", "nrm"])
def test_synthetic_cohort_through_the_analysis_against_R(endpoint):
    case = reference()["cases"].get(f"ankl_{endpoint}")
    if case is None:
        pytest.skip("the reference was generated without the synthetic cohort")
    data = load_cohort(COHORT, synthetic=True).data
    adjusted_for = ("status_at_hct", "age") if endpoint == "os" else ("graft_source", "age")
    outcome = adjusted_endpoint(data, endpoint, case["by"], adjusted_for, times=arr(case["times"]))
    assert outcome.exclusions == ()
    assert outcome.terms[0] in ("status_at_hct[PR]", "graft_source[PB]")
    assert_matches_ate(outcome.result, case)


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript is not installed")
def test_reference_file_is_current(tmp_path):
    assert_reference_is_current(tmp_path, "adjusted")


# ------------------------------------------------------------------ by hand

# Four patients, one group, no covariates: events at 1, 2 and 3, a censoring at 2.
# Breslow: Lambda(2) = 1/4 + 1/3 = 7/12 (4 then 3 at risk). Influence of patient i on Lambda(2),
# delta_i 1{T_i <= 2} / Y(T_i) - sum_{t_k <= min(2, T_i)} d_k / Y_k^2:
#   T=1 event: 1/4 - 1/16 = 27/144; T=2 event: 1/3 - (1/16 + 1/9) = 23/144;
#   T=2 censored and T=3: -(1/16 + 1/9) = -25/144 each.
# se(S(2)) = S(2) sqrt(sum of squares) = exp(-7/12) sqrt(2508) / 144.
HAND_TIME = [2.0, 1.0, 3.0, 2.0]
HAND_EVENT = [0, 1, 1, 1]


def test_one_group_without_covariates_by_hand_breslow():
    result = adjusted_survival(HAND_TIME, HAND_EVENT, ["all"] * 4, times=[0.5, 1, 2, 2.5], ties="breslow")
    curve = result.curves[0]
    cumhazard = [F(0), F(1, 4), F(7, 12), F(7, 12)]
    assert_allclose(curve.estimate, [math.exp(-float(c)) for c in cumhazard], **SAME)
    squares = sum(F(v, 144) ** 2 for v in (27, 23, -25, -25))
    assert squares == F(2508, 144**2)
    assert_allclose(curve.se[2], math.exp(-7 / 12) * math.sqrt(float(squares)), **SAME)
    assert_allclose(curve.se[1], math.exp(-1 / 4) * math.sqrt((3 / 16) ** 2 + 3 * (1 / 16) ** 2), **SAME)
    assert result.models == ()


def test_one_group_without_covariates_by_hand_efron():
    # Efron's baseline hazard at 2, where 2 of the 3 at risk die: 1/3 + 1/(3 - 1) = 5/6.
    result = adjusted_survival([1, 2, 2, 3], [1, 1, 1, 1], ["all"] * 4, times=[1, 2, 3], ties="efron")
    assert_allclose(result.curves[0].estimate, np.exp([-1 / 4, -(1 / 4 + 5 / 6), -(1 / 4 + 5 / 6 + 1)]), **SAME)
    breslow = adjusted_survival([1, 2, 2, 3], [1, 1, 1, 1], ["all"] * 4, times=[1, 2, 3], ties="breslow")
    assert_allclose(breslow.curves[0].estimate, np.exp([-1 / 4, -(1 / 4 + 2 / 3), -(1 / 4 + 2 / 3 + 1)]), **SAME)


def test_two_groups_with_identical_data_are_the_pooled_curve():
    # Each group holds the same four patients: the group's coefficient is 0, both adjusted curves are
    # exp(-Nelson-Aalen) of the pooled data (8, then 6 at risk; 2 deaths at each time), no difference.
    result = adjusted_survival(HAND_TIME * 2, HAND_EVENT * 2, ["A"] * 4 + ["B"] * 4, times=[1, 2], ties="breslow")
    assert abs(result.models[0].coef[0]) < 1e-12
    for curve in result.curves:
        assert_allclose(curve.estimate, np.exp([-2 / 8, -(2 / 8 + 2 / 6)]), **SAME)
    difference, ratio = result.difference("B", "A"), result.ratio("B", "A")
    assert_allclose(difference.estimate, 0, atol=1e-14)
    assert_allclose(difference.p, 1.0, atol=1e-12)
    assert_allclose(ratio.estimate, 1.0, **SAME)


# ------------------------------------------------------------------ identities


def simulated(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Whole-day times (months) with ties, causes 1 and 2, three groups, age and sex."""
    rng = np.random.default_rng(seed)
    group = rng.choice(np.array(["CB", "PB", "BM"]), n)
    x = np.column_stack([rng.normal(50, 12, n).round(), rng.integers(0, 2, n)]).astype(float)
    lp = 0.02 * (x[:, 0] - 50) + 0.3 * x[:, 1] + 0.4 * (group == "PB")
    days = np.floor(rng.exponential(400 * np.exp(-lp)))
    censor = rng.integers(30, 1500, n)
    status = np.where(days <= censor, rng.integers(1, 3, n), 0)
    return np.minimum(days, censor) / 30.4375, status, group, x


def test_incidence_of_one_group_without_covariates_is_aalen_johansen():
    # Breslow hazards d_c / Y combined by the product limit are the Aalen-Johansen estimator.
    time, status, _, _ = simulated(300, 1)
    times = [1, 6, 12, 24, 36]
    result = adjusted_incidence(time, status, ["all"] * time.size, times=times, ties="breslow")
    aj = cumulative_incidence(time, status, cause=1)
    assert_allclose(result.curves[0].estimate, [aj.at(t).estimate for t in times], rtol=1e-12)


def test_estimate_is_the_average_of_every_patients_prediction():
    # Brute force: each patient's Efron survival curve exp(-Lambda0(t) exp(x_j(a)'beta)) with the
    # baseline hazard summed event time by event time, averaged over all patients.
    time, status, group, x = simulated(120, 2)
    event = (status > 0).astype(int)
    result = adjusted_survival(time, event, group, x, times=[6, 24], levels=["CB", "PB", "BM"])
    design = np.column_stack([group == "PB", group == "BM", x]).astype(float)
    beta = result.models[0].coef
    risk = np.exp(design @ beta)
    for t, column in ((6, 0), (24, 1)):
        cumhazard = 0.0
        for u in np.unique(time[(event == 1) & (time <= t)]):
            at_risk, dead = risk[time >= u].sum(), risk[(time == u) & (event == 1)]
            cumhazard += sum(1 / (at_risk - j / dead.size * dead.sum()) for j in range(dead.size))
        for a, level in enumerate(["CB", "PB", "BM"]):
            xa = design.copy()
            xa[:, :2] = 0
            if a:
                xa[:, a - 1] = 1
            expected = np.mean(np.exp(-cumhazard * np.exp(xa @ beta)))
            assert_allclose(result.curve(level).estimate[column], expected, rtol=1e-12)


def test_standard_error_equals_the_direct_double_sum_of_influence_functions():
    # The prefix sums against the definition: IF_i = (S_i - S)/n + mean_j dS_j/dmodel . IF_i(model),
    # with IF_i(Lambda0(t)) and IF_i(beta) as riskRegression::iidCox defines them, summed patient by
    # patient and event time by event time (Breslow sums; each distinct event time once in IF(beta)).
    time, status, group, x = simulated(60, 3)
    event = (status > 0).astype(int)
    result = adjusted_survival(time, event, group, x, times=[12], levels=["CB", "PB", "BM"], ties="breslow")
    design = np.column_stack([group == "PB", group == "BM", x]).astype(float)
    fit = cox_model(time, event, design, ties="breslow")
    beta, variance = fit.coef, fit.variance
    r = np.exp(design @ beta)
    ts = np.unique(time[event == 1])
    s0 = np.array([r[time >= u].sum() for u in ts])
    e = np.array([(r[time >= u, None] * design[time >= u]).sum(axis=0) for u in ts]) / s0[:, None]
    d = np.array([((time == u) & (event == 1)).sum() for u in ts])
    hazard = d / s0
    n = time.size
    if_beta = np.zeros((n, design.shape[1]))
    for i in range(n):
        score = np.zeros(design.shape[1])
        if event[i]:
            score += design[i] - e[ts == time[i]][0]
        for k in np.flatnonzero(ts <= time[i]):
            score -= r[i] * (design[i] - e[k]) / s0[k]
        if_beta[i] = variance @ score
    t = 12.0
    past = ts <= t
    cumhazard = hazard[past].sum()
    if_cumhazard = np.zeros(n)
    for i in range(n):
        seen = past & (ts <= time[i])
        if_cumhazard[i] = -if_beta[i] @ (e[past] * hazard[past, None]).sum(axis=0) - r[i] * (hazard[seen] / s0[seen]).sum()
        if event[i] and time[i] <= t:
            if_cumhazard[i] += 1 / s0[ts == time[i]][0]
    for a, level in enumerate(["CB", "PB", "BM"]):
        xa = design.copy()
        xa[:, :2] = 0
        if a:
            xa[:, a - 1] = 1
        ra = np.exp(xa @ beta)
        s = np.exp(-cumhazard * ra)
        influence = np.array([
            (s[i] - s.mean()) / n
            + np.mean([-s[j] * ra[j] * (if_cumhazard[i] + cumhazard * xa[j] @ if_beta[i]) for j in range(n)])
            for i in range(n)
        ])
        assert_allclose(result.curve(level).se[0], np.sqrt((influence**2).sum()), rtol=1e-10)


def test_rows_order_and_covariate_centring_do_not_matter():
    time, status, group, x = simulated(200, 4)
    base = adjusted_incidence(time, status, group, x, times=[6, 24])
    order = np.random.default_rng(0).permutation(time.size)
    shifted = x + np.array([-50.0, 3.0])
    other = adjusted_incidence(time[order], status[order], group[order], shifted[order], times=[6, 24])
    for a, b in zip(base.curves, other.curves):
        assert_allclose(a.estimate, b.estimate, rtol=1e-10)
        assert_allclose(a.se, b.se, rtol=1e-9)


def test_without_tied_event_times_efron_equals_breslow():
    rng = np.random.default_rng(5)
    time = rng.exponential(20, 150)
    status = rng.integers(0, 3, 150)
    group = rng.choice(np.array(["A", "B"]), 150)
    x = rng.normal(size=(150, 1))
    efron = adjusted_incidence(time, status, group, x, times=[5, 15])
    breslow = adjusted_incidence(time, status, group, x, times=[5, 15], ties="breslow")
    for a, b in zip(efron.curves, breslow.curves):
        assert_allclose(a.estimate, b.estimate, rtol=1e-12)
        assert_allclose(a.se, b.se, rtol=1e-10)


def test_blocks_of_times_give_the_same_numbers(monkeypatch):
    # The evaluation times are worked through in blocks that bound memory; the block size changes nothing.
    import analysis.stats.adjusted as adjusted

    time, status, group, x = simulated(150, 6)
    whole = adjusted_incidence(time, status, group, x)
    monkeypatch.setattr(adjusted, "_BLOCK", 300)
    blocked = adjusted_incidence(time, status, group, x)
    for a, b in zip(whole.curves, blocked.curves):
        assert_allclose(a.estimate, b.estimate, rtol=1e-13)
        assert_allclose(a.se, b.se, rtol=1e-12)
    assert_allclose(whole.ratios[0].se, blocked.ratios[0].se, rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize("kind", ["survival", "incidence"])
def test_blocks_of_patients_give_the_same_numbers(monkeypatch, kind):
    # The models' influence functions are found a block of patients at a time, and the influence sums
    # take the patients a block at a time, sorted within it by the time their follow-up ends and by
    # covariate row (16-bit keys sorted by radix when they fit): blocks of a few patients, which split
    # every threshold's and every row's patients among blocks, and the general sort change nothing
    # but the rounding of the sums.
    import analysis.stats.adjusted as adjusted

    time, status, group, x = simulated(400, 7)

    def standardise():
        monkeypatch.setattr(adjusted, "_MODELS", adjusted.Recent(adjusted._MODELS.size))  # (models found again)
        if kind == "survival":
            return adjusted_survival(time, (status > 0).astype(int), group, x)
        return adjusted_incidence(time, status, group, x)

    whole = standardise()
    monkeypatch.setattr(adjusted, "_FEATURE_ROWS", 37)
    monkeypatch.setattr(adjusted, "_CENTRED_ROWS", 23)
    monkeypatch.setattr(adjusted, "_RADIX_KEYS", 0)
    blocked = standardise()
    assert whole.time.size > 100  # (many thresholds: each block holds a few patients of each)
    for a, b in zip(whole.curves + whole.differences + whole.ratios, blocked.curves + blocked.differences + blocked.ratios):
        assert_allclose(a.estimate, b.estimate, rtol=0, atol=0)
        assert_allclose(a.se, b.se, rtol=1e-12, equal_nan=True)


def test_covariate_rows_are_those_of_numpy_unique():
    # The standardisation runs over the distinct covariate rows, found by hashing each column; their
    # order (and so the order of the sums over them) is np.unique(axis=0)'s.
    from analysis.stats.adjusted import _patterns

    rng = np.random.default_rng(11)
    for x in (np.column_stack([rng.integers(16, 80, 5000), rng.integers(0, 2, 5000), rng.integers(0, 2, 5000)]),
              rng.normal(size=(3000, 2)).round(1), np.array([[1.0, -2.0], [1.0, -2.0], [-0.5, 3.0]])):
        x = x.astype(float)
        rows, inverse, counts = _patterns(x)
        expected_rows, expected_inverse, expected_counts = np.unique(x, axis=0, return_inverse=True,
                                                                     return_counts=True)
        assert np.array_equal(rows, expected_rows) and np.array_equal(counts, expected_counts)
        assert np.array_equal(inverse, expected_inverse.ravel())
    rows, inverse, counts = _patterns(np.empty((4, 0)))
    assert rows.shape == (1, 0) and inverse.tolist() == [0, 0, 0, 0] and counts.tolist() == [4]


def test_relapse_and_nrm_share_their_two_models(monkeypatch):
    # Relapse and NRM are standardised with the same cause-specific models (the event of one is the
    # competing event of the other): the second reuses the first's, with the numbers it would have had.
    import analysis.stats.adjusted as adjusted

    time, status, group, x = simulated(300, 12)
    times = [6, 12, 24]
    monkeypatch.setattr(adjusted, "_MODELS", adjusted.Recent(adjusted._MODELS.size))
    alone = adjusted_incidence(time, status, group, x, times=times, cause=2)
    first = adjusted_incidence(time, status, group, x, times=times, cause=1)
    second = adjusted_incidence(time, status, group, x, times=times, cause=2)
    assert second.models[0] is first.models[1] and second.models[1] is first.models[0]
    for a, b in zip(alone.curves + alone.differences + alone.ratios, second.curves + second.differences + second.ratios):
        for field in ("estimate", "se", "lower", "upper"):
            assert np.array_equal(getattr(a, field), getattr(b, field), equal_nan=True)
    other = adjusted_incidence(time, status, group, x + 1.0, times=times, cause=2)  # other data: its own models
    assert other.models[0] is not second.models[0]


def _same_numbers(a: AdjustedResult, b: AdjustedResult) -> bool:
    return all(np.array_equal(getattr(x, field), getattr(y, field), equal_nan=True)
               for x, y in zip(a.curves + a.differences + a.ratios, b.curves + b.differences + b.ratios)
               for field in ("estimate", "se", "lower", "upper"))


def test_a_shared_design_gives_the_numbers_of_labels_and_covariates(monkeypatch):
    # OS, relapse and NRM on one design (levels, columns, their checks and distinct rows found once):
    # each result is the one of its own labels and covariates, bit for bit; NRM, standardised with
    # relapse's two models in the other order, takes relapse's arrangement of the patients.
    import analysis.stats.adjusted as adjusted

    time, status, group, x = simulated(400, 21)
    times = [3, 6, 12, 24]
    monkeypatch.setattr(adjusted, "_MODELS", adjusted.Recent(adjusted._MODELS.size))
    alone = {cause: adjusted_incidence(time, status, group, x, times=times, cause=cause) for cause in (1, 2)}
    survival = adjusted_survival(time, (status > 0).astype(int), group, x, times=times)
    monkeypatch.setattr(adjusted, "_MODELS", adjusted.Recent(adjusted._MODELS.size))
    design = adjustment_design(group, x)
    assert _same_numbers(adjusted_survival(time, (status > 0).astype(int), design, times=times), survival)
    relapse = adjusted_incidence(time, status, design, times=times, cause=1)
    assert "influence sums" in design.found  # kept for the other cause ...
    nrm = adjusted_incidence(time, status, design, times=times, cause=2)
    assert "influence sums" not in design.found  # ... which took it
    assert nrm.models[0] is relapse.models[1]
    assert _same_numbers(relapse, alone[1]) and _same_numbers(nrm, alone[2])


def test_columns_clearly_independent_or_looked_at_closer():
    # The cross-products say "independent" only far from collinear; constant, collinear and nearly
    # collinear columns are left to the closer checks of the n x q matrix.
    from analysis.stats.checks import clearly_independent

    rng = np.random.default_rng(5)
    a, b = rng.normal(50, 10, 1000), rng.integers(0, 2, 1000).astype(float)
    assert clearly_independent(np.column_stack([a, b]))
    assert not clearly_independent(np.column_stack([a, 2 * a + 1]))
    assert not clearly_independent(np.column_stack([a, np.full(1000, 3.0)]))
    assert not clearly_independent(np.column_stack([a, a + 1e-5 * rng.normal(size=1000)]))
    assert not clearly_independent(np.empty((1000, 0)))
    assert not clearly_independent(np.column_stack([a * 1e200, b]))  # (cross-products overflow)


def test_a_design_brings_its_own_covariates_and_patients():
    time, status, group, x = simulated(50, 22)
    design = adjustment_design(group, x)
    with pytest.raises(ValueError, match="covariates belong to the design"):
        adjusted_incidence(time, status, design, x)
    with pytest.raises(ValueError, match="the design has 50 patients but time has 49"):
        adjusted_survival(time[:-1], (status[:-1] > 0).astype(int), design)


def test_memory_grows_with_n_not_n_squared():
    # 10,000 patients with unique covariate values over 60 times: an n x n array would need 800 MB,
    # an n x times x n one 48 GB.
    rng = np.random.default_rng(7)
    n = 10_000
    time, status, group, _ = simulated(n, 7)
    x = rng.normal(size=(n, 2))
    tracemalloc.start()
    try:
        adjusted_incidence(time, status, group, x, times=np.linspace(0, 48, 60))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 200 * 2**20


# ------------------------------------------------------------------ bad input


def bad(**changes):
    time, status, group, x = simulated(200, 8)
    arguments = dict(time=time, status=status, group=group, covariates=x)
    arguments.update(changes)
    return arguments


def call_incidence(arguments, **options):
    return adjusted_incidence(arguments["time"], arguments["status"], arguments["group"], arguments["covariates"],
                              times=[12], **options)


def test_a_level_without_patients_is_one_clear_message():
    with pytest.raises(ValueError, match=r"grouping level\(s\) XX have no patients"):
        call_incidence(bad(), levels=["CB", "PB", "BM", "XX"])


def test_collinear_covariates_are_named():
    time, status, group, x = simulated(200, 8)
    collinear = np.column_stack([x, 2 * x[:, 0] + 1])
    with pytest.raises(ValueError, match=r"covariate column x3 is collinear with .*x1"):
        call_incidence(bad(covariates=collinear))
    with_group = np.column_stack([x, (group == "PB").astype(float)])
    with pytest.raises(ValueError, match=r"x3 is collinear with group\[PB\].*\(the grouping\)"):
        call_incidence(bad(covariates=with_group), levels=["CB", "PB", "BM"])
    with pytest.raises(ValueError, match=r"take a single value among the patients analysed"):
        call_incidence(bad(covariates=np.column_stack([x, np.ones(200)])))


def test_collinearity_is_decided_by_the_singular_values_near_the_tolerance():
    # Far from collinear, the cross-products' eigenvalues decide; near the tolerance the singular values
    # themselves do, as np.linalg.matrix_rank: nearly collinear columns are still independent.
    from analysis.stats.adjusted import _check_design

    rng = np.random.default_rng(3)
    first = rng.normal(size=20_000)
    nearly = first + 1e-6 * rng.normal(size=20_000)  # smallest singular value ~7e-7 > tolerance 1.4e-7
    _check_design(np.column_stack([first, nearly]), ("x1", "x2"), "group")
    with pytest.raises(ValueError, match="x2 is collinear with x1"):
        _check_design(np.column_stack([first, first + 1e-8 * rng.normal(size=20_000)]), ("x1", "x2"), "group")


def test_a_covariate_constant_within_a_level_is_one_clear_message():
    time, status, group, x = simulated(200, 8)
    x = x.copy()
    x[group == "BM", 1] = 1.0  # every BM patient has sex 1
    with pytest.raises(ValueError, match=r"covariate x2 takes a single value among the patients of level BM"):
        call_incidence(bad(covariates=x))


def test_too_few_events_are_one_clear_message():
    time, status, group, x = simulated(200, 8)
    no_competing_in_bm = np.where((group == "BM") & (status == 2), 0, status)
    with pytest.raises(ValueError, match=r"too few events: no competing events among the patients of level\(s\) BM"):
        call_incidence(bad(status=no_competing_in_bm))
    few = np.zeros(200, dtype=int)
    few[[np.flatnonzero(group == g)[0] for g in ("BM", "CB", "PB")]] = 1
    with pytest.raises(ValueError, match=r"too few events: 3 events for a model with 4 coefficients"):
        adjusted_survival(time, few, group, x, times=[12])


def test_other_bad_input_is_one_clear_message():
    time, status, group, x = simulated(200, 8)
    with pytest.raises(ValueError, match="ties must be 'efron' or 'breslow'"):
        adjusted_survival(time, status > 0, group, x, ties="exact")
    with pytest.raises(ValueError, match="group has 1 missing value"):
        adjusted_survival(time, status > 0, np.where(np.arange(200) == 3, None, group), x)
    with pytest.raises(ValueError, match="covariates have missing or infinite values in 1 row"):
        adjusted_survival(time, status > 0, group, np.where(np.arange(200)[:, None] == 5, np.nan, x))
    with pytest.raises(ValueError, match="times must be finite numbers >= 0"):
        adjusted_survival(time, status > 0, group, x, times=[-1])
    with pytest.raises(ValueError, match="several competing codes"):
        adjusted_incidence(time, np.where(np.arange(200) < 5, 3, status), group, x)


# ------------------------------------------------------------------ the analysis and the command line


@pytest.fixture(scope="module")
def cohort():
    return load_cohort(COHORT, synthetic=True)


def test_adjustment_set_leaves_out_what_restates_the_grouping():
    covariates = ("status_at_hct", "graft_source", "age")
    assert adjustment_set("status_crpr_vs_nr", covariates) == ("graft_source", "age")
    assert adjustment_set("graft_cb_vs_other", covariates) == ("status_at_hct", "age")
    assert adjustment_set("age_group", covariates) == ("status_at_hct", "graft_source")
    assert adjustment_set("conditioning", covariates) == covariates


def test_factors_chapter_outcomes(cohort):
    groupings = adjusted_factors(cohort.data, ("graft_source", "age_group"), ("status_at_hct", "graft_source", "age"),
                                 (12, 60))
    graft, age = groupings
    assert graft.adjusted_for == ("status_at_hct", "age") and graft.horizons == (12, 60)
    os_ = graft.outcome("os")
    assert os_.estimated and os_.result.levels == ("CB", "PB", "BM")
    assert {12.0, 60.0} <= set(os_.result.time) and os_.result.time.size > 40  # the whole curve and the horizons
    nrm = age.outcome("nrm")
    assert not nrm.estimated and "no events among the patients of level(s) ≥50" in nrm.reason


def test_groupings_side_by_side_are_the_groupings_one_at_a_time(monkeypatch):
    """`adjusted_factors` standardises groupings in threads, one per core (at most
    `GROUPINGS_SIDE_BY_SIDE`): every number is the one computed grouping by grouping, to the last bit."""
    import os
    import pickle

    from analysis.stats import adjusted

    def computed(cores):
        monkeypatch.setattr(os, "cpu_count", lambda: cores)
        monkeypatch.setattr(adjusted, "_MODELS", adjusted.Recent(adjusted._MODELS.size))  # (nothing kept)
        data = load_cohort(COHORT, synthetic=True).data  # (a fresh frame: nothing kept with the other run's)
        groupings = adjusted_factors(data, ("graft_source", "age_group", "graft_cb_vs_other"),
                                     ("status_at_hct", "graft_source", "age"), (12, 60))
        assert [g.by for g in groupings] == ["graft_source", "age_group", "graft_cb_vs_other"]
        return pickle.dumps([[(o.reason, o.exclusions, o.result and {k: v for k, v in vars(o.result).items()
                                                                      if k != "models"}) for o in g.outcomes]
                             for g in groupings])

    assert computed(2) == computed(1)


def test_grouping_reference_and_exclusions(cohort):
    data = cohort.data.copy()
    data.loc[data.index[:3], "age"] = np.nan
    outcome = adjusted_endpoint(data, "os", "graft_source", ("age",), times=[12], reference={"graft_source": "PB"})
    assert outcome.result.levels == ("PB", "CB", "BM")
    assert outcome.exclusions == (("covariate missing", 3),)
    assert outcome.result.n == cohort.n - 3
    with pytest.raises(ValueError, match="cannot also be a covariate"):
        adjusted_endpoint(data, "os", "graft_source", ("graft_source",))


def run_cli(*argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_command_prints_the_json_document(cohort):
    code, out, _ = run_cli("adjusted", str(COHORT), "--endpoint", "nrm", "--by", "graft_cb_vs_other",
                           "--covariates", "status_at_hct,age", "--times", "12,60", "--ties", "breslow", "--json")
    assert code == 0
    document = json.loads(out)
    outcome = adjusted_endpoint(cohort.data, "nrm", "graft_cb_vs_other", ("status_at_hct", "age"), times=[12, 60],
                                ties="breslow")
    assert document["kind"] == "incidence" and document["ties"] == "breslow" and document["time_unit"] == "months"
    assert document["adjusted_for"] == ["status_at_hct", "age"]
    assert list(document["groups"]) == ["CB", "PB/BM"]
    point = document["groups"]["PB/BM"]["at"]["60"]
    curve = outcome.result.curve("PB/BM")
    assert [point[k] for k in ("estimate", "se", "lower", "upper")] == \
        [curve.estimate[1], curve.se[1], curve.lower[1], curve.upper[1]]
    difference = document["differences"][0]
    assert (difference["level"], difference["reference"]) == ("PB/BM", "CB")
    assert difference["at"]["12"]["p"] == outcome.result.differences[0].p[0]
    assert document["ratios"][0]["at"]["12"]["estimate"] == outcome.result.ratios[0].estimate[0]


def test_command_survival_scale_and_plain_text():
    code, out, _ = run_cli("adjusted", str(COHORT), "--endpoint", "os", "--by", "graft_source",
                           "--covariates", "status_at_hct,age", "--times", "12")
    assert code == 0
    assert out.startswith("Adjusted survival of os by graft_source, adjusted for status_at_hct, age (n = 59")
    assert "PB - CB: 12 mo:" in out


def test_command_bad_input_is_one_line():
    code, out, err = run_cli("adjusted", str(COHORT), "--endpoint", "nrm", "--by", "age_group",
                             "--covariates", "graft_source", "--json")
    assert code == 2 and out == ""
    assert err.startswith("error: too few events: no events among the patients of level(s) ≥50")
    assert err.count("\n") == 1


def test_curve_times_are_every_event_time_until_the_registry_is_large(cohort, monkeypatch):
    import analysis.analyses.adjusted as analyses

    exact = analyses.curve_times(cohort.data, "relapse", (12, 60))
    assert exact[0] == 0 and {12.0, 60.0} <= set(exact) and exact.size > 40
    last_event = exact[-1] if exact[-1] > 60 else exact[exact != 60].max()
    monkeypatch.setattr(analyses, "CURVE_BUDGET", 59 * 10)  # 10 times for 59 patients
    monkeypatch.setattr(analyses, "MIN_CURVE_POINTS", 5)
    grid = analyses.curve_times(cohort.data, "relapse", (12, 60))
    assert_allclose(np.setdiff1d(grid, [12.0, 60.0]), np.linspace(0, last_event, 10), rtol=1e-15)


# ------------------------------------------------------------------ presentation


def test_adjusted_figure_beside_the_unadjusted_one(cohort):
    from analysis.analyses.estimates import estimate_endpoint
    from analysis.present.figures.adjusted import adjusted_as_endpoint, plot_adjusted

    outcome = adjusted_endpoint(cohort.data, "os", "graft_source", ("status_at_hct", "age"))
    unadjusted = estimate_endpoint(cohort.data, "os", by="graft_source")
    adjusted = adjusted_as_endpoint(outcome, unadjusted)
    for a, u in zip(adjusted.curves, unadjusted.curves):  # the group's own patients at risk, at any time
        assert [a.number_at_risk(t) for t in (0, 0.5, 12, 30, 60, 200)] == \
            [u.number_at_risk(t) for t in (0, 0.5, 12, 30, 60, 200)]
    fig = plot_adjusted(outcome, unadjusted, min_cell=5)
    left, right = fig.axes
    assert right.get_title(loc="left") == "Adjusted for disease status at HCT and age at HCT"
    assert left.get_title(loc="left") == "Unadjusted"
    assert {a.get_gid() for a in left.get_children()} >= {"curve:CB", "censor:CB", "test"}
    gids = {a.get_gid() for a in right.get_children()}
    # three groups: dashed step lines for the 95% limits, not overlapping bands
    assert {"curve:CB", "curve:PB", "curve:BM", "ci-line:upper:BM"} <= gids and "ci:BM" not in gids
    assert "censor:CB" not in gids and "test" not in gids
    line = next(a for a in right.get_children() if a.get_gid() == "curve:CB")
    shown = (outcome.result.time > 0) & (outcome.result.time <= 60)
    expected = 100 * outcome.result.curve("CB").estimate[shown]
    assert_allclose(line.get_ydata()[1:1 + expected.size], expected, rtol=1e-12)


def test_adjusted_sentence_in_the_wording_of_registry_papers(cohort):
    from analysis.present.prose import adjusted_sentence

    outcome = adjusted_endpoint(cohort.data, "os", "status_crpr_vs_nr", ("graft_source", "age"), times=[60])
    cr, nr = outcome.result.curves
    assert adjusted_sentence(outcome, 60) == (
        "Adjusted for graft source and age at HCT, the probabilities of overall survival at 5 years were "
        f"{100 * cr.estimate[0]:.1f}% (95% CI {100 * cr.lower[0]:.1f}-{100 * cr.upper[0]:.1f}) for CR/PR (n = 28) "
        f"and {100 * nr.estimate[0]:.1f}% (95% CI {100 * nr.lower[0]:.1f}-{100 * nr.upper[0]:.1f}) for NR (n = 31).")
    nrm = adjusted_factors(cohort.data, ("age_group",), ("graft_source",), (12,))[0].outcome("nrm")
    assert adjusted_sentence(nrm, 12) == ("Adjusted non-relapse mortality by age at HCT could not be estimated: "
                                         "a group or a covariate category has too few events for the model.")
    small = adjusted_endpoint(cohort.data, "nrm", "graft_source", ("age",), times=[12])
    assert "for BM (n < 20)" in adjusted_sentence(small, 12, min_cell=20)


def test_a_grouping_level_absent_from_the_data_is_one_clear_message(cohort):
    in_remission = cohort.data[cohort.data["status_at_hct"] != "NR"]
    with pytest.raises(ValueError, match=r"grouping level\(s\) NR have no patients"):
        adjusted_endpoint(in_remission, "os", "status_crpr_vs_nr", ("age",), times=[12])
