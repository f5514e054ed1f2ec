"""Why the report computes with its own estimators and not lifelines: measured.

Not a test (tests/test_lifelines.py shows that where lifelines computes the same quantity as R, our
numbers, R's and lifelines' agree).  This script prints, as Markdown, for README's "Why our own
estimators":

1. what the installed lifelines offers: its fitters and tests, and whether any of them is Gray's
   test, Fine-Gray, Mantel-Byar or a stratified log-rank test;
2. lifelines' AalenJohansenFitter against cmprsk::cuminc (the stored references under
   tests/reference/, which our `cumulative_incidence` reproduces) on data with tied times: the
   largest absolute difference of the cumulative incidence over 20 jitter seeds, how far two seeds
   are apart, and whether two runs without a seed agree;
3. where lifelines' defaults give other numbers than R's: the median when S(t) sits at 0.5, the
   Nelson-Aalen estimate with its default smoothing and its variance, and the Cox coefficients at
   its default convergence tolerance;
4. speed on 10^5 and 10^6 synthetic registry patients (the data of benchmarks/run_benchmarks.py,
   seed 20240611): Kaplan-Meier, the log-rank test of 3 groups, Cox with 5 covariates (Efron),
   and the Aalen-Johansen CIF of relapse, ours against lifelines, one run each, with the largest
   difference of the results.

Usage (from the project root; about 3 minutes with 10^6):
    .venv/bin/python benchmarks/lifelines_comparison.py [--sizes 100000,1000000] [--output FILE]
"""
from __future__ import annotations

import argparse
import inspect
import io
import json
import os
import platform
import sys
import tempfile
import time
import warnings
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import lifelines  # noqa: E402
from lifelines import (AalenJohansenFitter, CoxPHFitter, CoxTimeVaryingFitter,  # noqa: E402
                       KaplanMeierFitter, NelsonAalenFitter)
from lifelines.statistics import multivariate_logrank_test  # noqa: E402

from analysis.data.cohort import load_cohort  # noqa: E402
from analysis.domain.endpoints import endpoint_data  # noqa: E402
from analysis.stats.aalen_johansen import cumulative_incidence  # noqa: E402
from analysis.stats.cox import cox_model  # noqa: E402
from analysis.stats.kaplan_meier import kaplan_meier, median_survival  # noqa: E402
from analysis.stats.logrank import logrank_test  # noqa: E402
from analysis.stats.timedep import split_at_event  # noqa: E402
from run_benchmarks import COVARIATES, _prepare, _read_analysis  # noqa: E402

REFERENCE = ROOT / "tests" / "reference"
COHORT = ROOT / "data" / "synthetic" / "ankl_cohort.csv"
SEEDS = range(20)
SEED = 20240611  # run_benchmarks.py's
HORIZONS = (12.0, 60.0)
# The names a Gray test, Fine-Gray model, Mantel-Byar test or cumulative incidence regression
# would carry in lifelines.
MISSING_WORDS = ("gray", "fine", "subdistribution", "mantel", "byar", "cuminc", "competing")


