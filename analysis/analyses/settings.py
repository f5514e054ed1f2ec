"""The study's analysis choices, checked when the study is loaded (not when a page renders).

`load_study` reads study.yml with the data layer (`analysis.data.study.read_study`) and adds the
checks only the analyses can make: that each grouping and covariate is a SPEC column, one of the
study's own columns (`mapping.extra`) or one of the derived groupings (`analysis.domain.groupings`)
whose columns the study has, and that the publication to reproduce is one the reproduction chapter
knows.  Every problem of the file is reported at once.  `unusable` gives the same reasons to the
command line, for a name given with `--by` or `--covariates`.
"""
from __future__ import annotations

from pathlib import Path

from analysis.data.schema import BY_NAME, date_column_of_time, spec_name
from analysis.data.study import Study, read_study
from analysis.data.study_file import did_you_mean
from analysis.domain.groupings import DERIVED

__all__ = ["collinear_covariates", "load_study", "settings_problems", "unusable"]


def _columns_needed(name: str) -> tuple[str, ...]:
    return DERIVED[name].sources if name in DERIVED else (name,)


#: Columns that cannot group patients (an id or date gives every patient a group of their own; a
#: measurement such as age needs cut points: its derived grouping) or enter a model.
_NOT_A_GROUPING = ("id", "date", "number")
_NOT_A_COVARIATE = ("id", "date")


def _spec_of(name: str):
    """The SPEC column a name stands for: itself, or the date column of an `X_day` / `X_months` name."""
    return BY_NAME.get(spec_name(name) or date_column_of_time(name) or name)


def _kind_problem(key: str, name: str, study: Study) -> str | None:
    spec = _spec_of(name)
    kind = spec.kind if spec is not None else None
    own = {e.name: e for e in study.mapping.extra}
    if name in own:
        kind = "number" if own[name].kind == "numeric" else "code"
    refused = _NOT_A_GROUPING if key == "groupings" else _NOT_A_COVARIATE
    if kind not in refused:
        return None
    derived = [g for g, grouping in DERIVED.items() if name in grouping.sources]
    what = {"id": "an identifier", "date": "a date", "number": "a measurement"}[kind]
    hint = f"; did you mean {derived[0]}?" if derived and key == "groupings" else ""
    return f"{key}: {name!r} is {what}, not a {'grouping' if key == 'groupings' else 'covariate'}{hint}"


def unusable(name: str, study: Study | None, columns=None) -> str | None:
    """Why `name` cannot group or adjust an analysis of this study, or None when it can.

    `columns`, when given, are the columns of the validated data (the command line knows them);
    a study's settings are checked without data.
    """
    mapping = study.mapping if study is not None else None
    own = {e.name for e in mapping.extra} if mapping is not None else set()
    if name in own and name in DERIVED:
        return f"{name!r} is both a column of the study (mapping.extra) and a derived grouping; rename the column"
    for column in _columns_needed(name):
        if mapping is not None and column in mapping.unavailable:
            via = f" (grouping {name} uses {column})" if name in DERIVED else ""
            return f"{column!r} is declared unavailable in the study (mapping.unavailable){via}"
        spec = _spec_of(column)
        if spec is not None and spec.kind in ("id", "date") and column not in own:
            continue  # an identifier or a time after HCT: refused with its own reason (_kind_problem, grouping_problem)
        if column not in BY_NAME and column not in own and (columns is None or column not in columns):
            known = set(columns) if columns is not None else set(BY_NAME) | own
            choices = sorted(c for c in known if not c.endswith(("_date", "_day", "_months")) and c != "patient_id")
            return (f"{name!r} is not a SPEC column, a column of the study (mapping.extra) or a derived grouping"
                    f"{did_you_mean(name, [*choices, *DERIVED])} (choose one of {', '.join(choices + list(DERIVED))})")
        if columns is not None and column not in columns:
            return f"{column!r} is not in the data" + (f" (grouping {name} uses it)" if name in DERIVED else "")
    if name in DERIVED and mapping is not None:
        grouping = DERIVED[name]
        for column in grouping.sources:
            added = [c for c in mapping.levels.get(column, ()) if c not in grouping.classifies]
            if added:
                return (f"{name!r} places only the codes {', '.join(grouping.classifies)} of {column} in its groups; "
                        f"the study adds {', '.join(added)} (mapping.levels): group by {column} itself")
    return None


#: Kinds of column whose levels a model codes as dummies: a derived grouping that merges such a
#: column's levels is a sum of its dummies, so the two cannot be covariates of one model.
_CATEGORICAL = ("code", "flag")


def collinear_covariates(covariates) -> list[str]:
    """Why some of `covariates` cannot be estimated together: a derived grouping beside the coded
    column it merges (status_crpr_vs_nr and status_at_hct; graft_cb_vs_other and graft_source).
    A derived grouping of a measurement (age_group beside age) is estimable and passes."""
    problems = []
    for name in covariates:
        if name not in DERIVED:
            continue
        for column in DERIVED[name].sources:
            spec = BY_NAME.get(column)
            if column in covariates and spec is not None and spec.kind in _CATEGORICAL:
                problems.append(f"covariates: {name!r} merges the levels of {column!r}, also a covariate: a model "
                                f"cannot estimate both (they are collinear); keep one of them")
    return problems


def settings_problems(study: Study) -> list[str]:
    """What is wrong with the study's groupings, covariates and publication to reproduce."""
    problems = collinear_covariates(study.covariates)
    for key, names in (("groupings", study.groupings), ("covariates", study.covariates)):
        for name in names:
            why = unusable(name, study)
            if why is not None:
                problems.append(f"{key}: {why}")
                continue
            kind = _kind_problem(key, name, study)
            if kind is not None:
                problems.append(kind)
    # (imported here: the reproduction's estimators are not needed to read a study file)
    from analysis.analyses.reproduction import PUBLISHED_STUDIES

    if study.reproduce is not None and study.reproduce not in PUBLISHED_STUDIES:
        problems.append(f"reproduce: unknown publication {study.reproduce!r}{did_you_mean(study.reproduce, PUBLISHED_STUDIES)}"
                        f" (known: {', '.join(PUBLISHED_STUDIES)}, or none)")
    return problems


def load_study(path: str | Path | None = None) -> Study:
    """The study file ($REPORT_STUDY, else study.yml) with every setting checked; $REPORT_DATA overrides its data."""
    return read_study(path, check_settings=settings_problems)
