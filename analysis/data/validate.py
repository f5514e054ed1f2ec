"""Validation: every cell parsed, every record checked, every problem named.

`validate` turns a frame of text cells (`analysis.data.readers`) into the analysis frame, after
the study's record changes (`analysis.data.changes`) and mapping (`analysis.data.mapping`).  Each
problem names the line, `patient_id`, column (and the registry's own column name), the value and
the reason.  Every problem in the file is collected before anything is raised, so a user fixes
their extract in one pass.  Errors stop the run; questionable but usable records are warnings.
Calendar dates and durations in the study's time unit become months after HCT (`X_months`).
"""
from __future__ import annotations

import datetime as dt
import difflib
import re
import unicodedata
from dataclasses import replace

import numpy as np
import pandas as pd

from analysis.data.cells import map_distinct, nfkc, nfkc_column
from analysis.data.changes import apply_changes
from analysis.data.mapping import apply_mapping, record_ids
from analysis.data.problems import Problem
from analysis.data.readers import lines_of, read_table
from analysis.data.readers.frame import distinct_codes
from analysis.data.schema import (
    BY_NAME,
    COLUMNS,
    DATE_COLUMNS,
    EVENT_DATES,
    MAY_BE_UNAVAILABLE,
    MONTH_DAYS,
    TIME_UNITS,
    UNGRADED_ALTERNATIVES,
    UNGRADED_DATES,
    Column,
    date_column_of,
    date_column_of_time,
    day_column,
    time_column,
    to_months,
)

__all__ = ["DATE_FORMATS_TEXT", "EXCEL_EPOCH", "parse_date", "read_and_validate", "validate"]

EXCEL_EPOCH = dt.date(1899, 12, 30)  # Excel's day 0 (with its 1900 leap-year bug folded in)
YEAR_RANGE = (1900, 2100)  # dates outside these years are typing errors, not transplants
MAX_MONTHS = 1200  # 100 years after HCT
DATE_FORMATS_TEXT = "YYYY-MM-DD, YYYY/MM/DD, YYYYMMDD or an Excel serial number"


_DATE_PATTERNS = (
    (re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"), "%Y-%m-%d"),
    (re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})(?: \d{1,2}:\d{2}(?::\d{2})?)?$"), "%Y/%m/%d"),
    (re.compile(r"^(\d{4})(\d{2})(\d{2})$"), "%Y%m%d"),
)
_SERIAL = re.compile(r"^\d{4,5}(\.\d+)?$")
_DAY_NUMBER = re.compile(r"^-?\d+(\.0+)?$")


def parse_date(text: str, epoch: dt.date | None = None) -> dt.date | None:
    """ISO, YYYY/MM/DD, YYYYMMDD (a time of day after the date is ignored) or an Excel serial
    number; None if unparseable.  With `epoch` (a study's `mapping.date_epoch`), a whole number
    is the days since it instead of an Excel serial."""
    text = text.strip()
    if epoch is not None and _DAY_NUMBER.match(text):
        try:
            return epoch + dt.timedelta(days=int(float(text)))
        except OverflowError:
            return None
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

    def __init__(self, ids: pd.Series, lines: np.ndarray, source_names: dict[str, str]):
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
        self.problems.append(Problem(int(self.lines[row]), pid or None, column, value, message, severity, source))