def _quiet(function, *args, **kwargs):
    """lifelines warns on every tied Aalen-Johansen fit and on its own convergence; not news here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


def _step_at(times: np.ndarray, values: np.ndarray, at: np.ndarray) -> np.ndarray:
    """A right-continuous step function (value 0 before its first time) at `at`."""
    index = np.searchsorted(times, at, side="right") - 1
    return np.where(index >= 0, values[np.maximum(index, 0)], 0.0)


# ---------------------------------------------------------------- 1. what lifelines offers


def what_lifelines_offers() -> list[str]:
    fitters = sorted(name for name in dir(lifelines) if name.endswith("Fitter"))
    tests = sorted(name for name, f in inspect.getmembers(lifelines.statistics, inspect.isfunction)
                   if f.__module__ == "lifelines.statistics" and not name.startswith("_"))
    names = [name.lower() for name in dir(lifelines) + dir(lifelines.statistics) + dir(lifelines.utils)]
    found = sorted({word for word in MISSING_WORDS for name in names if word in name})
    strata = "strata" in inspect.signature(multivariate_logrank_test).parameters
    return [
        f"lifelines {lifelines.__version__}: {len(fitters)} fitters ({', '.join(fitters)}); "
        f"tests in lifelines.statistics: {', '.join(tests)}.",
        f"Public names containing {', '.join(MISSING_WORDS)}: {', '.join(found) or 'none'}. "
        f"multivariate_logrank_test takes strata: {'yes' if strata else 'no'}.",
    ]


# ---------------------------------------------------------------- 2. Aalen-Johansen and ties


def _competing_data() -> dict[str, tuple[np.ndarray, np.ndarray, dict]]:
    """Data with tied times, each with cmprsk::cuminc's CIF of cause 1 (stored reference)."""
    ref = json.loads((REFERENCE / "incidence_reference.json").read_text())["cases"]

    def overall_cause_1(case: str) -> dict:
        return next(c for c in ref[case]["curves"] if c.get("by") is None and c["cause"] == 1)

    out = {}
    for case, label in (("bmt", "KMsurv::bmt, relapse vs death in remission (days / 30.4375)"),
                        ("sim", "simulated, 500 patients, whole months, 3 causes")):
        d = pd.read_csv(REFERENCE / "incidence" / f"{case}.csv", float_precision="round_trip")
        out[label] = (d["time"].to_numpy(float), d["status"].to_numpy(int), overall_cause_1(case))
    relapse = endpoint_data(load_cohort(COHORT, synthetic=True).data, "relapse")
    out["synthetic cohort, relapse vs non-relapse death"] = (
        np.asarray(relapse.time, float), np.asarray(relapse.status, int), overall_cause_1("ankl_relapse"))
    return out


def _ties(time: np.ndarray, status: np.ndarray) -> tuple[int, int]:
    """Distinct times where events of different causes tie (what makes lifelines jitter), and
    where an event ties a censoring."""
    frame = pd.DataFrame({"t": time, "s": status})
    causes = frame[frame.s > 0].groupby("t").s.nunique()
    censored = set(frame.t[frame.s == 0])
    return int((causes > 1).sum()), len(set(frame.t[frame.s > 0]) & censored)


def _lifelines_cif(time, status, seed, read_at: np.ndarray) -> np.ndarray:
    fit = _quiet(AalenJohansenFitter(seed=seed, calculate_variance=False).fit, time, status, event_of_interest=1)
    cif = fit.cumulative_density_.iloc[:, 0]
    return _step_at(cif.index.to_numpy(float), cif.to_numpy(float), read_at)


def aalen_johansen_rows() -> list[str]:
    rows = ["| data | n | times where causes tie / where an event ties a censoring | ours vs cuminc | "
            "lifelines vs cuminc, worst of 20 seeds: at t / after the jitter | "
            "20 seeds apart, at most: at t / after the jitter | two runs without a seed apart: at t / after |",
            "|---|---:|---|---:|---:|---:|---:|"]
    jitter = AalenJohansenFitter()._jitter_level
    for label, (time, status, r) in _competing_data().items():
        r_time, r_est = np.asarray(r["time"], float), np.asarray(r["est"], float)
        ours = cumulative_incidence(time, status, cause=1)
        ours_diff = np.max(np.abs(_step_at(ours.time, ours.estimate, r_time) - r_est))
        cells = []
        for read_at in (r_time, r_time + 2 * jitter):
            by_seed = np.array([_lifelines_cif(time, status, seed, read_at) for seed in SEEDS])
            unseeded = [_lifelines_cif(time, status, None, read_at) for _ in range(2)]
            cells.append((np.max(np.abs(by_seed - r_est)), np.max(np.ptp(by_seed, axis=0)),
                          np.max(np.abs(unseeded[0] - unseeded[1]))))
        (at_diff, at_spread, at_runs), (after_diff, after_spread, after_runs) = cells
        cause_ties, censor_ties = _ties(time, status)
        rows.append(f"| {label} | {time.size} | {cause_ties} / {censor_ties} | {ours_diff:.1e} | "
                    f"{at_diff:.1e} / {after_diff:.1e} | {at_spread:.1e} / {after_spread:.1e} | "
                    f"{at_runs:.1e} / {after_runs:.1e} |")
    return rows


