"""A seeded synthetic cohort that behaves like the ANKL allo-HCT registry study.

The reference study (Fujimoto et al., Bone Marrow Transplant 2021;56:347-356)
analysed 59 Japanese registry patients with aggressive NK-cell leukaemia after
a first allogeneic HCT.  Its data are confidential, so the project commits this
synthetic cohort instead.  No row describes a real patient.

How the cohort is made (the generative story)
---------------------------------------------
1. *Who was transplanted.*  The published graft source x disease status table
   is fixed (`BASELINE_COUNTS`).  Each patient draws a transplant date, age,
   sex, performance status, donor and conditioning from distributions that
   depend on the graft source, disease status and age, as they do in practice.
2. *What happened to them.*  Within every graft-group x status stratum a fixed
   number of patients follows each clinical course (`COURSE_QUOTAS`: progression
   and death, relapse and death, death without relapse, long-term remission, ...).
   The seed decides which patient follows which course.  With only 59
   patients a free simulation would miss the published 1- and 5-year figures
   by several points for most seeds; fixing the course counts per stratum
   reproduces them for any seed, while everything that makes a record
   realistic (timings, engraftment, GVHD, causes of death) stays random.
3. *The clinical detail.*  Each course draws its event days (remission after
   HCT, relapse, death) from plausible ranges, then engraftment and GVHD are
   drawn and censored by death, and the cause of death follows from the course.

Only ``numpy.random.default_rng(seed)`` is used, and patients are processed in a
fixed order, so a seed always gives the same cohort and `write_cohort` the same
bytes.

Public API
----------
``generate_cohort(seed=DEFAULT_SEED) -> pandas.DataFrame``
``cohort_csv_text(cohort) -> str``
``write_cohort(path, seed=DEFAULT_SEED) -> pathlib.Path``
``main(argv=None) -> int``  (``python -m analysis.build data [PATH] [--seed N]``)
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

DEFAULT_SEED = 449
DEFAULT_PATH = Path("data/synthetic/ankl_cohort.csv")

#: Column order of the SPEC data format.
COLUMNS = (
    "patient_id",
    "hct_date",
    "age",
    "sex",
    "status_at_hct",
    "pif",
    "cr_after_hct_date",
    "graft_source",
    "donor_type",
    "conditioning",
    "ps",
    "hct_year",
    "disease",
    "vital_status",
    "last_contact_date",
    "cause_of_death",
    "relapse",
    "relapse_date",
    "neutrophil_engraftment",
    "neutrophil_engraftment_date",
    "platelet_engraftment",
    "platelet_engraftment_date",
    "agvhd_grade",
    "agvhd_date",
    "cgvhd",
    "cgvhd_date",
)
DATE_COLUMNS = tuple(name for name in COLUMNS if name.endswith("_date"))
INTEGER_COLUMNS = (
    "age", "pif", "ps", "hct_year", "relapse",
    "neutrophil_engraftment", "platelet_engraftment", "agvhd_grade",
)

# Transplants in the registry window, and the data cutoff of the extract.
FIRST_HCT = dt.date(2001, 1, 1)
LAST_HCT = dt.date(2016, 9, 30)
DATA_CUTOFF = dt.date(2019, 3, 31)
# Survivors' last contact is their latest yearly registry report, up to this
# many days before the cutoff.
MAX_REPORT_LAG_DAYS = 180
# "First-year" deaths happen by this day, inside 12 months (365.25 days) ...
LAST_FIRST_YEAR_DAY = 355
# ... and second-year deaths by this one, before the shortest possible follow-up
# of a survivor (checked below), so no survivor is censored before them and the
# 5-year estimates depend only on the course counts.
LAST_SECOND_YEAR_DAY = 710
SHORTEST_SURVIVOR_FOLLOW_UP_DAYS = (
    DATA_CUTOFF - dt.timedelta(days=MAX_REPORT_LAG_DAYS) - LAST_HCT).days
if LAST_SECOND_YEAR_DAY >= SHORTEST_SURVIVOR_FOLLOW_UP_DAYS:
    raise AssertionError("second-year deaths must precede the shortest survivor follow-up")

# Disease status at HCT, split further for the generator: NR patients are either
# primary induction failures (never responded) or refractory relapses.
CR, PR, NR_PIF, NR_REFRACTORY = "CR", "PR", "NR_PIF", "NR_REF"

#: Patients per graft source and status at HCT.  Margins are the published
#: ones: CB 29, PB 18, BM 12; CR 21, PR 7, NR 31 (20 primary induction failure).
BASELINE_COUNTS = {
    ("CB", CR): 10, ("CB", PR): 4, ("CB", NR_PIF): 10, ("CB", NR_REFRACTORY): 5,
    ("PB", CR): 7, ("PB", PR): 2, ("PB", NR_PIF): 6, ("PB", NR_REFRACTORY): 3,
    ("BM", CR): 4, ("BM", PR): 1, ("BM", NR_PIF): 4, ("BM", NR_REFRACTORY): 3,
}

# The clinical courses a patient can follow after HCT.
PROGRESSION_DEATH = "progression_death"  # never responds; progresses and dies within a year
RELAPSE_DEATH = "relapse_death"  # in remission, relapses and dies within a year
RELAPSE_SURVIVES_FIRST_YEAR = "relapse_survives_first_year"  # relapses in year 1, dies in year 2
NRM_BEFORE_RESPONSE = "nrm_before_response"  # dies early of toxicity, before any response
NRM_IN_REMISSION = "nrm_in_remission"  # dies of toxicity in year 1, in remission
LATE_RELAPSE_DEATH = "late_relapse_death"  # event-free at 1 year, relapses and dies in year 2
LATE_NRM = "late_nrm"  # event-free at 1 year, dies of chronic GVHD in year 2
LONG_TERM_REMISSION = "long_term_remission"  # alive and relapse-free at last contact

#: Courses that pass through a remission after HCT (drives `cr_after_hct_date`
#: for patients not in CR at HCT).
COURSES_IN_REMISSION = (
    RELAPSE_DEATH, RELAPSE_SURVIVES_FIRST_YEAR, NRM_IN_REMISSION,
    LATE_RELAPSE_DEATH, LATE_NRM, LONG_TERM_REMISSION,
)
#: Courses ending in death within the first year (only these can include a
#: primary graft failure: without a second HCT, which the format does not
#: record, graft failure is not survivable).
FIRST_YEAR_DEATHS = (PROGRESSION_DEATH, RELAPSE_DEATH, NRM_BEFORE_RESPONSE, NRM_IN_REMISSION)

#: How many patients of each graft group x status stratum follow each course.
#: PB and BM share a stratum ("other"), the comparison the paper makes.
#: The counts give, for any seed: OS 20/59 at 1 year and 16/59 at 5 years;
#: relapse 33/59 and NRM 7/59 in the first year; 5-year OS 11/29 for CB and
#: 5/30 for PB+BM; 11/28 for CR/PR and 3/9 for primary induction failures
#: who reached CR after HCT; 16 of the 19 event-free at 1 year alive at 5 years.
COURSE_QUOTAS = {
    ("CB", CR): {LONG_TERM_REMISSION: 5, RELAPSE_DEATH: 2, NRM_IN_REMISSION: 1,
                 LATE_RELAPSE_DEATH: 1, LATE_NRM: 1},
    ("CB", PR): {LONG_TERM_REMISSION: 2, RELAPSE_DEATH: 1, NRM_BEFORE_RESPONSE: 1},
    ("CB", NR_PIF): {LONG_TERM_REMISSION: 2, RELAPSE_DEATH: 2, RELAPSE_SURVIVES_FIRST_YEAR: 1,
                     PROGRESSION_DEATH: 4, NRM_BEFORE_RESPONSE: 1},
    ("CB", NR_REFRACTORY): {LONG_TERM_REMISSION: 2, RELAPSE_DEATH: 1, PROGRESSION_DEATH: 2},
    ("other", CR): {LONG_TERM_REMISSION: 3, RELAPSE_DEATH: 6, NRM_IN_REMISSION: 1,
                    LATE_RELAPSE_DEATH: 1},
    ("other", PR): {LONG_TERM_REMISSION: 1, PROGRESSION_DEATH: 1, NRM_BEFORE_RESPONSE: 1},
    ("other", NR_PIF): {LONG_TERM_REMISSION: 1, RELAPSE_DEATH: 2, NRM_IN_REMISSION: 1,
                        PROGRESSION_DEATH: 5, NRM_BEFORE_RESPONSE: 1},
    ("other", NR_REFRACTORY): {PROGRESSION_DEATH: 6},
}

# Days to neutrophil engraftment (ANC >= 0.5), and further days until platelet
# engraftment: mean, sd, min, max.  Cord blood engrafts later than adult grafts.
NEUTROPHIL_DAYS = {"CB": (23, 5, 14, 45), "PB": (15, 2.5, 10, 24), "BM": (18, 3, 12, 30)}
PLATELET_DELAY_DAYS = {"CB": (20, 12, 2, 90), "PB": (6, 4, 1, 40), "BM": (9, 5, 1, 45)}
# Primary graft failure, among patients who can have it (see `_draw_engraftment`).
GRAFT_FAILURE_PROBABILITY = {"CB": 0.20, "PB": 0.03, "BM": 0.05}
PLATELET_FAILURE_PROBABILITY = 0.08

# Maximum acute GVHD grade 0-4: grade II-IV in about 37%.
AGVHD_GRADE_PROBABILITIES = (0.33, 0.30, 0.20, 0.10, 0.07)
# Chronic GVHD among day-100 survivors: none, limited, extensive.
CGVHD_CODES = ("none", "limited", "extensive")
CGVHD_PROBABILITIES = (0.55, 0.20, 0.25)

# ECOG performance status 0-4; patients not in remission are sicker.
PS_PROBABILITIES = {
    "remission": (0.45, 0.35, 0.12, 0.06, 0.02),
    "no_response": (0.20, 0.35, 0.25, 0.13, 0.07),
}
PS_MISSING_PROBABILITY = 0.05

# Causes of a death without relapse that is not explained by graft failure
# or GVHD, and of a death after relapse.
NRM_CAUSES = ("infection", "organ_failure", "other", "unknown")
NRM_CAUSE_PROBABILITIES = (0.50, 0.25, 0.15, 0.10)
RELAPSE_DEATH_CAUSES = ("relapse", "infection", "organ_failure")
RELAPSE_DEATH_CAUSE_PROBABILITIES = (0.88, 0.08, 0.04)


@dataclass
class Patient:
    """One synthetic patient while being built; days are counted from HCT (day 0)."""

    graft_source: str
    status_group: str
    course: str = ""
    hct_date: dt.date | None = None
    age: int = 0
    sex: str = ""
    ps: int | None = None
    donor_type: str = ""
    conditioning: str = ""
    cr_after_hct_day: int | None = None
    relapse_day: int | None = None
    death_day: int | None = None
    last_contact_day: int = 0
    cause_of_death: str | None = None
    graft_failure: bool = False
    neutrophil_day: int | None = None
    platelet_day: int | None = None
    agvhd_grade: int = 0
    agvhd_day: int | None = None
    cgvhd: str = "none"
    cgvhd_day: int | None = None

    @property
    def status_at_hct(self) -> str:
        return "NR" if self.status_group in (NR_PIF, NR_REFRACTORY) else self.status_group


# ---------------------------------------------------------------------------
# Small draws (whole days; numpy Generator only)
# ---------------------------------------------------------------------------

def _uniform_day(rng: np.random.Generator, low: int, high: int) -> int:
    """A whole day drawn uniformly from low..high inclusive."""
    return int(rng.integers(low, high + 1))


def _clipped_normal_day(rng: np.random.Generator, mean: float, sd: float,
                        low: int, high: int) -> int:
    return int(np.clip(round(rng.normal(mean, sd)), low, high))


def _choice(rng: np.random.Generator, codes, probabilities):
    """One code drawn with the given probabilities (codes keep their order)."""
    return codes[int(rng.choice(len(codes), p=probabilities))]


# ---------------------------------------------------------------------------
# Step 1: who was transplanted
# ---------------------------------------------------------------------------

def _enrol_patients() -> list[Patient]:
    """The 59 patients of `BASELINE_COUNTS`, in a fixed order."""
    return [
        Patient(graft_source=graft, status_group=status)
        for (graft, status), count in BASELINE_COUNTS.items()
        for _ in range(count)
    ]


def _draw_hct_date(rng: np.random.Generator) -> dt.date:
    """Transplant date; allo-HCT for ANKL became more frequent over the window."""
    span = (LAST_HCT - FIRST_HCT).days
    # Density rising linearly to twice its starting value across the window.
    u = rng.random()
    fraction = (np.sqrt(1 + 3 * u) - 1)  # inverse CDF of density (1 + x) / 1.5 on [0, 1]
    return FIRST_HCT + dt.timedelta(days=int(fraction * span))


def _draw_baseline(rng: np.random.Generator, patient: Patient) -> None:
    """Date, demographics, performance status, donor and conditioning."""
    patient.hct_date = _draw_hct_date(rng)
    # ANKL affects young and middle-aged adults (median age in the 40s).
    patient.age = int(np.clip(round(rng.normal(44, 13)), 16, 69))
    patient.sex = "M" if rng.random() < 0.5 else "F"
    in_remission = patient.status_group in (CR, PR)
    ps_probabilities = PS_PROBABILITIES["remission" if in_remission else "no_response"]
    ps = int(rng.choice(5, p=ps_probabilities))
    patient.ps = None if rng.random() < PS_MISSING_PROBABILITY else ps
    # Cord blood is always unrelated; PB mostly from siblings; BM mostly via the
    # unrelated-donor registry.
    related_probability = {"CB": 0.0, "PB": 0.75, "BM": 0.30}[patient.graft_source]
    patient.donor_type = "related" if rng.random() < related_probability else "unrelated"
    # Older patients mostly receive reduced-intensity conditioning.
    mac_probability = 0.75 if patient.age < 50 else 0.30
    patient.conditioning = "MAC" if rng.random() < mac_probability else "RIC"


# ---------------------------------------------------------------------------
# Step 2: which course each patient follows
# ---------------------------------------------------------------------------

def _graft_group(graft_source: str) -> str:
    return "CB" if graft_source == "CB" else "other"


def _assign_courses(rng: np.random.Generator, patients: list[Patient]) -> None:
    """Deal each stratum's courses (`COURSE_QUOTAS`) to its patients at random."""
    for (group, status), quota in COURSE_QUOTAS.items():
        members = [p for p in patients
                   if _graft_group(p.graft_source) == group and p.status_group == status]
        courses = [course for course, count in quota.items() for _ in range(count)]
        if len(courses) != len(members):
            raise AssertionError(f"course quota of {group}/{status} does not match its size")
        for patient, index in zip(members, rng.permutation(len(courses))):
            patient.course = courses[int(index)]


