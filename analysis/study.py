"""Study configuration (`study.yml`): which data, how to read them, what to report.

The same project serves another transplant study by another configuration,
without code changes: `REPORT_STUDY=studies/bmt.yml make report`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .config import PROJECT_ROOT

DEFAULT_STUDY = PROJECT_ROOT / "study.yml"
KNOWN_KEYS = {"title", "data", "encoding", "sheet", "mapping", "horizons", "landmarks", "groupings",
              "covariates", "privacy", "reproduce", "synthetic"}


class StudyConfigError(ValueError):
    """A study.yml that cannot be used, with every problem listed."""


@dataclass(frozen=True)
class Mapping:
    """How a registry's own columns and codes map onto the SPEC format.

    `columns`: registry column name -> SPEC column name.
    `codes`: SPEC column -> {registry value -> SPEC code}.
    `constants`: SPEC column -> value for every record (a column the registry lacks,
    e.g. `graft_source: BM` for a bone-marrow-only study).
    """

    columns: dict = field(default_factory=dict)
    codes: dict = field(default_factory=dict)
    constants: dict = field(default_factory=dict)


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
    groupings: tuple[str, ...] = ("status_crpr_vs_nr", "graft_cb_vs_other", "graft_source")
    covariates: tuple[str, ...] = ("status_at_hct", "graft_source", "age")
    min_cell: int = 0
    reproduce: str | None = None
    synthetic: bool | None = None


def _numbers(value, key: str, problems: list[str]) -> tuple[float, ...]:
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in values):
        problems.append(f"{key}: expected a list of positive numbers (months), got {value!r}")
        return ()
    return tuple(float(v) if not float(v).is_integer() else int(v) for v in values)


def _names(value, key: str, problems: list[str]) -> tuple[str, ...]:
    values = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str) and v for v in values):
        problems.append(f"{key}: expected a list of names, got {value!r}")
        return ()
    return tuple(values)


def _mapping(value, problems: list[str]) -> Mapping:
    if value is None:
        return Mapping()
    if not isinstance(value, dict):
        problems.append("mapping: expected keys columns, codes, constants")
        return Mapping()
    unknown = set(value) - {"columns", "codes", "constants"}
    if unknown:
        problems.append(f"mapping: unknown key(s) {', '.join(sorted(unknown))} (expected columns, codes, constants)")
    parts = {}
    for key in ("columns", "codes", "constants"):
        part = value.get(key) or {}
        if not isinstance(part, dict):
            problems.append(f"mapping.{key}: expected a mapping, got {part!r}")
            part = {}
        parts[key] = part
    for column, table in parts["codes"].items():
        if not isinstance(table, dict):
            problems.append(f"mapping.codes.{column}: expected registry value -> code pairs")
    codes = {str(c): {str(k): str(v) for k, v in t.items()} for c, t in parts["codes"].items() if isinstance(t, dict)}
    return Mapping(
        columns={str(k): str(v) for k, v in parts["columns"].items()},
        codes=codes,
        constants={str(k): v for k, v in parts["constants"].items()},
    )


def study_path() -> Path:
    """$REPORT_STUDY if set, else study.yml at the project root."""
    chosen = os.environ.get("REPORT_STUDY")
    if not chosen:
        return DEFAULT_STUDY
    path = Path(chosen)
    return path if path.is_absolute() else PROJECT_ROOT / path


def load_study(path: str | Path | None = None) -> Study:
    """Read a study file; $REPORT_DATA, when set, overrides its data path."""
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
        mapping=_mapping(raw.get("mapping"), problems),
        horizons=_numbers(raw["horizons"], "horizons", problems) if "horizons" in raw else defaults.horizons,
        landmarks=_numbers(raw["landmarks"], "landmarks", problems) if "landmarks" in raw else defaults.landmarks,
        groupings=_names(raw["groupings"], "groupings", problems) if "groupings" in raw else defaults.groupings,
        covariates=_names(raw["covariates"], "covariates", problems) if "covariates" in raw else defaults.covariates,
        min_cell=min_cell,
        reproduce=raw.get("reproduce"),
        synthetic=raw.get("synthetic"),
    )
    if problems:
        raise StudyConfigError(f"{path}:\n" + "\n".join(f"  {p}" for p in problems))
    data = Path(os.environ["REPORT_DATA"]) if os.environ.get("REPORT_DATA") else study.data
    if not data.is_absolute():
        data = (PROJECT_ROOT if os.environ.get("REPORT_DATA") else path.parent) / data
    return Study(**{**study.__dict__, "data": data})
