"""A registry's own columns and codes mapped onto the SPEC format (a study's `mapping:`).

`mapping_from_settings` reads and checks the study file's `mapping:`; `apply_mapping` applies it
to a frame of text cells before validation.  The registry's file itself is never changed.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from analysis.data.cells import cell_text, map_distinct, nfkc
from analysis.data.problems import Problem
from analysis.data.schema import BY_NAME, DATE_COLUMNS, MAY_BE_UNAVAILABLE, date_column_of, day_column, spec_name
from analysis.data.study_file import did_you_mean

__all__ = ["MAPPING_KEYS", "Mapping", "apply_mapping", "mapping_from_settings"]

MAPPING_KEYS = ("columns", "codes", "constants", "unavailable", "missing")


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


def _is_spec_name(name: str) -> bool:
    """A SPEC column or the `X_day` form of a SPEC date column."""
    return spec_name(name) is not None


def mapping_from_settings(value, problems: list[str]) -> Mapping:
    """The `mapping:` of a study file; each problem is appended to `problems` (nothing is raised)."""
    if value is None:
        return Mapping()
    if not isinstance(value, dict):
        problems.append(f"mapping: expected keys {', '.join(MAPPING_KEYS)}")
        return Mapping()
    for key in sorted(set(map(str, value)) - set(MAPPING_KEYS)):
        problems.append(f"mapping.{key}: unknown key{did_you_mean(key, MAPPING_KEYS)} (expected {', '.join(MAPPING_KEYS)})")
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

    columns = {str(k): str(v) for k, v in parts["columns"].items()}
    for source, target in columns.items():
        if not _is_spec_name(target):
            problems.append(f"mapping.columns: {source!r} maps to {target!r}, which is not a SPEC column "
                            f"(nor an X_day form of a date column){did_you_mean(target, BY_NAME)}")
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
            problems.append(f"mapping.codes.{column}: not a SPEC column{did_you_mean(column, BY_NAME)}")
            continue
        table = {cell_text(k): cell_text(v) for k, v in table.items()}
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
        if not _is_spec_name(column):
            problems.append(f"mapping.constants.{column}: not a SPEC column{did_you_mean(column, BY_NAME)}")
        elif column == "patient_id" or column in DATE_COLUMNS or date_column_of(column):
            problems.append(f"mapping.constants: {column} cannot be the same for every record")
        elif constant is None or isinstance(constant, (list, dict)):
            problems.append(f"mapping.constants.{column}: expected one value, got {constant!r}")
        else:
            spec = BY_NAME[column]
            if spec.kind == "code" and cell_text(constant) not in spec.codes:
                problems.append(f"mapping.constants.{column}: {constant!r} is not a code of {column} "
                                f"(expected {', '.join(spec.codes)})")
            constants[column] = cell_text(constant)

    unavailable = lists["unavailable"]
    for column in unavailable:
        if column not in BY_NAME:
            problems.append(f"mapping.unavailable: {column!r} is not a SPEC column{did_you_mean(column, BY_NAME)}")
        elif column not in MAY_BE_UNAVAILABLE:
            problems.append(f"mapping.unavailable: {column} is needed by every endpoint and cannot be unavailable")
        elif column in constants:
            problems.append(f"mapping.unavailable: {column} is also given in mapping.constants")
    return Mapping(columns=columns, codes=codes, constants=constants, unavailable=unavailable,
                   missing=lists["missing"])


def apply_mapping(raw: pd.DataFrame, mapping) -> tuple[pd.DataFrame, list[Problem]]:
    """The registry's frame with SPEC column names and codes, and the mapping's problems.

    `mapping` is a `Mapping` (or any object with `columns`, `codes`,
    `constants`, `unavailable` and `missing`):

    - `missing`: registry values meaning "not recorded" (e.g. `不明`) become empty cells;
    - `columns`: registry column -> SPEC column (or its `X_day` form);
    - `codes`: SPEC column -> {registry value -> SPEC code}; values not listed are kept as
      written, so an unmapped unknown code is reported with its original value;
    - `constants`: SPEC column -> the value of every record (a column the registry lacks);
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

    for column in getattr(mapping, "unavailable", ()) or ():
        names = [column] + ([day_column(column)] if column in DATE_COLUMNS else [])
        if any(n in frame.columns for n in names):
            problems.append(Problem(None, None, column, None,
                                    "declared unavailable (mapping.unavailable), but the file has the column"))
    frame.attrs["source_names"] = {target: source for source, target in rename.items()}
    return frame, problems
