"""The study's analysis choices, checked when the study is loaded (not when a page renders).

`load_study` reads study.yml with the data layer (`analysis.data.study.read_study`) and adds the
checks only the analyses can make: that each grouping and covariate is a SPEC column or one of
the derived groupings (`analysis.domain.groupings`) whose columns the study has, and that the
publication to reproduce is one the reproduction chapter knows.  Every problem of the file is
reported at once.
"""
from __future__ import annotations

from pathlib import Path

from analysis.analyses.reproduction import PUBLISHED_STUDIES
from analysis.data.schema import BY_NAME
from analysis.data.study import Study, read_study
from analysis.domain.groupings import DERIVED

__all__ = ["load_study", "settings_problems"]


def _columns_needed(name: str) -> tuple[str, ...]:
    return DERIVED[name].sources if name in DERIVED else (name,)


def settings_problems(study: Study) -> list[str]:
    """What is wrong with the study's groupings, covariates and publication to reproduce."""
    problems = []
    unavailable = set(study.mapping.unavailable)
    for key, names in (("groupings", study.groupings), ("covariates", study.covariates)):
        for name in names:
            needed = _columns_needed(name)
            if not all(column in BY_NAME for column in needed):
                problems.append(f"{key}: {name!r} is not a SPEC column or one of {', '.join(DERIVED)}")
                continue
            for column in needed:
                if column in unavailable:
                    problems.append(f"{key}: {name!r} needs {column}, which the study declares unavailable")
    if study.reproduce is not None and study.reproduce not in PUBLISHED_STUDIES:
        problems.append(f"reproduce: unknown publication {study.reproduce!r}; known: {', '.join(PUBLISHED_STUDIES)}")
    return problems


def load_study(path: str | Path | None = None) -> Study:
    """The study file ($REPORT_STUDY, else study.yml) with every setting checked; $REPORT_DATA overrides its data."""
    return read_study(path, check_settings=settings_problems)
