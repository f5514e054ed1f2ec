"""Study configuration (`study.yml`): which data, how to read them, what to report.

The same project serves another transplant study by another configuration,
without code changes: `REPORT_STUDY=studies/bmt.yml make report`.  The format is
documented in the README ("Study configuration").  `read_study` checks every setting
the data layer understands (data, encoding, sheet, mapping, inclusion criteria, types of
the analysis settings); the analyses add theirs through `check_settings`
(`analysis.analyses.settings.load_study`), so that all problems of a file are reported
at once (`StudyConfigError`, one line each with the setting and its line in the file) when the
study is loaded, never later when a page renders.  The file is read strictly
(`analysis.data.study_file`): no YAML anchors, aliases or tags, no key given twice, no
unknown key at any level (the nearest known one is suggested).
"""
from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from analysis.data.changes import RecordChanges, changes_from_settings
from analysis.data.cohort import Cohort, load_cohort
from analysis.data.inclusion import Criterion, criteria_from_settings
from analysis.data.mapping import Mapping, mapping_from_settings, setting_date
from analysis.data.paths import DEFAULT_STUDY, PROJECT_ROOT
from analysis.data.study_file import StudyConfigError, did_you_mean, locate, read_settings

__all__ = ["MAX_MONTHS", "Study", "StudyConfigError", "read_study", "require_data_file", "study_cohort", "study_path"]

KNOWN_KEYS = ("title", "data", "encoding", "sheet", "synthetic", "horizons", "landmarks", "landmark_at_risk",
              "groupings", "covariates", "reproduce", "privacy", "include", "mapping", "time_unit", "exclude",
              "corrections", "extract_date")
#: The keys of the settings that are mappings with fixed keys (mapping: has its own, see `mapping.py`).
SUB_KEYS = {"privacy": ("min_cell",)}
#: Horizons and landmarks beyond 50 years are no follow-up a registry has (and would draw a figure
#: with hundreds of ticks).
MAX_MONTHS = 600


#: Who is at risk at a landmark s: "after" (T > s: still followed after the landmark, the default, as
#: `dynpred::cutLM`) or "on" (T >= s: followed up to the landmark day, an event on that day included).
LANDMARK_AT_RISK = ("after", "on")


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
    changes: RecordChanges = field(default_factory=RecordChanges)  # exclude: and corrections:
    extract_date: dt.date | None = None
    lines: dict = field(default_factory=dict, compare=False, repr=False)  # setting -> line in the file

    @property
    def unavailable(self) -> tuple[str, ...]:
        return self.mapping.unavailable

    @property
    def on_landmark(self) -> bool:
        """Whether a patient whose follow-up ends on the landmark day is at risk at it (T >= s)."""
        return self.landmark_at_risk == "on"


def _months(value, key: str, problems: list[str], *, may_be_empty: bool = False) -> tuple[float, ...]:
    """A non-empty list of months, each finite, above 0 and at most `MAX_MONTHS`, in increasing order (an empty
    list too when `may_be_empty`: a study without landmarks)."""
    values = value if isinstance(value, list) else [value]
    if may_be_empty and values in ([], [None]):
        return ()
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if not values or len(numbers) != len(values):
        problems.append(f"{key}: expected a list of months after HCT (numbers), got {value!r}")
        return ()
    if not all(math.isfinite(v) and 0 < v <= MAX_MONTHS for v in numbers):
        problems.append(f"{key}: every value must be a number of months above 0 and at most {MAX_MONTHS}, "
                        f"got {value!r}")
        return ()
    if any(later <= earlier for earlier, later in zip(numbers, numbers[1:])):
        problems.append(f"{key}: give the months once each, in increasing order, got {value!r}")
        return ()
    return tuple(float(v) if not float(v).is_integer() else int(v) for v in numbers)


def _choice(value, key: str, choices: tuple[str, ...], problems: list[str]) -> str:
    if value not in choices:
        problems.append(f"{key}: expected one of {', '.join(choices)}, got {value!r}")
        return choices[0]
    return value


def _names(value, key: str, problems: list[str]) -> tuple[str, ...]:
    """A non-empty list of names, each once."""
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, str) and v.strip() for v in values):
        problems.append(f"{key}: expected a list of one or more names, got {value!r}")
        return ()
    twice = sorted({v for v in values if values.count(v) > 1})
    if twice:
        problems.append(f"{key}: {', '.join(twice)} given twice")
        return ()
    return tuple(values)


def _text(raw: dict, key: str, problems: list[str], default: str | None = None) -> str | None:
    if key not in raw or raw[key] is None:
        return default
    value = raw[key]
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{key}: expected text, got {value!r}")
        return default
    return value


def _encoding(raw: dict, problems: list[str]) -> str | None:
    value = _text(raw, "encoding", problems)
    if value is None:
        return None
    try:
        b"a".decode(value)  # a text encoding: not a codec such as rot13 or base64 (empty input passes those)
    except (LookupError, ValueError):  # ValueError: a name holding a NUL character
        problems.append(f"encoding: {value!r} is not a text encoding (e.g. utf-8, cp932)")
        return None
    return value


def _sheet(raw: dict, problems: list[str]) -> str | int | None:
    value = raw.get("sheet")
    if value is None or (isinstance(value, str) and value.strip()):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    problems.append(f"sheet: expected a sheet name or number (0 = first), got {value!r}")
    return None


