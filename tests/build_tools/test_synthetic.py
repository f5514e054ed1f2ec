"""The committed synthetic cohort: reproducible, on target, internally consistent.

The survival numbers are computed here with a small, exact-ties Kaplan-Meier,
Aalen-Johansen and log-rank (independent of `analysis.survival` and
`analysis.incidence`), and the KM and log-rank helpers are checked against
lifelines.  Targets are the published figures (SPEC "Published numbers").
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.build import synthetic

ROOT = Path(__file__).resolve().parents[2]
COMMITTED_CSV = ROOT / "data" / "synthetic" / "ankl_cohort.csv"
MONTH_DAYS = 30.4375


# ---------------------------------------------------------------------------
# Exact-ties estimators (small and self-contained)
# ---------------------------------------------------------------------------

def km_at(time, event, t):
    """Kaplan-Meier S(t): deaths at a time are removed before censorings at it."""
    time, event = np.asarray(time, float), np.asarray(event, int)
    survival = 1.0
    for u in np.unique(time[event == 1]):
        if u > t:
            break
        at_risk = np.sum(time >= u)
        deaths = np.sum((time == u) & (event == 1))
        survival *= 1 - deaths / at_risk
    return survival


def aalen_johansen_at(time, status, cause, t):
    """Cumulative incidence of `cause` at t; status 0 = censored, 1, 2 = causes."""
    time, status = np.asarray(time, float), np.asarray(status, int)
    survival, incidence = 1.0, 0.0
    for u in np.unique(time[status > 0]):
        if u > t:
            break
        at_risk = np.sum(time >= u)
        d_cause = np.sum((time == u) & (status == cause))
        d_all = np.sum((time == u) & (status > 0))
        incidence += survival * d_cause / at_risk
        survival *= 1 - d_all / at_risk
    return incidence


def logrank_p(time, event, group):
    """Two-sample log-rank p (survdiff, chi-square with 1 df)."""
    time, event, group = np.asarray(time, float), np.asarray(event, int), np.asarray(group, bool)
    observed_minus_expected, variance = 0.0, 0.0
    for u in np.unique(time[event == 1]):
        at_risk = time >= u
        n, n1 = at_risk.sum(), (at_risk & group).sum()
        dead = (time == u) & (event == 1)
        d, d1 = dead.sum(), (dead & group).sum()
        observed_minus_expected += d1 - d * n1 / n
        if n > 1:
            variance += d * (n1 / n) * (1 - n1 / n) * (n - d) / (n - 1)
    return float(stats.chi2.sf(observed_minus_expected**2 / variance, 1))


# ---------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    """The committed CSV, read as any user would read it."""
    dates = [c for c in synthetic.COLUMNS if c.endswith("_date")]
    return pd.read_csv(COMMITTED_CSV, parse_dates=dates, keep_default_na=False,
                       na_values={c: [""] for c in synthetic.COLUMNS})


def _days(cohort, column):
    return (cohort[column] - cohort["hct_date"]).dt.days


def overall_survival(cohort):
    """Months from HCT to last contact, and 1 = dead."""
    months = _days(cohort, "last_contact_date") / MONTH_DAYS
    dead = (cohort["vital_status"] == "dead").astype(int)
    return months.to_numpy(), dead.to_numpy()


def relapse_or_death(cohort):
    """Months to first of relapse / death; status 1 = relapse, 2 = NRM, 0 = censored."""
    relapsed = cohort["relapse"] == 1
    days = np.where(relapsed, _days(cohort, "relapse_date"), _days(cohort, "last_contact_date"))
    dead = cohort["vital_status"] == "dead"
    status = np.where(relapsed, 1, np.where(dead, 2, 0))
    return days / MONTH_DAYS, status


@pytest.fixture(scope="module")
def os_data(cohort):
    return overall_survival(cohort)


@pytest.fixture(scope="module")
def competing_data(cohort):
    return relapse_or_death(cohort)


# ---------------------------------------------------------------------------
# 1. Reproducibility
# ---------------------------------------------------------------------------

def test_regeneration_is_byte_identical():
    text = synthetic.cohort_csv_text(synthetic.generate_cohort(synthetic.DEFAULT_SEED))
    assert text.encode("utf-8") == COMMITTED_CSV.read_bytes()


def test_write_cohort_writes_the_same_bytes(tmp_path):
    path = synthetic.write_cohort(tmp_path / "sub" / "cohort.csv")
    assert path.read_bytes() == COMMITTED_CSV.read_bytes()
    assert synthetic.main([str(tmp_path / "again.csv")]) == 0
    assert (tmp_path / "again.csv").read_bytes() == COMMITTED_CSV.read_bytes()


def test_csv_format(cohort):
    raw = COMMITTED_CSV.read_bytes()
    assert b"\r" not in raw and not raw.startswith(b"\xef\xbb\xbf")
    header = raw.decode("utf-8").split("\n", 1)[0]
    assert tuple(header.split(",")) == synthetic.COLUMNS
    for column in synthetic.DATE_COLUMNS:
        values = cohort[column].dropna()
        assert (values == values.dt.normalize()).all()
    assert list(cohort.columns) == list(synthetic.COLUMNS)


def test_other_seeds_differ():
    a = synthetic.cohort_csv_text(synthetic.generate_cohort(1))
    b = synthetic.cohort_csv_text(synthetic.generate_cohort(2))
    assert a != b


# ---------------------------------------------------------------------------
# 2. Published targets
# ---------------------------------------------------------------------------

def test_composition(cohort):
    assert len(cohort) == 59
    assert cohort["graft_source"].value_counts().to_dict() == {"CB": 29, "PB": 18, "BM": 12}
    assert cohort["status_at_hct"].value_counts().to_dict() == {"NR": 31, "CR": 21, "PR": 7}


def test_overall_survival(os_data):
    months, dead = os_data
    assert km_at(months, dead, 12) == pytest.approx(0.339, abs=0.02)
    assert km_at(months, dead, 60) == pytest.approx(0.273, abs=0.02)


def test_relapse_and_nrm(competing_data):
    months, status = competing_data
    assert aalen_johansen_at(months, status, 1, 12) == pytest.approx(0.555, abs=0.03)
    assert aalen_johansen_at(months, status, 2, 12) == pytest.approx(0.121, abs=0.03)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_point_targets_hold_for_other_seeds(seed):
    """The course quotas, not the seed, set the 1- and 5-year figures."""
    other = synthetic.generate_cohort(seed)
    months, dead = overall_survival(other)
    first_months, first_event = relapse_or_death(other)
    cb = (other["graft_source"] == "CB").to_numpy()
    assert km_at(months, dead, 12) == pytest.approx(20 / 59)
    assert km_at(months, dead, 60) == pytest.approx(16 / 59)
    assert aalen_johansen_at(first_months, first_event, 1, 12) == pytest.approx(33 / 59)
    assert aalen_johansen_at(first_months, first_event, 2, 12) == pytest.approx(7 / 59)
    assert km_at(months[cb], dead[cb], 60) == pytest.approx(11 / 29)
    assert km_at(months[~cb], dead[~cb], 60) == pytest.approx(5 / 30)


def test_cord_blood_vs_other_grafts(cohort, os_data):
    months, dead = os_data
    cb = (cohort["graft_source"] == "CB").to_numpy()
    assert km_at(months[cb], dead[cb], 60) == pytest.approx(0.373, abs=0.04)
    assert km_at(months[~cb], dead[~cb], 60) == pytest.approx(0.162, abs=0.04)
    assert logrank_p(months, dead, cb) < 0.05


def test_status_at_hct(cohort, os_data):
    months, dead = os_data
    responding = cohort["status_at_hct"].isin(["CR", "PR"]).to_numpy()
    assert logrank_p(months, dead, responding) < 0.05


def test_pif_reaching_cr_after_hct_matches_cr_pr(cohort, os_data):
    months, dead = os_data
    responding = cohort["status_at_hct"].isin(["CR", "PR"]).to_numpy()
    pif_then_cr = ((cohort["status_at_hct"] == "NR") & (cohort["pif"] == 1)
                   & cohort["cr_after_hct_date"].notna()).to_numpy()
    assert km_at(months[responding], dead[responding], 60) == pytest.approx(0.406, abs=0.06)
    assert km_at(months[pif_then_cr], dead[pif_then_cr], 60) == pytest.approx(0.320, abs=0.06)
    both = responding | pif_then_cr
    assert logrank_p(months[both], dead[both], responding[both]) > 0.5


def test_landmark_event_free_at_12_months(cohort, os_data, competing_data):
    months, dead = os_data
    first_event_months, _ = competing_data
    # Alive and relapse-free at 12 months (no relapse or death by then), and
    # followed beyond the landmark.
    event_free = (first_event_months > 12) & (months > 12)
    from_landmark = months[event_free] - 12
    assert km_at(from_landmark, dead[event_free], 48) == pytest.approx(0.852, abs=0.06)
    assert km_at(from_landmark, dead[event_free], 60) == pytest.approx(0.852, abs=0.06)


# ---------------------------------------------------------------------------
# 3. Realism and internal consistency
# ---------------------------------------------------------------------------

def test_codes_and_types(cohort):
    assert cohort["patient_id"].is_unique
    assert set(cohort["sex"]) <= {"M", "F"}
    assert set(cohort["donor_type"]) <= {"related", "unrelated"}
    assert set(cohort["conditioning"]) <= {"MAC", "RIC"}
    assert set(cohort["vital_status"]) <= {"alive", "dead"}
    assert set(cohort["cgvhd"]) <= {"none", "limited", "extensive"}
    assert set(cohort["cause_of_death"].dropna()) <= {
        "relapse", "gvhd", "infection", "organ_failure", "graft_failure", "other", "unknown"}
    assert set(cohort["ps"].dropna().astype(int)) <= {0, 1, 2, 3, 4}
    assert set(cohort["agvhd_grade"]) <= {0, 1, 2, 3, 4}
    for flag in ("pif", "relapse", "neutrophil_engraftment", "platelet_engraftment"):
        assert set(cohort[flag]) <= {0, 1}
    assert (cohort["disease"] == "ANKL").all()
    assert (cohort["hct_year"] == cohort["hct_date"].dt.year).all()


def test_no_date_before_hct_or_after_last_contact(cohort):
    for column in synthetic.DATE_COLUMNS:
        if column == "hct_date":
            continue
        values = cohort[column]
        present = values.notna()
        assert (values[present] >= cohort.loc[present, "hct_date"]).all(), column
        assert (values[present] <= cohort.loc[present, "last_contact_date"]).all(), column


def test_death_records(cohort):
    dead = cohort["vital_status"] == "dead"
    assert cohort.loc[dead, "cause_of_death"].notna().all()
    assert cohort.loc[~dead, "cause_of_death"].isna().all()
    relapsed_deaths = cohort[dead & (cohort["relapse"] == 1)]
    assert (relapsed_deaths["cause_of_death"] == "relapse").mean() > 0.8
    nrm = cohort[dead & (cohort["relapse"] == 0)]
    assert not (nrm["cause_of_death"] == "relapse").any()
    graft_failure = cohort["cause_of_death"] == "graft_failure"
    assert (cohort.loc[graft_failure, "neutrophil_engraftment"] == 0).all()


def test_event_flags_match_dates(cohort):
    assert ((cohort["relapse"] == 1) == cohort["relapse_date"].notna()).all()
    assert ((cohort["neutrophil_engraftment"] == 1)
            == cohort["neutrophil_engraftment_date"].notna()).all()
    assert ((cohort["platelet_engraftment"] == 1)
            == cohort["platelet_engraftment_date"].notna()).all()
    assert (cohort.loc[cohort["platelet_engraftment"] == 1, "neutrophil_engraftment"] == 1).all()
    assert ((cohort["agvhd_grade"] >= 2) == cohort["agvhd_date"].notna()).all()
    assert ((cohort["cgvhd"] != "none") == cohort["cgvhd_date"].notna()).all()


def test_status_fields(cohort):
    assert (cohort.loc[cohort["status_at_hct"] != "NR", "pif"] == 0).all()
    assert cohort.loc[cohort["status_at_hct"] == "CR", "cr_after_hct_date"].isna().all()
    cr_after = cohort["cr_after_hct_date"]
    relapsed = cohort["relapse_date"].notna() & cr_after.notna()
    assert (cr_after[relapsed] < cohort.loc[relapsed, "relapse_date"]).all()
    assert ((cohort["pif"] == 1) & cr_after.notna()).sum() >= 5


def test_graft_and_donor(cohort):
    assert (cohort.loc[cohort["graft_source"] == "CB", "donor_type"] == "unrelated").all()
    assert cohort["donor_type"].nunique() == 2 and cohort["conditioning"].nunique() == 2


def test_realistic_population(cohort):
    assert 2001 <= cohort["hct_year"].min() <= 2003 and 2015 <= cohort["hct_year"].max() <= 2016
    assert 38 <= cohort["age"].median() <= 50
    assert cohort["age"].min() >= 15 and cohort["age"].max() <= 72
    assert 0.35 <= (cohort["sex"] == "M").mean() <= 0.65
    assert 1 <= cohort["ps"].isna().sum() <= 6
    alive = cohort["vital_status"] == "alive"
    follow_up_years = (_days(cohort, "last_contact_date")[alive] / 365.25)
    assert follow_up_years.min() > 2 and 4 <= follow_up_years.median() <= 15
    assert cohort["last_contact_date"].max() <= pd.Timestamp(synthetic.DATA_CUTOFF)


def test_engraftment_and_gvhd_timing(cohort):
    neutrophil_day = _days(cohort, "neutrophil_engraftment_date")
    cb = cohort["graft_source"] == "CB"
    assert cohort["neutrophil_engraftment"].mean() > 0.8
    assert 19 <= neutrophil_day[cb].median() <= 30
    assert 12 <= neutrophil_day[~cb].median() <= 20
    assert neutrophil_day.dropna().between(9, 60).all()
    engrafted = cohort["neutrophil_engraftment"] == 1
    assert cohort.loc[engrafted, "platelet_engraftment"].mean() > 0.7
    agvhd_day = _days(cohort, "agvhd_date").dropna()
    assert agvhd_day.between(10, 100).all()
    assert 0.2 <= (cohort["agvhd_grade"] >= 2).mean() <= 0.45
    assert (_days(cohort, "cgvhd_date").dropna() > 100).all()
    day100_survivors = _days(cohort, "last_contact_date") > 100
    assert (cohort.loc[~day100_survivors, "cgvhd"] == "none").all()
    assert (cohort.loc[day100_survivors, "cgvhd"] != "none").any()


# ---------------------------------------------------------------------------
# The helpers agree with lifelines (KM and log-rank; lifelines' AJ jitters ties)
# ---------------------------------------------------------------------------

def test_helpers_agree_with_lifelines(cohort, os_data):
    from lifelines import KaplanMeierFitter
    from lifelines.statistics import logrank_test

    months, dead = os_data
    fitter = KaplanMeierFitter().fit(months, dead)
    for t in (1, 6, 12, 24, 60, 100):
        assert km_at(months, dead, t) == pytest.approx(
            float(fitter.survival_function_at_times(t).iloc[0]), abs=1e-12)
    cb = (cohort["graft_source"] == "CB").to_numpy()
    reference = logrank_test(months[cb], months[~cb], dead[cb], dead[~cb]).p_value
    assert logrank_p(months, dead, cb) == pytest.approx(reference, rel=1e-9)
    # One cause only: Aalen-Johansen equals 1 - KM.
    assert aalen_johansen_at(months, dead, 1, 60) == pytest.approx(1 - km_at(months, dead, 60))
