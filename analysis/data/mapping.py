"""A registry's own delivery mapped onto the SPEC format (a study's `mapping:` and `time_unit:`).

`mapping_from_settings` reads and checks the study file's `mapping:`; `apply_mapping` applies it
to a frame of text cells before validation.  The registry's file itself is never changed.

What a mapping can express (data/README.md shows each with an example):

- `columns`: registry column -> SPEC column (or its `X_day` form: time after HCT in `time_unit`);
- `codes`: SPEC (or the study's own) column -> {registry value -> code};
- `constants`, `unavailable`, `missing`: a value for every record, columns the registry does not
  record, values meaning "not recorded";
- `events`: (time, indicator) pairs, one per endpoint (`relapse: {time: intxrel, event: rel}`):
  the time is the event's if the indicator is 1, the censoring time if it is 0;
- `status`: one competing-risks status column with its time column (`Status` 0 = censored,
  1 = relapse, 2 = death without relapse), feeding relapse, vital status and their times;
- `levels`: the codes of a SPEC categorical column, extended by the study (`BM+PB`);
- `extra`: the registry's own analysable columns (categorical with levels and reference, or
  numeric with a unit), each with its label for the report;
- `ids: row`: patient ids from record numbers, for a file without an id column;
- `date_epoch`: the day numbered 0 of dates given as plain numbers.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from analysis.data.cells import cell_text, map_distinct, nfkc
from analysis.data.problems import Problem
from analysis.data.readers import lines_of
from analysis.data.schema import (BY_NAME, DATE_COLUMNS, EVENT_PAIRS, MAY_BE_UNAVAILABLE, TIME_UNITS, Column,
                                  date_column_of, day_column, spec_name)
from analysis.data.study_file import did_you_mean

__all__ = ["EXTRA_KEYS", "MAPPING_KEYS", "STATUS_MEANINGS", "EventPair", "ExtraColumn", "Mapping", "StatusColumn",
           "apply_mapping", "mapping_from_settings", "record_ids", "setting_date"]

MAPPING_KEYS = ("columns", "codes", "constants", "unavailable", "missing", "events", "status", "levels", "extra",
                "ids", "date_epoch")
EVENT_KEYS = ("time", "event", "codes")
STATUS_KEYS = ("column", "time", "codes")
EXTRA_KEYS = ("column", "type", "levels", "reference", "unit", "label")

#: What a code of a competing-risks status column may mean.
STATUS_MEANINGS = ("censored", "relapse", "death_without_relapse")

# SPEC columns whose codes the domain reads one by one (alive/dead; GVHD extents): a study cannot
# add levels to them.
_FIXED_CODES = frozenset({"vital_status", "cgvhd"})
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class EventPair:
    """A (time, indicator) pair of the registry: `time` is the event's time when `event` is 1, the
    censoring time when it is 0.  `codes` translates other indicator values to 1 or 0."""

    endpoint: str  # a key of schema.EVENT_PAIRS
    time: str
    event: str
    codes: dict = field(default_factory=dict)


@dataclass(frozen=True)
class StatusColumn:
    """One competing-risks status column and its time column: each code means censored, relapse or
    death without relapse (`STATUS_MEANINGS`) at that time."""

    column: str
    time: str
    codes: dict = field(default_factory=dict)  # registry value -> meaning


@dataclass(frozen=True)
class ExtraColumn:
    """One of the registry's own analysable columns, by the name the study gives it."""

    name: str
    source: str  # the registry's column
    kind: str  # "categorical" or "numeric"
    label: str
    levels: tuple[str, ...] = ()
    reference: str | None = None
    unit: str | None = None

    def column(self) -> Column:
        """Its entry in the label table."""
        if self.kind == "categorical":
            return Column(self.name, "code", self.label, codes=self.levels, reference=self.reference)
        return Column(self.name, "number", self.label, unit=self.unit)