def global_random_state_is_overwritten() -> bool:
    """Whether AalenJohansenFitter(seed=7).fit leaves NumPy's global random generator in a state of
    its own, whatever state the caller had set before."""
    time, status = np.array([1.0, 1.0, 2.0, 3.0]), np.array([1, 2, 1, 0])
    draws = []
    for callers_seed in (1, 2):
        np.random.seed(callers_seed)
        _quiet(AalenJohansenFitter(seed=7, calculate_variance=False).fit, time, status, event_of_interest=1)
        draws.append(np.random.random_sample())
    return draws[0] == draws[1]


# ---------------------------------------------------------------- 3. other defaults


def default_differences() -> list[str]:
    lines = []
    survival = json.loads((REFERENCE / "survival_reference.json").read_text())["cohort"]
    t, e = np.asarray(survival["data"]["time"], float), np.asarray(survival["data"]["event"], float)
    graft = np.asarray(survival["data"]["graft_source"])
    for level in sorted(set(graft)):
        ours = median_survival(kaplan_meier(t[graft == level], e[graft == level])).estimate
        theirs = KaplanMeierFitter().fit(t[graft == level], e[graft == level]).median_survival_time_
        lines.append(f"- Median OS, synthetic cohort, graft source {level}: R and ours {ours:.3f} months, "
                     f"lifelines {theirs:.3f} ({theirs - ours:+.3f}).")

    na = json.loads((REFERENCE / "lifelines_reference.json").read_text())["nelson_aalen"]
    for case, label in (("cohort_os", "synthetic cohort OS"), ("lung", "lung"), ("bmt_dfs", "bmt DFS")):
        ref = na[case]
        time, event = np.asarray(ref["data"]["time"], float), np.asarray(ref["data"]["event"], float)
        smooth = NelsonAalenFitter().fit(time, event)
        plain = NelsonAalenFitter(nelson_aalen_smoothing=False).fit(time, event)
        r_time, cumhaz, std = (np.asarray(ref[k], float) for k in ("time", "cumhaz", "std_chaz"))
        smooth_at = smooth.cumulative_hazard_.iloc[:, 0].loc[r_time].to_numpy()
        # lifelines keeps the variance of the cumulative hazard in _cumulative_sq (its CI uses it)
        plain_se = np.sqrt(plain._cumulative_sq.loc[r_time].to_numpy())
        defined = std > 0
        lines.append(f"- Nelson-Aalen, {label}: lifelines' default (smoothing) differs from R's cumhaz by up "
                     f"to {np.max(np.abs(smooth_at - cumhaz)):.2e}; its standard error (smoothing off) from "
                     f"R's std.chaz by up to {np.max(np.abs(plain_se[defined] / std[defined] - 1)):.1%}.")

    cox = json.loads((REFERENCE / "cox_reference.json").read_text())
    lung = cox["lung"]["data"]
    frame = pd.DataFrame({"time": lung["time"], "event": lung["event"], "age": lung["age"], "sex": lung["sex"],
                          "ph.ecog": lung["ph_ecog"]})
    cohort = cox["cohort"]
    co = pd.DataFrame({"time": cohort["data"]["time"], "event": cohort["data"]["event"],
                       "status_nr": (np.asarray(cohort["data"]["status_at_hct"]) == "NR").astype(float),
                       "graft_sourcePB": (np.asarray(cohort["data"]["graft_source"]) == "PB").astype(float),
                       "graft_sourceBM": (np.asarray(cohort["data"]["graft_source"]) == "BM").astype(float),
                       "age": cohort["data"]["age"]})
    for label, data, fit in (("lung (age, sex, ph.ecog)", frame, cox["lung"]["unstratified"]["efron"]),
                             ("synthetic cohort OS (4 covariates)", co, cohort["os"]["efron"])):
        theirs = _quiet(CoxPHFitter().fit, data, "time", "event")
        names = list(fit["names"])
        coef = np.max(np.abs(theirs.params_[names].to_numpy() - np.asarray(fit["coef"])))
        se = np.max(np.abs(theirs.standard_errors_[names].to_numpy() - np.asarray(fit["se"])))
        lines.append(f"- Cox (Efron), {label}, lifelines' default convergence: coefficients up to {coef:.1e} "
                     f"from R's, SEs up to {se:.1e}.")
    return lines


