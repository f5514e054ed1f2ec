"""Which optional sections the study's data allow, and which pages the study leaves out, for Quarto.

Some analyses need data an extract may lack: engraftment, acute or chronic GVHD with their onset,
patients with primary induction failure who reached CR after HCT (enough of them to compare),
causes of death, landmarks.  Their figure cells then draw nothing, but Quarto still numbers and
captions a labelled figure cell that has no output (quarto-dev/quarto-cli#7520).  Each such section
therefore sits in a ``::: {.content-visible when-meta="KEY"}`` block, and Quarto runs this module
before every render (`pre-render` in `_quarto.yml`, after the provenance step): it reads the study's
extract and writes `report/_metadata.yml`, directory metadata (git-ignored) that sets each KEY to
true or false for the chapters in `report/`.

A whole page that does not apply to a study (the reproduction of a publication, for a study that
names none) is left out of the site: this module also writes `_pages.yml` (git-ignored), which
`_quarto.yml` reads through `metadata-files`, listing such pages as `website: drafts`.  Quarto
re-reads the project configuration after the pre-render step, and with its default
`draft-mode: gone` a draft is not linked from the navbar, the sidebar, the page navigation, search
or any in-text link, and its page is left blank.  (A profile cannot do this: Quarto chooses the
profile before any pre-render step runs, and `_quarto.yml` lists the pages once for every study.)
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd
import yaml

from analysis.analyses.adjusted import ADJUSTED_ENDPOINTS
from analysis.analyses.estimates import min_group_size
from analysis.analyses.factors import adjusted_available
from analysis.analyses.landmark import (LANDMARK_SERIES_MONTHS, chronic_gvhd_series, cr_after_hct_comparison,
                                        efs_landmark, gvhd_effects)
from analysis.analyses.settings import load_study
from analysis.analyses.transplant import causes_of_death_available
from analysis.build.provenance import write_if_changed
from analysis.pages import left_out_pages
from analysis.data.paths import PROJECT_ROOT
from analysis.data.problems import DataValidationError
from analysis.data.study import Study, StudyConfigError, study_cohort
from analysis.domain.endpoints import section_available

SECTIONS_FILE = Path("report") / "_metadata.yml"
HEADER = ("# Written by analysis/build/sections.py before every render (git-ignored): the optional sections\n"
          "# this study's data allow, read by the chapters' `.content-visible when-meta` blocks.\n")
PAGES_FILE = Path("_pages.yml")
PAGES_HEADER = ("# Written by analysis/build/sections.py before every render (git-ignored) and read by _quarto.yml\n"
                "# (metadata-files): the pages this study leaves out, as drafts Quarto neither links nor shows.\n")


def section_flags(data: pd.DataFrame, min_group: int = 0, landmarks=(), on_landmark: bool = False,
                  record_changes: bool = False) -> dict[str, bool]:
    """Metadata key -> whether the data allow that section (groups need `min_group` patients; `landmarks`
    and `on_landmark` as the study chooses them; `record_changes`: the study file excluded or corrected
    records, which the cohort chapter lists).  Each flag asks the analysis it announces."""
    cr = cr_after_hct_comparison(data, min_group=min_group)
    gvhd = gvhd_effects(data, min_group=min_group, on_landmark=on_landmark)
    return {
        "study-has-engraftment": section_available(data, "engraftment"),
        "study-has-acute-gvhd": section_available(data, "acute_gvhd"),
        "study-has-chronic-gvhd": section_available(data, "chronic_gvhd"),
        "study-has-landmarks": any(efs_landmark(data, at, min_group=min_group, on_landmark=on_landmark).curves
                                   for at in landmarks),
        "study-has-cr-after-hct": cr is not None and cr.compared,
        "study-records-gvhd": gvhd is not None,
        "study-has-gvhd-states": gvhd is not None and bool(gvhd.states),
        "study-has-acute-gvhd-day100": gvhd is not None and gvhd.acute_day100 is not None,
        "study-has-landmark-series": bool(chronic_gvhd_series(data, LANDMARK_SERIES_MONTHS, on_landmark=on_landmark)),
        "study-has-causes-of-death": causes_of_death_available(data),
        "study-has-record-changes": record_changes,
    }


def study_flags(study: Study) -> dict[str, bool]:
    """Metadata keys of the study's own choices: a publication to reproduce."""
    return {"study-reproduces": study.reproduce is not None}


def study_left_out_pages() -> list[str]:
    """The pages the study ($REPORT_STUDY) leaves out (`analysis.pages.left_out_pages`, the overview's rule too)."""
    settings = load_study()
    return list(left_out_pages(settings, study_cohort(settings)))


def adjusted_flags(available: dict[str, bool]) -> dict[str, bool]:
    """Metadata keys of the factors chapter's adjusted probabilities: one per endpoint, and any."""
    flags = {f"study-has-adjusted-{endpoint}": available[endpoint] for endpoint in ADJUSTED_ENDPOINTS}
    flags["study-has-adjusted"] = any(available.values())
    return flags


def study_section_flags() -> dict[str, bool]:
    """`section_flags` of the study's validated extract ($REPORT_STUDY, $REPORT_DATA as the chapters read them),
    the study's own choices, whether its study file changed records, and whether its groupings and covariates
    allow adjusted probabilities."""
    settings = load_study()
    cohort = study_cohort(settings)
    flags = section_flags(cohort.data, min_group_size(settings.min_cell), settings.landmarks, settings.on_landmark,
                          record_changes=bool(cohort.audit))
    return {**flags, **study_flags(settings), **adjusted_flags(adjusted_available(cohort, settings))}


def write_sections(flags: dict[str, bool], root: Path = PROJECT_ROOT) -> bool:
    """Write `report/_metadata.yml`; True when it changed (`quarto preview` re-renders on a change)."""
    target = root / SECTIONS_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    return write_if_changed(target, HEADER + yaml.safe_dump(flags, sort_keys=True))


def write_left_out_pages(pages: list[str], root: Path = PROJECT_ROOT) -> bool:
    """Write `_pages.yml` (`website: drafts:` the pages left out); True when it changed."""
    text = PAGES_HEADER + yaml.safe_dump({"website": {"drafts": list(pages)}}, sort_keys=True)
    return write_if_changed(root / PAGES_FILE, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis.build sections", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=PROJECT_ROOT, help="project folder (default: this project)")
    args = parser.parse_args(argv)
    try:
        flags = study_section_flags()
        left_out = study_left_out_pages()
    except (StudyConfigError, DataValidationError, FileNotFoundError) as error:
        print(f"sections: error: {error}", file=sys.stderr)
        return 2
    write_sections(flags, args.root.resolve())
    write_left_out_pages(left_out, args.root.resolve())
    print("sections: " + ", ".join(f"{key} {'yes' if on else 'no'}" for key, on in flags.items()))
    print("pages left out: " + (", ".join(left_out) if left_out else "none"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