@dataclass(frozen=True)
class Mapping:
    """How a registry's own delivery maps onto the SPEC format.

    `columns`: registry column name -> SPEC column name.
    `codes`: SPEC column (or a study column) -> {registry value -> code}.
    `constants`: SPEC column -> value for every record (a column the registry lacks,
    e.g. `graft_source: BM` for a bone-marrow-only study).
    `unavailable`: SPEC columns the registry genuinely does not record; they are not
    required (and must not be in the file), rather than being invented.
    `missing`: registry values meaning "not recorded" (e.g. `不明`), read as empty cells.
    `events`, `status`, `levels`, `extra`, `ids`, `date_epoch`: see the module's docstring.
    `time_unit`: the unit of every duration (`X_day` columns, event and status times).
    """

    columns: dict = field(default_factory=dict)
    codes: dict = field(default_factory=dict)
    constants: dict = field(default_factory=dict)
    unavailable: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    events: tuple[EventPair, ...] = ()
    status: StatusColumn | None = None
    levels: dict = field(default_factory=dict)  # SPEC column -> its codes in the study, in order
    extra: tuple[ExtraColumn, ...] = ()
    ids: str | None = None  # "row": ids from record numbers
    date_epoch: dt.date | None = None
    time_unit: str = "days"

    def study_columns(self) -> tuple[Column, ...]:
        """The label table's entries of the study: SPEC columns with its levels, and its own columns."""
        extended = []
        for name, codes in self.levels.items():
            spec = BY_NAME[name]
            extended.append(replace(spec, codes=tuple(codes)))
        return tuple(extended) + tuple(e.column() for e in self.extra)

    def codes_of(self, column: str) -> tuple[str, ...]:
        """The codes a categorical column accepts in this study."""
        if column in self.levels:
            return tuple(self.levels[column])
        for extra in self.extra:
            if extra.name == column:
                return extra.levels
        spec = BY_NAME.get(column)
        return spec.codes if spec is not None else ()

    def id_source(self) -> str | None:
        """The registry column holding patient ids (None with `ids: row`)."""
        if self.ids == "row":
            return None
        return next((source for source, target in self.columns.items() if target == "patient_id"), "patient_id")

    def pair(self, endpoint: str) -> EventPair | None:
        return next((p for p in self.events if p.endpoint == endpoint), None)

    @property
    def follow_up_ends_at_first_event(self) -> bool:
        """A status column is the only source of vital status: it records the first event only, so
        a relapsed patient's later death is unknown and overall survival stops at relapse."""
        return self.status is not None and self.pair("death") is None


# --------------------------------------------------------------------------- reading the study file


def _is_spec_name(name: str) -> bool:
    """A SPEC column or the `X_day` form of a SPEC date column."""
    return spec_name(name) is not None


def _text_list(value, key: str, problems: list[str]) -> tuple[str, ...] | None:
    listed = value if isinstance(value, list) else [value]
    if not listed or not all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in listed):
        problems.append(f"{key}: expected a list of values, got {value!r}")
        return None
    texts = tuple(cell_text(v) for v in listed)
    _duplicates(texts, key, problems)
    return texts


def _duplicates(texts, key: str, problems: list[str]) -> None:
    """Values that are the same after Unicode normalisation (full-width forms, zero-width and
    no-break spaces) are one value written twice."""
    seen: dict[str, str] = {}
    for text in texts:
        normal = nfkc(text)
        if normal in seen:
            problems.append(f"{key}: {seen[normal]!r} and {text!r} are the same value (after Unicode normalisation)")
        else:
            seen[normal] = text


def _unknown_keys(value: dict, known, key: str, problems: list[str]) -> None:
    """One problem per unknown key, named by its path (so that its line is found) with the nearest known key."""
    for name in sorted(map(str, set(value) - set(known))):
        problems.append(f"{key}.{name}: unknown key{did_you_mean(name, known)} (expected {', '.join(known)})")