# ---------------------------------------------------------------- 4. speed


def _ratio(ratio: float) -> str:
    return f"{ratio:.1f}×" if ratio < 10 else f"{ratio:,.0f}×"


def _timed(function):
    start = time.perf_counter()
    result = _quiet(function)
    return time.perf_counter() - start, result


def speed_rows(sizes: list[int]) -> list[str]:
    rows = ["| n | estimator | ours (s) | lifelines (s) | lifelines / ours | max \\|Δ\\| |",
            "|---:|---|---:|---:|---:|---:|"]
    for n in sizes:
        with tempfile.TemporaryDirectory() as directory:
            with redirect_stdout(io.StringIO()):
                d = _read_analysis(_prepare(n, SEED, Path(directory))["analysis"])
        t, e = d["os_time"].to_numpy(), d["os_status"].to_numpy()
        graft = d["graft"].to_numpy(dtype=object)
        x = d[COVARIATES]
        rel_t, rel_s = d["rel_time"].to_numpy(), d["rel_status"].to_numpy()

        def km_theirs():
            kmf = KaplanMeierFitter().fit(t, e)
            return kmf.survival_function_.iloc[:, 0]

        def cox_theirs():
            return CoxPHFitter().fit(x.assign(time=t, event=e), "time", "event").params_[COVARIATES].to_numpy()

        def aj_theirs():
            return AalenJohansenFitter(seed=1).fit(
                rel_t, rel_s, event_of_interest=1).cumulative_density_.iloc[:, 0]

        calls = {
            "Kaplan-Meier (OS)": (lambda: kaplan_meier(t, e), km_theirs,
                                  lambda a, b: np.max(np.abs(b.loc[a.time].to_numpy() - a.estimate))),
            "Log-rank test, 3 graft groups": (lambda: logrank_test(t, e, graft),
                                              lambda: multivariate_logrank_test(t, graft, e),
                                              lambda a, b: abs(a.statistic - b.test_statistic) / a.statistic),
            "Cox, 5 covariates, Efron (lifelines' default tolerance)": (
                lambda: cox_model(t, e, x.to_numpy(float), names=COVARIATES), cox_theirs,
                lambda a, b: np.max(np.abs(a.coef - b))),
            "Aalen-Johansen CIF of relapse with its variance (lifelines jitters ties)": (
                lambda: cumulative_incidence(rel_t, rel_s, cause=1), aj_theirs,
                lambda a, b: np.max(np.abs(_step_at(b.index.to_numpy(float), b.to_numpy(float), np.array(HORIZONS))
                                           - _step_at(a.time, a.estimate, np.array(HORIZONS))))),
        }
        for label, (ours_call, theirs_call, difference) in calls.items():
            if n == sizes[0]:  # first calls pay for imports and caches: not timed
                _timed(ours_call), _timed(theirs_call)
            ours_s, ours = _timed(ours_call)
            theirs_s, theirs = _timed(theirs_call)
            rows.append(f"| {n:,} | {label} | {ours_s:.3f} | {theirs_s:.2f} | {_ratio(theirs_s / ours_s)} | "
                        f"{difference(ours, theirs):.1e} |")
            print(rows[-1], file=sys.stderr, flush=True)
    return rows


