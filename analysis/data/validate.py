"""Validation: every cell parsed, every record checked, every problem named.

`validate` turns a frame of text cells (`analysis.data.readers`) into the analysis frame, after
the study's mapping (`analysis.data.mapping`).  Each problem names the line, `patient_id`, column
(and the registry's own column name), the value and the reason.  Every problem in the file is
collected before anything is raised, so a user fixes their extract in one pass.  Errors stop the
run; questionable but usable records are warnings.  Calendar dates become days after HCT (`X_day`).
"""
from __future__ import annotations

import datetime as dt
import difflib
import re
import unicodedata
from dataclasses import replace

import numpy as np
import pandas as pd

from analysis.data.cells import map_distinct, nfkc
from analysis.data.mapping import apply_mapping
from analysis.data.problems import Problem
from analysis.data.readers import lines_of
from analysis.data.schema import (
    COLUMNS,
    DATE_COLUMNS,
    EVENT_DATES,
    UNGRADED_ALTERNATIVES,
    UNGRADED_DATES,
    date_column_of,
    day_column,
)

__all__ = ["DATE_FORMATS_TEXT", "EXCEL_EPOCH", "parse_date", "validate"]

EXCEL_EPOCH = dt.date(1899, 12, 30)  # Excel's day 0 (with its 1900 leap-year bug folded in)
YEAR_RANGE = (1900, 2100)  # dates outside these years are typing errors, not transplants
MAX_DAYS = 36525  # 100 years after HCT
DATE_FORMATS_TEXT = "YYYY-MM-DD, YYYY/MM/DD, YYYYMMDD or an Excel serial number"


_DATE_PATTERNS = (
    (re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"), "%Y-%m-%d"),
    (re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})(?: \d{1,2}:\d{2}(?::\d{2})?)?$"), "%Y/%m/%d"),
    (re.compile(r"^(\d{4})(\d{2})(\d{2})$"), "%Y%m%d"),
)
_SERIAL = re.compile(r"^\d{4,5}(\.\d+)?$")


def parse_date(text: str) -> dt.date | None:
    """ISO, YYYY/MM/DD, YYYYMMDD (a time of day after the date is ignored) or an Excel serial
    number; None if unparseable."""
    text = text.strip()
    for pattern, _ in _DATE_PATTERNS:
        match = pattern.match(text)
        if match:
            try:
                return dt.date(*(int(g) for g in match.groups()))
            except ValueError:
                return None
    if _SERIAL.match(text):
        serial = int(float(text))
        if 10000 <= serial <= 80000:  # 1927..2119: anything else is not a plausible HCT-era date
            return EXCEL_EPOCH + dt.timedelta(days=serial)
    return None


class _Collector:
    """Accumulates problems with the row's line number, patient id and registry column name."""

    def __init__(self, ids: pd.Series, lines: list[int], source_names: dict[str, str]):
        self.ids = ids
        self.lines = lines
        self.source_names = source_names
        self.problems: list[Problem] = []

    def source_of(self, column: str | None) -> str | None:
        if column is None:
            return None
        if column in self.source_names:
            return self.source_names[column]
        twin = day_column(column) if column.endswith("_date") else date_column_of(column)
        return self.source_names.get(twin) if twin else None

    def add(self, row, column, value, message, severity="error"):
        source = self.source_of(column)
        if row is None:
            self.problems.append(Problem(None, None, column, value, message, severity, source))
            return
        pid = self.ids.iloc[row] if row < len(self.ids) else None
        self.problems.append(Problem(self.lines[row], pid or None, column, value, message, severity, source))


def _numbers(text: pd.Series) -> pd.Series:
    """Each cell as a number (NaN when empty or not a number; inf when out of range), parsed once per distinct cell."""
    codes, uniques = pd.factorize(text.to_numpy(dtype=object), use_na_sentinel=True)
    if (codes < 0).any() or not len(uniques):
        return _parse_numbers(text)
    return pd.Series(_parse_numbers(pd.Series(uniques, dtype=object)).to_numpy()[codes], index=text.index, dtype=float)


