"""Study configuration (`study.yml`): which data, how to read them, what to report.

The same project serves another transplant study by another configuration,
without code changes: `REPORT_STUDY=studies/bmt.yml make report`.  The format is
documented in the README ("Study configuration"); every setting is checked here,
and all problems of a file are reported at once (`StudyConfigError`).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from analysis.data.paths import PROJECT_ROOT
from analysis.data.loading import Cohort, Criterion, load_cohort
from analysis.data.schema import BY_NAME, DATE_COLUMNS, MAY_BE_UNAVAILABLE, date_column_of

DEFAULT_STUDY = PROJECT_ROOT / "study.yml"
KNOWN_KEYS = {"title", "data", "encoding", "sheet", "mapping", "include", "horizons", "landmarks", "groupings",
              "covariates", "privacy", "reproduce", "synthetic"}
MAPPING_KEYS = ("columns", "codes", "constants", "unavailable", "missing")
# Derived groupings (analysis.groups) and the column each needs.
DERIVED_GROUPINGS = {"status_crpr_vs_nr": "status_at_hct", "graft_cb_vs_other": "graft_source", "age_group": "age"}


class StudyConfigError(ValueError):
    """A study.yml that cannot be used, with every problem listed."""


@dataclass(frozen=True)
class Mapping:
    """How a registry's own columns and codes map onto the SPEC format.

    `columns`: registry column name -> SPEC column name.
    `codes`: SPEC column -> {registry value -> SPEC code}.
    `constants`: SPEC column -> value for every record (a column the registry lacks,
    e.g. `graft_source: BM` for a bone-marrow-only study).
    `unavailable`: SPEC columns the registry genuinely does not record; they are not
    required (and must not be in the file), rather than being invented.
    `missing`: registry values meaning "not recorded" (e.g. `不明`), read as empty cells.
    """

    columns: dict = field(default_factory=dict)
    codes: dict = field(default_factory=dict)
    constants: dict = field(default_factory=dict)
    unavailable: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()


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
    include: tuple[Criterion, ...] = ()

    @property
    def unavailable(self) -> tuple[str, ...]:
        return self.mapping.unavailable


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


def _is_spec_target(name: str) -> bool:
    return name in BY_NAME or date_column_of(name) is not None


def _text(value) -> str:
    """A YAML scalar as the text a CSV cell would hold (1 -> '1', True -> '1')."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _mapping(value, problems: list[str]) -> Mapping:
    if value is None:
        return Mapping()
    if not isinstance(value, dict):
        problems.append(f"mapping: expected keys {', '.join(MAPPING_KEYS)}")
        return Mapping()
    unknown = set(value) - set(MAPPING_KEYS)
    if unknown:
        problems.append(f"mapping: unknown key(s) {', '.join(sorted(map(str, unknown)))} "
                        f"(expected {', '.join(MAPPING_KEYS)})")
    parts = {}
    for key in ("columns", "codes", "constants"):
        part = value.get(key) or {}
        if not isinstance(part, dict):
            problems.append(f"mapping.{key}: expected a mapping, got {part!r}")
            part = {}
        parts[key] = part
    lists = {}
    for key in ("unavailable", "missing"):
        part = value.get(key) or []
        part = part if isinstance(part, list) else [part]
        if not all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in part):
            problems.append(f"mapping.{key}: expected a list, got {value.get(key)!r}")
            part = []
        lists[key] = tuple(_text(v) for v in part)

    columns = {str(k): str(v) for k, v in parts["columns"].items()}
    for source, target in columns.items():
        if not _is_spec_target(target):
            problems.append(f"mapping.columns: {source!r} maps to {target!r}, which is not a SPEC column "
                            "(nor an X_day form of a date column)")
    targets = list(columns.values())
    for target in sorted({t for t in targets if targets.count(t) > 1}):
        sources = [s for s, t in columns.items() if t == target]
        problems.append(f"mapping.columns: {', '.join(map(repr, sources))} all map to {target}")

    codes = {}
    for column, table in parts["codes"].items():
        column = str(column)
        if not isinstance(table, dict):
            problems.append(f"mapping.codes.{column}: expected registry value -> code pairs")
            continue
        spec = BY_NAME.get(column)
        if spec is None:
            problems.append(f"mapping.codes.{column}: not a SPEC column")
            continue
        table = {_text(k): _text(v) for k, v in table.items()}
        allowed = spec.codes if spec.kind == "code" else ("0", "1") if spec.kind == "flag" else None
        if allowed:
            wrong = sorted({v for v in table.values() if v not in allowed})
            if wrong:
                problems.append(f"mapping.codes.{column}: {', '.join(wrong)} not a code of {column} "
                                f"(expected {', '.join(allowed)})")
        codes[column] = table

    constants = {}
    for column, constant in parts["constants"].items():
        column = str(column)
        if not _is_spec_target(column):
            problems.append(f"mapping.constants: {column!r} is not a SPEC column")
        elif column == "patient_id" or column in DATE_COLUMNS or date_column_of(column):
            problems.append(f"mapping.constants: {column} cannot be the same for every record")
        elif constant is None or isinstance(constant, (list, dict)):
            problems.append(f"mapping.constants.{column}: expected one value, got {constant!r}")
        else:
            spec = BY_NAME[column]
            if spec.kind == "code" and _text(constant) not in spec.codes:
                problems.append(f"mapping.constants.{column}: {constant!r} is not a code of {column} "
                                f"(expected {', '.join(spec.codes)})")
            constants[column] = _text(constant)

    unavailable = lists["unavailable"]
    for column in unavailable:
        if column not in BY_NAME:
            problems.append(f"mapping.unavailable: {column!r} is not a SPEC column")
        elif column not in MAY_BE_UNAVAILABLE:
            problems.append(f"mapping.unavailable: {column} is needed by every endpoint and cannot be unavailable")
        elif column in constants:
            problems.append(f"mapping.unavailable: {column} is also given in mapping.constants")
    return Mapping(columns=columns, codes=codes, constants=constants, unavailable=unavailable,
                   missing=lists["missing"])


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _include(value, problems: list[str]) -> tuple[Criterion, ...]:
    """`include:` -> criteria: `column: [values]`, `column_min: x`, `column_max: x`."""
    if value is None:
        return ()
    if not isinstance(value, dict):
        problems.append("include: expected column: [values], column_min: number or column_max: number")
        return ()
    order: list[str] = []
    values: dict[str, tuple[str, ...]] = {}
    bounds: dict[str, dict[str, float]] = {}
    for key, setting in value.items():
        key = str(key)
        column, bound = key, None
        for suffix in ("_min", "_max"):
            if key.endswith(suffix) and key[: -len(suffix)] in BY_NAME:
                column, bound = key[: -len(suffix)], suffix[1:]
        spec = BY_NAME.get(column)
        if spec is None or spec.kind in ("id", "date"):
            problems.append(f"include.{key}: not a column a study can select on "
                            "(use a SPEC column, or column_min / column_max for numbers)")
            continue
        if bound is not None:
            if spec.kind not in ("number", "integer"):
                problems.append(f"include.{key}: {column} is not a number")
                continue
            if not _number(setting):
                problems.append(f"include.{key}: expected a number, got {setting!r}")
                continue
            bounds.setdefault(column, {})[bound] = float(setting)
        else:
            listed = setting if isinstance(setting, list) else [setting]
            if not listed or not all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in listed):
                problems.append(f"include.{key}: expected a list of values, got {setting!r}")
                continue
            listed = tuple(_text(v) for v in listed)
            if spec.kind == "code":
                wrong = [v for v in listed if v not in spec.codes]
                if wrong:
                    problems.append(f"include.{key}: {', '.join(wrong)} not a code of {column} "
                                    f"(expected {', '.join(spec.codes)})")
                    continue
            values[column] = listed
        if column not in order:
            order.append(column)
    criteria = []
    for column in order:
        low, high = bounds.get(column, {}).get("min"), bounds.get(column, {}).get("max")
        if low is not None and high is not None and low > high:
            problems.append(f"include: {column}_min {low:g} is above {column}_max {high:g}")
        criteria.append(Criterion(column, values.get(column, ()), low, high))
    return tuple(criteria)


