"""Where a page kernel's time goes: every page executed twice, as `quarto render` does.

Not a test.  Quarto renders a page for each of its formats (HTML, then Typst for the PDF), one page
at a time, each execution in a fresh kernel; this does the same through the executor
(`analysis.build.qmd.execute_qmd`) and splits each execution's wall time into

- kernel: starting the kernel (until it answers) and stopping it;
- quarto setup: Quarto's own first cell (`import matplotlib.pyplot`, figure options);
- import: the `from analysis.pages import ...` of `report/_setup.qmd`;
- load: the rest of the setup cell (the study, the cohort from `.cohort-cache/`, the page's display);
- compute: the page's hidden cells (`include: false`: one call to compute);
- show: every other cell (tables, figures, sentences, inline expressions).

    .venv/bin/python benchmarks/page_benchmark.py [--data FILE --study FILE] [--repeat N] [--cold] [--floor]

`--data` and `--study` point the pages at another extract (REPORT_DATA, REPORT_STUDY), as the tests
do; `--cold` empties the page caches first (`.cohort-cache/`), as a first render after a change
would find them.  `--floor` then times the same executions with each page's own cells left out
(a fresh kernel and Quarto's setup cell, nothing else): what no change to the package can take off.
The kernels inherit this process's environment.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.build.qmd import (FORMATS, SETUP_TAG, cell_options, chapters, execute_qmd,  # noqa: E402
                                qmd_to_notebook)
from analysis.data.cohort_cache import COHORT_CACHE  # noqa: E402

PARTS = ("kernel", "quarto setup", "import", "load", "compute", "show")
IMPORT_LINE = "from analysis.pages import"
LOAD_LINE = "settings = study()"


def _split_setup(notebook) -> None:
    """The page's setup cell as three cells (import, load, the rest) so each is timed on its own."""
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code" and IMPORT_LINE in cell.source and LOAD_LINE in cell.source:
            head, load = cell.source.split(LOAD_LINE, 1)
            parts = [nbformat.v4.new_code_cell(head), nbformat.v4.new_code_cell(LOAD_LINE + load)]
            parts[0].metadata["part"], parts[1].metadata["part"] = "import", "load"
            notebook.cells[index:index + 1] = parts
            return


def _part(cell) -> str:
    if SETUP_TAG in cell.metadata.get("tags", []):
        return "quarto setup"
    if "part" in cell.metadata:
        return cell.metadata["part"]
    return "compute" if cell_options(cell.source).get("include") is False else "show"


def execute_timed(page: Path, to: str, floor: bool = False) -> dict[str, float]:
    """One execution of `page` for format `to`: seconds per part (PARTS) and in all; with `floor`, of
    the page without its own cells (one empty cell, so that the kernel is started)."""
    notebook = qmd_to_notebook(page)
    if floor:
        notebook.cells = [nbformat.v4.new_code_cell("")] if any(c.cell_type == "code" for c in notebook.cells) else []
    _split_setup(notebook)
    times = dict.fromkeys(PARTS, 0.0)
    clock = {"start": time.perf_counter()}

    def started(**_):
        times["kernel"] += time.perf_counter() - clock["start"]

    def cell_start(cell, **_):
        clock["cell"] = time.perf_counter()

    def cell_done(cell, **_):
        clock["done"] = time.perf_counter()
        times[_part(cell)] += clock["done"] - clock["cell"]

    # (kernels on TCP ports, as Quarto starts them: the executor's ipc sockets start faster)
    execute_qmd(page, to=to, notebook=notebook, tcp=True,
                hooks={"on_notebook_start": started, "on_cell_start": cell_start, "on_cell_executed": cell_done})
    end = time.perf_counter()
    if "done" in clock:
        times["kernel"] += end - clock["done"]  # stopping the kernel
    times["total"] = end - clock["start"]
    return times


def run(pages: list[Path], cold: bool, floor: bool = False) -> tuple[list[tuple[str, str, dict]], float]:
    if cold:
        shutil.rmtree(COHORT_CACHE, ignore_errors=True)
    rows, start = [], time.perf_counter()
    for page in pages:
        for to in FORMATS:  # Quarto: each page for every format, then the next page
            rows.append((page.relative_to(ROOT).as_posix(), to, execute_timed(page, to, floor)))
    return rows, time.perf_counter() - start


def table(rows: list[tuple[str, str, dict]], wall: float) -> str:
    lines = ["| page | format | " + " | ".join(PARTS) + " | total |", "|---|---|" + "---:|" * (len(PARTS) + 1)]
    for page, to, times in rows:
        lines.append(f"| {page} | {to} | " + " | ".join(f"{times[p]:.2f}" for p in (*PARTS, "total")) + " |")
    sums = {p: sum(t[p] for _, _, t in rows) for p in (*PARTS, "total")}
    lines.append("| **all** | | " + " | ".join(f"**{sums[p]:.1f}**" for p in (*PARTS, "total")) + " |")
    return "\n".join(lines) + f"\n\nEvery page executed twice, one execution at a time: {wall:.1f} s wall.\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path)
    parser.add_argument("--study", type=Path)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--cold", action="store_true")
    parser.add_argument("--floor", action="store_true",
                        help="also time the executions without the pages' own cells (kernel and Quarto's setup)")
    parser.add_argument("pages", nargs="*", type=Path)
    args = parser.parse_args(argv)
    if args.data:
        os.environ["REPORT_DATA"] = str(args.data.resolve())
    if args.study:
        os.environ["REPORT_STUDY"] = str(args.study.resolve())
    pages = [p.resolve() for p in args.pages] or chapters()
    walls = []
    for repeat in range(args.repeat):
        rows, wall = run(pages, args.cold)
        walls.append(wall)
        print(f"run {repeat + 1}: {os.getloadavg()[0]:.1f} load average (1 min) at the end", file=sys.stderr)
        print(table(rows, wall))
        if args.floor:
            _, floor = run(pages, cold=False, floor=True)
            print(f"The same executions without the pages' own cells (a fresh kernel and Quarto's setup "
                  f"cell each): {floor:.1f} s wall.\n")
    if len(walls) > 1:
        print(f"median {statistics.median(walls):.1f} s ({min(walls):.1f}-{max(walls):.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
