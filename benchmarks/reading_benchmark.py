"""Reading and validating at registry scale: the user's commands end to end, against R.

Not a test.  `run_benchmarks.py --reading-data DIR` runs it after the estimators; on its own:

    .venv/bin/python benchmarks/reading_benchmark.py DIR [--repeat 3] [--no-r] [--output FILE]

DIR holds `registry_1000000.csv` (unquoted) and `registry_1000000_quoted.csv` (every cell quoted, as
R's `write.csv` writes it); the other inputs are derived from them the first time and kept there:
a CP932 copy of the quoted file (with a Japanese free-text column, so that it really is CP932),
the first 10^5 records of each CSV, a typed Parquet file (dates as dates, counts as integers) of
10^6 and 10^5 records and an `.xlsx` workbook of 10^5.  Each command runs in a fresh process
(`--repeat` times, the median quoted); wall and CPU seconds and the peak resident memory are the
operating system's accounting of that process (GNU `time`).  R's equivalent of `estimates` is
`tests/reference/endpoints_reference.R` (`read.csv` + `survfit` + `survdiff` + `cuminc` for every
endpoint, by graft source) on the same file; the JSON both write is compared number by number.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
SMALL = 100_000


def _run(command: list[str], cwd: Path = ROOT) -> dict:
    """One fresh process: wall and CPU seconds, peak RSS (MiB), exit status, its standard output.

    Measured by GNU time, a small process of its own: a child forked from this one would count this
    process's memory in its peak (Linux keeps the high-water mark across exec)."""
    with tempfile.TemporaryDirectory() as tmp:
        accounting = Path(tmp) / "time.txt"
        start = time.perf_counter()
        run = subprocess.run(["/usr/bin/time", "-f", "%U %S %M", "-o", str(accounting), *command], cwd=cwd,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        wall = time.perf_counter() - start
        user, system, peak_kb = accounting.read_text().split()[-3:]
    return {"wall": wall, "cpu": float(user) + float(system), "peak_mb": int(peak_kb) / 1024,
            "status": run.returncode, "stdout": run.stdout.decode("utf-8", errors="replace")}


def _timed(command: list[str], repeat: int, cwd: Path = ROOT) -> dict:
    runs = [_run(command, cwd) for _ in range(repeat)]
    return {"wall": statistics.median(r["wall"] for r in runs), "cpu": statistics.median(r["cpu"] for r in runs),
            "peak_mb": max(r["peak_mb"] for r in runs), "walls": [r["wall"] for r in runs],
            "ok": all(r["status"] in (0, 1) for r in runs), "stdout": runs[-1]["stdout"]}


def prepare(directory: Path) -> dict[str, Path]:
    """The inputs, derived from the two CSVs the first time."""
    files = {"csv": directory / "registry_1000000.csv", "quoted": directory / "registry_1000000_quoted.csv",
             "cp932": directory / "registry_1000000_quoted_cp932.csv",
             "csv_small": directory / f"registry_{SMALL}.csv", "quoted_small": directory / f"registry_{SMALL}_quoted.csv",
             "parquet": directory / "registry_1000000.parquet", "parquet_small": directory / f"registry_{SMALL}.parquet",
             "xlsx_small": directory / f"registry_{SMALL}.xlsx", "xlsx_mixed": directory / f"registry_{SMALL}_mixed.xlsx"}
    for name in ("csv", "quoted"):
        if not files[name].is_file():
            raise SystemExit(f"{files[name]} is missing")
    if not files["cp932"].is_file():
        lines = files["quoted"].read_text(encoding="utf-8").split("\n")
        lines = [lines[0] + ',"備考"'] + [line + ',"経過良好"' if line else line for line in lines[1:]]
        files["cp932"].write_bytes("\n".join(lines).encode("cp932"))
    for big, small in (("csv", "csv_small"), ("quoted", "quoted_small")):
        if not files[small].is_file():
            with open(files[big], encoding="utf-8") as source:
                head = [next(source) for _ in range(SMALL + 1)]
            files[small].write_text("".join(head), encoding="utf-8")
    for big, n in (("parquet", None), ("parquet_small", SMALL)):
        if not files[big].is_file():
            _write_parquet(files["csv"], files[big], n)
    if not files["xlsx_small"].is_file():
        _write_xlsx(files["csv_small"], files["xlsx_small"])
    if not files["xlsx_mixed"].is_file():
        _write_xlsx(files["csv_small"], files["xlsx_mixed"], not_available_every=997)
    return files


def _write_parquet(source: Path, target: Path, n: int | None) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq
    from pyarrow import csv as pa_csv

    table = pa_csv.read_csv(source)
    if n is not None:
        table = table.slice(0, n)
    columns = {name: table.column(name).cast(pa.date32()) if name.endswith("_date") else table.column(name)
               for name in table.column_names}
    pq.write_table(pa.table(columns), target)


def _write_xlsx(source: Path, target: Path, not_available_every: int = 0) -> None:
    """The CSV as a workbook, dates as dates and whole numbers as numbers; with `not_available_every`,
    every so many records' age is the text "n/a" (a registry's "not available" in a number column)."""
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("registry")
    with open(source, encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle)
        header = next(rows)
        sheet.append(header)
        for number, row in enumerate(rows):
            cells = [None if v == "" else dt.date.fromisoformat(v) if name.endswith("_date")
                     else int(v) if v.lstrip("-").isdigit() else v for name, v in zip(header, row)]
            if not_available_every and number % not_available_every == 5:
                cells[header.index("age")] = "n/a"
            sheet.append(cells)
    workbook.save(target)


# What Quarto's setup cell imports in every page kernel before the page's own cells (analysis.build.qmd.setup_cell).
QUARTO_SETUP = "import matplotlib.pyplot; from matplotlib_inline.backend_inline import set_matplotlib_formats"
_READ = ("import sys; from analysis.data.readers import read_table; frame = read_table(sys.argv[1]); "
         "print(len(frame), dict(frame.dtypes.astype(str)))")


def _agreement(ours: dict, theirs: dict) -> tuple[float, list[str]]:
    """The largest |difference| of the estimates and confidence limits of two `estimates` documents,
    and the tests whose statistics differ by more than 1e-8 (relative), each with both values."""
    worst, tests = 0.0, []
    for name, expected in theirs["endpoints"].items():
        got = ours["endpoints"][name]
        for label, group in expected["groups"].items():
            for t, point in group["at"].items():
                for field in ("estimate", "lower", "upper"):
                    a, b = got["groups"][label]["at"].get(t, {}).get(field), point[field]
                    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
                        worst = max(worst, abs(a - b))
        a, b = got["test"]["statistic"], expected["test"]["statistic"]
        if abs(a - b) > 1e-8 * max(1.0, abs(b)):
            tests.append(f"{name} {got['test']['name']} {a:.6g} (R {b:.6g})")
    return worst, tests


def measure(directory: Path, repeat: int, use_r: bool, only: tuple[str, ...] = ()) -> list[dict]:
    """Every row, or those whose label starts with one of `only`."""
    files = prepare(directory)
    rows = []

    def wanted(label):
        return not only or label.startswith(only)

    def row(label, command, n, **extra):
        if not wanted(label):
            return None
        result = _timed(command, repeat)
        rows.append({"label": label, "n": n, **result, **extra})
        print(f"{label}: {result['wall']:.2f} s wall, {result['cpu']:.2f} s CPU, {result['peak_mb']:.0f} MiB",
              file=sys.stderr, flush=True)
        return result

    validate = [PYTHON, "-m", "analysis", "validate"]
    for key, label, n in (("csv_small", "validate: CSV", SMALL), ("quoted_small", "validate: CSV, quoted (R write.csv)", SMALL),
                          ("csv", "validate: CSV", 10**6), ("quoted", "validate: CSV, quoted (R write.csv)", 10**6),
                          ("cp932", "validate: CSV, quoted, CP932", 10**6),
                          ("parquet_small", "validate: Parquet", SMALL), ("parquet", "validate: Parquet", 10**6),
                          ("xlsx_small", "validate: .xlsx", SMALL),
                          ("xlsx_mixed", "validate: .xlsx, \"n/a\" in a number column (read cell by cell)", SMALL)):
        row(label, validate + [str(files[key])], n)
    for key, label, n in (("parquet", "read: Parquet (columnar, dates as dates)", 10**6),
                          ("xlsx_small", "read: .xlsx (calamine via fastexcel, Arrow)", SMALL)):
        row(label, [PYTHON, "-c", _READ, str(files[key])], n)

    with tempfile.TemporaryDirectory() as tmp:
        if not wanted("estimates"):
            return rows + _pages_and_imports(repeat, wanted)
        ours_json = Path(tmp) / "ours.json"
        estimates = [PYTHON, "-m", "analysis", "estimates", str(files["quoted"]), "--by", "graft_source",
                     "--times", "12,60", "--json"]  # (the R script's times)
        ours = row("estimates --by graft_source --json (every endpoint)", estimates, 10**6)
        ours_json.write_text(ours["stdout"], encoding="utf-8")
        if use_r:
            r_json = Path(tmp) / "r.json"
            r = _timed(["Rscript", "tests/reference/endpoints_reference.R", str(r_json), str(files["quoted"])],
                       max(1, min(repeat, 2)))
            diff, tests = None, []
            if r_json.is_file():
                diff, tests = _agreement(json.loads(ours["stdout"]), json.loads(r_json.read_text(encoding="utf-8")))
            rows[-1].update({"r_wall": r["wall"], "r_cpu": r["cpu"], "r_peak_mb": r["peak_mb"], "r_ok": r["ok"],
                             "diff": diff, "tests_differ": tests})
            print(f"R: {r['wall']:.2f} s wall; largest |difference| {diff}; tests differing: {tests}",
                  file=sys.stderr, flush=True)

    return rows + _pages_and_imports(repeat, wanted)


def _pages_and_imports(repeat: int, wanted) -> list[dict]:
    rows = []
    if not wanted("every page"):
        return rows + _imports(repeat, wanted)
    # every page executed twice on the 59-patient cohort, as `quarto render` does: each page for HTML, then for
    # Typst, one execution at a time, each in a fresh kernel (benchmarks/page_benchmark.py); the first run
    # starts with empty page caches (.cohort-cache/), as the first render after a change does
    import page_benchmark

    saved = {key: os.environ.pop(key, None) for key in ("REPORT_DATA", "REPORT_STUDY")}
    try:
        walls = [page_benchmark.run(page_benchmark.chapters(), cold=(i == 0))[1] for i in range(max(1, min(repeat, 2)))]
    finally:
        os.environ.update({key: value for key, value in saved.items() if value is not None})
    rows.append({"label": "every page executed twice (HTML + Typst), 59-patient cohort", "n": 59,
                 "wall": statistics.median(walls), "cpu": None, "peak_mb": None, "walls": walls, "ok": True})
    return rows + _imports(repeat, wanted)


def _imports(repeat: int, wanted) -> list[dict]:
    if not wanted("import"):
        return []
    rows = []
    imports = _timed([PYTHON, "-c", "import analysis.pages"], repeat)
    rows.append({"label": "import analysis.pages (alone)", "n": None, **imports})
    quarto = _timed([PYTHON, "-c", QUARTO_SETUP], repeat)
    rows.append({"label": "Quarto's setup cell (import matplotlib.pyplot ...)", "n": None, **quarto})
    both = _timed([PYTHON, "-c", QUARTO_SETUP + "; import analysis.pages"], repeat)
    rows.append({"label": "Quarto's setup cell, then import analysis.pages", "n": None, **both})
    return rows


def markdown(rows: list[dict], repeat: int) -> str:
    def seconds(value):
        return "–" if value is None else f"{value:.2f}"

    lines = ["## Reading, validating and `estimates` end to end (issue 16)", "",
             f"Each command in a fresh process, the median of {repeat} runs (wall and CPU seconds; the spread of the "
             "wall times in brackets) and the largest peak resident memory, from the operating system's accounting "
             "of the process (GNU `time`), Python start-up and imports included.  The machine has 2 cores shared "
             "with other work: wall times vary with the load, CPU times less.", "",
             "| command | records | wall s | CPU s | peak RSS MiB | R | R / ours |",
             "|---|---:|---:|---:|---:|---|---:|"]
    for r in rows:
        spread = f" ({min(r['walls']):.1f}-{max(r['walls']):.1f})" if len(r.get("walls") or []) > 1 else ""
        r_text, ratio = "–", "–"
        if r.get("r_wall") is not None:
            r_text = f"{r['r_wall']:.1f} s wall, {r['r_peak_mb']:.0f} MiB; max \\|Δ\\| {r['diff']:.1e}" \
                if r.get("diff") is not None else f"{r['r_wall']:.1f} s wall"
            ratio = f"{r['r_wall'] / r['wall']:.1f}×"
        n = "–" if r["n"] is None else f"{r['n']:,}"
        peak = "–" if r.get("peak_mb") is None else f"{r['peak_mb']:.0f}"
        lines.append(f"| {r['label']} | {n} | {seconds(r['wall'])}{spread} | {seconds(r.get('cpu'))} | {peak} | "
                     f"{r_text} | {ratio} |")
    for r in rows:
        if r.get("tests_differ"):
            lines += ["", f"Tests of `{r['label']}` whose statistic differs from R's `cuminc` (estimates and limits "
                      "agree within the maximum shown): " + "; ".join(r["tests_differ"]) + "."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-r", action="store_true")
    parser.add_argument("--output", type=Path)
    parser.add_argument("--only", default="", help="the rows whose label starts with one of these words, "
                                                   "comma-separated (e.g. validate,estimates); default every row")
    args = parser.parse_args(argv)
    only = tuple(word.strip() for word in args.only.split(",") if word.strip())
    rows = measure(args.directory, args.repeat, not args.no_r and shutil.which("Rscript") is not None, only)
    text = markdown(rows, args.repeat)
    print(text)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