# ---------------------------------------------------------------------------
# Step 3: the clinical detail of each course
# ---------------------------------------------------------------------------

def _draw_remission_day(rng: np.random.Generator) -> int:
    """First CR after HCT, documented at the day-30 to day-90 marrow evaluations."""
    return _uniform_day(rng, 21, 90)


def _draw_disease_course(rng: np.random.Generator, patient: Patient) -> None:
    """Remission, relapse and death days for the patient's course."""
    course = patient.course
    not_in_cr = patient.status_group != CR
    if course in COURSES_IN_REMISSION and not_in_cr:
        patient.cr_after_hct_day = _draw_remission_day(rng)
    # Day from which the patient is in remission (0 when in CR at HCT).
    remission_day = patient.cr_after_hct_day or 0

    if course == PROGRESSION_DEATH:
        patient.relapse_day = _uniform_day(rng, 14, 150)
        patient.death_day = min(patient.relapse_day + _uniform_day(rng, 14, 180),
                                LAST_FIRST_YEAR_DAY)
    elif course == RELAPSE_DEATH:
        # Relapse at least 20 days into the remission, and early enough for the
        # fulminant post-relapse course to end within the year.
        patient.relapse_day = min(max(remission_day + 20, 45) + _uniform_day(rng, 0, 200), 300)
        patient.death_day = min(patient.relapse_day + _uniform_day(rng, 14, 120),
                                LAST_FIRST_YEAR_DAY)
    elif course == RELAPSE_SURVIVES_FIRST_YEAR:
        patient.relapse_day = _uniform_day(rng, 150, 320)
        patient.death_day = _uniform_day(rng, 400, 650)
    elif course == NRM_BEFORE_RESPONSE:
        # Early toxic death (infection, regimen-related organ failure) before
        # the first response evaluation.
        patient.death_day = _uniform_day(rng, 12, 60)
    elif course == NRM_IN_REMISSION:
        patient.death_day = max(remission_day + 10, _uniform_day(rng, 60, 330))
    elif course == LATE_RELAPSE_DEATH:
        patient.relapse_day = _uniform_day(rng, 380, 560)
        patient.death_day = min(patient.relapse_day + _uniform_day(rng, 30, 150),
                                LAST_SECOND_YEAR_DAY)
    elif course == LATE_NRM:
        patient.death_day = _uniform_day(rng, 420, 700)
    elif course != LONG_TERM_REMISSION:
        raise ValueError(f"unknown course {course!r}")

    if patient.death_day is None:
        # Alive: last contact is the latest yearly report before the data cutoff.
        last_contact = DATA_CUTOFF - dt.timedelta(days=_uniform_day(rng, 0, MAX_REPORT_LAG_DAYS))
        patient.last_contact_day = (last_contact - patient.hct_date).days
    else:
        patient.last_contact_day = patient.death_day