def _min_cell(raw: dict, problems: list[str]) -> int:
    privacy = raw.get("privacy")
    if privacy is None:
        return 0
    if not isinstance(privacy, dict):
        problems.append(f"privacy: expected min_cell: N, got {privacy!r}")
        return 0
    value = privacy.get("min_cell", 0)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        problems.append(f"privacy.min_cell: expected a whole number >= 0, got {value!r}")
        return 0
    return value


def _unknown_keys(raw: dict, problems: list[str]) -> None:
    for key in raw:
        if key not in KNOWN_KEYS:
            problems.append(f"{key}: unknown setting{did_you_mean(key, KNOWN_KEYS)}")
    for key, known in SUB_KEYS.items():
        if isinstance(raw.get(key), dict):
            for sub in raw[key]:
                if sub not in known:
                    problems.append(f"{key}.{sub}: unknown setting{did_you_mean(sub, known)} "
                                    f"(known: {', '.join(known)})")


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


def _landmarks_before_last_horizon(study: Study, given: dict, problems: list[str]) -> None:
    """Each landmark figure runs from its landmark to the last horizon."""
    if study.horizons:
        late = ", ".join(f"{v:g}" for v in study.landmarks if v >= study.horizons[-1])
        if late and "landmarks" in given:
            problems.append(f"landmarks: {late} not before the last horizon ({study.horizons[-1]:g} months), "
                            "where the landmark figures end")
        elif late:
            problems.append(f"horizons: the last horizon ({study.horizons[-1]:g} months) is not after the landmark "
                            f"({late} months, the default landmarks); give landmarks: before it")


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
    if not path.is_file():
        raise StudyConfigError(f"{path}: a folder, not a study configuration file")
    raw, lines = read_settings(path)
    raw = {} if raw is None else raw
    if not isinstance(raw, dict):
        raise StudyConfigError(f"{path}: expected settings as `key: value` lines, got {type(raw).__name__}")
    problems: list[str] = []
    _unknown_keys(raw, problems)
    data = raw.get("data")
    if data is None or data == "":
        problems.append("data: the path of the extract is required")
    elif not isinstance(data, str):
        problems.append(f"data: expected the path of the extract file, got {data!r}")
    if raw.get("synthetic") is not None and not isinstance(raw.get("synthetic"), bool):
        problems.append(f"synthetic: expected true or false, got {raw.get('synthetic')!r}")
    defaults = Study(title="", data=Path())
    study = Study(
        title=_text(raw, "title", problems, "Outcomes after allogeneic HCT"),
        data=Path(data if isinstance(data, str) else ""),
        source=path,
        encoding=_encoding(raw, problems),
        sheet=_sheet(raw, problems),
        mapping=mapping_from_settings(raw.get("mapping"), problems, raw.get("time_unit")),
        horizons=_months(raw["horizons"], "horizons", problems) if "horizons" in raw else defaults.horizons,
        landmarks=(_months(raw["landmarks"], "landmarks", problems, may_be_empty=True) if "landmarks" in raw
                   else defaults.landmarks),
        landmark_at_risk=_choice(raw.get("landmark_at_risk", defaults.landmark_at_risk), "landmark_at_risk",
                                 LANDMARK_AT_RISK, problems),
        groupings=_names(raw["groupings"], "groupings", problems) if "groupings" in raw else defaults.groupings,
        covariates=_names(raw["covariates"], "covariates", problems) if "covariates" in raw else defaults.covariates,
        min_cell=_min_cell(raw, problems),
        reproduce=_reproduce(raw.get("reproduce"), problems),
        synthetic=raw.get("synthetic") if isinstance(raw.get("synthetic"), bool) else None,
        include=criteria_from_settings(raw.get("include"), problems),
        changes=changes_from_settings(raw.get("exclude"), raw.get("corrections"), problems),
        extract_date=setting_date(raw.get("extract_date"), "extract_date", "the day the extract was made", problems),
        lines=lines,
    )
    _landmarks_before_last_horizon(study, raw, problems)
    _check_inclusion_usable(study, problems)
    if check_settings is not None:
        problems.extend(check_settings(study))
    if problems:
        raise StudyConfigError(f"{path}:\n" + "\n".join(f"  {locate(p, lines)}" for p in problems))
    overridden = bool(os.environ.get("REPORT_DATA"))
    data = Path(os.environ["REPORT_DATA"]) if overridden else study.data
    if not data.is_absolute():
        data = (PROJECT_ROOT if overridden else path.parent) / data
    data = Path(os.path.normpath(data))  # 'studies/../data/x.csv' -> 'data/x.csv' in every message
    # The study's `synthetic:` describes its own file; another file is judged by its folder.
    synthetic = None if overridden else study.synthetic
    return Study(**{**study.__dict__, "data": data, "synthetic": synthetic})


def require_data_file(study: Study) -> None:
    """Raise `StudyConfigError` unless the study's extract is a file (not a folder, not missing)."""
    data = study.data
    if data.is_file():
        return
    what = "is a folder, not an extract file" if data.is_dir() else "does not exist"
    if os.environ.get("REPORT_DATA"):
        raise StudyConfigError(f"$REPORT_DATA: {data} {what}")
    where = f"{study.source}, " if study.source is not None else ""
    line = study.lines.get("data")
    raise StudyConfigError(f"{where}{f'line {line}: ' if line else ''}data: {data} {what}")


def study_cohort(study: Study) -> Cohort:
    """The study's extract read, mapped, validated and selected (its inclusion criteria)."""
    require_data_file(study)
    return load_cohort(study.data, synthetic=study.synthetic, encoding=study.encoding, sheet=study.sheet,
                       mapping=study.mapping, include=study.include, changes=study.changes,
                       extract_date=study.extract_date)