def _events(value, problems: list[str]) -> tuple[EventPair, ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        problems.append(f"mapping.events: expected endpoint: {{time: column, event: column}} pairs "
                        f"(endpoints: {', '.join(EVENT_PAIRS)})")
        return ()
    pairs = []
    for endpoint, spec in value.items():
        endpoint = str(endpoint)
        key = f"mapping.events.{endpoint}"
        if endpoint not in EVENT_PAIRS:
            problems.append(f"{key}: not an endpoint with a (time, indicator) pair; choose {', '.join(EVENT_PAIRS)}")
            continue
        if not isinstance(spec, dict) or not isinstance(spec.get("time"), str) or not isinstance(spec.get("event"), str):
            problems.append(f"{key}: expected {{time: column, event: column}}, got {spec!r}")
            continue
        _unknown_keys(spec, EVENT_KEYS, key, problems)
        codes = spec.get("codes") or {}
        if not isinstance(codes, dict):
            problems.append(f"{key}.codes: expected registry value -> 1 or 0")
            codes = {}
        codes = {cell_text(k): cell_text(v) for k, v in codes.items()}
        wrong = sorted({v for v in codes.values() if v not in ("0", "1")})
        if wrong:
            problems.append(f"{key}.codes: {', '.join(wrong)} is not 1 (event) or 0 (censored)")
        _duplicates(codes, f"{key}.codes", problems)
        pairs.append(EventPair(endpoint, spec["time"], spec["event"], codes))
    return tuple(pairs)


def _status(value, problems: list[str]) -> StatusColumn | None:
    if value is None:
        return None
    key = "mapping.status"
    if not isinstance(value, dict) or not isinstance(value.get("column"), str) or not isinstance(value.get("time"), str) \
            or not isinstance(value.get("codes"), dict) or not value.get("codes"):
        problems.append(f"{key}: expected {{column: status column, time: its time column, codes: {{value: meaning}}}} "
                        f"with meanings {', '.join(STATUS_MEANINGS)}")
        return None
    _unknown_keys(value, STATUS_KEYS, key, problems)
    codes = {cell_text(k): str(v) for k, v in value["codes"].items()}
    for code, meaning in codes.items():
        if meaning not in STATUS_MEANINGS:
            problems.append(f"{key}.codes: {code} means {meaning!r}; choose {', '.join(STATUS_MEANINGS)}")
    _duplicates(codes, f"{key}.codes", problems)
    return StatusColumn(value["column"], value["time"], codes)


def _levels(value, problems: list[str]) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append("mapping.levels: expected column: [codes]")
        return {}
    levels = {}
    for column, codes in value.items():
        column = str(column)
        key = f"mapping.levels.{column}"
        spec = BY_NAME.get(column)
        if spec is None or spec.kind != "code":
            categorical = ", ".join(c.name for c in BY_NAME.values() if c.kind == "code" and c.name not in _FIXED_CODES)
            problems.append(f"{key}: not a categorical SPEC column ({categorical}); "
                            "declare a column of the registry's own under mapping.extra")
            continue
        if column in _FIXED_CODES:
            problems.append(f"{key}: the codes of {column} ({', '.join(spec.codes)}) are fixed: the analyses read them")
            continue
        texts = _text_list(codes, key, problems)
        if texts is not None:
            levels[column] = texts
    return levels


def _extra(value, problems: list[str]) -> tuple[ExtraColumn, ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        problems.append("mapping.extra: expected name: {type: categorical | numeric, ...}")
        return ()
    columns = []
    for name, spec in value.items():
        name = str(name)
        key = f"mapping.extra.{name}"
        if not _NAME.match(name):
            problems.append(f"{key}: a name of letters, digits and _ starting with a letter is needed "
                            "(give the registry's column as `column:`)")
            continue
        if _is_spec_name(name) or name.endswith("_months"):
            problems.append(f"{key}: {name} is a SPEC column; map the registry's column to it under mapping.columns")
            continue
        if not isinstance(spec, dict) or spec.get("type") not in ("categorical", "numeric"):
            problems.append(f"{key}: expected {{type: categorical, levels: [...]}} or {{type: numeric, unit: ...}}")
            continue
        _unknown_keys(spec, EXTRA_KEYS, key, problems)
        source = spec.get("column", name)
        if not isinstance(source, str) or not source:
            problems.append(f"{key}.column: expected the registry's column name, got {source!r}")
            continue
        label = spec.get("label", name.replace("_", " ").capitalize())
        if not isinstance(label, str) or not label.strip():
            problems.append(f"{key}.label: expected text, got {label!r}")
            continue
        if spec["type"] == "categorical":
            if "levels" not in spec:
                problems.append(f"{key}: a categorical column needs its levels (the first is the models' reference)")
                continue
            levels = _text_list(spec["levels"], f"{key}.levels", problems)
            if levels is None:
                continue
            reference = cell_text(spec["reference"]) if spec.get("reference") is not None else None
            if reference is not None and reference not in levels:
                problems.append(f"{key}.reference: {reference!r} is not one of its levels ({', '.join(levels)})")
                continue
            if "unit" in spec:
                problems.append(f"{key}.unit: only a numeric column has a unit")
            columns.append(ExtraColumn(name, source, "categorical", label.strip(), levels, reference))
        else:
            unit = spec.get("unit")
            if unit is not None and (not isinstance(unit, str) or not unit.strip()):
                problems.append(f"{key}.unit: expected text (e.g. year, kg), got {unit!r}")
                continue
            for misplaced in ("levels", "reference"):
                if misplaced in spec:
                    problems.append(f"{key}.{misplaced}: only a categorical column has {misplaced}")
            columns.append(ExtraColumn(name, source, "numeric", label.strip(), unit=_singular(unit.strip()) if unit else None))
    return tuple(columns)


def _singular(unit: str) -> str:
    """'years' -> 'year' (a model's row reads "per year"); symbols and other units as written."""
    return unit[:-1] if unit.isalpha() and unit.islower() and len(unit) > 3 and unit.endswith("s") \
        and not unit.endswith("ss") else unit


def setting_date(value, key: str, meaning: str, problems: list[str]) -> dt.date | None:
    """A date in a study file (YAML reads 2019-03-31 as a date, '2019-03-31' as text); None when absent."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        problems.append(f"{key}: expected {meaning} as YYYY-MM-DD, got {value!r}")
        return None


def _targets(events: tuple[EventPair, ...], status: StatusColumn | None) -> dict[str, str]:
    """SPEC column -> which part of the mapping derives it (for 'given twice' checks)."""
    out = {}
    for pair in events:
        flag, date = EVENT_PAIRS[pair.endpoint]
        for column in (flag, date):
            if column is not None:
                out[column] = f"mapping.events.{pair.endpoint}"
    if status is not None:
        out.setdefault("relapse", "mapping.status")
        out.setdefault("relapse_date", "mapping.status")
        if not any(p.endpoint == "death" for p in events):
            out["vital_status"] = out["last_contact_date"] = "mapping.status"
    return out


def mapping_from_settings(value, problems: list[str], time_unit=None) -> Mapping:
    """The `mapping:` of a study file (and its `time_unit:`); each problem is appended to `problems`."""
    unit = "days" if time_unit is None else time_unit
    if unit not in TIME_UNITS:
        problems.append(f"time_unit: expected one of {', '.join(TIME_UNITS)}, got {time_unit!r}")
        unit = "days"
    if value is None:
        return Mapping(time_unit=unit)
    if not isinstance(value, dict):
        problems.append(f"mapping: expected keys {', '.join(MAPPING_KEYS)}")
        return Mapping(time_unit=unit)
    _unknown_keys(value, MAPPING_KEYS, "mapping", problems)
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
        lists[key] = tuple(cell_text(v) for v in part)

    events = _events(value.get("events"), problems)
    status = _status(value.get("status"), problems)
    levels = _levels(value.get("levels"), problems)
    extra = _extra(value.get("extra"), problems)
    ids = value.get("ids")
    if ids is not None and ids != "row":
        problems.append(f"mapping.ids: expected row (ids from record numbers, for a file without an id column), got {ids!r}")
        ids = None
    derived = _targets(events, status)
    if status is not None and any(p.endpoint == "relapse" for p in events):
        problems.append("mapping.status and mapping.events.relapse both give relapse; keep one")

    columns = {str(k): str(v) for k, v in parts["columns"].items()}
    for source, target in columns.items():
        if not _is_spec_name(target):
            problems.append(f"mapping.columns: {source!r} maps to {target!r}, which is not a SPEC column "
                            "(nor an X_day form of a date column; declare the registry's own columns under mapping.extra)"
                            f"{did_you_mean(target, BY_NAME)}")
        elif (spec_name(target)) in derived:
            problems.append(f"mapping.columns: {source!r} maps to {target}, which {derived[spec_name(target)]} also gives")
        elif target == "patient_id" and ids == "row":
            problems.append(f"mapping.columns: {source!r} maps to patient_id, but mapping.ids says ids are record numbers")
    targets = list(columns.values())
    for target in sorted({t for t in targets if targets.count(t) > 1}):
        sources = [s for s, t in columns.items() if t == target]
        problems.append(f"mapping.columns: {', '.join(map(repr, sources))} all map to {target}")

    extra_names = {e.name: e for e in extra}
    codes = {}
    for column, table in parts["codes"].items():
        column = str(column)
        if not isinstance(table, dict):
            problems.append(f"mapping.codes.{column}: expected registry value -> code pairs")
            continue
        spec = BY_NAME.get(column)
        if spec is None and column not in extra_names:
            problems.append(f"mapping.codes.{column}: not a SPEC column nor one of mapping.extra"
                            f"{did_you_mean(column, [*BY_NAME, *extra_names])}")
            continue
        table = {cell_text(k): cell_text(v) for k, v in table.items()}
        _duplicates(table, f"mapping.codes.{column}", problems)
        if column in extra_names:
            allowed = extra_names[column].levels or None
        else:
            allowed = levels.get(column, spec.codes) if spec.kind == "code" else ("0", "1") if spec.kind == "flag" else None
        if allowed:
            wrong = sorted({v for v in table.values() if v not in allowed})
            if wrong:
                problems.append(f"mapping.codes.{column}: {', '.join(wrong)} not a code of {column} "
                                f"(expected {', '.join(allowed)})")
        codes[column] = table

    constants = {}
    for column, constant in parts["constants"].items():
        column = str(column)
        if not _is_spec_name(column):
            problems.append(f"mapping.constants.{column}: not a SPEC column{did_you_mean(column, BY_NAME)}")
        elif column == "patient_id" or column in DATE_COLUMNS or date_column_of(column):
            problems.append(f"mapping.constants: {column} cannot be the same for every record")
        elif constant is None or isinstance(constant, (list, dict)):
            problems.append(f"mapping.constants.{column}: expected one value, got {constant!r}")
        elif column in derived:
            problems.append(f"mapping.constants: {column} is also given by {derived[column]}")
        else:
            spec = BY_NAME[column]
            allowed = levels.get(column, spec.codes)
            if spec.kind == "code" and cell_text(constant) not in allowed:
                problems.append(f"mapping.constants.{column}: {constant!r} is not a code of {column} "
                                f"(expected {', '.join(allowed)})")
            constants[column] = cell_text(constant)

    unavailable = lists["unavailable"]
    for column in unavailable:
        if column not in BY_NAME:
            problems.append(f"mapping.unavailable: {column!r} is not a SPEC column{did_you_mean(column, BY_NAME)}")
        elif column not in MAY_BE_UNAVAILABLE:
            problems.append(f"mapping.unavailable: {column} is needed by every endpoint and cannot be unavailable")
        elif column in constants:
            problems.append(f"mapping.unavailable: {column} is also given in mapping.constants")
        elif column in derived:
            problems.append(f"mapping.unavailable: {column} is also given by {derived[column]}")
        elif column in levels:
            problems.append(f"mapping.unavailable: {column} also has mapping.levels")
    return Mapping(columns=columns, codes=codes, constants=constants, unavailable=unavailable,
                   missing=lists["missing"], events=events, status=status, levels=levels, extra=extra, ids=ids,
                   date_epoch=setting_date(value.get("date_epoch"), "mapping.date_epoch",
                                           "the date numbered 0 (e.g. 1970-01-01 for days since 1970)", problems),
                   time_unit=unit)


# --------------------------------------------------------------------------- applying it to a file


def record_ids(raw: pd.DataFrame, mapping) -> pd.Series | None:
    """Each record's patient id as the study names it, before the mapping renames anything: record
    numbers with `ids: row` (1 = the first record, as R numbers rows), else the column mapped to
    patient_id; None without one."""
    if getattr(mapping, "ids", None) == "row":
        numbers = raw.attrs.get("record_numbers")  # the file's numbering, kept when records were excluded
        numbers = np.arange(1, len(raw) + 1) if numbers is None else np.asarray(numbers)
        return pd.Series(numbers.astype(str).astype(object), index=raw.index, dtype=object)
    source = mapping.id_source() if mapping is not None and hasattr(mapping, "id_source") else "patient_id"
    if source not in raw:
        return None
    return raw[source]


def _indicator(text: pd.Series, codes: dict) -> pd.Series:
    """An event indicator as "1", "0", "" (not recorded) or its own text when it is neither."""
    lookup = {nfkc(k): v for k, v in codes.items()}

    def value(cell):
        if not cell:
            return ""
        normal = nfkc(cell)
        if normal in lookup:
            return lookup[normal]
        try:
            number = float(normal)
        except ValueError:
            return normal
        return "1" if number == 1 else "0" if number == 0 else normal
    return map_distinct(text, value)


class _Derivation:
    """The SPEC text columns a mapping derives from registry columns, with their problems."""

    def __init__(self, raw: pd.DataFrame, mapping: Mapping, problems: list[Problem]):
        self.raw = raw
        self.mapping = mapping
        self.problems = problems
        self.columns: dict[str, pd.Series] = {}
        self.sources: dict[str, str] = {}
        self.censoring: dict[str, pd.Series] = {}  # X_day -> censoring times (text) of its pair
        self._lines = None
        self._ids = None

    def present(self, *names: str) -> bool:
        missing = [n for n in names if n not in self.raw.columns]
        for name in missing:
            self.problems.append(Problem(None, None, None, None, f"mapped column {name!r} is not in the file",
                                         source_column=name))
        return not missing

    def bad_cells(self, mask: np.ndarray, source: str, column: str, message: str) -> None:
        if self._lines is None:
            self._lines = lines_of(self.raw)
            self._ids = record_ids(self.raw, self.mapping)
        for i in np.flatnonzero(mask):
            pid = self._ids.iloc[i] if self._ids is not None else None
            self.problems.append(Problem(int(self._lines[i]), pid or None, column, self.raw[source].iloc[i], message,
                                         source_column=source))

    def add(self, column: str, values: pd.Series, source: str) -> None:
        self.columns[column] = values
        self.sources[column] = source

    def pair(self, endpoint: str, time: str, indicator: pd.Series, source: str) -> None:
        """The SPEC columns of one (time, indicator) pair; invalid indicators were reported by the caller."""
        flag, date = EVENT_PAIRS[endpoint]
        times = self.raw[time]
        event, censored = indicator == "1", indicator == "0"
        if endpoint == "death":
            self.add("vital_status", indicator.map({"1": "dead", "0": "alive", "": ""}).fillna("alive"), source)
            self.add("last_contact_day", times, time)
            return
        if flag is not None:
            self.add(flag, indicator.where(event | censored | (indicator == ""), "0"), source)
        self.add(day_column(date), times.where(event, ""), time)
        self.censoring[day_column(date)] = times.where(censored, "")


def _derive(raw: pd.DataFrame, mapping: Mapping, problems: list[Problem]) -> _Derivation:
    """Event pairs and the status column as SPEC text columns."""
    derived = _Derivation(raw, mapping, problems)
    for pair in mapping.events:
        if not derived.present(pair.time, pair.event):
            continue
        indicator = _indicator(raw[pair.event], pair.codes)
        invalid = ~indicator.isin(["1", "0", ""]).to_numpy()
        if invalid.any():
            flag = EVENT_PAIRS[pair.endpoint][0] or pair.endpoint
            derived.bad_cells(invalid, pair.event, flag, "event indicator must be 1 (event) or 0 (censored)"
                              + (f" (mapping.events.{pair.endpoint}.codes)" if pair.codes else ""))
        derived.pair(pair.endpoint, pair.time, indicator, pair.event)

    status = mapping.status
    if status is not None and derived.present(status.column, status.time):
        lookup = {nfkc(k): v for k, v in status.codes.items()}
        meaning = map_distinct(raw[status.column], lambda cell: lookup.get(nfkc(cell), "?") if cell else "")
        invalid = (meaning == "?").to_numpy()
        if invalid.any():
            derived.bad_cells(invalid, status.column, "relapse",
                              f"unknown status code; expected one of {', '.join(status.codes)} (mapping.status.codes)")
        empty = meaning == ""
        relapse = pd.Series(np.where(meaning == "relapse", "1", "0"), index=raw.index, dtype=object).where(~empty, "")
        derived.pair("relapse", status.time, relapse, status.column)
        if mapping.pair("death") is None:
            dead = pd.Series(np.where(meaning == "death_without_relapse", "1", "0"), index=raw.index,
                             dtype=object).where(~empty, "")
            derived.pair("death", status.time, dead, status.column)
    return derived


def apply_mapping(raw: pd.DataFrame, mapping) -> tuple[pd.DataFrame, list[Problem]]:
    """The registry's frame with SPEC column names and codes, and the mapping's problems.

    `mapping` is a `Mapping` (or any object with `columns`, `codes`, `constants`, `unavailable`
    and `missing`):

    - `missing`: registry values meaning "not recorded" (e.g. `不明`) become empty cells;
    - `extra`: the study's own columns, copied from their registry columns (a registry column
      may also feed a SPEC column);
    - `events` and `status`: (time, indicator) pairs and a status column become the SPEC flag,
      vital status and `X_day` columns (times in `time_unit`); the censoring times of pairs are
      kept in `frame.attrs["censoring"]` for validation to compare with the last contact;
    - `columns`: registry column -> SPEC column (or its `X_day` form);
    - `codes`: column -> {registry value -> code}; values not listed are kept as written, so an
      unmapped unknown code is reported with its original value;
    - `constants`: SPEC column -> the value of every record (a column the registry lacks);
    - `ids: row`: patient_id from record numbers (1 = the first record);
    - `unavailable`: SPEC columns the study declares unknown (they must not be in the file).

    A mapped column missing from the file, a column that would arrive twice, or a constant or
    unavailable column that the file also holds is an error.  The input frame is not changed.
    """
    problems: list[Problem] = []
    if mapping is None:
        frame = raw.copy(deep=False)  # nothing is changed: the cells are shared, the attributes not
        frame.attrs = dict(raw.attrs)
        return frame, problems
    frame = raw.copy()
    frame.attrs = dict(raw.attrs)
    missing_values = {nfkc(str(v)) for v in getattr(mapping, "missing", ()) or ()}
    if missing_values:
        for column in frame.columns:
            frame[column] = map_distinct(frame[column], lambda v: "" if v and nfkc(v) in missing_values else v)
        frame.attrs = dict(raw.attrs)

    extra = {}
    for column in getattr(mapping, "extra", ()):
        if column.source not in frame.columns:
            problems.append(Problem(None, None, column.name, None,
                                    f"the study's column {column.name} reads {column.source!r}, which is not in the file "
                                    f"(mapping.extra.{column.name})", source_column=column.source))
        else:
            extra[column.name] = frame[column.source]
    derived = _derive(frame, mapping, problems) if (getattr(mapping, "events", ()) or getattr(mapping, "status", None)) \
        else None
    # A registry column read as a pair, a status or one of the study's own columns is that and nothing
    # else: timereg's `age` (centred and scaled) is not SPEC's age just because of its name.
    consumed = {c.source for c in getattr(mapping, "extra", ()) if c.source != c.name}
    consumed |= {name for pair in getattr(mapping, "events", ()) for name in (pair.time, pair.event)}
    if getattr(mapping, "status", None) is not None:
        consumed |= {mapping.status.column, mapping.status.time}
    consumed -= set(mapping.columns or {}) | {c.name for c in getattr(mapping, "extra", ())}
    if consumed & set(frame.columns):
        attrs = frame.attrs
        frame = frame.drop(columns=sorted(consumed & set(frame.columns)))
        frame.attrs = attrs

    rename: dict[str, str] = {}
    for source, target in (mapping.columns or {}).items():
        if source not in frame.columns:
            problems.append(Problem(None, None, target, None,
                                    f"mapped column {source!r} is not in the file (mapping.columns: {source} -> {target})",
                                    source_column=source))
            continue
        if target in frame.columns and target not in mapping.columns:
            problems.append(Problem(None, None, target, None,
                                    f"the file has both {source!r} (mapped to {target}) and {target!r}",
                                    source_column=source))
            continue
        rename[source] = target
    frame = frame.rename(columns=rename)
    source_names = {target: source for source, target in rename.items()}

    for name, values in (derived.columns if derived else {}).items():
        spec = spec_name(name)
        clashes = sorted(c for c in {name, spec, day_column(spec) if spec in DATE_COLUMNS else name} if c in frame.columns)
        if clashes:
            problems.append(Problem(None, None, name, None,
                                    f"the file has the column {clashes[0]!r}, and the mapping also derives {name} "
                                    f"from {derived.sources[name]!r}", source_column=clashes[0]))
            continue
        frame[name] = values
    for column in getattr(mapping, "extra", ()):
        if column.name not in extra:
            continue
        if column.name in frame.columns and column.name != column.source:
            problems.append(Problem(None, None, column.name, None,
                                    f"the study's column {column.name} reads {column.source!r}, but the file also has "
                                    f"a column named {column.name!r}; give the study's column another name",
                                    source_column=column.name))
        elif column.name not in frame.columns:
            frame[column.name] = extra[column.name]
    if derived:
        source_names.update(derived.sources)
        frame.attrs["censoring"] = derived.censoring
    source_names.update({e.name: e.source for e in getattr(mapping, "extra", ()) if e.name != e.source})

    for column, table in (mapping.codes or {}).items():
        if column not in frame.columns:
            if column not in (mapping.constants or {}):
                problems.append(Problem(None, None, column, None,
                                        f"mapping.codes.{column}: the file has no such column; the translation is unused",
                                        "warning"))
            continue
        lookup = {nfkc(str(k)): str(v) for k, v in table.items()}
        frame[column] = map_distinct(frame[column], lambda v: lookup.get(nfkc(v), v) if v else v)

    for column, value in (mapping.constants or {}).items():
        present = column in frame.columns or (column in DATE_COLUMNS and day_column(column) in frame.columns)
        if present:
            problems.append(Problem(None, None, column, None,
                                    f"mapping.constants gives {column} for every record, but the file has the column"))
            continue
        frame[column] = cell_text(value)

    if getattr(mapping, "ids", None) == "row":
        if "patient_id" in frame.columns:
            problems.append(Problem(None, None, "patient_id", None,
                                    "mapping.ids says ids are record numbers, but the file has a patient_id column"))
        else:
            frame["patient_id"] = record_ids(frame, mapping)

    for column in getattr(mapping, "unavailable", ()) or ():
        names = [column] + ([day_column(column)] if column in DATE_COLUMNS else [])
        if any(n in frame.columns for n in names):
            problems.append(Problem(None, None, column, None,
                                    "declared unavailable (mapping.unavailable), but the file has the column"))
    frame.attrs["source_names"] = source_names
    return frame, problems
