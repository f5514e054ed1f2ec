"""Registry-scale benchmark: every estimator and the whole report, against R on the same data.

Not a test.  For each size n (default 10^3, 10^4, 10^5, 10^6) it

1. generates a seeded synthetic registry (`analysis.build.registry_synthetic`) and writes it as CSV
   (the SPEC extract format), then derives from it, with this package's endpoint code, one
   analysis CSV: OS and EFS (time, status), relapse with death as competing event, graft source
   (3 groups), five covariates (status PR and NR vs CR, graft PB and BM vs CB, age) and the onset
   of acute GVHD II-IV;
2. times, in a fresh Python process, each estimator on that analysis CSV: Kaplan-Meier (OS),
   Aalen-Johansen CIF of relapse with Gray's variance, the log-rank test and Gray's test of the
   3 graft groups, Cox (5 covariates, Efron ties), Fine-Gray (5 covariates), the split at the
   time-dependent acute GVHD state + Cox, and the 12-month landmark (OS by event-free status:
   Kaplan-Meier per group and log-rank); peak memory of each by tracemalloc;
3. times, in another fresh process, `load_cohort` + `compute_report` on the registry CSV (every
   chapter's computations, without Quarto), each on its own too (and compute_report's CPU time,
   which a machine shared with other jobs disturbs less than its wall time), with the process's
   peak resident memory;
4. when Rscript is installed, times the R equivalents in one Rscript run on the same analysis
   CSV, with `system.time` around each call only (reading the CSV is not timed):
   `survfit(conf.type = "log-log")`, `cuminc` without and with the group (it computes the
   group CIFs and Gray's test together), `survdiff`, `coxph`, `crr`, `finegray` + `coxph`,
   `tmerge` + `coxph`, and the landmark `survfit` + `survdiff`; peak memory of each from R's
   `gc()` ("max used"), and of the whole Rscript process;
5. checks that the numbers agree (largest absolute difference of the estimates, statistics or
   coefficients each call returns) and prints a Markdown table of times, ratios R / ours and
   peak memory.

R calls predicted to run longer than `--r-cap` seconds are skipped and marked: the prediction
scales the time measured at the previous size by (n / n_previous)^2 for `crr` and
`finegray` + `coxph` (both expand the risk sets: quadratic) and by (n / n_previous)^1.2 for the
others.  Each of our timings and each R timing is the median of `--repeat` runs, fewer when the
runs already took more than 30 s.

Usage (from the project root):
    .venv/bin/python benchmarks/run_benchmarks.py [--sizes 1000,10000,100000,1000000]
        [--r-cap 600] [--repeat 3] [--no-r] [--no-chapters] [--output benchmarks/RESULTS.md]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

COVARIATES = ["st_PR", "st_NR", "gr_PB", "gr_BM", "age"]
LANDMARK = 12.0
AGREEMENT = 1e-6  # Fine-Gray must equal crr within this (the target)
MAX_REPEAT_SECONDS = 30.0

# (key, label, R call(s) it is compared with)
ESTIMATORS = [
    ("km", "Kaplan-Meier (OS)", "survfit(conf.type = \"log-log\")"),
    ("aj", "Aalen-Johansen CIF of relapse + variance", "cuminc() without group"),
    ("logrank", "Log-rank test, 3 groups", "survdiff()"),
    ("gray", "Gray's test, 3 groups", "cuminc(group =): 3 CIFs + test"),
    ("gray_cifs", "Gray's test + the 3 group CIFs", "cuminc(group =)"),
    ("cox", "Cox, 5 covariates, Efron", "coxph()"),
    ("finegray", "Fine-Gray, 5 covariates", "crr()"),
    ("finegray_fg", "Fine-Gray, 5 covariates", "finegray() + coxph()"),
    ("timedep", "Time-dependent split + Cox", "tmerge() + coxph()"),
    ("landmark", "12-month landmark: KM by group + log-rank", "survfit() + survdiff()"),
    ("report", "load_cohort + compute_report (all chapters)", "–"),
]
# Which of our timings each R call is compared with.
OURS_FOR = {"finegray_fg": "finegray"}
QUADRATIC = {"finegray", "finegray_fg"}

R_SCRIPT = r"""
suppressPackageStartupMessages({library(survival); library(cmprsk)})
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
calls <- strsplit(args[2], ",")[[1]]
repeats <- as.integer(args[3])
covs <- c("st_PR", "st_NR", "gr_PB", "gr_BM", "age")
x <- as.matrix(d[covs])
# R heap (Mb) in use now, and the most used since the last reset
usedmb <- function(g) sum(g[, which(colnames(g) == "used") + 1])
maxmb <- function(g) sum(g[, which(colnames(g) == "max used") + 1])
out <- function(...) { cat(..., "\n"); flush(stdout()) }
timed <- function(name, f) {
  before <- usedmb(gc(reset = TRUE))
  times <- system.time(res <- f())[["elapsed"]]
  mem <- maxmb(gc()) - before  # what the call added at its peak
  while (length(times) < repeats && sum(times) < 30) times <- c(times, system.time(res <- f())[["elapsed"]])
  out("TIME", name, sprintf("%.6f", times))
  out("MEM", name, sprintf("%.1f", mem))
  res
}
value <- function(name, v) out("VALUE", name, sprintf("%.17g", v))
fml <- Surv(os_time, os_status) ~ st_PR + st_NR + gr_PB + gr_BM + age
for (call in calls) {
  if (call == "km") {
    fit <- timed(call, function() survfit(Surv(os_time, os_status) ~ 1, data = d, conf.type = "log-log"))
    value(call, fit$surv)
  } else if (call == "aj") {
    fit <- timed(call, function() cuminc(d$rel_time, d$rel_status, cencode = 0))
    tp <- timepoints(fit, c(12, 60))
    value(call, c(tp$est["1 1", ], tp$var["1 1", ]))
  } else if (call == "logrank") {
    fit <- timed(call, function() survdiff(Surv(os_time, os_status) ~ graft, data = d))
    value(call, fit$chisq)
  } else if (call == "gray_cifs") {
    fit <- timed(call, function() cuminc(d$rel_time, d$rel_status, group = d$graft, cencode = 0))
    value(call, fit$Tests["1", "stat"])
  } else if (call == "cox") {
    fit <- timed(call, function() coxph(fml, data = d, ties = "efron"))
    value(call, coef(fit))
  } else if (call == "finegray") {
    fit <- timed(call, function() crr(d$rel_time, d$rel_status, x, failcode = 1, cencode = 0))
    value(call, fit$coef)
  } else if (call == "finegray_fg") {
    d$ev <- factor(d$rel_status, levels = 0:2)
    fit <- timed(call, function() {
      fg <- finegray(Surv(rel_time, ev) ~ st_PR + st_NR + gr_PB + gr_BM + age, data = d, etype = "1")
      coxph(Surv(fgstart, fgstop, fgstatus) ~ st_PR + st_NR + gr_PB + gr_BM + age, weights = fgwt, data = fg,
            ties = "breslow")
    })
    value(call, coef(fit))
  } else if (call == "timedep") {
    fit <- timed(call, function() {
      base <- tmerge(d[c("id", covs)], d, id = id, death = event(os_time, os_status))
      td <- tmerge(base, d, id = id, agvhd = tdc(agvhd_time))
      coxph(Surv(tstart, tstop, death) ~ agvhd + st_PR + st_NR + gr_PB + gr_BM + age, data = td, ties = "efron")
    })
    value(call, coef(fit))
  } else if (call == "landmark") {
    fit <- timed(call, function() {
      lm <- d[d$os_time > 12, ]
      lm$t <- lm$os_time - 12
      lm$g <- as.integer(lm$efs_time <= 12)
      list(survfit(Surv(t, os_status) ~ g, data = lm, conf.type = "log-log"),
           survdiff(Surv(t, os_status) ~ g, data = lm))
    })
    value(call, fit[[2]]$chisq)
  }
}
out("DONE")
"""


# --------------------------------------------------------------------------- workers


def _prepare(n: int, seed: int, directory: Path) -> dict:
    """Registry CSV and the analysis CSV derived from it."""
    import numpy as np
    import pandas as pd

    from analysis.domain.endpoints import endpoint_data
    from analysis.data.cohort import load_cohort
    from analysis.analyses.models import state_months
    from analysis.build.registry_synthetic import write_registry

    registry = directory / f"registry_{n}.csv"
    start = time.perf_counter()
    write_registry(registry, n, seed=seed)
    generate = time.perf_counter() - start
    d = load_cohort(registry, synthetic=True).data
    os_, efs, rel = (endpoint_data(d, e) for e in ("os", "efs", "relapse"))
    status = d["status_at_hct"].to_numpy(dtype=object)
    graft = d["graft_source"].to_numpy(dtype=object)
    frame = pd.DataFrame({
        "id": np.arange(1, n + 1),
        "os_time": os_.time, "os_status": os_.status, "efs_time": efs.time,
        "rel_time": rel.time, "rel_status": rel.status, "graft": graft,
        "st_PR": (status == "PR").astype(int), "st_NR": (status == "NR").astype(int),
        "gr_PB": (graft == "PB").astype(int), "gr_BM": (graft == "BM").astype(int),
        "age": d["age"].to_numpy(float),
        "agvhd_time": state_months(d, "agvhd"),
    })
    analysis = directory / f"analysis_{n}.csv"
    frame.to_csv(analysis, index=False)  # floats written as repr(): read back bit for bit
    return {
        "generate": generate, "registry": str(registry), "analysis": str(analysis),
        "registry_mb": registry.stat().st_size / 2**20,
        "deaths": int(os_.status.sum()), "relapses": int((rel.status == 1).sum()),
        "nrm": int((rel.status == 2).sum()), "distinct_os_times": int(np.unique(os_.time).size),
        "agvhd": int(np.isfinite(frame["agvhd_time"]).sum()),
    }


def _read_analysis(path: str):
    import pandas as pd

    return pd.read_csv(path, float_precision="round_trip")


def _our_calls(d):
    """Our estimator calls on the analysis frame, each returning (result, values to compare)."""
    import numpy as np

    from analysis.stats.cox import cox_model
    from analysis.stats.finegray import fine_gray
    from analysis.stats.aalen_johansen import cumulative_incidence
    from analysis.stats.gray import gray_test
    from analysis.stats.landmark import landmark
    from analysis.stats.kaplan_meier import kaplan_meier
    from analysis.stats.logrank import logrank_test
    from analysis.stats.timedep import split_at_event

    os_time, os_status = d["os_time"].to_numpy(), d["os_status"].to_numpy()
    rel_time, rel_status = d["rel_time"].to_numpy(), d["rel_status"].to_numpy()
    graft = d["graft"].to_numpy(dtype=object)
    x = d[COVARIATES].to_numpy(dtype=float)
    agvhd = d["agvhd_time"].to_numpy(dtype=float)
    efs_time = d["efs_time"].to_numpy()

    def km():
        return kaplan_meier(os_time, os_status).estimate

    def aj():
        curve = cumulative_incidence(rel_time, rel_status, cause=1)
        at = [curve._index_at(t) for t in (12.0, 60.0)]
        return np.r_[curve.estimate[at], curve.variance[at]]

    def logrank():
        return [logrank_test(os_time, os_status, graft).statistic]

    def gray():
        return [gray_test(rel_time, rel_status, graft, cause=1).statistic]

    members = {level: graft == level for level in ("BM", "CB", "PB")}

    def gray_cifs():
        for level, member in members.items():
            cumulative_incidence(rel_time[member], rel_status[member], cause=1, label=level)
        return gray()

    def cox():
        return cox_model(os_time, os_status, x, ties="efron", names=COVARIATES).coef

    def finegray():
        return fine_gray(rel_time, rel_status, x, cause=1, names=COVARIATES).coef

    def timedep():
        split = split_at_event(os_time, os_status, agvhd, fixed={c: x[:, j] for j, c in enumerate(COVARIATES)},
                               names="agvhd")
        columns = ["agvhd", *COVARIATES]
        return cox_model(split.stop, split.event, split.matrix(columns), start=split.start, ties="efron",
                         names=columns).coef

    def landmark_():
        selected = landmark(os_time, os_status, LANDMARK)
        group = (efs_time <= LANDMARK).astype(int)[selected.selected]
        for g in (0, 1):
            kaplan_meier(selected.time[group == g], selected.event[group == g])
        return [logrank_test(selected.time, selected.event, group).statistic]

    return {"km": km, "aj": aj, "logrank": logrank, "gray": gray, "gray_cifs": gray_cifs, "cox": cox,
            "finegray": finegray, "timedep": timedep, "landmark": landmark_}


def _timed(function, repeat: int) -> tuple[list[float], object]:
    times: list[float] = []
    result = None
    while len(times) < repeat and sum(times) < MAX_REPEAT_SECONDS:
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return times, result


def _estimators(path: str, repeat: int) -> dict:
    import tracemalloc

    import numpy as np

    d = _read_analysis(path)
    out = {}
    for name, function in _our_calls(d).items():
        function()  # warm-up (imports, caches), not timed
        times, values = _timed(function, repeat)
        tracemalloc.start()
        function()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        out[name] = {"times": times, "peak_mb": peak / 2**20,
                     "values": [float(v) for v in np.asarray(values, dtype=float).ravel()]}
    return out


def _report(path: str, repeat: int) -> dict:
    import dataclasses
    import resource

    from analysis.data.cohort import load_cohort
    from analysis.analyses.report import compute_report
    from analysis.analyses.settings import load_study

    study = dataclasses.replace(load_study(), data=Path(path), synthetic=True, reproduce=None)

    def run():
        cohort = load_cohort(path, synthetic=True)
        loaded = time.perf_counter()
        cpu = time.process_time()
        compute_report(cohort, study)
        return loaded - start, time.perf_counter() - loaded, time.process_time() - cpu

    times, loads, computes, cpus = [], [], [], []
    while len(times) < repeat and sum(times) < MAX_REPEAT_SECONDS:
        start = time.perf_counter()
        load, compute, cpu = run()
        times.append(time.perf_counter() - start)
        loads.append(load)
        computes.append(compute)
        cpus.append(cpu)
    return {"times": times, "load": loads, "compute": computes, "compute_cpu": cpus,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def _worker(argv: list[str]) -> int:
    kind, *rest = argv
    if kind == "prepare":
        result = _prepare(int(rest[0]), int(rest[1]), Path(rest[2]))
    elif kind == "estimators":
        result = _estimators(rest[0], int(rest[1]))
    elif kind == "report":
        result = _report(rest[0], int(rest[1]))
    else:
        raise SystemExit(f"unknown worker {kind}")
    print("RESULT " + json.dumps(result))
    return 0


def _run_worker(*args) -> dict:
    run = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", *map(str, args)],
                         capture_output=True, text=True, cwd=ROOT)
    if run.returncode != 0:
        raise RuntimeError(f"worker {args[0]} failed:\n{run.stderr}")
    line = [x for x in run.stdout.splitlines() if x.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


# --------------------------------------------------------------------------- R


def _run_r(path: str, calls: list[str], repeat: int, timeout: float) -> tuple[dict, float | None, str | None]:
    """Per call: times, peak MB (gc) and values; the Rscript process's peak RSS (MB); an error."""
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "bench.R"
        script.write_text(R_SCRIPT)
        log = Path(tmp) / "out.txt"
        with open(log, "w") as stdout, open(Path(tmp) / "err.txt", "w") as stderr:
            process = subprocess.Popen(["Rscript", str(script), path, ",".join(calls), str(repeat)],
                                       stdout=stdout, stderr=stderr)
            deadline = time.monotonic() + timeout
            error, rss = None, None
            while True:
                pid, status, usage = os.wait4(process.pid, os.WNOHANG)
                if pid:
                    rss = usage.ru_maxrss / 1024
                    process.returncode = os.waitstatus_to_exitcode(status)
                    break
                if time.monotonic() > deadline:
                    process.kill()
                    os.wait4(process.pid, 0)
                    error = f"timed out after {timeout:.0f} s"
                    break
                time.sleep(0.2)
        text = log.read_text()
        if error is None and process.returncode != 0:
            error = "Rscript failed: " + (Path(tmp) / "err.txt").read_text()[-500:]
    results: dict = {}
    for line in text.splitlines():
        kind, *rest = line.split()
        if kind in ("TIME", "MEM", "VALUE"):
            entry = results.setdefault(rest[0], {})
            if kind == "TIME":
                entry["times"] = [float(v) for v in rest[1:]]
            elif kind == "MEM":
                entry["peak_mb"] = float(rest[1])
            else:
                entry["values"] = [float(v) for v in rest[1:]]
    return results, rss, error


