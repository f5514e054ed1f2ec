"""A seeded synthetic *registry* of any size, in the SPEC extract format.

`analysis.build.synthetic` makes the 59-patient cohort that mimics one published
study; this module makes registry-scale extracts (10^3 to 10^6 and more
transplants) for benchmarks and for checking that every analysis scales.  The
records look like a national registry's: several diseases, all three graft
sources, related and unrelated donors, MAC and RIC, performance status with
some values missing, whole-day dates (so tied times are the norm), relapse and
non-relapse death competing, engraftment, acute and chronic GVHD, CR reached
after HCT, loss to follow-up and administrative censoring at the data cutoff.

Every record passes `analysis.data.validate.validate` without an error: events are
on or before last contact, dates never precede HCT, flags agree with dates,
grades with onset dates, causes of death with vital status, primary induction
failure only with status NR, CR after HCT only for patients not in CR at HCT.

The generative story, all vectorised numpy draws from one
``numpy.random.default_rng(seed)`` (no Python loop over patients), so a seed
and a size always give the same rows and `registry_csv_text` the same bytes:

1. baseline: transplant date (more transplants in later years), disease,
   status at HCT (disease dependent), primary induction failure among NR,
   graft source, donor (cord blood always unrelated), age (by disease),
   sex, conditioning (RIC more likely with age), performance status;
2. latent times in days: relapse (a cure-fraction model whose relapse
   probability rises with NR/PR status, RIC and the disease), non-relapse
   death (rising with age, performance status, cord blood and unrelated
   donors), death after relapse, and background mortality;
3. observation: administrative censoring at the cutoff less a reporting lag,
   loss to follow-up for some, then engraftment, GVHD, CR after HCT and the
   cause of death, each consistent with the observed course.

Public API
----------
``generate_registry(n, seed=DEFAULT_SEED) -> pandas.DataFrame``
``registry_csv_text(frame) -> str``
``write_registry(path, n, seed=DEFAULT_SEED) -> pathlib.Path``
``main(argv=None) -> int``  (``python -m analysis.build registry N OUTPUT.csv [--seed S]``)
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.build.synthetic import COLUMNS

DEFAULT_SEED = 20240611
DEFAULT_DIRECTORY = Path("data/generated")

FIRST_HCT = np.datetime64("2000-01-01")
LAST_HCT = np.datetime64("2021-12-31")
DATA_CUTOFF = np.datetime64("2023-03-31")
MAX_REPORT_LAG_DAYS = 365  # survivors' last contact: their latest yearly report

DISEASES = ("AML", "ALL", "MDS", "lymphoma")
DISEASE_PROBABILITIES = (0.45, 0.20, 0.22, 0.13)
# Per disease: P(CR), P(PR) at HCT (rest NR); relapse log-odds shift; mean age.
STATUS_CR = (0.62, 0.75, 0.35, 0.40)
STATUS_PR = (0.08, 0.05, 0.25, 0.35)
DISEASE_RELAPSE = (0.0, 0.15, -0.2, -0.1)
DISEASE_AGE = (50, 32, 60, 48)

GRAFTS = ("CB", "PB", "BM")
GRAFT_PROBABILITIES = (0.30, 0.45, 0.25)
RELATED_PROBABILITY = (0.0, 0.60, 0.35)

PS_PROBABILITIES = {"remission": (0.45, 0.35, 0.12, 0.06, 0.02),
                    "no_response": (0.20, 0.35, 0.25, 0.13, 0.07)}
PS_MISSING_PROBABILITY = 0.05

# Neutrophil engraftment day (mean, sd) and platelet delay after it, per graft (CB, PB, BM).
NEUTROPHIL_DAYS = ((24.0, 6.0), (15.0, 3.0), (19.0, 4.0))
PLATELET_DELAY_DAYS = ((25.0, 14.0), (7.0, 4.0), (10.0, 5.0))
GRAFT_FAILURE_PROBABILITY = (0.08, 0.02, 0.03)
PLATELET_FAILURE_PROBABILITY = 0.08
AGVHD_GRADE_PROBABILITIES = (0.40, 0.25, 0.20, 0.10, 0.05)
CGVHD_CODES = ("none", "limited", "extensive")

RELAPSE_CAUSES = ("relapse", "infection", "organ_failure")
RELAPSE_CAUSE_PROBABILITIES = (0.85, 0.10, 0.05)
NRM_CAUSES = ("gvhd", "infection", "organ_failure", "other", "unknown")
NRM_CAUSE_PROBABILITIES = (0.25, 0.40, 0.17, 0.12, 0.06)
CAUSE_MISSING_PROBABILITY = 0.005  # a dead patient without a cause: a warning, counted as unknown

CAUSES = ("relapse", "gvhd", "infection", "organ_failure", "graft_failure", "other", "unknown")


def _choice(rng: np.random.Generator, probabilities, size: int) -> np.ndarray:
    """Codes 0..k-1 drawn with the given probabilities (one uniform per patient)."""
    cumulative = np.cumsum(probabilities)
    cumulative[-1] = 1.0
    return np.searchsorted(cumulative, rng.random(size), side="right").astype(np.int64)


def _choice_rows(rng: np.random.Generator, probabilities: np.ndarray) -> np.ndarray:
    """One code per row of an (n, k) matrix of probabilities."""
    cumulative = np.cumsum(probabilities, axis=1)
    cumulative[:, -1] = 1.0
    u = rng.random(probabilities.shape[0])
    return (cumulative < u[:, None]).sum(axis=1).astype(np.int64)


def _lognormal_days(rng: np.random.Generator, median: float, sigma: float, size: int) -> np.ndarray:
    return median * np.exp(sigma * rng.standard_normal(size))


def _logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def generate_registry(n: int, seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """A synthetic registry of `n` first allo-HCTs in the SPEC column format.

    Dates are ``datetime64[ns]`` (NaT when missing), ``ps`` a nullable
    integer, codes categorical (missing when absent); rows are ordered by
    transplant date and numbered ``REG0000001``... in that order.
    """
    n = int(n)
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    rng = np.random.default_rng([seed, n])

    # --- 1. baseline --------------------------------------------------------
    span = int((LAST_HCT - FIRST_HCT) / np.timedelta64(1, "D"))
    fraction = np.sqrt(1.0 + 3.0 * rng.random(n)) - 1.0  # density rising to twice its start
    hct_offset = np.sort(np.floor(fraction * span).astype(np.int64))
    hct = FIRST_HCT + hct_offset.astype("timedelta64[D]")

    disease = _choice(rng, DISEASE_PROBABILITIES, n)
    p_cr = np.asarray(STATUS_CR)[disease]
    p_pr = np.asarray(STATUS_PR)[disease]
    status = _choice_rows(rng, np.column_stack([p_cr, p_pr, 1.0 - p_cr - p_pr]))  # 0 CR, 1 PR, 2 NR
    nr = status == 2
    pif = nr & (rng.random(n) < 0.4)

    graft = _choice(rng, GRAFT_PROBABILITIES, n)  # 0 CB, 1 PB, 2 BM
    related = rng.random(n) < np.asarray(RELATED_PROBABILITY)[graft]
    age = np.clip(np.round(np.asarray(DISEASE_AGE, float)[disease] + 14.0 * rng.standard_normal(n)), 1, 79)
    sex_female = rng.random(n) < 0.42
    mac = rng.random(n) < np.where(age < 50, 0.75, 0.30)
    remission = status < 2
    ps_p = np.where(remission[:, None], np.asarray(PS_PROBABILITIES["remission"]),
                    np.asarray(PS_PROBABILITIES["no_response"]))
    ps = _choice_rows(rng, ps_p).astype(float)
    ps[rng.random(n) < PS_MISSING_PROBABILITY] = np.nan

    # --- 2. latent times (days after HCT) ------------------------------------
    relapse_logit = (-0.9 + 0.6 * (status == 1) + 1.3 * nr + 0.35 * ~mac
                     + np.asarray(DISEASE_RELAPSE)[disease] - 0.15 * (graft == 0) + 0.3 * pif)
    relapses = rng.random(n) < _logistic(relapse_logit)
    t_relapse = np.where(relapses, _lognormal_days(rng, 200.0, 0.85, n), np.inf)
    nrm_logit = (-1.9 + 0.03 * (age - 50) + 0.35 * np.nan_to_num(ps, nan=1.0)
                 + 0.35 * (graft == 0) + 0.25 * ~related + 0.2 * mac)
    nrm = rng.random(n) < _logistic(nrm_logit)
    t_nrm = np.where(nrm, _lognormal_days(rng, 140.0, 1.1, n), np.inf)
    # primary graft failure (no donor engraftment) is mostly fatal within weeks
    graft_failure = rng.random(n) < np.asarray(GRAFT_FAILURE_PROBABILITY)[graft]
    fatal = graft_failure & (rng.random(n) < 0.8)
    t_nrm = np.where(fatal, np.minimum(t_nrm, 25.0 + 90.0 * rng.random(n)), t_nrm)
    # after relapse most die, mostly within the year
    dies_after_relapse = rng.random(n) < 0.7
    t_post = np.where(dies_after_relapse, _lognormal_days(rng, 150.0, 0.9, n), np.inf)
    t_background = rng.exponential(365.25 / 0.015, n)  # 1.5% a year

    t_relapse = np.maximum(np.ceil(t_relapse), 1.0)
    t_nrm = np.maximum(np.ceil(t_nrm), 1.0)
    t_background = np.maximum(np.ceil(t_background), 1.0)
    relapse_first = t_relapse < np.minimum(t_nrm, t_background)
    after = np.where(np.isfinite(t_post), t_relapse + np.maximum(np.ceil(t_post), 1.0), np.inf)
    t_death = np.where(relapse_first, np.minimum(after, np.where(t_background > t_relapse, t_background, np.inf)),
                       np.minimum(t_nrm, t_background))

    # --- 3. observation --------------------------------------------------------
    follow = (DATA_CUTOFF - hct).astype(np.int64) - rng.integers(0, MAX_REPORT_LAG_DAYS + 1, n)
    lost = rng.random(n) < 0.08
    follow = np.where(lost, np.minimum(follow, 1 + np.floor(rng.random(n) * 3 * 365.25)), follow)
    follow = np.maximum(follow, 1).astype(float)
    dead = t_death <= follow
    last = np.where(dead, t_death, follow)
    relapsed = t_relapse <= last
    relapse_day = np.where(relapsed, t_relapse, np.nan)

    # CR after HCT, for patients not in CR at HCT who are alive and relapse-free then
    cr_day = np.floor(21 + rng.random(n) * 100)
    reaches_cr = (status != 0) & (rng.random(n) < np.where(pif, 0.45, np.where(nr, 0.5, 0.7)))
    reaches_cr &= (cr_day <= last) & (cr_day < t_relapse)
    cr_after = np.where(reaches_cr, cr_day, np.nan)

    # engraftment
    mean_n = np.asarray([m for m, _ in NEUTROPHIL_DAYS])[graft]
    sd_n = np.asarray([s for _, s in NEUTROPHIL_DAYS])[graft]
    neut_day = np.clip(np.round(mean_n + sd_n * rng.standard_normal(n)), 9, 60)
    engrafted = ~graft_failure & (neut_day <= last)
    mean_p = np.asarray([m for m, _ in PLATELET_DELAY_DAYS])[graft]
    sd_p = np.asarray([s for _, s in PLATELET_DELAY_DAYS])[graft]
    plt_day = neut_day + np.clip(np.round(mean_p + sd_p * rng.standard_normal(n)), 1, 120)
    plt_engrafted = engrafted & (rng.random(n) >= PLATELET_FAILURE_PROBABILITY) & (plt_day <= last)

    # acute GVHD: more after unrelated and peripheral-blood grafts
    shift = 0.10 * ~related + 0.07 * (graft == 1)
    base = np.asarray(AGVHD_GRADE_PROBABILITIES)
    grade_p = np.column_stack([base[0] - shift, base[1] * np.ones(n), base[2] + shift * 0.6,
                               base[3] + shift * 0.3, base[4] + shift * 0.1])
    grade = _choice_rows(rng, grade_p)
    onset = np.clip(neut_day + np.floor(rng.random(n) * 46), 10, 100)
    grade = np.where(engrafted, grade, 0)
    too_late = (grade >= 2) & (onset > last)
    grade = np.where(too_late, 1, grade)  # died (or was lost) before the rash went beyond grade I
    agvhd_day = np.where(grade >= 2, onset, np.nan)

    # chronic GVHD among patients alive at its onset
    more = 0.10 * (graft == 1)  # peripheral blood: more chronic GVHD
    chronic = _choice_rows(rng, np.column_stack([0.55 - more, np.full(n, 0.22), 0.23 + more]))
    c_onset = np.floor(100 + rng.random(n) * 400)
    chronic = np.where(engrafted & (c_onset <= last), chronic, 0)
    cgvhd_day = np.where(chronic > 0, c_onset, np.nan)

    # cause of death
    relapse_cause = np.asarray([0, 2, 3])[_choice(rng, RELAPSE_CAUSE_PROBABILITIES, n)]
    nrm_cause = np.asarray([1, 2, 3, 5, 6])[_choice(rng, NRM_CAUSE_PROBABILITIES, n)]
    gvhd_death = ((grade >= 3) | (chronic == 2)) & (rng.random(n) < 0.6)
    nrm_cause = np.where(gvhd_death, 1, nrm_cause)
    nrm_cause = np.where(graft_failure, 4, nrm_cause)
    cause = np.where(relapsed, relapse_cause, nrm_cause)
    cause_known = dead & (rng.random(n) >= CAUSE_MISSING_PROBABILITY)

    # --- assembly -----------------------------------------------------------------
    def date_after(days: np.ndarray) -> np.ndarray:
        out = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
        ok = np.isfinite(days)
        out[ok] = hct[ok] + days[ok].astype(np.int64).astype("timedelta64[D]")
        return out.astype("datetime64[ns]")

    def codes(labels, index: np.ndarray, present=None) -> pd.Categorical:
        index = np.asarray(index, dtype=np.int64)
        if present is not None:
            index = np.where(present, index, -1)  # -1: missing
        return pd.Categorical.from_codes(index, categories=list(labels))

    width = max(7, len(str(n)))
    ids = np.char.add("REG", np.char.zfill(np.arange(1, n + 1).astype(str), width)).astype(object)
    frame = pd.DataFrame({
        "patient_id": ids,
        "hct_date": hct.astype("datetime64[ns]"),
        "age": age.astype(np.int64),
        "sex": codes(("M", "F"), sex_female.astype(np.int64)),
        "status_at_hct": codes(("CR", "PR", "NR"), status),
        "pif": pif.astype(np.int64),
        "cr_after_hct_date": date_after(cr_after),
        "graft_source": codes(GRAFTS, graft),
        "donor_type": codes(("unrelated", "related"), related.astype(np.int64)),
        "conditioning": codes(("RIC", "MAC"), mac.astype(np.int64)),
        "ps": pd.array(np.where(np.isnan(ps), 0, ps).astype(np.int64), dtype="Int64"),
        "hct_year": hct.astype("datetime64[Y]").astype(np.int64) + 1970,
        "disease": codes(DISEASES, disease),
        "vital_status": codes(("alive", "dead"), dead.astype(np.int64)),
        "last_contact_date": date_after(last),
        "cause_of_death": codes(CAUSES, cause, cause_known),
        "relapse": relapsed.astype(np.int64),
        "relapse_date": date_after(relapse_day),
        "neutrophil_engraftment": engrafted.astype(np.int64),
        "neutrophil_engraftment_date": date_after(np.where(engrafted, neut_day, np.nan)),
        "platelet_engraftment": plt_engrafted.astype(np.int64),
        "platelet_engraftment_date": date_after(np.where(plt_engrafted, plt_day, np.nan)),
        "agvhd_grade": grade.astype(np.int64),
        "agvhd_date": date_after(agvhd_day),
        "cgvhd": codes(CGVHD_CODES, chronic),
        "cgvhd_date": date_after(cgvhd_day),
    })
    frame.loc[np.isnan(ps), "ps"] = pd.NA
    return frame[list(COLUMNS)]


def _lookup_text(values: np.ndarray, missing: np.ndarray, render) -> np.ndarray:
    """Cells of integer-coded values through a table of their distinct values' text."""
    out = np.full(values.size, "", dtype=object)
    if (~missing).any():
        distinct, inverse = np.unique(values[~missing], return_inverse=True)
        out[~missing] = np.asarray(render(distinct), dtype=object)[inverse.ravel()]
    return out


