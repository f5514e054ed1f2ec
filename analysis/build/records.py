"""Quarto's third pre-render step: what each version publishes about itself.

Run before every render (`analysis/build/prerender_release.py`, after the provenance and sections
steps), it writes generated, git-ignored files:

- `results.json`: the headline results, aggregate only, small-cell rule applied
  (`analysis.build.results`), which `publish` compares between releases;
- `citation.bib`: how to cite this version (`analysis.build.citation`);
- `report/full-report.qmd` and `report/_full-report-title.typ`: the whole report as one PDF
  (`analysis.build.full_report`).

    python -m analysis.build records [--root DIR]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from analysis.analyses.citation import BIBTEX_FILE, bibtex
from analysis.build.full_report import FullReportError, write_full_report
from analysis.build.provenance import write_if_changed
from analysis.build.results import RESULTS_FILE, headline_record
from analysis.data.paths import PROJECT_ROOT


def write_records(root: Path = PROJECT_ROOT) -> list[Path]:
    """Write every record of this build; return the files that changed."""
    from analysis.analyses.provenance import collect
    from analysis.analyses.settings import load_study
    from analysis.data.study import study_cohort

    study = load_study()
    cohort = study_cohort(study)
    provenance = collect(cohort=cohort, root=root)
    written = []
    results = json.dumps(headline_record(cohort, study), indent=2, ensure_ascii=False) + "\n"
    for path, text in ((root / RESULTS_FILE, results), (root / BIBTEX_FILE, bibtex(provenance, root))):
        if write_if_changed(path, text):
            written.append(path)
    return written + write_full_report(provenance, study.title, root)


def main(argv: list[str] | None = None) -> int:
    from analysis.data.problems import DataValidationError
    from analysis.data.study import StudyConfigError

    parser = argparse.ArgumentParser(prog="python -m analysis.build records", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=PROJECT_ROOT, help="project folder (default: this project)")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    try:
        written = write_records(root)
    except (StudyConfigError, DataValidationError, FullReportError, FileNotFoundError) as error:
        print(f"records: error: {error}", file=sys.stderr)
        return 2
    names = ", ".join(p.relative_to(root).as_posix() for p in written) or "unchanged"
    print(f"records: {names}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