def _predict(history: dict[int, float], n: int, exponent: float) -> float | None:
    if not history:
        return None
    previous = max(m for m in history if m < n) if any(m < n for m in history) else None
    if previous is None:
        return None
    return history[previous] * (n / previous) ** exponent


# --------------------------------------------------------------------------- report


def _versions() -> dict:
    import numpy
    import pandas
    import pyarrow
    import scipy

    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []:
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = "unknown"
    if Path("/proc/meminfo").exists():
        kb = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        memory = f"{kb / 2**20:.1f} GiB"
    r = "R not found"
    if shutil.which("Rscript"):
        r = subprocess.run(["Rscript", "-e", 'cat(R.version.string, "; survival", format(packageVersion("survival")),'
                                             ' "; cmprsk", format(packageVersion("cmprsk")))'],
                           capture_output=True, text=True).stdout.strip()
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip() or str(os.cpu_count())
    return {"cpu": cpu, "nproc": nproc, "memory": memory, "os": f"{platform.system()} {platform.release()}",
            "python": platform.python_version(), "numpy": numpy.__version__, "pandas": pandas.__version__,
            "scipy": scipy.__version__, "pyarrow": pyarrow.__version__, "r": r}


def _fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 0.01:
        return f"{seconds:.4f}"
    return f"{seconds:.3f}" if seconds < 10 else f"{seconds:.1f}"


