"""Benchmark: adjusted probabilities (`analysis.stats.adjusted`) against R's `riskRegression::ate`.

Not a test.  For each size n it generates a seeded synthetic registry
(`analysis.build.registry_synthetic`), derives with this package's endpoint code overall survival and
relapse (non-relapse death competing), and standardises over five covariates (status at HCT,
age, sex, conditioning, year of HCT) by graft source (CB, PB, BM):

* OS: Cox model (Efron) and the g-formula, as ``ate(coxph(...), treatment = "graft")``;
* relapse: cause-specific Cox models of relapse and of non-relapse death, as
  ``ate(CSC(...), treatment = "graft", cause = 1)``;

at 12 and 60 months, each with standard errors, differences and ratios.  Ours: the best of
``--repeat`` runs of the whole call (model fits included).  R: ``system.time`` around the model
fit and around ``ate`` (reading the CSV is not timed), in one Rscript run on the same data
written as CSV.  The estimates must agree within 1e-6 and the standard errors within 1e-5
(relative).  Our time for the whole curve (every event time) is reported too, and at sizes where
that is too large, for the factors chapter's curve (`analysis.analyses.adjusted.curve_times`).

Usage (from the project root):
    .venv/bin/python benchmarks/adjusted_benchmark.py 1000 10000 100000 [--repeat 3] [--no-r]
        [--output benchmarks/RESULTS-adjusted.md]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.analyses.adjusted import CURVE_BUDGET  # noqa: E402
from analysis.build.registry_synthetic import write_registry  # noqa: E402
from analysis.data.cohort import load_cohort  # noqa: E402
from analysis.domain.endpoints import endpoint_data  # noqa: E402
from analysis.stats.adjusted import adjusted_incidence, adjusted_survival  # noqa: E402
from finegray_benchmark import fmt, machine_line  # noqa: E402

TIMES = (12.0, 60.0)
LEVELS = ("CB", "PB", "BM")
COLUMNS = ["st_PR", "st_NR", "age", "female", "ric", "year"]
ESTIMATE_TOLERANCE = 1e-6
SE_TOLERANCE = 1e-5
# Our whole-curve run is skipped beyond this many patients x event times (minutes of work).
CURVE_CAP = 2e8

R_SCRIPT = r"""
suppressPackageStartupMessages({library(survival); library(riskRegression)})
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
d$graft <- factor(d$graft, levels = c("CB", "PB", "BM"))
d$st <- factor(d$st, levels = c("CR", "PR", "NR"))
d$sex <- factor(d$sex, levels = c("M", "F"))
d$cond <- factor(d$cond, levels = c("MAC", "RIC"))
times <- c(12, 60)
out <- function(...) cat(..., "\n")
values <- function(name, v) out(name, sprintf("%.17g", v))
fit_time <- system.time(fit <- coxph(Surv(os_time, os_status) ~ graft + st + age + sex + cond + year, data = d,
                                     ties = "efron", x = TRUE, y = TRUE))[["elapsed"]]
ate_time <- system.time(a <- ate(fit, treatment = "graft", data = d, times = times, verbose = FALSE))[["elapsed"]]
out("os_fit", fit_time); out("os_ate", ate_time)
m <- as.data.frame(a$meanRisk); m <- m[order(match(m$treatment, levels(d$graft)), m$time), ]
values("os_estimate", m$estimate); values("os_se", m$se)
fit_time <- system.time(csc <- CSC(Hist(rel_time, rel_status) ~ graft + st + age + sex + cond + year, data = d,
                                   ties = "efron"))[["elapsed"]]
ate_time <- system.time(a <- suppressWarnings(ate(csc, treatment = "graft", data = d, times = times, cause = 1,
                                                  verbose = FALSE)))[["elapsed"]]