def _check_names_usable(study: Study, problems: list[str]) -> None:
    """Groupings and covariates must name columns the study has."""
    unavailable = set(study.mapping.unavailable)
    for key, names in (("groupings", study.groupings), ("covariates", study.covariates)):
        for name in names:
            needed = DERIVED_GROUPINGS.get(name, name) if key == "groupings" else name
            if key == "covariates" and name in DERIVED_GROUPINGS:
                needed = DERIVED_GROUPINGS[name]
            if needed not in BY_NAME:
                choices = "a SPEC column or " + ", ".join(DERIVED_GROUPINGS) if key == "groupings" else "a SPEC column"
                problems.append(f"{key}: {name!r} is not {choices}")
            elif needed in unavailable:
                problems.append(f"{key}: {name!r} needs {needed}, which the study declares unavailable")
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
        reproduce=_reproduce(raw.get("reproduce"), problems),
        synthetic=raw.get("synthetic"),
        include=_include(raw.get("include"), problems),
    )
    if raw.get("synthetic") is not None and not isinstance(raw.get("synthetic"), bool):
        problems.append(f"synthetic: expected true or false, got {raw.get('synthetic')!r}")
    if raw.get("sheet") is not None and not isinstance(raw.get("sheet"), (str, int)):
        problems.append(f"sheet: expected a sheet name or number, got {raw.get('sheet')!r}")
    if raw.get("encoding") is not None:
        import codecs

        try:
            codecs.lookup(str(raw["encoding"]))
        except LookupError:
            problems.append(f"encoding: unknown encoding {raw['encoding']!r} (e.g. utf-8, cp932)")
    _check_names_usable(study, problems)
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
