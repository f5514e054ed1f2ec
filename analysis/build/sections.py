"""Which optional sections the study's data allow, as metadata for Quarto.

Some analyses need data an extract may lack: engraftment, acute or chronic GVHD with their onset,
patients with primary induction failure who reached CR after HCT.  Their figure cells then draw nothing,
but Quarto still numbers and captions a labelled figure cell that has no output
(quarto-dev/quarto-cli#7520).  Each such figure therefore sits in a
``::: {.content-visible when-meta="KEY"}`` block, and Quarto runs this module before every
render (`pre-render` in `_quarto.yml`, after the provenance step): it reads the study's
extract and writes `report/_metadata.yml`, directory metadata (git-ignored) that sets each KEY to
true or false for the chapters in `report/`.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
import yaml

from analysis.analyses.adjusted import ADJUSTED_ENDPOINTS
from analysis.analyses.factors import adjusted_available
from analysis.analyses.landmark import cr_after_hct_available, gvhd_states_available
from analysis.analyses.settings import load_study
from analysis.build.provenance import write_if_changed
from analysis.data.paths import PROJECT_ROOT
from analysis.data.problems import DataValidationError
from analysis.data.study import StudyConfigError, study_cohort
from analysis.domain.endpoints import section_available

SECTIONS_FILE = Path("report") / "_metadata.yml"
HEADER = ("# Written by analysis/build/sections.py before every render (git-ignored): the optional sections\n"
          "# this study's data allow, read by the chapters' `.content-visible when-meta` blocks.\n")


def section_flags(data: pd.DataFrame, record_changes: bool = False) -> dict[str, bool]:
    """Metadata key -> whether the data allow that section (`record_changes`: the study file
    excluded or corrected records, which the cohort chapter lists)."""
    return {
        "study-has-engraftment": section_available(data, "engraftment"),
        "study-has-acute-gvhd": section_available(data, "acute_gvhd"),
        "study-has-chronic-gvhd": section_available(data, "chronic_gvhd"),
        "study-has-cr-after-hct": cr_after_hct_available(data),
        "study-has-gvhd-states": gvhd_states_available(data),
        "study-has-record-changes": record_changes,
    }


def adjusted_flags(available: dict[str, bool]) -> dict[str, bool]:
    """Metadata keys of the factors chapter's adjusted probabilities: one per endpoint, and any."""
    flags = {f"study-has-adjusted-{endpoint}": available[endpoint] for endpoint in ADJUSTED_ENDPOINTS}
    flags["study-has-adjusted"] = any(available.values())
    return flags


def study_section_flags() -> dict[str, bool]:
    """`section_flags` of the study's validated extract ($REPORT_STUDY, $REPORT_DATA as the chapters read them),
    whether its study file changed records, and whether its groupings and covariates allow adjusted probabilities."""
    settings = load_study()
    cohort = study_cohort(settings)
    return {**section_flags(cohort.data, bool(cohort.audit)), **adjusted_flags(adjusted_available(cohort, settings))}


def write_sections(flags: dict[str, bool], root: Path = PROJECT_ROOT) -> bool:
    """Write `report/_metadata.yml`; True when it changed (`quarto preview` re-renders on a change)."""
    target = root / SECTIONS_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    return write_if_changed(target, HEADER + yaml.safe_dump(flags, sort_keys=True))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis.build sections", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=PROJECT_ROOT, help="project folder (default: this project)")
    args = parser.parse_args(argv)
    try:
        flags = study_section_flags()
    except (StudyConfigError, DataValidationError, FileNotFoundError) as error:
        print(f"sections: error: {error}", file=sys.stderr)
        return 2
    write_sections(flags, args.root.resolve())
    print("sections: " + ", ".join(f"{key} {'yes' if on else 'no'}" for key, on in flags.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
