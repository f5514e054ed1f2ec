"""Study configuration (`study.yml`): which data, how to read them, what to report.

The same project serves another transplant study by another configuration,
without code changes: `REPORT_STUDY=studies/bmt.yml make report`.  The format is
documented in the README ("Study configuration").  `read_study` checks every setting
the data layer understands (data, encoding, sheet, mapping, inclusion criteria, types of
the analysis settings); the analyses add theirs through `check_settings`
(`analysis.analyses.settings.load_study`), so that all problems of a file are reported
at once (`StudyConfigError`) when the study is loaded, never later when a page renders.
"""
from __future__ import annotations

import codecs
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from analysis.data.cohort import Cohort, load_cohort
from analysis.data.inclusion import Criterion, criteria_from_settings
from analysis.data.mapping import Mapping, mapping_from_settings
from analysis.data.paths import DEFAULT_STUDY, PROJECT_ROOT

__all__ = ["Study", "StudyConfigError", "read_study", "study_cohort", "study_path"]

KNOWN_KEYS = {"title", "data", "encoding", "sheet", "mapping", "include", "horizons", "landmarks", "groupings",
              "covariates", "privacy", "reproduce", "synthetic", "landmark_at_risk"}

#: Who is at risk at a landmark s: "after" (T > s: still followed after the landmark, the default, as
#: `dynpred::cutLM`) or "on" (T >= s: followed up to the landmark day, an event on that day included).
LANDMARK_AT_RISK = ("after", "on")


class StudyConfigError(ValueError):
    """A study.yml that cannot be used, with every problem listed."""


@dataclass(frozen=True)
class Study:
    title: str
    data: Path
    source: Path | None = None  # the study file, None for the built-in default
    encoding: str | None = None
    sheet: str | int | None = None
    mapping: Mapping = field(default_factory=Mapping)
    horizons: tuple[float, ...] = (12, 60)
    landmarks: tuple[float, ...] = (12,)
    landmark_at_risk: str = "after"
    groupings: tuple[str, ...] = ("status_crpr_vs_nr", "graft_cb_vs_other", "graft_source")
    covariates: tuple[str, ...] = ("status_at_hct", "graft_source", "age")
    min_cell: int = 0
    reproduce: str | None = None
    synthetic: bool | None = None
    include: tuple[Criterion, ...] = ()

    @property
    def unavailable(self) -> tuple[str, ...]:
        return self.mapping.unavailable

    @property
    def on_landmark(self) -> bool:
        """Whether a patient whose follow-up ends on the landmark day is at risk at it (T >= s)."""
        return self.landmark_at_risk == "on"


def _numbers(value, key: str, problems: list[str], *, may_be_empty: bool = False) -> tuple[float, ...]:
    values = value if isinstance(value, list) else [value]
    if not values and may_be_empty:
        return ()
    if not values or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in values):
        problems.append(f"{key}: expected a list of positive numbers (months), got {value!r}")
        return ()
    return tuple(float(v) if not float(v).is_integer() else int(v) for v in values)


def _choice(value, key: str, choices: tuple[str, ...], problems: list[str]) -> str:
    if value not in choices:
        problems.append(f"{key}: expected one of {', '.join(choices)}, got {value!r}")
        return choices[0]
    return value


def _names(value, key: str, problems: list[str]) -> tuple[str, ...]:
    values = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str) and v for v in values):
        problems.append(f"{key}: expected a list of names, got {value!r}")
        return ()
    return tuple(values)


def _check_inclusion_usable(study: Study, problems: list[str]) -> None:
    unavailable = set(study.mapping.unavailable)
    for criterion in study.include:
        if criterion.column in unavailable:
            problems.append(f"include: {criterion.column} is declared unavailable")


