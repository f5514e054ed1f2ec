"""Known-bad records, handled by the study file instead of by editing the extract.

A study lists records to leave out (`exclude:` patient and reason) and values to correct
(`corrections:` patient, column, value and reason).  They are applied to the frame read from
the file, before the mapping and validation; the file itself is never changed.  Each entry
must name a patient (by the id the study uses: the id column, or the record number with
`mapping.ids: row`) and a column of the file, so an entry that no longer fits the extract is
an error rather than a silent no-op.  The report lists them as an audit trail and counts the
exclusions in the flow table.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.data.cells import cell_text, map_distinct, nfkc
from analysis.data.problems import Problem
from analysis.data.readers import lines_of
from analysis.data.study_file import did_you_mean

__all__ = ["AuditEntry", "Correction", "Exclusion", "RecordChanges", "apply_changes", "changes_from_settings"]

EXCLUDE_KEYS = ("patient", "reason")
CORRECTION_KEYS = ("patient", "column", "value", "reason")


@dataclass(frozen=True)
class Exclusion:
    patient: str
    reason: str


@dataclass(frozen=True)
class Correction:
    patient: str
    column: str  # a column of the file, as the registry names it
    value: str  # "" for an empty cell
    reason: str


@dataclass(frozen=True)
class AuditEntry:
    """A line of the report's audit trail: what the study changed, why, and for how many records."""

    action: str  # "excluded" or "corrected"
    column: str | None
    reason: str
    count: int


@dataclass(frozen=True)
class RecordChanges:
    exclude: tuple[Exclusion, ...] = ()
    corrections: tuple[Correction, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.exclude or self.corrections)

    def exclusion_counts(self) -> tuple[tuple[str, int], ...]:
        """(reason, records), in the study file's order: the flow table's first exclusions."""
        return tuple(Counter(e.reason for e in self.exclude).items())

    def audit(self) -> tuple[AuditEntry, ...]:
        """Exclusions by reason, then corrections by column and reason."""
        excluded = [AuditEntry("excluded", None, reason, n) for reason, n in self.exclusion_counts()]
        corrected = Counter((c.column, c.reason) for c in self.corrections)
        return tuple(excluded) + tuple(AuditEntry("corrected", column, reason, n)
                                       for (column, reason), n in corrected.items())


def _entries(value, key: str, fields: tuple[str, ...], problems: list[str]) -> list[dict]:
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append(f"{key}: expected a list of {{{', '.join(fields)}}}")
        return []
    entries = []
    for k, entry in enumerate(value, start=1):
        where = f"{key}: entry {k}"  # starts with the setting, so that the problem names its line
        if not isinstance(entry, dict):
            problems.append(f"{where}: expected {{{', '.join(fields)}}}, got {entry!r}")
            continue
        for name in sorted(map(str, set(entry) - set(fields))):
            problems.append(f"{where}: {name}: unknown key{did_you_mean(name, fields)} (expected {', '.join(fields)})")
        absent = [f for f in fields if f not in entry]
        if absent:
            problems.append(f"{where}: {', '.join(absent)} missing")
            continue
        if not isinstance(entry["reason"], str) or not entry["reason"].strip():
            problems.append(f"{where}: reason: say why (it is shown in the report's audit trail)")
            continue
        if entry["patient"] is None or isinstance(entry["patient"], (list, dict, bool)):
            problems.append(f"{where}: patient: expected a patient id, got {entry['patient']!r}")
            continue
        entries.append(entry)
    return entries