def _alive_on(patient: Patient, day: int) -> bool:
    """Whether an event on `day` falls strictly before the end of follow-up."""
    return day < patient.last_contact_day


def _draw_engraftment(rng: np.random.Generator, patient: Patient) -> None:
    """Neutrophil and platelet recovery, unless the graft fails or death comes first."""
    # Primary graft failure is fatal without a second HCT (which the format does
    # not record), and a CR documented after HCT needs a recovered marrow; so
    # only first-year deaths without such a CR can have it.
    if patient.course in FIRST_YEAR_DEATHS and patient.cr_after_hct_day is None:
        patient.graft_failure = rng.random() < GRAFT_FAILURE_PROBABILITY[patient.graft_source]
    neutrophil_day = _clipped_normal_day(rng, *NEUTROPHIL_DAYS[patient.graft_source])
    platelet_day = neutrophil_day + _clipped_normal_day(
        rng, *PLATELET_DELAY_DAYS[patient.graft_source])
    platelet_fails = rng.random() < PLATELET_FAILURE_PROBABILITY
    if patient.graft_failure or not _alive_on(patient, neutrophil_day):
        return
    patient.neutrophil_day = neutrophil_day
    if not platelet_fails and _alive_on(patient, platelet_day):
        patient.platelet_day = platelet_day