def time_varying_row() -> str:
    """CoxTimeVaryingFitter's default SEs come from the Hessian before its last step."""
    cox = json.loads((REFERENCE / "cox_reference.json").read_text())["bmt"]
    d = cox["data"]
    group = np.asarray(d["group"])
    fixed = {"grp[2]": (group == 2) * 1.0, "grp[3]": (group == 3) * 1.0, "z1": np.asarray(d["z1"], float),
             "z10": np.asarray(d["z10"], float)}
    change = {name: np.where(np.asarray(d[flag]) == 1, np.asarray(d[at], float), np.nan)
              for name, at, flag in (("agvhd", "ta", "da"), ("cgvhd", "tc", "dc"), ("platelet", "tp", "dp"))}
    rows = split_at_event(np.asarray(d["t2"], float), np.asarray(d["d3"], float), change, fixed=fixed)
    names = ["grp[2]", "grp[3]", "z1", "z10", "agvhd", "cgvhd", "platelet"]
    frame = pd.DataFrame(rows.matrix(names), columns=names).assign(id=rows.patient, start=rows.start,
                                                                   stop=rows.stop, event=rows.event)
    theirs = _quiet(CoxTimeVaryingFitter().fit, frame, id_col="id", start_col="start", stop_col="stop",
                    event_col="event")
    fit = cox["timedep"]["efron"]
    coef = np.max(np.abs(theirs.params_[names].to_numpy() - np.asarray(fit["coef"])))
    se = np.max(np.abs(theirs.standard_errors_[names].to_numpy() - np.asarray(fit["se"])))
    return (f"- Time-varying Cox (Efron), bmt DFS with 3 time-dependent covariates, lifelines' defaults: "
            f"coefficients up to {coef:.1e} from R's, SEs up to {se:.1e}.")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load_at_start = os.getloadavg()[0]

    lines = ["# lifelines against this package and R: what it lacks, where it differs, speed", "",
             f"Machine: {platform.machine()}, Python {platform.python_version()}, NumPy {np.__version__}, "
             f"pandas {pd.__version__}, lifelines {lifelines.__version__}. Command: "
             f"`python benchmarks/lifelines_comparison.py --sizes {args.sizes}` (run {started}).", "",
             "## What lifelines offers", "", *what_lifelines_offers(), "",
             "## Aalen-Johansen on tied times: lifelines against cmprsk::cuminc", "",
             "CIF of cause 1 at every distinct observed time t, against the stored `cuminc` output "
             "(tests/reference/incidence_reference.json), largest absolute difference. Once two causes tie "
             "anywhere, lifelines moves every event time (not only the tied ones) by a uniform draw in "
             "±1e-4 (`jitter_level`); *at t* reads its CIF at the observed time (events moved past t not yet "
             "counted), *after the jitter* at t + 2e-4 (every event at t counted, in a made-up order).", "", *aalen_johansen_rows(), "",
             "AalenJohansenFitter(seed=...).fit overwrites the caller's state of NumPy's global random generator "
             f"(np.random.seed): "
             f"{'yes' if global_random_state_is_overwritten() else 'no'}.", "",
             "## Where lifelines' defaults give other numbers than R's", "", *default_differences(),
             time_varying_row(), "",
             "## Speed, one run each", "",
             f"Synthetic registry (`analysis.registry_synthetic`, seed {SEED}, whole-day times in months), "
             "as in benchmarks/RESULTS.md; before the first size each call runs once untimed (imports, caches). "
             "lifelines with its defaults. *max |Δ|*: Kaplan-Meier S(t) at every time; log-rank statistic "
             "(relative); Cox coefficients; CIF at 12 and 60 months.", "", *speed_rows(sizes), ""]
    lines.append(f"1-minute load average of the machine at the start and the end of the run: "
                 f"{load_at_start:.2f}, {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores): anything above 0 "
                 "is work other than this run (at the start) or besides it (at the end), which slows it.")
    text = "\n".join(lines)
    print(text)
    if args.output:
        args.output.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