def _parse_numbers(text: pd.Series) -> pd.Series:
    cleaned = text.map(lambda s: unicodedata.normalize("NFKC", s) if s else s)
    numbers = pd.to_numeric(cleaned.where(cleaned != ""), errors="coerce").astype(float)
    return numbers.where(np.isfinite(numbers) | numbers.isna(), np.inf)


def _range_text(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"{low:g}-{high:g}"
    return f">= {low:g}" if low is not None else f"<= {high:g}"


def _parse_columns(raw: pd.DataFrame, report: _Collector) -> dict[str, pd.Series]:
    """Parse each present column into typed values, reporting every bad cell."""
    parsed: dict[str, pd.Series] = {}
    for spec in COLUMNS:
        if spec.kind == "date" or spec.name not in raw:
            continue
        text = raw[spec.name]
        if spec.kind in ("id", "text"):
            parsed[spec.name] = text.where(text != "", None)
        elif spec.kind == "code":
            values = map_distinct(text, lambda s: nfkc(s) if s else None)
            unknown = values.notna() & ~values.isin(spec.codes)
            for i in np.flatnonzero(unknown):
                report.add(i, spec.name, text.iloc[i], f"unknown code; expected one of {', '.join(spec.codes)}")
            parsed[spec.name] = values.where(values.isin(spec.codes), None)
        else:
            numbers = _numbers(text)
            bad = numbers.isna() & (text != "")
            for i in np.flatnonzero(bad):
                report.add(i, spec.name, text.iloc[i], "not a number")
            if spec.kind == "flag":
                wrong = numbers.notna() & ~numbers.isin([0, 1])
                for i in np.flatnonzero(wrong):
                    report.add(i, spec.name, text.iloc[i], "flag must be 0 or 1")
                parsed[spec.name] = numbers.where(~wrong)
                continue
            fractional = numbers.notna() & np.isfinite(numbers) & (numbers % 1 != 0)
            if spec.kind == "integer":
                for i in np.flatnonzero(fractional):
                    report.add(i, spec.name, text.iloc[i], "not a whole number")
            low, high = spec.minimum, spec.maximum
            below = numbers.notna() & (numbers < low) if low is not None else pd.Series(False, index=text.index)
            above = numbers.notna() & (numbers > high) if high is not None else pd.Series(False, index=text.index)
            for i in np.flatnonzero(below | above):
                negative = "negative value, " if numbers.iloc[i] < 0 and low == 0 else ""
                report.add(i, spec.name, text.iloc[i], f"{negative}outside the range {_range_text(low, high)}")
            keep = ~(below | above)
            if spec.kind == "integer":
                keep &= ~fractional
            parsed[spec.name] = numbers.where(keep)
    return parsed


def _parse_dates(raw: pd.DataFrame, report: _Collector):
    """Event times as days after HCT, from `X_date` (with hct_date) or `X_day` columns.

    Returns (days by `X_day` name, the cell text each day came from, hct dates or None).
    """
    hct = None
    if "hct_date" in raw:
        hct = _dates(raw["hct_date"], "hct_date", report)
        for i in np.flatnonzero(raw["hct_date"] == ""):
            report.add(i, "hct_date", "", "missing date of HCT")
    days: dict[str, pd.Series] = {}
    texts: dict[str, pd.Series] = {}
    for column in DATE_COLUMNS:
        if column == "hct_date":
            continue
        day_name = day_column(column)
        if column in raw and day_name in raw:
            report.add(None, column, None, f"give {column} or {day_name}, not both")
            continue
        if column in raw:
            if hct is None:
                report.add(None, column, None, f"{column} needs hct_date (or give {day_name} as days after HCT)")
                continue
            dates = _dates(raw[column], column, report)
            elapsed = dates - hct
            values = np.where(np.isnat(elapsed), np.nan, elapsed.astype(np.int64).astype(float))
            days[day_name] = pd.Series(values, index=raw.index, dtype=float)
            texts[day_name] = raw[column]
        elif day_name in raw:
            text = raw[day_name]
            numbers = _numbers(text)
            bad = (numbers.isna() & (text != "")) | (numbers.notna() & np.isfinite(numbers) & (numbers % 1 != 0))
            for i in np.flatnonzero(bad):
                report.add(i, day_name, text.iloc[i], "days after HCT must be a whole number")
            huge = numbers.notna() & ~bad & (numbers.abs() > MAX_DAYS)
            for i in np.flatnonzero(huge):
                report.add(i, day_name, text.iloc[i], "implausible: more than 100 years from HCT")
            days[day_name] = numbers.where(~bad & ~huge)
            texts[day_name] = text
    return days, texts, hct


def _dates(text: pd.Series, column: str, report: _Collector) -> np.ndarray:
    """Each cell as a date (datetime64[D]; NaT when empty or wrong), reporting unparseable and
    implausible ones.  Each distinct cell is parsed once."""
    cells = text.to_numpy(dtype=object)
    codes, uniques = pd.factorize(cells, use_na_sentinel=True)
    parsed = np.full(len(uniques) + 1, np.datetime64("NaT"), dtype="datetime64[D]")  # last: missing
    messages: list[str | None] = [None] * (len(uniques) + 1)
    for k, cell in enumerate(uniques):
        if not cell:
            continue
        value = parse_date(unicodedata.normalize("NFKC", cell))
        if value is None:
            messages[k] = f"unparseable date (expected {DATE_FORMATS_TEXT})"
        elif not YEAR_RANGE[0] <= value.year <= YEAR_RANGE[1]:
            messages[k] = f"implausible date (year outside {YEAR_RANGE[0]}-{YEAR_RANGE[1]})"
        else:
            parsed[k] = np.datetime64(value, "D")
    codes = np.where(codes < 0, len(uniques), codes)
    bad = np.array([m is not None for m in messages])
    for i in np.flatnonzero(bad[codes]):
        report.add(i, column, cells[i], messages[codes[i]])
    return parsed[codes]


def _check_required(raw: pd.DataFrame, report: _Collector, unavailable: frozenset[str]) -> None:
    for spec in COLUMNS:
        present = spec.name in raw or (spec.kind == "date" and day_column(spec.name) in raw)
        if not spec.required or spec.name in unavailable:
            continue
        if not present:
            report.add(None, spec.name, None, "required column is missing")
            continue
        name = spec.name if spec.name in raw else day_column(spec.name)
        empty = raw[name] == ""
        if spec.name == "last_contact_date" and "vital_status" in raw:
            empty &= map_distinct(raw["vital_status"], nfkc) != "dead"  # reported as "dead without a date of death"
        for i in np.flatnonzero(empty):
            report.add(i, name, "", "required value is missing")
    if "relapse" in raw and "relapse_date" not in raw and "relapse_day" not in raw:
        report.add(None, "relapse_date", None, "required column is missing (relapse_date or relapse_day)")
    for graded, ungraded in UNGRADED_ALTERNATIVES.items():
        if graded in raw and ungraded in raw:
            report.add(None, ungraded, None, f"give {graded} or {ungraded}, not both")


KNOWN_NAMES = frozenset([c.name for c in COLUMNS] + [day_column(c) for c in DATE_COLUMNS])


def _check_unknown_columns(raw: pd.DataFrame, report: _Collector) -> None:
    """A column that is not a SPEC name is not used; when it looks like one, say so (a typo
    would otherwise drop the column silently)."""
    for name in raw.columns:
        if name in KNOWN_NAMES or not name:
            continue
        close = difflib.get_close_matches(name.lower(), KNOWN_NAMES, n=1, cutoff=0.8)
        if close and close[0] not in raw.columns:
            report.add(None, name, None, f"column not used: not a SPEC column (did you mean {close[0]}?)", "warning")


def _day_text(texts: dict[str, pd.Series], day_name: str, i: int, value: float) -> str:
    if day_name in texts and texts[day_name].iloc[i]:
        return texts[day_name].iloc[i]
    return f"day {value:g}"


def _shown_column(day_name: str, texts: dict[str, pd.Series], raw_columns) -> str:
    date_name = date_column_of(day_name)
    return day_name if day_name in raw_columns or date_name is None else date_name


def _check_records(frame: pd.DataFrame, texts: dict[str, pd.Series], raw_columns, report: _Collector) -> None:
    """Cross-field rules: impossible records are errors, questionable ones warnings."""
    ids = frame["patient_id"]
    for i in np.flatnonzero(ids.notna() & ids.duplicated(keep=False)):
        report.add(i, "patient_id", ids.iloc[i], "duplicate patient_id")

    last = frame.get("last_contact_day")
    for day_name in [c for c in frame.columns if c.endswith("_day")]:
        values = frame[day_name]
        shown = _shown_column(day_name, texts, raw_columns)
        for i in np.flatnonzero(values < 0):
            report.add(i, shown, _day_text(texts, day_name, i, values.iloc[i]),
                       f"date before HCT (day {values.iloc[i]:g})")
        if last is not None and day_name != "last_contact_day":
            for i in np.flatnonzero((values > last) & (values >= 0)):
                report.add(i, shown, _day_text(texts, day_name, i, values.iloc[i]),
                           f"event after last contact (day {values.iloc[i]:g} > last contact day {last.iloc[i]:g})")

    flags = dict(EVENT_DATES)
    for graded, ungraded in UNGRADED_ALTERNATIVES.items():
        if ungraded in frame and graded not in frame:
            flags[ungraded] = UNGRADED_DATES[ungraded]
    for flag, date_column in flags.items():
        day_name = day_column(date_column)
        if flag not in frame or day_name not in frame:
            continue
        shown = _shown_column(day_name, texts, raw_columns)
        for i in np.flatnonzero((frame[flag] == 1) & frame[day_name].isna() & (texts[day_name].iloc[:] == "")):
            report.add(i, shown, "", f"{flag} = 1 without a date")
        for i in np.flatnonzero((frame[flag] == 0) & frame[day_name].notna()):
            report.add(i, shown, _day_text(texts, day_name, i, frame[day_name].iloc[i]), f"date given but {flag} = 0")

    if "vital_status" in frame and "last_contact_day" in frame:
        dead = frame["vital_status"] == "dead"
        no_date = texts["last_contact_day"] == "" if "last_contact_day" in texts else frame["last_contact_day"].isna()
        shown = _shown_column("last_contact_day", texts, raw_columns)
        for i in np.flatnonzero(dead & no_date):
            report.add(i, shown, "", "dead without a date of death")
        if "cause_of_death" in frame:
            alive = frame["vital_status"] == "alive"
            for i in np.flatnonzero(alive & frame["cause_of_death"].notna()):
                report.add(i, "cause_of_death", frame["cause_of_death"].iloc[i], "cause of death given for a living patient")
            for i in np.flatnonzero(dead & frame["cause_of_death"].isna()):
                report.add(i, "cause_of_death", "", "dead without a cause of death (counted as unknown)", "warning")

    if "agvhd_grade" in frame and "agvhd_day" in frame:
        grade, day = frame["agvhd_grade"], frame["agvhd_day"]
        shown = _shown_column("agvhd_day", texts, raw_columns)
        for i in np.flatnonzero((grade >= 2) & day.isna() & (texts["agvhd_day"] == "")):
            report.add(i, shown, "", f"acute GVHD grade {grade.iloc[i]:g} without an onset date")
        for i in np.flatnonzero((grade < 2) & day.notna()):
            report.add(i, shown, _day_text(texts, "agvhd_day", i, day.iloc[i]), "onset date given but grade < II")
    if "cgvhd" in frame and "cgvhd_day" in frame:
        chronic, day = frame["cgvhd"], frame["cgvhd_day"]
        shown = _shown_column("cgvhd_day", texts, raw_columns)
        for i in np.flatnonzero(chronic.isin(["limited", "extensive"]) & day.isna() & (texts["cgvhd_day"] == "")):
            report.add(i, shown, "", f"{chronic.iloc[i]} chronic GVHD without an onset date")
        for i in np.flatnonzero((chronic == "none") & day.notna()):
            report.add(i, shown, _day_text(texts, "cgvhd_day", i, day.iloc[i]), "onset date given but cgvhd = none")

    if "status_at_hct" in frame:
        status = frame["status_at_hct"]
        if "pif" in frame:
            for i in np.flatnonzero((frame["pif"] == 1) & status.notna() & (status != "NR")):
                report.add(i, "pif", "1", f"primary induction failure with status at HCT {status.iloc[i]} (only NR)")
        if "cr_after_hct_day" in frame:
            shown = _shown_column("cr_after_hct_day", texts, raw_columns)
            for i in np.flatnonzero((status == "CR") & frame["cr_after_hct_day"].notna()):
                report.add(i, shown, _day_text(texts, "cr_after_hct_day", i, frame["cr_after_hct_day"].iloc[i]),
                           "CR after HCT for a patient in CR at HCT")


def validate(
    raw: pd.DataFrame,
    source: str = "input",
    today: dt.date | None = None,
    *,
    mapping=None,
) -> tuple[pd.DataFrame, list[Problem]]:
    """Turn text cells into the analysis frame; return it with every problem found.

    `mapping` (a study's `Mapping`) is applied first (see `apply_mapping`); its `unavailable`
    columns are not required.  The frame has the SPEC columns present, event dates as `X_day`
    (days after HCT, float), `hct_date` as datetime64 when given and `hct_year`.
    """
    raw, problems = apply_mapping(raw, mapping)
    unavailable = frozenset(getattr(mapping, "unavailable", ()) or ())
    ids = raw["patient_id"] if "patient_id" in raw else pd.Series([""] * len(raw), index=raw.index)
    report = _Collector(ids.reset_index(drop=True), lines_of(raw), raw.attrs.get("source_names", {}))
    for p in problems:
        report.problems.append(replace(p, source_column=p.source_column or report.source_of(p.column)))
    report.problems.extend(raw.attrs.get("problems", ()))
    raw.attrs = {}  # (a copy: apply_mapping's) pandas would deep-copy them on every operation below
    if not raw.index.equals(pd.RangeIndex(len(raw))):
        raw = raw.reset_index(drop=True)
    _check_unknown_columns(raw, report)
    _check_required(raw, report, unavailable)
    columns = _parse_columns(raw, report)
    days, texts, hct = _parse_dates(raw, report)
    frame = pd.DataFrame({**columns, **days}, index=raw.index)
    if hct is not None:
        frame["hct_date"] = pd.Series(hct.astype("datetime64[ns]"), index=raw.index)
        derived_year = frame["hct_date"].dt.year.astype(float)
        if "hct_year" in frame:
            mismatch = frame["hct_year"].notna() & derived_year.notna() & (frame["hct_year"] != derived_year)
            for i in np.flatnonzero(mismatch):
                report.add(i, "hct_year", f"{frame['hct_year'].iloc[i]:g}",
                           f"differs from the year of hct_date ({derived_year.iloc[i]:g})")
            frame["hct_year"] = frame["hct_year"].fillna(derived_year)
        else:
            frame["hct_year"] = derived_year
        today = today or dt.date.today()
        if "last_contact_day" in frame:
            last_date = frame["hct_date"] + pd.to_timedelta(frame["last_contact_day"], unit="D")
            shown = _shown_column("last_contact_day", texts, raw.columns)
            for i in np.flatnonzero(last_date > pd.Timestamp(today)):
                report.add(i, shown, texts["last_contact_day"].iloc[i], "last contact is in the future", "warning")
    if "patient_id" in frame:
        _check_records(frame, texts, raw.columns, report)
    if "pif" in frame:
        frame["pif"] = frame["pif"].fillna(0)
    found = sorted(report.problems, key=lambda p: (p.line or 0, p.column or "", p.message))
    return frame.reset_index(drop=True), found