def changes_from_settings(exclude, corrections, problems: list[str]) -> RecordChanges:
    """A study file's `exclude:` and `corrections:`; each problem is appended to `problems`."""
    exclusions = tuple(Exclusion(nfkc(cell_text(e["patient"])), e["reason"].strip())
                       for e in _entries(exclude, "exclude", EXCLUDE_KEYS, problems))
    fixes = []
    for entry in _entries(corrections, "corrections", CORRECTION_KEYS, problems):
        if not isinstance(entry["column"], str) or not entry["column"]:
            problems.append(f"corrections: expected the column of the file to correct, got {entry['column']!r}")
            continue
        if isinstance(entry["value"], (list, dict)):
            problems.append(f"corrections: expected one value for {entry['column']}, got {entry['value']!r}")
            continue
        fixes.append(Correction(nfkc(cell_text(entry["patient"])), entry["column"], cell_text(entry["value"]),
                                entry["reason"].strip()))
    seen = Counter(e.patient for e in exclusions)
    for patient, n in seen.items():
        if n > 1:
            problems.append(f"exclude: patient {patient} is listed {n} times")
    twice = Counter((c.patient, c.column) for c in fixes)
    for (patient, column), n in twice.items():
        if n > 1:
            problems.append(f"corrections: patient {patient}, column {column} is corrected {n} times")
    for fix in fixes:
        if fix.patient in seen:
            problems.append(f"corrections: patient {fix.patient} is also excluded")
    return RecordChanges(exclusions, tuple(fixes))


def apply_changes(raw: pd.DataFrame, changes: RecordChanges | None, ids: pd.Series | None
                  ) -> tuple[pd.DataFrame, list[Problem]]:
    """The frame with the study's corrections made and its excluded records left out, and the problems.

    `ids` are the records' patient ids as the study names them (`mapping.record_ids`).  The input
    frame is not changed; the result keeps each remaining record's line in the file.
    """
    if not changes:
        return raw, []
    problems: list[Problem] = []
    if ids is None:
        return raw, [Problem(None, None, None, None, "exclude/corrections name patients, but the file has no patient id "
                             "column (with mapping.ids: row, patients are record numbers)")]
    lines = np.asarray(lines_of(raw))
    named = _wanted(changes)
    rows: dict[str, list[int]] = {}
    found = ids.isin(named).to_numpy()  # the ids as written: one vectorised pass
    keys = ids.to_numpy(dtype=object)
    if len({keys[i] for i in np.flatnonzero(found)}) < len(named):
        # an id written another way (full-width, a zero-width space): compare the normalised forms
        keys = map_distinct(ids, nfkc).to_numpy(dtype=object)
        found = np.isin(keys, list(named))
    for i in np.flatnonzero(found):
        rows.setdefault(keys[i], []).append(i)

    def row_of(patient: str, key: str, column: str | None) -> int | None:
        found = rows.get(patient, [])
        if not found:
            problems.append(Problem(None, patient, column, None, f"{key}: no record of this patient in the extract"))
            return None
        if len(found) > 1:
            where = ", ".join(str(lines[i]) for i in found)
            problems.append(Problem(None, patient, column, None, f"{key}: the patient is on several lines ({where})"))
            return None
        return found[0]

    frame = raw.copy()
    frame.attrs = dict(raw.attrs)
    for fix in changes.corrections:
        if fix.column not in frame.columns:
            problems.append(Problem(None, fix.patient, fix.column, fix.value,
                                    "corrections: the file has no such column (name it as the file does)"))
            continue
        i = row_of(fix.patient, "corrections", fix.column)
        if i is not None:
            frame.iloc[i, frame.columns.get_loc(fix.column)] = fix.value
    drop = np.zeros(len(frame), dtype=bool)
    for exclusion in changes.exclude:
        i = row_of(exclusion.patient, "exclude", None)
        if i is not None:
            drop[i] = True
    if drop.any():
        kept = frame.loc[~drop].reset_index(drop=True)
        kept.attrs = dict(frame.attrs)
        kept.attrs["lines"] = lines[~drop]
        kept.attrs["record_numbers"] = np.arange(1, len(frame) + 1)[~drop]
        frame = kept
    return frame, problems


def _wanted(changes: RecordChanges) -> frozenset[str]:
    """The patients the changes name."""
    return frozenset([e.patient for e in changes.exclude] + [c.patient for c in changes.corrections])