def _draw_gvhd(rng: np.random.Generator, patient: Patient) -> None:
    """Acute GVHD (grade, onset of grade >= II) and chronic GVHD after day 100."""
    grade = int(rng.choice(5, p=AGVHD_GRADE_PROBABILITIES))
    onset_delay = _uniform_day(rng, 0, 45)
    cgvhd = _choice(rng, CGVHD_CODES, CGVHD_PROBABILITIES)
    cgvhd_onset = _uniform_day(rng, 101, 450)
    if patient.course == LATE_NRM:
        # This course is the death from chronic GVHD in the second year.
        cgvhd, cgvhd_onset = "extensive", min(cgvhd_onset, patient.death_day - 60)

    if patient.neutrophil_day is None:
        return  # no donor graft, no GVHD
    if grade >= 2:
        onset = min(max(patient.neutrophil_day + onset_delay, 10), 100)
        if _alive_on(patient, onset):
            patient.agvhd_grade, patient.agvhd_day = grade, onset
        else:
            patient.agvhd_grade = 1  # died before the rash progressed beyond grade I
    else:
        patient.agvhd_grade = grade
    if cgvhd != "none" and _alive_on(patient, cgvhd_onset):
        patient.cgvhd, patient.cgvhd_day = cgvhd, cgvhd_onset