def _reproduce(value, problems: list[str]) -> str | None:
    """The published study to reproduce; null, "none" or absent for none."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none", "null")) or value is False:
        return None
    if not isinstance(value, str):
        problems.append(f"reproduce: expected the name of a published study or none, got {value!r}")
        return None
    return value


def study_path() -> Path:
    """$REPORT_STUDY if set, else study.yml at the project root."""
    chosen = os.environ.get("REPORT_STUDY")
    if not chosen:
        return DEFAULT_STUDY
    path = Path(chosen)
    return path if path.is_absolute() else PROJECT_ROOT / path


def read_study(path: str | Path | None = None,
               check_settings: Callable[[Study], list[str]] | None = None) -> Study:
    """Read a study file ($REPORT_STUDY, else study.yml); $REPORT_DATA, when set, overrides its data path.

    `check_settings` returns the problems of the analysis settings that only a higher layer can
    judge (which groupings exist, which publications can be reproduced); they are listed with
    the file's other problems.
    """
    path = Path(path) if path is not None else study_path()
    if not path.exists():
        raise StudyConfigError(f"study configuration not found: {path}")
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(raw, dict):
        raise StudyConfigError(f"{path}: expected a mapping of settings")
    problems: list[str] = []
    unknown = set(raw) - KNOWN_KEYS
    if unknown:
        problems.append(f"unknown setting(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(KNOWN_KEYS))}")
    if not raw.get("data"):
        problems.append("data: the path of the extract is required")
    privacy = raw.get("privacy") or {}
    min_cell = privacy.get("min_cell", 0) if isinstance(privacy, dict) else None
    if not isinstance(min_cell, int) or isinstance(min_cell, bool) or min_cell < 0:
        problems.append(f"privacy.min_cell: expected a whole number >= 0, got {min_cell!r}")
        min_cell = 0
    defaults = Study(title="", data=Path())
    study = Study(
        title=str(raw.get("title") or "Outcomes after allogeneic HCT"),
        data=Path(raw.get("data") or ""),
        source=path,
        encoding=raw.get("encoding"),
        sheet=raw.get("sheet"),
        mapping=mapping_from_settings(raw.get("mapping"), problems),
        horizons=_numbers(raw["horizons"], "horizons", problems) if "horizons" in raw else defaults.horizons,
        landmarks=(_numbers(raw["landmarks"] if raw["landmarks"] is not None else [], "landmarks", problems,
                            may_be_empty=True) if "landmarks" in raw else defaults.landmarks),
        landmark_at_risk=_choice(raw.get("landmark_at_risk", defaults.landmark_at_risk), "landmark_at_risk",
                                 LANDMARK_AT_RISK, problems),
        groupings=_names(raw["groupings"], "groupings", problems) if "groupings" in raw else defaults.groupings,
        covariates=_names(raw["covariates"], "covariates", problems) if "covariates" in raw else defaults.covariates,
        min_cell=min_cell,
        reproduce=_reproduce(raw.get("reproduce"), problems),
        synthetic=raw.get("synthetic"),
        include=criteria_from_settings(raw.get("include"), problems),
    )
    if raw.get("synthetic") is not None and not isinstance(raw.get("synthetic"), bool):
        problems.append(f"synthetic: expected true or false, got {raw.get('synthetic')!r}")
    if raw.get("sheet") is not None and not isinstance(raw.get("sheet"), (str, int)):
        problems.append(f"sheet: expected a sheet name or number, got {raw.get('sheet')!r}")
    if raw.get("encoding") is not None:
        try:
            codecs.lookup(str(raw["encoding"]))
        except LookupError:
            problems.append(f"encoding: unknown encoding {raw['encoding']!r} (e.g. utf-8, cp932)")
    _check_inclusion_usable(study, problems)
    if check_settings is not None:
        problems.extend(check_settings(study))
    if problems:
        raise StudyConfigError(f"{path}:\n" + "\n".join(f"  {p}" for p in problems))
    overridden = bool(os.environ.get("REPORT_DATA"))
    data = Path(os.environ["REPORT_DATA"]) if overridden else study.data
    if not data.is_absolute():
        data = (PROJECT_ROOT if overridden else path.parent) / data
    # The study's `synthetic:` describes its own file; another file is judged by its folder.
    synthetic = None if overridden else study.synthetic
    return Study(**{**study.__dict__, "data": data, "synthetic": synthetic})


def study_cohort(study: Study) -> Cohort:
    """The study's extract read, mapped, validated and selected (its inclusion criteria)."""
    return load_cohort(study.data, synthetic=study.synthetic, encoding=study.encoding, sheet=study.sheet,
                       mapping=study.mapping, include=study.include)