def _distinct(text: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(codes, distinct cells): text == distinct[codes]; the cells hashed in bulk (in Arrow for the
    columnar readers' text), so that each distinct cell is parsed or checked once, not once per record."""
    if isinstance(text.dtype, pd.StringDtype) and text.dtype.storage == "pyarrow" and not text.isna().any():
        import pyarrow as pa

        codes, distinct = distinct_codes(pa.array(text.array))  # (the column's own Arrow data: no copy)
        return codes, np.asarray(distinct.to_pylist(), dtype=object)
    codes, uniques = pd.factorize(text, use_na_sentinel=False)
    return codes, np.asarray(uniques, dtype=object)


def _numbers(text: pd.Series) -> pd.Series:
    """Each cell as a number (NaN when empty or not a number; inf when out of range), parsed once per distinct cell."""
    codes, uniques = _distinct(text)
    if not len(uniques):
        return pd.Series(np.nan, index=text.index, dtype=float)
    return pd.Series(_parse_numbers(pd.Series(uniques, dtype=object)).to_numpy()[codes], index=text.index, dtype=float)


def _parse_numbers(text: pd.Series) -> pd.Series:
    cleaned = text.map(lambda s: unicodedata.normalize("NFKC", s) if s else s)
    numbers = pd.to_numeric(cleaned.where(cleaned != ""), errors="coerce").astype(float)
    return numbers.where(np.isfinite(numbers) | numbers.isna(), np.inf)


def _range_text(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"{low:g}-{high:g}"
    return f">= {low:g}" if low is not None else f"<= {high:g}"


def _parse_columns(raw: pd.DataFrame, report: _Collector, specs: list[Column], mapping) -> dict[str, pd.Series]:
    """Parse each present column into typed values, reporting every bad cell.

    Each text column parsed leaves `raw` (validate's own frame), so that a large extract's text and
    typed values are not held at once."""
    parsed: dict[str, pd.Series] = {}
    for spec in specs:
        if spec.kind == "date" or spec.name not in raw:
            continue
        text = raw.pop(spec.name)
        if spec.kind in ("id", "text"):
            parsed[spec.name] = pd.Series(text.to_numpy(dtype=object), index=text.index).where(text != "", None)
        elif spec.kind == "code":
            codes = mapping.codes_of(spec.name) if hasattr(mapping, "codes_of") else spec.codes
            positions, cells = _distinct(text)
            normal = np.empty(len(cells), dtype=object)
            normal[:] = [nfkc(c) if isinstance(c, str) and c else None for c in cells]
            known = np.array([v in codes for v in normal], dtype=bool)
            unknown = ~known & np.array([v is not None for v in normal], dtype=bool)
            for i in np.flatnonzero(unknown[positions]):
                report.add(i, spec.name, text.iloc[i], f"unknown code; expected one of {', '.join(codes)}")
            parsed[spec.name] = pd.Series(np.where(known, normal, None)[positions], index=text.index, dtype=object)
        else:
            numbers = _numbers(text)
            bad = numbers.isna() & (text != "")
            for i in np.flatnonzero(bad):
                report.add(i, spec.name, text.iloc[i], "not a number")
            if spec.kind == "flag":
                wrong = numbers.notna() & (numbers != 0) & (numbers != 1)
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


class _Times:
    """Times after HCT: months by frame column (`X_months`), and how each was given.

    `elapsed[name]` is the time in the unit it was given (days for dates), `unit[name]` that unit's
    word ("day", "month"), `texts[name]` the cells it came from, for messages in the user's terms.
    """

    def __init__(self):
        self.months: dict[str, pd.Series] = {}
        self.elapsed: dict[str, pd.Series] = {}
        self.unit: dict[str, str] = {}
        self.texts: dict[str, pd.Series] = {}
        self.dates: dict[str, np.ndarray] = {}  # calendar dates given (datetime64[D]), by frame column

    def shown(self, name: str, i: int) -> str:
        """A time as the user gave it: its cell ('2010-04-10', '9.97'), else 'day 90'."""
        if name in self.texts and self.texts[name].iloc[i]:
            return self.texts[name].iloc[i]
        return self.words(name, i)

    def words(self, name: str, i: int) -> str:
        return f"{self.unit.get(name, 'month')} {self.elapsed[name].iloc[i]:g}" if name in self.elapsed \
            else f"month {self.months[name].iloc[i]:g}"


def _numeric_source(raw: pd.DataFrame, column: str, report: _Collector) -> str | None:
    """The Parquet type of a date column stored as numbers, else None."""
    numeric = raw.attrs.get("numeric_columns", {})
    source = report.source_of(column) or column
    return numeric.get(source)


def _refuse_numeric_dates(raw, column, report, epoch) -> bool:
    """A Parquet date column typed as numbers: whose days are they?  Refused unless the study says."""
    kind = _numeric_source(raw, column, report)
    if kind is None or epoch is not None:
        return False
    report.add(None, column, None, f"the Parquet column holds numbers ({kind}), not dates: say which day is 0 "
               "(mapping.date_epoch, e.g. 1970-01-01 for days since 1970) or store the column as a date")
    return True


def _parse_times(raw: pd.DataFrame, report: _Collector, unit: str, epoch: dt.date | None):
    """Event times as months after HCT, from `X_date` (with hct_date) or `X_day` (in `unit`) columns.

    Returns (`_Times`, hct dates or None).
    """
    times = _Times()
    hct = None
    hct_refused = "hct_date" in raw and _refuse_numeric_dates(raw, "hct_date", report, epoch)
    if "hct_date" in raw and not hct_refused:
        hct = _dates(raw["hct_date"], "hct_date", report, epoch)
        for i in np.flatnonzero(raw["hct_date"] == ""):
            report.add(i, "hct_date", "", "missing date of HCT")
    word = TIME_UNITS[unit]
    for column in DATE_COLUMNS:
        if column == "hct_date":
            continue
        day_name, name = day_column(column), time_column(column)
        if column in raw and day_name in raw:
            report.add(None, column, None, f"give {column} or {day_name}, not both")
            continue
        if column in raw:
            if hct is None and not hct_refused:
                report.add(None, column, None, f"{column} needs hct_date (or give {day_name} as the time after HCT)")
                continue
            if _refuse_numeric_dates(raw, column, report, epoch) or hct_refused:
                # unreadable, already reported: present but unknown, so that no check reports it again
                times.months[name] = pd.Series(np.nan, index=raw.index, dtype=float)
                times.texts[name] = raw[column]
                continue
            dates = _dates(raw[column], column, report, epoch)
            elapsed = dates - hct
            days = pd.Series(np.where(np.isnat(elapsed), np.nan, elapsed.astype(np.int64).astype(float)),
                             index=raw.index, dtype=float)
            times.months[name], times.elapsed[name], times.unit[name] = days / MONTH_DAYS, days, "day"
            times.texts[name], times.dates[name] = raw[column], dates
        elif day_name in raw:
            numbers = _durations(raw[day_name], day_name, report, unit)
            times.months[name], times.elapsed[name], times.unit[name] = to_months(numbers, unit), numbers, word
            times.texts[name] = raw[day_name]
    return times, hct


def _durations(text: pd.Series, column: str, report: _Collector, unit: str) -> pd.Series:
    """Times after HCT in `unit` (NaN where empty or wrong), reporting wrong cells: whole days, and
    any fraction of another unit kept exactly as written."""
    numbers = _numbers(text)
    bad = numbers.isna() & (text != "")
    for i in np.flatnonzero(bad):
        report.add(i, column, text.iloc[i], f"time after HCT must be a number ({unit}, the study's time_unit)")
    if unit == "days":
        fractional = numbers.notna() & np.isfinite(numbers) & (numbers % 1 != 0)
        for i in np.flatnonzero(fractional):
            report.add(i, column, text.iloc[i], "days after HCT must be a whole number "
                       "(a study given in weeks, months or years says so with time_unit)")
        bad |= fractional
    huge = numbers.notna() & ~bad & (to_months(numbers.abs(), unit) > MAX_MONTHS)
    for i in np.flatnonzero(huge):
        report.add(i, column, text.iloc[i], "implausible: more than 100 years from HCT")
    return numbers.where(~bad & ~huge)


def _iso_dates(cells: np.ndarray) -> np.ndarray:
    """The cells written YYYY-MM-DD (ASCII digits) that are calendar dates of years 1-9999, as
    datetime64[D], parsed in Arrow and NumPy; NaT for every other cell, which `parse_date` reads
    (it gives these cells the same dates: the rule is its first pattern's)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    parsed = np.full(len(cells), np.datetime64("NaT"), dtype="datetime64[D]")
    try:
        array = pa.array(cells, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # (not text: `parse_date` says why, cell by cell)
        return parsed
    iso = pc.fill_null(pc.match_substring_regex(array, r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"), False)
    where = np.flatnonzero(iso.to_numpy(zero_copy_only=False))
    if not where.size:
        return parsed
    picked = array.filter(iso)
    year, month, day = (pc.cast(pc.utf8_slice_codeunits(picked, start, start + width), pa.int64()).to_numpy()
                        for start, width in ((0, 4), (5, 2), (8, 2)))
    month_of = ((year - 1970) * 12 + np.clip(month, 1, 12) - 1).astype("datetime64[M]")
    first_day = month_of.astype("datetime64[D]")
    days_in_month = ((month_of + 1).astype("datetime64[D]") - first_day).astype(np.int64)
    real = (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= days_in_month)
    parsed[where[real]] = first_day[real] + (day[real] - 1).astype("timedelta64[D]")
    return parsed


def _dates(text: pd.Series, column: str, report: _Collector, epoch: dt.date | None = None) -> np.ndarray:
    """Each cell as a date (datetime64[D]; NaT when empty or wrong), reporting unparseable and
    implausible ones.  Each distinct cell is parsed once."""
    codes, uniques = _distinct(text)
    parsed = _iso_dates(uniques)  # what registries export, in bulk; each other cell below
    messages: list[str | None] = [None] * len(uniques)
    years = parsed.astype("datetime64[Y]").astype(np.int64) + 1970
    for k in np.flatnonzero(~np.isnat(parsed) & ((years < YEAR_RANGE[0]) | (years > YEAR_RANGE[1]))):
        parsed[k] = np.datetime64("NaT")
        messages[k] = f"implausible date (year outside {YEAR_RANGE[0]}-{YEAR_RANGE[1]})"
    for k in np.flatnonzero(np.isnat(parsed)):
        cell = uniques[k]
        if not isinstance(cell, str) or not cell or messages[k] is not None:
            continue
        value = parse_date(unicodedata.normalize("NFKC", cell), epoch)
        if value is None:
            messages[k] = f"unparseable date (expected {DATE_FORMATS_TEXT})"
        elif not YEAR_RANGE[0] <= value.year <= YEAR_RANGE[1]:
            messages[k] = f"implausible date (year outside {YEAR_RANGE[0]}-{YEAR_RANGE[1]})"
        else:
            parsed[k] = np.datetime64(value, "D")
    bad = np.array([m is not None for m in messages], dtype=bool)
    for i in np.flatnonzero(bad[codes]):
        report.add(i, column, uniques[codes[i]], messages[codes[i]])
    return parsed[codes]


def _missing_column_hint(column: str) -> str:
    """How a study supplies a required column its registry file does not hold."""
    if column == "patient_id":
        return " (a file without ids: `ids: row` under mapping numbers the records)"
    if column in ("vital_status", "last_contact_date"):
        return (" (or give death as a (time, event) pair, mapping.events.death, or a competing-risks status "
                "column, mapping.status)")
    if column == "relapse":
        return " (or give it as a (time, event) pair, mapping.events.relapse, or a status column, mapping.status)"
    if column in MAY_BE_UNAVAILABLE:
        return (" (map the registry's column to it under mapping.columns; if the registry does not record it, "
                "list it under mapping.unavailable; if it is the same for every patient, give it under mapping.constants)")
    return ""


def _check_required(raw: pd.DataFrame, report: _Collector, unavailable: frozenset[str]) -> None:
    for spec in COLUMNS:
        present = spec.name in raw or (spec.kind == "date" and day_column(spec.name) in raw)
        if not spec.required or spec.name in unavailable:
            continue
        if not present:
            report.add(None, spec.name, None, "required column is missing" + _missing_column_hint(spec.name))
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


def _check_unknown_columns(raw: pd.DataFrame, report: _Collector, used: set[str]) -> None:
    """A column that is not a SPEC name is not used; when it looks like one, say so (a typo
    would otherwise drop the column silently).  `used`: the columns the mapping reads."""
    for name in raw.columns:
        if name in KNOWN_NAMES or name in used or not name:
            continue
        close = difflib.get_close_matches(name.lower(), KNOWN_NAMES, n=1, cutoff=0.8)
        if close and close[0] not in raw.columns:
            report.add(None, name, None, f"column not used: not a SPEC column (did you mean {close[0]}?)", "warning")


def _shown_column(name: str, raw_columns) -> str:
    """The column a problem names: the `X_day` column when the file gave one, else `X_date`."""
    date_name = date_column_of_time(name) or date_column_of(name)
    if date_name is None:
        return name
    return day_column(date_name) if day_column(date_name) in raw_columns else date_name


def _distinct_ascii(text: pd.Series) -> bool:
    """Cells of the readers' Arrow text all ASCII (one form under NFKC) and all different, checked in
    Arrow without a Python string per cell: a registry's ids, nearly always."""
    if not (isinstance(text.dtype, pd.StringDtype) and text.dtype.storage == "pyarrow"):
        return False
    import pyarrow as pa
    import pyarrow.compute as pc

    cells = pa.array(text.array)  # (the column's own Arrow data: no copy)
    return (pc.all(pc.string_is_ascii(cells)).as_py() is not False and cells.null_count == 0
            and len(pc.unique(cells)) == len(cells))  # (`unique` hashes twice as fast as `count_distinct`)


def _check_ids(ids: pd.Series, report: _Collector) -> None:
    """Duplicate ids, also those written differently but equal after Unicode normalisation
    (full-width characters, zero-width or no-break spaces): each line names the others."""
    if _distinct_ascii(report.ids):  # (the cells as read; `ids` are the same with None for "")
        return
    normal = nfkc_column(ids)
    duplicated = normal.notna() & normal.duplicated(keep=False)
    if not duplicated.any():
        return
    rows = np.flatnonzero(duplicated)
    groups: dict[str, list[int]] = {}
    for i in rows:
        groups.setdefault(normal.iloc[i], []).append(i)
    for members in groups.values():
        same_text = len({ids.iloc[i] for i in members}) == 1
        for i in members:
            others = ", ".join(str(report.lines[j]) for j in members if j != i)
            if same_text:
                report.add(i, "patient_id", ids.iloc[i], f"duplicate patient_id (also on line {others})")
            else:
                shown = "; ".join(f"line {report.lines[j]}: {ids.iloc[j]!r}" for j in members if j != i)
                report.add(i, "patient_id", ids.iloc[i], "duplicate patient_id after Unicode normalisation "
                           f"(full-width characters, zero-width or no-break spaces): {shown}")


def _check_censoring(frame: pd.DataFrame, times: _Times, censoring: dict, report: _Collector, unit: str) -> None:
    """A (time, indicator) pair's censoring time is where follow-up for that event ended: it should be
    the last contact.  An earlier one means the patient is counted free of the event for longer than
    the registry says; a later one, an event followed beyond the last contact.  Both are warnings."""
    last = frame.get("last_contact_months")
    for day_name, text in censoring.items():
        given = text != ""
        if not given.any():
            continue
        numbers = _durations(text.where(given, ""), day_name, report, unit)
        if last is None:
            continue
        months = to_months(numbers, unit)
        differs = months.notna() & last.notna() & (months != last)
        word = TIME_UNITS[unit]
        for i in np.flatnonzero(differs):
            report.add(i, day_name, text.iloc[i],
                       f"censored at {word} {numbers.iloc[i]:g}, but the last contact is at "
                       f"{times.words('last_contact_months', i)}: counted free of the event until the last contact",
                       "warning")


def _flag_time_columns(frame: pd.DataFrame) -> dict[str, str]:
    """Each event flag (or grade) present and the time column that must accompany it."""
    flags = {flag: time_column(date) for flag, date in EVENT_DATES.items()}
    for graded, ungraded in UNGRADED_ALTERNATIVES.items():
        if ungraded in frame and graded not in frame:
            flags[ungraded] = time_column(UNGRADED_DATES[ungraded])
    return {flag: name for flag, name in flags.items() if flag in frame}


def _add_absent_times(frame: pd.DataFrame, times: _Times) -> None:
    """An event column without its time column (a grade given, no onset column): an empty time
    column, so that every patient with the event is reported and the analyses never miss it."""
    wanted = dict(_flag_time_columns(frame))
    if "agvhd_grade" in frame:
        wanted["agvhd_grade"] = "agvhd_months"
    if "cgvhd" in frame:
        wanted["cgvhd"] = "cgvhd_months"
    for name in wanted.values():
        if name not in frame:
            frame[name] = np.nan
            times.months[name] = frame[name]
            times.texts[name] = pd.Series("", index=frame.index, dtype=object)


def _check_records(frame: pd.DataFrame, times: _Times, raw_columns, report: _Collector) -> None:
    """Cross-field rules: impossible records are errors, questionable ones warnings."""
    if "patient_id" in frame:
        _check_ids(frame["patient_id"], report)

    last = frame.get("last_contact_months")
    for name in [c for c in frame.columns if c.endswith("_months")]:
        values = frame[name]
        shown = _shown_column(name, raw_columns)
        for i in np.flatnonzero(values < 0):
            report.add(i, shown, times.shown(name, i), f"date before HCT ({times.words(name, i)})")
        if last is not None and name != "last_contact_months":
            for i in np.flatnonzero((values > last) & (values >= 0)):
                report.add(i, shown, times.shown(name, i),
                           f"event after last contact ({times.words(name, i)} > last contact "
                           f"{times.words('last_contact_months', i)})")

    for flag, name in _flag_time_columns(frame).items():
        shown = _shown_column(name, raw_columns)
        absent = "" if name in times.elapsed else f" (the file has no {shown} column)"
        if absent and flag == "relapse":
            continue  # its column is required: reported once as missing
        for i in np.flatnonzero((frame[flag] == 1) & frame[name].isna() & (times.texts[name] == "")):
            report.add(i, shown, "", f"{flag} = 1 without a date{absent}")
        for i in np.flatnonzero((frame[flag] == 0) & frame[name].notna()):
            report.add(i, shown, times.shown(name, i), f"date given but {flag} = 0")

    if "vital_status" in frame and "last_contact_months" in frame:
        dead = frame["vital_status"] == "dead"
        no_date = times.texts["last_contact_months"] == "" if "last_contact_months" in times.texts \
            else frame["last_contact_months"].isna()
        shown = _shown_column("last_contact_months", raw_columns)
        for i in np.flatnonzero(dead & no_date):
            report.add(i, shown, "", "dead without a date of death")
        if "cause_of_death" in frame:
            alive = frame["vital_status"] == "alive"
            for i in np.flatnonzero(alive & frame["cause_of_death"].notna()):
                report.add(i, "cause_of_death", frame["cause_of_death"].iloc[i], "cause of death given for a living patient")
            for i in np.flatnonzero(dead & frame["cause_of_death"].isna()):
                report.add(i, "cause_of_death", "", "dead without a cause of death (counted as unknown)", "warning")

    if "agvhd_grade" in frame and "agvhd_months" in frame:
        grade, onset = frame["agvhd_grade"], frame["agvhd_months"]
        shown = _shown_column("agvhd_months", raw_columns)
        absent = "" if "agvhd_months" in times.elapsed else f" (the file has no {shown} column)"
        for i in np.flatnonzero((grade >= 2) & onset.isna() & (times.texts["agvhd_months"] == "")):
            report.add(i, shown, "", f"acute GVHD grade {grade.iloc[i]:g} without an onset date{absent}")
        for i in np.flatnonzero((grade < 2) & onset.notna()):
            report.add(i, shown, times.shown("agvhd_months", i), "onset date given but grade < II")
    if "cgvhd" in frame and "cgvhd_months" in frame:
        chronic, onset = frame["cgvhd"], frame["cgvhd_months"]
        shown = _shown_column("cgvhd_months", raw_columns)
        absent = "" if "cgvhd_months" in times.elapsed else f" (the file has no {shown} column)"
        for i in np.flatnonzero(chronic.isin(["limited", "extensive"]) & onset.isna() & (times.texts["cgvhd_months"] == "")):
            report.add(i, shown, "", f"{chronic.iloc[i]} chronic GVHD without an onset date{absent}")
        for i in np.flatnonzero((chronic == "none") & onset.notna()):
            report.add(i, shown, times.shown("cgvhd_months", i), "onset date given but cgvhd = none")

    if "status_at_hct" in frame:
        status = frame["status_at_hct"]
        if "pif" in frame:
            for i in np.flatnonzero((frame["pif"] == 1) & status.notna() & (status != "NR")):
                report.add(i, "pif", "1", f"primary induction failure with status at HCT {status.iloc[i]} (only NR)")
        if "cr_after_hct_months" in frame:
            shown = _shown_column("cr_after_hct_months", raw_columns)
            for i in np.flatnonzero((status == "CR") & frame["cr_after_hct_months"].notna()):
                report.add(i, shown, times.shown("cr_after_hct_months", i), "CR after HCT for a patient in CR at HCT")


def _check_calendar(hct_text: pd.Series, raw_columns, times: _Times, hct, report: _Collector, cutoff: dt.date,
                    cutoff_text: str) -> None:
    """The year of HCT in its range (given, or derived from hct_date: the same rule), and no date after
    the cutoff (the extract's date, else today)."""
    hct_year = BY_NAME["hct_year"]
    year = pd.Series(hct.astype("datetime64[Y]").astype(float) + 1970, index=hct_text.index).where(~np.isnat(hct))
    outside = year.notna() & ((year < hct_year.minimum) | (year > hct_year.maximum))
    for i in np.flatnonzero(outside):
        report.add(i, "hct_date", hct_text.iloc[i], f"year of HCT {year.iloc[i]:g} outside the range "
                   f"{_range_text(hct_year.minimum, hct_year.maximum)} of hct_year")
    limit = np.datetime64(cutoff, "D")
    for i in np.flatnonzero(hct > limit):
        report.add(i, "hct_date", hct_text.iloc[i], f"date after {cutoff_text}")
    # every later date: a calendar date given, or hct_date plus a time after HCT
    room = (limit - hct).astype("timedelta64[D]").astype(float) / MONTH_DAYS  # months from HCT to the cutoff
    for name, months in times.months.items():
        if name in times.dates:
            late = times.dates[name] > limit
        else:
            late = (months > room).to_numpy() & ~np.isnat(hct)
        for i in np.flatnonzero(late):
            report.add(i, _shown_column(name, raw_columns), times.shown(name, i), f"date after {cutoff_text}")


def _study_specs(mapping) -> list[Column]:
    """The columns to parse: SPEC's (with the study's levels) and the study's own."""
    if mapping is None or not hasattr(mapping, "study_columns"):
        return list(COLUMNS)
    study = {c.name: c for c in mapping.study_columns()}
    return [study.get(c.name, c) for c in COLUMNS] + [c for c in study.values() if c.name not in BY_NAME]


def validate(
    raw: pd.DataFrame,
    source: str = "input",
    today: dt.date | None = None,
    *,
    mapping=None,
    changes=None,
    extract_date: dt.date | None = None,
) -> tuple[pd.DataFrame, list[Problem]]:
    """Turn text cells into the analysis frame; return it with every problem found.

    `changes` (a study's `RecordChanges`: exclusions and corrections) are applied first, then
    `mapping` (a study's `Mapping`, see `apply_mapping`); its `unavailable` columns are not
    required.  The frame has the SPEC columns present and the study's own, event times as
    `X_months` (months after HCT, float), `hct_date` as datetime64 when given and `hct_year`.
    No date may lie after `extract_date` (the day the extract was made), else after `today`.
    """
    problems: list[Problem] = []
    if changes:
        raw, problems = apply_changes(raw, changes, record_ids(raw, mapping))
    raw, mapping_problems = apply_mapping(raw, mapping)
    unavailable = frozenset(getattr(mapping, "unavailable", ()) or ())
    unit = getattr(mapping, "time_unit", "days")
    ids = raw["patient_id"] if "patient_id" in raw else pd.Series([""] * len(raw), index=raw.index)
    report = _Collector(ids.reset_index(drop=True), lines_of(raw), raw.attrs.get("source_names", {}))
    for p in problems + mapping_problems:
        report.problems.append(replace(p, source_column=p.source_column or report.source_of(p.column)))
    report.problems.extend(raw.attrs.get("problems", ()))
    censoring = raw.attrs.get("censoring", {})
    attrs = raw.attrs
    raw.attrs = {}  # (a copy: apply_mapping's) pandas would deep-copy them on every operation below
    if not raw.index.equals(pd.RangeIndex(len(raw))):
        raw = raw.reset_index(drop=True)
        censoring = {k: v.reset_index(drop=True) for k, v in censoring.items()}
    raw.attrs = {k: attrs[k] for k in ("numeric_columns",) if k in attrs}
    if len(raw) == 0 and not any(p.severity == "error" for p in report.problems):
        report.add(None, None, None, "the file has no records, only a header")
    specs = _study_specs(mapping)
    used = set(attrs.get("source_names", {}).values()) | {c.name for c in specs}
    _check_unknown_columns(raw, report, used)
    _check_required(raw, report, unavailable)
    raw_columns, index = raw.columns, raw.index
    columns = _parse_columns(raw, report, specs, mapping)
    times, hct = _parse_times(raw, report, unit, getattr(mapping, "date_epoch", None))
    # Every cell is parsed: the text frame goes (a third of the memory at 10^6 records), but for the
    # cells that messages below quote (dates and times in `times.texts`, ids in `report`, hct_date).
    hct_text = raw["hct_date"] if hct is not None else None
    del raw
    # Side by side, not consolidated into one 2-D block per dtype: copying a million-row block of
    # objects costs more than every check below.
    frame = pd.concat({**columns, **times.months}, axis=1, copy=False) if columns or times.months \
        else pd.DataFrame(index=index)
    del columns
    _add_absent_times(frame, times)
    _check_censoring(frame, times, censoring, report, unit)
    cutoff = extract_date or today or dt.date.today()
    cutoff_text = f"the extract's date ({cutoff.isoformat()})" if extract_date else f"today ({cutoff.isoformat()})"
    if hct is not None:
        frame["hct_date"] = pd.Series(hct.astype("datetime64[ns]"), index=index)
        derived_year = frame["hct_date"].dt.year.astype(float)
        if "hct_year" in frame:
            mismatch = frame["hct_year"].notna() & derived_year.notna() & (frame["hct_year"] != derived_year)
            for i in np.flatnonzero(mismatch):
                report.add(i, "hct_year", f"{frame['hct_year'].iloc[i]:g}",
                           f"differs from the year of hct_date ({derived_year.iloc[i]:g})")
            frame["hct_year"] = frame["hct_year"].fillna(derived_year)
        else:
            frame["hct_year"] = derived_year
        _check_calendar(hct_text, raw_columns, times, hct, report, cutoff, cutoff_text)
    times.dates.clear()  # (only the calendar needs them: 8 MB a column at 10^6 records)
    _check_records(frame, times, raw_columns, report)
    if "pif" in frame:
        frame["pif"] = frame["pif"].fillna(0)
    found = sorted(report.problems, key=lambda p: (p.line or 0, p.column or "", p.message))
    return frame, found  # (its index is raw's: 0..n-1)


def read_and_validate(path, *, encoding: str | None = None, sheet: str | int | None = None,
                      today: dt.date | None = None, mapping=None, changes=None,
                      extract_date: dt.date | None = None) -> tuple[pd.DataFrame, list[Problem], int]:
    """`validate(read_table(path, encoding, sheet), ...)` and the number of records read.

    The text frame is handed over, not kept here: `validate` drops it once every cell is parsed, so
    that the text and the analysis frame of a large extract are not held at once.  (Hence a plain
    call: `**options` would pack the arguments in a tuple that holds the frame until `validate` returns.)"""
    raw = [read_table(path, encoding=encoding, sheet=sheet)]
    n_records = len(raw[0])
    frame, problems = validate(raw.pop(), source=str(path), today=today, mapping=mapping, changes=changes,
                               extract_date=extract_date)
    return frame, problems, n_records