out("relapse_fit", fit_time); out("relapse_ate", ate_time)
m <- as.data.frame(a$meanRisk); m <- m[order(match(m$treatment, levels(d$graft)), m$time), ]
values("relapse_estimate", m$estimate); values("relapse_se", m$se)
"""


def prepare(n: int, seed: int, directory: Path) -> pd.DataFrame:
    """The analysis frame (OS, relapse, graft, five covariates) derived from a synthetic registry."""
    registry = directory / f"registry_{n}.csv"
    write_registry(registry, n, seed=seed)
    d = load_cohort(registry, synthetic=True).data
    os_, rel = endpoint_data(d, "os"), endpoint_data(d, "relapse")
    return pd.DataFrame({
        "os_time": os_.time, "os_status": os_.status, "rel_time": rel.time, "rel_status": rel.status,
        "graft": d["graft_source"].to_numpy(dtype=object), "st": d["status_at_hct"].to_numpy(dtype=object),
        "age": d["age"].to_numpy(float), "sex": d["sex"].to_numpy(dtype=object),
        "cond": d["conditioning"].to_numpy(dtype=object), "year": d["hct_year"].to_numpy(float),
    })


def covariates(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        "st_PR": (frame["st"] == "PR").astype(float), "st_NR": (frame["st"] == "NR").astype(float),
        "age": frame["age"], "female": (frame["sex"] == "F").astype(float),
        "ric": (frame["cond"] == "RIC").astype(float), "year": frame["year"],
    })


def ours(frame: pd.DataFrame, times, repeat: int) -> dict:
    x = covariates(frame)
    calls = {
        "os": lambda: adjusted_survival(frame["os_time"], frame["os_status"], frame["graft"], x, times=times,
                                        levels=LEVELS, group_name="graft"),
        "relapse": lambda: adjusted_incidence(frame["rel_time"], frame["rel_status"], frame["graft"], x, times=times,
                                              levels=LEVELS, group_name="graft"),
    }
    out = {}
    for name, call in calls.items():
        best = np.inf
        for _ in range(repeat):
            start = time.perf_counter()
            result = call()
            best = min(best, time.perf_counter() - start)
        out[name] = best
        out[f"{name}_result"] = result
    return out


def run_r(csv: Path, timeout: float) -> dict | None:
    with tempfile.NamedTemporaryFile("w", suffix=".R", delete=False) as fh:
        fh.write(R_SCRIPT)
        script = Path(fh.name)
    try:
        run = subprocess.run(["Rscript", str(script), str(csv)], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    finally:
        script.unlink()
    if run.returncode != 0:
        raise RuntimeError(run.stderr)
    values = {}
    for line in run.stdout.splitlines():
        key, *rest = line.split()
        values[key] = np.array([float(v) for v in rest])
    return values


def differences(result, r: dict, name: str) -> tuple[float, float]:
    """Largest |estimate difference| and largest relative SE difference (R's risk scale for OS)."""
    estimate = np.concatenate([c.estimate for c in result.curves])
    se = np.concatenate([c.se for c in result.curves])
    if result.kind == "survival":
        estimate = 1.0 - estimate
    r_estimate, r_se = r[f"{name}_estimate"], r[f"{name}_se"]
    return float(np.max(np.abs(estimate - r_estimate))), float(np.max(np.abs(se - r_se) / r_se))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[1000, 10000, 100000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20240611)
    parser.add_argument("--no-r", action="store_true")
    parser.add_argument("--r-timeout", type=float, default=1800.0)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args(argv)
    use_r = not args.no_r and shutil.which("Rscript") is not None
    started = datetime.now(timezone.utc)
    load_before = os.getloadavg()[0]

    rows, failures, data_rows = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        for n in sorted(args.sizes):
            frame = prepare(n, args.seed, directory)
            csv = directory / f"analysis_{n}.csv"
            frame.to_csv(csv, index=False)  # floats as repr(): R reads the same doubles
            mine = ours(frame, TIMES, args.repeat)
            r = run_r(csv, args.r_timeout) if use_r else None
            os_events = np.unique(frame["os_time"][frame["os_status"] == 1]).size
            rel_events = np.unique(frame["rel_time"][frame["rel_status"] > 0]).size
            curve = {}
            for name, event_times in (("os", os_events), ("relapse", rel_events)):
                if n * event_times <= CURVE_CAP:
                    curve[name] = ("every event time", event_times + 1, ours(frame, None, 1)[name])
                else:
                    points = min(event_times, max(50, CURVE_BUDGET // n)) + 1
                    grid = np.linspace(0, 60, points)
                    curve[name] = ("0 to 60 months evenly, as large a grid as the factors chapter uses at this size",
                                   points, ours(frame, grid, 1)[name])
            data_rows.append((n, int((frame["os_status"] == 1).sum()), int((frame["rel_status"] == 1).sum()),
                              int((frame["rel_status"] == 2).sum()), os_events, rel_events))
            for name, label in (("os", "OS: Cox + g-formula"), ("relapse", "Relapse: cause-specific Cox + g-formula")):
                row = {"n": n, "label": label, "ours": mine[name], "curve": curve[name]}
                if r is not None:
                    row["r_fit"] = float(r[f"{name}_fit"][0])
                    row["r_ate"] = float(r[f"{name}_ate"][0])
                    row["d_est"], row["d_se"] = differences(mine[f"{name}_result"], r, name)
                    if row["d_est"] > ESTIMATE_TOLERANCE or row["d_se"] > SE_TOLERANCE:
                        failures.append(f"n = {n}, {name}: Δestimate {row['d_est']:.1e}, Δse {row['d_se']:.1e}")
                rows.append(row)
                print(row, flush=True)

    lines = [
        "# Adjusted probabilities: `analysis.stats.adjusted` vs `riskRegression::ate`",
        "",
        machine_line(),
        "",
        f"Command: `python benchmarks/adjusted_benchmark.py {' '.join(map(str, sorted(args.sizes)))} "
        f"--repeat {args.repeat}` (run {started:%Y-%m-%d %H:%M} UTC). riskRegression "
        + (subprocess.run(["Rscript", "-e", 'cat(format(packageVersion("riskRegression")))'], capture_output=True,
                          text=True).stdout.strip() if use_r else "not run") + ".",
        "",
        "Data: `analysis.registry_synthetic.write_registry(n, seed)` (whole-day times), OS and relapse (non-relapse "
        "death competing) derived by this package's endpoint code; adjusted by graft source (CB, PB, BM) for status "
        "at HCT (PR, NR vs CR), age, sex, conditioning and year of HCT (5 covariates, 6 model columns besides the "
        "2 graft columns). Evaluated at 12 and 60 months; 3 curves with SEs and CIs, 3 differences, 3 ratios.",
        "",
        "Times in seconds. *ours*: the whole call (model fits, standardisation, influence functions), best of the "
        "repeats. *R fit*: `coxph(x = TRUE, y = TRUE)` or `CSC()`; *R ate*: `ate(...)` on that fit (its "
        "influence functions included); *R / ours* compares fit + ate with ours. Δestimate: largest absolute "
        "difference of the 6 estimates (risk scale); Δse: largest relative difference of their standard errors.",
        "",
        "| n | analysis | ours (s) | R fit (s) | R ate (s) | R / ours | Δestimate | Δse (rel.) | ours, curve (s) | curve times |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        total_r = row.get("r_fit", np.nan) + row.get("r_ate", np.nan)
        ratio = f"{total_r / row['ours']:.1f}×" if "r_fit" in row else "–"
        lines.append(
            f"| {row['n']:,} | {row['label']} | {fmt(row['ours'])} | {fmt(row.get('r_fit'))} | {fmt(row.get('r_ate'))} "
            f"| {ratio} | {row['d_est']:.1e} | {row['d_se']:.1e} | {fmt(row['curve'][2])} | {row['curve'][1]:,}: "
            f"{row['curve'][0]} |" if "r_fit" in row else
            f"| {row['n']:,} | {row['label']} | {fmt(row['ours'])} | – | – | – | – | – | {fmt(row['curve'][2])} "
            f"| {row['curve'][1]:,}: {row['curve'][0]} |"
        )
    lines += ["", "| n | deaths | relapses | non-relapse deaths | distinct death times | distinct relapse/NRM times |",
              "|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {n:,} | {a:,} | {b:,} | {c:,} | {d:,} | {e:,} |" for n, a, b, c, d, e in data_rows]
    lines += ["", f"Load average (1 min) at the start and the end of the run: {load_before:.1f} and "
              f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (other jobs sharing the machine slow both sides)."]
    lines += ["", "Within 1e-6 (estimates) and 1e-5 (relative SE) of ate at every size run: "
              + ("not checked (R not run)" if not use_r else "yes" if not failures else "NO: " + "; ".join(failures))]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
