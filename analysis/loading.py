"""Read a registry extract and validate it against the SPEC format.

Loading and validation happen once, at the entry (`load_cohort`).  Every
problem in the file is collected before anything is raised, so a user fixes
their extract in one pass.  The input file is only ever opened for reading.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .schema import BY_NAME, COLUMNS, DATE_COLUMNS, EVENT_DATES, day_column

EXCEL_EPOCH = dt.date(1899, 12, 30)  # Excel's day 0 (with its 1900 leap-year bug folded in)
CSV_ENCODINGS = ("utf-8-sig", "cp932")  # UTF-8 (with or without BOM), then Shift_JIS as Japanese registries export


@dataclass(frozen=True)
class Problem:
    """One defect in the input: where it is, what it holds and why it is wrong."""

    line: int | None  # 1-based line in the file (header = line 1); None for file-level problems
    patient_id: str | None
    column: str | None
    value: str | None
    message: str
    severity: str = "error"  # "error" stops the run; "warning" is shown in the report

    def __str__(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.patient_id:
            where.append(f"patient {self.patient_id}")
        if self.column:
            where.append(f"column {self.column}")
        value = f" (value {self.value!r})" if self.value not in (None, "") else ""
        prefix = ", ".join(where) or "file"
        return f"{self.severity.upper()}: {prefix}: {self.message}{value}"


class DataValidationError(ValueError):
    """Raised with every error found in an extract; nothing has been written."""

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = problems
        errors = [p for p in problems if p.severity == "error"]
        lines = "\n".join(f"  {p}" for p in errors)
        super().__init__(f"{source}: {len(errors)} problem(s) found:\n{lines}")


@dataclass(frozen=True, eq=False)
class Cohort:
    """A validated cohort: analysis columns with event dates as days after HCT."""

    data: pd.DataFrame
    source: str
    sha256: str
    synthetic: bool
    n_records: int
    warnings: tuple[Problem, ...] = field(default=())

    @property
    def n(self) -> int:
        return len(self.data)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _cell_text(value) -> str:
    """Normalise a spreadsheet/parquet cell to the text a CSV would hold."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return ""
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def read_table(path: str | Path, encoding: str | None = None, sheet: str | int | None = None) -> pd.DataFrame:
    """Read CSV (UTF-8, UTF-8 BOM, CP932), .xlsx or Parquet into a frame of text cells."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        raw = pd.read_excel(path, sheet_name=0 if sheet is None else sheet, dtype=object)
        return raw.map(_cell_text).rename(columns=lambda c: str(c).strip())
    if suffix == ".parquet":
        raw = pd.read_parquet(path)
        return raw.astype(object).map(_cell_text).rename(columns=lambda c: str(c).strip())
    encodings = (encoding,) if encoding else CSV_ENCODINGS
    last_error: Exception | None = None
    for candidate in encodings:
        try:
            raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=candidate)
        except UnicodeDecodeError as error:
            last_error = error
            continue
        return raw.map(str.strip).rename(columns=lambda c: str(c).strip())
    raise DataValidationError(
        str(path),
        [Problem(None, None, None, None, f"cannot decode the file as {' or '.join(encodings)}: {last_error}")],
    )


_DATE_PATTERNS = (
    (re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$"), "%Y-%m-%d"),
    (re.compile(r"^\d{4}/\d{1,2}/\d{1,2}$"), "%Y/%m/%d"),
    (re.compile(r"^\d{8}$"), "%Y%m%d"),
)


def parse_date(text: str) -> dt.date | None:
    """ISO, YYYY/MM/DD, YYYYMMDD or an Excel serial number; None if unparseable."""
    for pattern, fmt in _DATE_PATTERNS:
        if pattern.match(text):
            try:
                return dt.datetime.strptime(text, fmt).date()
            except ValueError:
                return None
    if re.fullmatch(r"\d{4,5}(\.0+)?", text):
        serial = int(float(text))
        if 10000 <= serial <= 80000:  # 1927..2119: anything else is not a plausible HCT-era date
            return EXCEL_EPOCH + dt.timedelta(days=serial)
    return None


class _Collector:
    """Accumulates problems with the row's line number and patient id."""

    def __init__(self, ids: pd.Series):
        self.ids = ids
        self.problems: list[Problem] = []

    def add(self, row, column, value, message, severity="error"):
        if row is None:
            self.problems.append(Problem(None, None, column, value, message, severity))
            return
        pid = self.ids.iloc[row] if row < len(self.ids) else None
        self.problems.append(Problem(row + 2, pid or None, column, value, message, severity))