def _text_column(values: pd.Series) -> np.ndarray:
    """A column as CSV cells: ISO dates, plain integers, codes; "" when missing."""
    if pd.api.types.is_datetime64_any_dtype(values):
        array = values.to_numpy().astype("datetime64[D]")
        return _lookup_text(array.astype(np.int64), np.isnat(array),
                            lambda d: np.datetime_as_string(d.astype("datetime64[D]"), unit="D").tolist())
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy()
        table = np.asarray([str(c) for c in values.cat.categories] + [""], dtype=object)
        return table[np.where(codes < 0, len(table) - 1, codes)]
    if isinstance(values.dtype, pd.Int64Dtype) or pd.api.types.is_integer_dtype(values):
        missing = values.isna().to_numpy()
        return _lookup_text(values.fillna(0).to_numpy(dtype=np.int64), missing, lambda d: [str(int(v)) for v in d])
    text = values.to_numpy(dtype=object).copy()
    text[pd.isna(text)] = ""
    return text


def registry_csv_text(frame: pd.DataFrame) -> str:
    """The registry as CSV text: header, ISO dates, empty missing cells, "\\n" endings.

    No value holds a comma, quote or newline, so nothing is quoted; the bytes
    depend only on the values.
    """
    columns = [_text_column(frame[name]).tolist() for name in COLUMNS]
    body = "\n".join(map(",".join, zip(*columns)))
    return ",".join(COLUMNS) + "\n" + body + ("\n" if body else "")


def write_registry(path: str | Path, n: int, seed: int = DEFAULT_SEED) -> Path:
    """Generate `n` records for `seed` and write them to `path` as UTF-8 CSV."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(registry_csv_text(generate_registry(n, seed)).encode("utf-8"))
    return path


def default_path(n: int) -> Path:
    """``data/generated/registry_N.csv`` (git-ignored: generated data are never committed)."""
    return DEFAULT_DIRECTORY / f"registry_{int(n)}.csv"


def main(argv: list[str] | None = None) -> int:
    """``python -m analysis.build registry N [OUTPUT.csv] [--seed S]``: write a synthetic registry."""
    parser = argparse.ArgumentParser(
        prog="python -m analysis.build registry",
        description="Write a seeded synthetic registry of N transplants (CSV, SPEC format).",
    )
    parser.add_argument("n", type=int, help="number of patients")
    parser.add_argument("path", nargs="?", help="output CSV (default: data/generated/registry_N.csv)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default: {DEFAULT_SEED})")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("N must be at least 1")
    written = write_registry(args.path or default_path(args.n), args.n, seed=args.seed)
    print(f"wrote {written} ({args.n} patients, seed {args.seed})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