def _draw_cause_of_death(rng: np.random.Generator, patient: Patient) -> None:
    """The registry's cause of death, consistent with what happened before it."""
    if patient.death_day is None:
        return
    if patient.relapse_day is not None:
        patient.cause_of_death = _choice(rng, RELAPSE_DEATH_CAUSES,
                                         RELAPSE_DEATH_CAUSE_PROBABILITIES)
    elif patient.graft_failure:
        patient.cause_of_death = "graft_failure"
    elif patient.course == LATE_NRM:
        patient.cause_of_death = "gvhd" if rng.random() < 0.6 else "infection"
    elif patient.agvhd_grade >= 3 and rng.random() < 0.7:
        patient.cause_of_death = "gvhd"
    else:
        patient.cause_of_death = _choice(rng, NRM_CAUSES, NRM_CAUSE_PROBABILITIES)


# ---------------------------------------------------------------------------
# Assembly
# ---------------------------------------------------------------------------

def _date_after(patient: Patient, day: int | None):
    if day is None:
        return pd.NaT
    return pd.Timestamp(patient.hct_date + dt.timedelta(days=day))


def _to_record(patient: Patient) -> dict:
    """One row in the SPEC format."""
    nr = patient.status_at_hct == "NR"
    return {
        "hct_date": pd.Timestamp(patient.hct_date),
        "age": patient.age,
        "sex": patient.sex,
        "status_at_hct": patient.status_at_hct,
        "pif": int(patient.status_group == NR_PIF) if nr else 0,
        "cr_after_hct_date": _date_after(patient, patient.cr_after_hct_day),
        "graft_source": patient.graft_source,
        "donor_type": patient.donor_type,
        "conditioning": patient.conditioning,
        "ps": patient.ps,
        "hct_year": patient.hct_date.year,
        "disease": "ANKL",
        "vital_status": "alive" if patient.death_day is None else "dead",
        "last_contact_date": _date_after(patient, patient.last_contact_day),
        "cause_of_death": patient.cause_of_death,
        "relapse": int(patient.relapse_day is not None),
        "relapse_date": _date_after(patient, patient.relapse_day),
        "neutrophil_engraftment": int(patient.neutrophil_day is not None),
        "neutrophil_engraftment_date": _date_after(patient, patient.neutrophil_day),
        "platelet_engraftment": int(patient.platelet_day is not None),
        "platelet_engraftment_date": _date_after(patient, patient.platelet_day),
        "agvhd_grade": patient.agvhd_grade,
        "agvhd_date": _date_after(patient, patient.agvhd_day),
        "cgvhd": patient.cgvhd,
        "cgvhd_date": _date_after(patient, patient.cgvhd_day),
    }