def _parse_columns(raw: pd.DataFrame, report: _Collector) -> dict[str, pd.Series]:
    """Parse each present column into typed values, reporting every bad cell."""
    parsed: dict[str, pd.Series] = {}
    n = len(raw)
    for spec in COLUMNS:
        if spec.kind == "date":
            continue
        if spec.name not in raw:
            continue
        text = raw[spec.name]
        if spec.kind in ("id", "text"):
            parsed[spec.name] = text.where(text != "", None)
        elif spec.kind == "code":
            values = text.where(text != "", None)
            for i in np.flatnonzero(values.notna() & ~values.isin(spec.codes)):
                report.add(i, spec.name, text.iloc[i], f"unknown code; expected one of {', '.join(spec.codes)}")
            parsed[spec.name] = values.where(values.isin(spec.codes), None)
        else:
            numbers = pd.to_numeric(text.where(text != ""), errors="coerce")
            for i in np.flatnonzero(numbers.isna() & (text != "")):
                report.add(i, spec.name, text.iloc[i], "not a number")
            if spec.kind in ("flag", "integer"):
                for i in np.flatnonzero(numbers.notna() & (numbers % 1 != 0)):
                    report.add(i, spec.name, text.iloc[i], "not a whole number")
            if spec.kind == "flag":
                for i in np.flatnonzero(numbers.notna() & ~numbers.isin([0, 1])):
                    report.add(i, spec.name, text.iloc[i], "flag must be 0 or 1")
            low = 0 if spec.kind == "flag" else spec.minimum
            high = 1 if spec.kind == "flag" else spec.maximum
            out_of_range = numbers.notna() & (
                ((numbers < low) if low is not None else False) | ((numbers > high) if high is not None else False)
            )
            for i in np.flatnonzero(out_of_range):
                report.add(i, spec.name, text.iloc[i], f"outside the range {low}-{high}")
            parsed[spec.name] = numbers.where(~out_of_range).astype(float)
    assert all(len(v) == n for v in parsed.values())
    return parsed


def _parse_dates(raw: pd.DataFrame, report: _Collector) -> tuple[dict[str, pd.Series], pd.Series | None]:
    """Event times as days after HCT, from `X_date` (with hct_date) or `X_day` columns."""
    hct = None
    if "hct_date" in raw:
        hct = raw["hct_date"].map(lambda s: parse_date(s) if s else None)
        for i in np.flatnonzero((raw["hct_date"] != "") & hct.isna()):
            report.add(i, "hct_date", raw["hct_date"].iloc[i], "unparseable date (use YYYY-MM-DD)")
        for i in np.flatnonzero(raw["hct_date"] == ""):
            report.add(i, "hct_date", "", "missing date of HCT")
    days: dict[str, pd.Series] = {}
    for column in DATE_COLUMNS:
        if column == "hct_date":
            continue
        day_name = day_column(column)
        if column in raw:
            if hct is None:
                report.add(None, column, None, f"{column} needs hct_date (or give {day_name} as days after HCT)")
                continue
            dates = raw[column].map(lambda s: parse_date(s) if s else None)
            for i in np.flatnonzero((raw[column] != "") & dates.isna()):
                report.add(i, column, raw[column].iloc[i], "unparseable date (use YYYY-MM-DD)")
            values = [
                float((d - h).days) if d is not None and h is not None else np.nan for d, h in zip(dates, hct)
            ]
            days[day_name] = pd.Series(values, index=raw.index, dtype=float)
        elif day_name in raw:
            text = raw[day_name]
            numbers = pd.to_numeric(text.where(text != ""), errors="coerce")
            bad = (numbers.isna() & (text != "")) | (numbers.notna() & (numbers % 1 != 0))
            for i in np.flatnonzero(bad):
                report.add(i, day_name, text.iloc[i], "days after HCT must be a whole number")
            days[day_name] = numbers.where(~bad).astype(float)
    return days, hct


def _check_required(raw: pd.DataFrame, report: _Collector) -> None:
    for spec in COLUMNS:
        present = spec.name in raw or (spec.kind == "date" and day_column(spec.name) in raw)
        if spec.required and not present:
            report.add(None, spec.name, None, "required column is missing")
        if spec.required and spec.name in raw:
            for i in np.flatnonzero(raw[spec.name] == ""):
                report.add(i, spec.name, "", "required value is missing")
    if "relapse" in raw and "relapse_date" not in raw and "relapse_day" not in raw:
        report.add(None, "relapse_date", None, "required column is missing (relapse_date or relapse_day)")