def _fmt_mb(mb: float | None) -> str:
    return "–" if mb is None else (f"{mb:.1f}" if mb < 100 else f"{mb:,.0f}")


def _median(times) -> float | None:
    return statistics.median(times) if times else None


def _time_chapters(repeat: int, jobs: int = 1) -> dict:
    """Execute every chapter on the committed 59-patient cohort (`python -m analysis.build execute
    --jobs N`), `repeat` times (at most 3): the median wall time."""
    env = dict(os.environ)
    env.pop("REPORT_DATA", None)
    env.pop("REPORT_STUDY", None)
    times = []
    for _ in range(max(1, min(repeat, 3))):
        start = time.perf_counter()
        run = subprocess.run([sys.executable, "-m", "analysis.build", "execute", "--jobs", str(jobs)], cwd=ROOT,
                             env=env, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if run.returncode != 0:
            break
    pages = sum(1 for line in run.stdout.splitlines() if line.startswith("executed "))
    return {"seconds": statistics.median(times), "runs": times, "pages": pages, "ok": run.returncode == 0,
            "error": None if run.returncode == 0 else run.stderr[-800:], "jobs": jobs}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000,1000000",
                        help="comma-separated numbers of patients (default 1000,10000,100000,1000000)")
    parser.add_argument("--r-cap", type=float, default=600.0,
                        help="skip an R call whose predicted time exceeds this many seconds (default 600)")
    parser.add_argument("--repeat", type=int, default=3, help="median of this many runs (default 3)")
    parser.add_argument("--seed", type=int, default=20240611)
    parser.add_argument("--no-r", action="store_true", help="time ours only")
    parser.add_argument("--no-chapters", action="store_true",
                        help="do not time executing every chapter on the 59-patient cohort")
    parser.add_argument("--data-dir", type=Path, help="keep the generated CSVs here (default: a temporary folder)")
    parser.add_argument("--output", type=Path, help="also write the Markdown report to this file")
    parser.add_argument("--reading-data", type=Path, metavar="DIR",
                        help="also time reading, validating and `estimates` end to end on the registry CSVs in DIR "
                             "(benchmarks/reading_benchmark.py)")
    parser.add_argument("--worker", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return _worker(args.worker)

    sizes = sorted(int(s) for s in args.sizes.split(","))
    use_r = not args.no_r and shutil.which("Rscript") is not None
    r_history: dict[str, dict[int, float]] = {}
    rows: list[dict] = []
    data_info: dict[int, dict] = {}
    r_process: dict[int, float | None] = {}
    failures: list[str] = []
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load_before = os.getloadavg()[0]

    temporary = None
    directory = args.data_dir
    if directory is None:
        temporary = tempfile.TemporaryDirectory(prefix="allohct-bench-")
        directory = Path(temporary.name)
    directory.mkdir(parents=True, exist_ok=True)
    try:
        for n in sizes:
            log = lambda message: print(f"[n={n:,}] {message}", file=sys.stderr, flush=True)  # noqa: E731
            info = _run_worker("prepare", n, args.seed, directory)
            data_info[n] = info
            log(f"generated and wrote the registry in {info['generate']:.2f} s")
            ours = _run_worker("estimators", info["analysis"], args.repeat)
            log("ours: " + ", ".join(f"{k} {_median(v['times']):.3f} s" for k, v in ours.items()))
            report = _run_worker("report", info["registry"], args.repeat)
            ours["report"] = report
            log(f"ours: load_cohort + compute_report {_median(report['times']):.2f} s, peak {report['peak_mb']:.0f} MB")

            r_results: dict = {}
            skipped: dict[str, str] = {}
            if use_r:
                calls, budget = [], 0.0
                for key, _, _ in ESTIMATORS:
                    if key in ("report", "gray"):
                        continue
                    predicted = _predict(r_history.get(key, {}), n, 2.0 if key in QUADRATIC else 1.2)
                    if predicted is not None and predicted > args.r_cap:
                        skipped[key] = f"skipped: predicted {predicted:,.0f} s > cap {args.r_cap:,.0f} s"
                        continue
                    calls.append(key)
                    budget += predicted if predicted is not None else 60.0
                timeout = max(3 * budget * args.repeat, 2 * args.r_cap, 900.0)
                r_results, r_process[n], error = _run_r(info["analysis"], calls, args.repeat, timeout)
                for key in calls:
                    if key not in r_results or "times" not in r_results[key]:
                        skipped[key] = error or "no result"
                    else:
                        r_history.setdefault(key, {})[n] = _median(r_results[key]["times"])
                log("R: " + ", ".join(f"{k} {_median(v['times']):.3f} s" for k, v in r_results.items() if "times" in v)
                    + "".join(f"; {k} {why}" for k, why in skipped.items()))

            for key, label, r_call in ESTIMATORS:
                mine = ours[OURS_FOR.get(key, key)]
                ours_time = _median(mine["times"])
                row = {"key": key, "label": label, "r_call": r_call, "n": n, "ours": ours_time,
                       "ours_mb": mine["peak_mb"], "r": None, "r_mb": None, "diff": None, "note": ""}
                r_key = "gray_cifs" if key == "gray" else key
                if key == "report":
                    row["compute"] = _median(report["compute"])
                    row["note"] = (f"load_cohort {_fmt_time(_median(report['load']))} s, compute_report "
                                   f"{_fmt_time(row['compute'])} s ({_fmt_time(_median(report['compute_cpu']))} s "
                                   "of CPU); peak RSS of the process")
                elif not use_r:
                    row["note"] = "R not run"
                elif r_key in skipped:
                    row["note"] = "R " + skipped[r_key]
                elif r_key in r_results:
                    res = r_results[r_key]
                    row["r"], row["r_mb"] = _median(res["times"]), res.get("peak_mb")
                    if "values" in res and len(res["values"]) == len(mine["values"]):
                        row["diff"] = max((abs(a - b) / max(1.0, abs(a)) for a, b in zip(res["values"], mine["values"])),
                                          default=0.0)
                    elif "values" in res:
                        row["note"] = f"R returned {len(res['values'])} values, ours {len(mine['values'])}"
                    if key == "gray":
                        row["note"] = "R's cuminc(group =) also estimates the 3 CIFs"
                    if key == "finegray" and row["diff"] is not None and row["diff"] > AGREEMENT:
                        failures.append(f"n = {n:,}: Fine-Gray differs from crr by {row['diff']:.1e} > {AGREEMENT:g}")
                    if key == "finegray_fg":
                        row["note"] = "survival::finegray differs from crr where censoring ties an event time"
                rows.append(row)
    finally:
        if temporary is not None:
            temporary.cleanup()

    chapters = None if args.no_chapters else [_time_chapters(args.repeat, jobs) for jobs in (1, 2)]
    loads = (load_before, os.getloadavg()[0])
    report_text = _markdown(args, sizes, rows, data_info, r_process, chapters, failures, use_r, started, loads)
    if args.reading_data is not None:
        from reading_benchmark import markdown as reading_markdown, measure as measure_reading

        report_text += "\n" + reading_markdown(measure_reading(args.reading_data, args.repeat, use_r), args.repeat)
    print(report_text)
    if args.output:
        args.output.write_text(report_text)
    return 1 if failures else 0


def _targets(rows, chapters) -> list[tuple[str, str, str]]:
    """The issue's targets, each with what this run measured and whether it is met."""
    def row(key, n):
        return next((r for r in rows if r["key"] == key and r["n"] == n), None)

    def verdict(ok):
        return "–" if ok is None else ("yes" if ok else "**no**")

    out = []
    fg = row("finegray", 20000)
    if fg is not None and fg["r"] is not None:
        ratio = fg["r"] / fg["ours"]
        out.append(("Fine-Gray, 5 covariates, 20,000 patients: >= 100× faster than crr, equal within 1e-6",
                    f"{ratio:,.0f}× faster, max \\|Δcoef\\| {fg['diff']:.1e}",
                    verdict(ratio >= 100 and fg["diff"] is not None and fg["diff"] <= AGREEMENT)))
    else:
        out.append(("Fine-Gray, 5 covariates, 20,000 patients: >= 100× faster than crr, equal within 1e-6",
                    "not measured (20,000 not among the sizes, or crr not run)", "–"))
    r = row("report", 1_000_000)
    if r is not None:
        out.append(("The report's computations (compute_report), 1,000,000 patients: at most 20 s (issue 16)",
                    f"{r['compute']:.1f} s, peak {r['ours_mb'] / 1024:.1f} GiB", verdict(r["compute"] <= 20.0)))
    for n, limit in ((100_000, 60.0), (1_000_000, 600.0)):
        r = row("report", n)
        if r is None:
            continue
        gib = r["ours_mb"] / 1024
        ok = r["ours"] < limit and (n < 1_000_000 or gib < 8)
        memory = f", peak {gib:.1f} GiB" if n == 1_000_000 else ""
        out.append((f"All report computations, {n:,} patients: under {limit:g} s"
                    + (" within 8 GiB" if n == 1_000_000 else ""), f"{r['ours']:.1f} s{memory}", verdict(ok)))
    for key, label in (("km", "Kaplan-Meier"), ("aj", "Aalen-Johansen"), ("gray", "Gray's test")):
        r = row(key, 1_000_000)
        if r is None:
            continue
        if r["r"] is None:
            out.append((f"{label}, 1,000,000 patients: within 2× of R's time", "R not run", "–"))
        else:
            out.append((f"{label}, 1,000,000 patients: within 2× of R's time",
                        f"ours {r['ours']:.3f} s, R {r['r']:.3f} s", verdict(r["ours"] <= 2 * r["r"])))
    if chapters is not None:
        one_by_one = chapters[0]  # as `quarto render` runs them
        out.append(("Executing all chapters, 59-patient cohort: under 30 s",
                    f"{one_by_one['seconds']:.1f} s (one page at a time)",
                    verdict(one_by_one["ok"] and one_by_one["seconds"] < 30)))
    return out


def _markdown(args, sizes, rows, data_info, r_process, chapters, failures, use_r, started, loads) -> str:
    v = _versions()
    lines = [
        "# Registry-scale benchmark: every estimator and the whole report, against R",
        "",
        f"Machine: {v['nproc']} cores (`nproc`), {v['cpu']}, {v['memory']} memory; {v['os']}. "
        f"Python {v['python']}, NumPy {v['numpy']}, pandas {v['pandas']}, SciPy {v['scipy']}, pyarrow {v['pyarrow']}; "
        f"{v['r']}.",
        "",
        f"Command: `python benchmarks/run_benchmarks.py --sizes {','.join(map(str, sizes))} --r-cap {args.r_cap:g} "
        f"--repeat {args.repeat}{' --no-r' if args.no_r else ''}` (run {started}).",
        "",
        "Data: `analysis.build.registry_synthetic.generate_registry(n, seed=" + str(args.seed) + ")`, written as a SPEC "
        "CSV; the estimators run on an analysis CSV derived from it by this package's endpoint code (OS, EFS, "
        "relapse with non-relapse death competing, graft source CB/PB/BM, covariates status PR and NR vs CR, graft "
        "PB and BM vs CB, age; onset of acute GVHD II-IV), which R reads too. Times in seconds, the median of the "
        "repeated runs; R's are `system.time()` around the call only (not reading the CSV). *R / ours* > 1 means "
        "ours is faster. Peak memory: ours by `tracemalloc` (what the call allocates), for the whole report the "
        "peak resident memory of its process (interpreter and libraries included); R's by `gc()`: the \"max used\" "
        "R heap during the call less what was in use before it (R's own allocations; the Rscript process's peak "
        "resident memory is in the second table). *max |Δ|*: largest difference between R's and our estimates, "
        "absolute for values up to 1 and relative above (KM: S(t) at every time; CIF: F and its variance at 12 and "
        "60 months; tests: the statistic; models: the coefficients).",
        "",
        "| n | estimator | R call | ours (s) | R (s) | R / ours | ours peak (MB) | R peak (MB) | max \\|Δ\\| "
        "| notes |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        ratio = f"{row['r'] / row['ours']:,.1f}×" if row["r"] is not None and row["ours"] else "–"
        diff = "–" if row["diff"] is None else f"{row['diff']:.1e}"
        lines.append(f"| {row['n']:,} | {row['label']} | {row['r_call']} | {_fmt_time(row['ours'])} | "
                     f"{_fmt_time(row['r'])} | {ratio} | {_fmt_mb(row['ours_mb'])} | {_fmt_mb(row['r_mb'])} | "
                     f"{diff} | {row['note']} |")
    lines += ["", "Data per size (registry CSV written by `write_registry`):", "",
              "| n | generate + write CSV (s) | CSV (MB) | deaths | relapses | non-relapse deaths | distinct OS times "
              "| acute GVHD II-IV | Rscript peak RSS (MB) |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for n in sizes:
        info = data_info[n]
        lines.append(f"| {n:,} | {info['generate']:.2f} | {info['registry_mb']:.1f} | {info['deaths']:,} | "
                     f"{info['relapses']:,} | {info['nrm']:,} | {info['distinct_os_times']:,} | {info['agvhd']:,} | "
                     f"{_fmt_mb(r_process.get(n))} |")
    if chapters is not None:
        lines += ["", "Executing all chapters on the 59-patient synthetic cohort (`python -m analysis.build execute "
                      "--jobs N`: one Jupyter kernel per page with Quarto's setup cell, as `quarto render` runs "
                      "them; pages without code get no kernel):", ""]
        for run in chapters:
            how = "one page at a time, as `quarto render` does" if run["jobs"] == 1 else f"{run['jobs']} pages at a time"
            lines.append(f"- {run['pages']} pages, {how}: {run['seconds']:.1f} s wall, the median of "
                         f"{', '.join(f'{t:.1f}' for t in run['runs'])} s"
                         + ("." if run["ok"] else f", FAILED: {run['error']}"))
    if not use_r:
        lines += ["", "R runs: not done (" + ("--no-r" if args.no_r else "Rscript not on PATH") + ")."]
    lines += ["", f"Load average (1 min) at the start and the end of the run: {loads[0]:.1f} and {loads[1]:.1f} on "
                  f"{v['nproc']} cores (other jobs sharing the machine slow every timing, ours and R's; the CPU "
                  "time of compute_report, in the notes, is less affected)."]
    lines += ["", "## Targets", "", "| target | measured | met |", "|---|---|---|"]
    lines += [f"| {target} | {measured} | {met} |" for target, measured, met in _targets(rows, chapters)]
    lines += ["", f"Fine-Gray coefficients within {AGREEMENT:g} of crr at every size where crr ran: "
                  f"{'yes' if not failures else 'NO: ' + '; '.join(failures)}."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