def generate_cohort(seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """The synthetic ANKL cohort: 59 rows in the SPEC column format.

    Dates are ``datetime64`` (NaT when missing), ``ps`` is a nullable integer,
    codes are strings (None when missing).  Rows are ordered by transplant date
    and numbered ``SYN001``... in that order.
    """
    rng = np.random.default_rng(seed)
    patients = _enrol_patients()
    for patient in patients:
        _draw_baseline(rng, patient)
    _assign_courses(rng, patients)
    for patient in patients:
        _draw_disease_course(rng, patient)
        _draw_engraftment(rng, patient)
        _draw_gvhd(rng, patient)
        _draw_cause_of_death(rng, patient)

    records = [_to_record(p) for p in patients]
    cohort = pd.DataFrame.from_records(records)
    # A stable sort keeps ties (same transplant day) in enrolment order.
    cohort = cohort.sort_values("hct_date", kind="mergesort").reset_index(drop=True)
    cohort.insert(0, "patient_id", [f"SYN{i:03d}" for i in range(1, len(cohort) + 1)])
    cohort["ps"] = cohort["ps"].astype("Int64")
    for column in DATE_COLUMNS:
        cohort[column] = pd.to_datetime(cohort[column])
    return cohort[list(COLUMNS)]


def _format_cell(value) -> str:
    """ISO date, plain integer or text; empty for missing."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float) and np.isnan(value):
        return ""
    if isinstance(value, (pd.Timestamp, dt.date)):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, (bool, np.bool_)):
        return str(int(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def cohort_csv_text(cohort: pd.DataFrame) -> str:
    """The cohort as CSV text: header, ISO dates, empty missing cells, "\\n" endings.

    Formatting is done cell by cell here (not by pandas), so the bytes depend
    only on the values.  No value contains a comma or quote, so nothing is quoted.
    """
    lines = [",".join(COLUMNS)]
    for row in cohort[list(COLUMNS)].itertuples(index=False, name=None):
        cells = [_format_cell(value) for value in row]
        if any(("," in cell) or ('"' in cell) or ("\n" in cell) for cell in cells):
            raise ValueError(f"cell needs quoting in row {cells[0]}")
        lines.append(",".join(cells))
    return "\n".join(lines) + "\n"


def write_cohort(path: str | Path = DEFAULT_PATH, seed: int = DEFAULT_SEED) -> Path:
    """Generate the cohort for `seed` and write it to `path` as UTF-8 CSV."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = cohort_csv_text(generate_cohort(seed))
    path.write_bytes(text.encode("utf-8"))
    return path


def main(argv: list[str] | None = None) -> int:
    """``python -m analysis.build data [PATH] [--seed N]``: write the synthetic cohort."""
    parser = argparse.ArgumentParser(
        prog="python -m analysis.build data",
        description="Write the seeded synthetic ANKL cohort (CSV, SPEC format).",
    )
    parser.add_argument("path", nargs="?", default=str(DEFAULT_PATH),
                        help=f"output CSV (default: {DEFAULT_PATH})")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help=f"random seed (default: {DEFAULT_SEED})")
    args = parser.parse_args(argv)
    written = write_cohort(args.path, seed=args.seed)
    print(f"wrote {written} (seed {args.seed})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