def _check_records(frame: pd.DataFrame, report: _Collector) -> None:
    """Cross-field rules: impossible records are errors, questionable ones warnings."""
    ids = frame["patient_id"]
    for i in np.flatnonzero(ids.notna() & ids.duplicated(keep=False)):
        report.add(i, "patient_id", ids.iloc[i], "duplicate patient_id")

    last = frame.get("last_contact_day")
    for column in [c for c in frame.columns if c.endswith("_day")]:
        values = frame[column]
        for i in np.flatnonzero(values < 0):
            report.add(i, column.replace("_day", "_date"), f"{values.iloc[i]:g} days", "date before HCT")
        if last is not None and column != "last_contact_day":
            for i in np.flatnonzero(values > last):
                report.add(
                    i,
                    column.replace("_day", "_date"),
                    f"day {values.iloc[i]:g} > last contact day {last.iloc[i]:g}",
                    "event after last contact",
                )

    for flag, date_column in EVENT_DATES.items():
        day_name = day_column(date_column)
        if flag not in frame or day_name not in frame:
            continue
        for i in np.flatnonzero((frame[flag] == 1) & frame[day_name].isna()):
            report.add(i, date_column, "", f"{flag} = 1 without a date")
        for i in np.flatnonzero((frame[flag] == 0) & frame[day_name].notna()):
            report.add(i, date_column, f"day {frame[day_name].iloc[i]:g}", f"date given but {flag} = 0")

    if "vital_status" in frame and "last_contact_day" in frame:
        dead = frame["vital_status"] == "dead"
        for i in np.flatnonzero(dead & frame["last_contact_day"].isna()):
            report.add(i, "last_contact_date", "", "dead without a date of death")
        if "cause_of_death" in frame:
            for i in np.flatnonzero(~dead & frame["cause_of_death"].notna()):
                report.add(i, "cause_of_death", frame["cause_of_death"].iloc[i], "cause of death given for a living patient")
            for i in np.flatnonzero(dead & frame["cause_of_death"].isna()):
                report.add(i, "cause_of_death", "", "dead without a cause of death (counted as unknown)", "warning")

    if "agvhd_grade" in frame and "agvhd_day" in frame:
        grade, day = frame["agvhd_grade"], frame["agvhd_day"]
        for i in np.flatnonzero((grade >= 2) & day.isna()):
            report.add(i, "agvhd_date", "", f"acute GVHD grade {grade.iloc[i]:g} without an onset date")
        for i in np.flatnonzero((grade < 2) & day.notna()):
            report.add(i, "agvhd_date", f"day {day.iloc[i]:g}", "onset date given but grade < II")
    if "cgvhd" in frame and "cgvhd_day" in frame:
        chronic, day = frame["cgvhd"], frame["cgvhd_day"]
        for i in np.flatnonzero(chronic.isin(["limited", "extensive"]) & day.isna()):
            report.add(i, "cgvhd_date", "", f"{chronic.iloc[i]} chronic GVHD without an onset date")
        for i in np.flatnonzero((chronic == "none") & day.notna()):
            report.add(i, "cgvhd_date", f"day {day.iloc[i]:g}", "onset date given but cgvhd = none")

    if "status_at_hct" in frame:
        status = frame["status_at_hct"]
        if "pif" in frame:
            for i in np.flatnonzero((frame["pif"] == 1) & status.notna() & (status != "NR")):
                report.add(i, "pif", "1", f"primary induction failure with status at HCT {status.iloc[i]} (only NR)")
        if "cr_after_hct_day" in frame:
            for i in np.flatnonzero((status == "CR") & frame["cr_after_hct_day"].notna()):
                report.add(i, "cr_after_hct_date", f"day {frame['cr_after_hct_day'].iloc[i]:g}", "CR after HCT for a patient in CR at HCT")


def validate(raw: pd.DataFrame, source: str = "input", today: dt.date | None = None) -> tuple[pd.DataFrame, list[Problem]]:
    """Turn text cells into the analysis frame; return it with every problem found."""
    report = _Collector(raw["patient_id"] if "patient_id" in raw else pd.Series([""] * len(raw)))
    _check_required(raw, report)
    columns = _parse_columns(raw, report)
    days, hct = _parse_dates(raw, report)
    frame = pd.DataFrame({**columns, **days}, index=raw.index)
    if hct is not None:
        frame["hct_date"] = pd.to_datetime(hct)
        derived_year = frame["hct_date"].dt.year.astype(float)
        if "hct_year" in frame:
            mismatch = frame["hct_year"].notna() & derived_year.notna() & (frame["hct_year"] != derived_year)
            for i in np.flatnonzero(mismatch):
                report.add(i, "hct_year", f"{frame['hct_year'].iloc[i]:g}", f"differs from the year of hct_date ({derived_year.iloc[i]:g})")
            frame["hct_year"] = frame["hct_year"].fillna(derived_year)
        else:
            frame["hct_year"] = derived_year
        today = today or dt.date.today()
        if "last_contact_day" in frame:
            last_date = frame["hct_date"] + pd.to_timedelta(frame["last_contact_day"], unit="D")
            for i in np.flatnonzero(last_date > pd.Timestamp(today)):
                report.add(i, "last_contact_date", str(last_date.iloc[i].date()), "last contact is in the future", "warning")
    if "patient_id" in frame:
        _check_records(frame, report)
    if "pif" in frame:
        frame["pif"] = frame["pif"].fillna(0)
    problems = sorted(report.problems, key=lambda p: (p.line or 0, p.column or ""))
    return frame.reset_index(drop=True), problems


def load_cohort(path: str | Path, *, synthetic: bool | None = None, encoding: str | None = None, sheet=None) -> Cohort:
    """Read and validate an extract; raise DataValidationError listing every error."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"data file not found: {path}")
    raw = read_table(path, encoding=encoding, sheet=sheet)
    frame, problems = validate(raw, source=str(path))
    if any(p.severity == "error" for p in problems):
        raise DataValidationError(str(path), problems)
    if synthetic is None:
        synthetic = "synthetic" in path.resolve().parts
    return Cohort(
        data=frame,
        source=path.name,
        sha256=file_sha256(path),
        synthetic=synthetic,
        n_records=len(raw),
        warnings=tuple(p for p in problems if p.severity == "warning"),
    )
