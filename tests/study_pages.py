"""A study's report pages executed once, as Quarto's Jupyter engine runs them, and read as a reader reads them.

`execute_study` sets the study ($REPORT_STUDY, optionally $REPORT_DATA) for the kernels it starts, works out
which optional sections the study's data allow and which pages the study leaves out (what the pre-render
step writes for Quarto), executes the pages two at a time and restores the environment.  The fixtures of
`tests/conftest.py` keep one `StudyPages` per study for the whole session, so the chapter tests and the
reader tests share one execution of each page.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from analysis.build.qmd import chapters, execute_pages, reader_text
from analysis.data.paths import PROJECT_ROOT


@contextmanager
def study_environment(study: Path, data: Path | None = None):
    """$REPORT_STUDY (and $REPORT_DATA) set for the block, as `make report` sets them for Quarto."""
    saved = {key: os.environ.get(key) for key in ("REPORT_STUDY", "REPORT_DATA")}
    os.environ["REPORT_STUDY"] = str(study)
    if data is not None:
        os.environ["REPORT_DATA"] = str(data)
    else:
        os.environ.pop("REPORT_DATA", None)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def page_name(page: Path) -> str:
    """'report/landmark.qmd' for a page of the project."""
    return Path(page).resolve().relative_to(PROJECT_ROOT).as_posix()


@dataclass
class StudyPages:
    """Executed pages of one study: `notebooks` by page name, the section flags and the pages left out."""

    name: str
    flags: dict
    left_out: tuple[str, ...]
    notebooks: dict[str, nbformat.NotebookNode] = field(default_factory=dict)

    def text(self, page: str) -> str:
        """What a reader reads on `page` ('report/landmark.qmd')."""
        return reader_text(self.notebooks[page], self.flags)

    def shown(self) -> dict[str, str]:
        """Every page the study's site shows (not left out), as a reader reads it."""
        return {page: self.text(page) for page in self.notebooks if page not in self.left_out}


def execute_study(name: str, study: Path, data: Path | None = None, pages: list[str] | None = None) -> StudyPages:
    from analysis.build.sections import study_left_out_pages, study_section_flags

    with study_environment(study, data):
        flags = study_section_flags()
        left_out = tuple(study_left_out_pages())
        wanted = [p for p in chapters() if pages is None or page_name(p) in pages]
        result = StudyPages(name, flags, left_out)
        for page, notebook in execute_pages(wanted, jobs=2):
            result.notebooks[page_name(page)] = notebook
    return result


def delivery_study_file(folder, shape: str):
    """The example study of a registry delivery shape (studies/<shape>.yml) pointed at its delivery, written
    into `folder` by analysis.build.deliveries as `make data` writes it."""
    from analysis.build import deliveries

    extract = folder / f"{shape}.csv"
    extract.write_text(deliveries.delivery_csv_text(deliveries.SHAPES[shape]()), encoding="utf-8")
    text = (PROJECT_ROOT / "studies" / f"{shape}.yml").read_text(encoding="utf-8")
    study = folder / "study.yml"
    study.write_text(re.sub(r"^data: .*$", f"data: {extract.name}", text, flags=re.M), encoding="utf-8")
    return study


def shared_study_pages(tmp_path_factory, name: str, execute) -> StudyPages:
    """`execute()` (an `execute_study`) once for every test process of a run: `make test` runs two
    (pytest-xdist), which share the run's base folder. The first process to ask executes the pages and
    writes them there; the others wait for it (a file lock) and read them back."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # each worker's folder is a subfolder of the run's
    folder = base / f"executed-{name}"
    folder.mkdir(exist_ok=True)
    done = folder / "study.json"
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.exists():
            record = json.loads(done.read_text(encoding="utf-8"))
            pages = StudyPages(name, record["flags"], tuple(record["left_out"]))
            for page, file in record["notebooks"].items():
                pages.notebooks[page] = nbformat.read(folder / file, as_version=4)
            return pages
        pages = execute()
        files = {page: page.replace("/", "__") + ".ipynb" for page in pages.notebooks}
        for page, file in files.items():
            nbformat.write(pages.notebooks[page], folder / file)
        done.write_text(json.dumps({"flags": pages.flags, "left_out": list(pages.left_out), "notebooks": files}),
                        encoding="utf-8")
        return pages
