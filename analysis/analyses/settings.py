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
from analysis.data.study_file import did_you_mean
from analysis.domain.groupings import DERIVED

__all__ = ["load_study", "settings_problems"]


def _columns_needed(name: str) -> tuple[str, ...]:
    return DERIVED[name].sources if name in DERIVED else (name,)


#: Columns that cannot group patients (an id or date gives every patient a group of their own; a
#: measurement such as age needs cut points: its derived grouping) or enter a model.
_NOT_A_GROUPING = ("id", "date", "number")
_NOT_A_COVARIATE = ("id", "date")


def _kind_problem(key: str, name: str) -> str | None:
    spec = BY_NAME.get(name)
    refused = _NOT_A_GROUPING if key == "groupings" else _NOT_A_COVARIATE
    if spec is None or spec.kind not in refused:
        return None
    derived = [g for g, grouping in DERIVED.items() if name in grouping.sources]
    what = {"id": "an identifier", "date": "a date", "number": "a measurement"}[spec.kind]
    hint = f"; did you mean {derived[0]}?" if derived and key == "groupings" else ""
    return f"{key}: {name!r} is {what}, not a {'grouping' if key == 'groupings' else 'covariate'}{hint}"


def settings_problems(study: Study) -> list[str]:
    """What is wrong with the study's groupings, covariates and publication to reproduce."""
    problems = []
    unavailable = set(study.mapping.unavailable)
    for key, names in (("groupings", study.groupings), ("covariates", study.covariates)):
        for name in names:
            needed = _columns_needed(name)
            if not all(column in BY_NAME for column in needed):
                problems.append(f"{key}: {name!r} is not a SPEC column or one of {', '.join(DERIVED)}"
                                f"{did_you_mean(name, [*BY_NAME, *DERIVED])}")
                continue
            kind = _kind_problem(key, name)
            if kind is not None:
                problems.append(kind)
                continue
            for column in needed:
                if column in unavailable:
                    problems.append(f"{key}: {name!r} needs {column}, which the study declares unavailable")
    if study.reproduce is not None and study.reproduce not in PUBLISHED_STUDIES:
        problems.append(f"reproduce: unknown publication {study.reproduce!r}{did_you_mean(study.reproduce, PUBLISHED_STUDIES)}"
                        f" (known: {', '.join(PUBLISHED_STUDIES)}, or none)")
    return problems


def load_study(path: str | Path | None = None) -> Study:
    """The study file ($REPORT_STUDY, else study.yml) with every setting checked; $REPORT_DATA overrides its data."""
    return read_study(path, check_settings=settings_problems)
