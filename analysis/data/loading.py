"""Read a registry extract, map it onto the SPEC format and validate it.

Loading and validation happen once, at the entry (`load_cohort`):

1. `read_table` reads CSV (UTF-8, UTF-8 with BOM, CP932/Shift_JIS, UTF-16 with BOM; detected, or
   given as `encoding`), `.xlsx` (the first sheet, or `sheet`) or Parquet into a frame of text
   cells, remembering each record's line (row) in the file.  The file is only ever opened for
   reading.
2. `apply_mapping` renames a registry's own columns and codes onto the SPEC names (a study's
   `mapping:`), adds constant columns and blanks the registry's "not recorded" values.
3. `validate` parses every cell and checks every record; each problem names the line,
   `patient_id`, column (and the registry's own column name), the value and the reason.  Every
   problem in the file is collected before anything is raised, so a user fixes their extract in
   one pass.  Errors stop the run; questionable but usable records are warnings.
4. `apply_inclusion` applies a study's inclusion criteria: records outside them are excluded
   with a reason, so that every record is either analysed or counted under exactly one reason.
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import difflib
import hashlib
import io
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.domain.groupings import map_distinct
from analysis.data.schema import (
    COLUMNS,
    DATE_COLUMNS,
    EVENT_DATES,
    UNGRADED_ALTERNATIVES,
    UNGRADED_DATES,
    date_column_of,
    day_column,
)

EXCEL_EPOCH = dt.date(1899, 12, 30)  # Excel's day 0 (with its 1900 leap-year bug folded in)
CSV_ENCODINGS = ("utf-8-sig", "cp932")  # UTF-8 (with or without BOM), then Shift_JIS as Japanese registries export
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
PARQUET_SUFFIXES = (".parquet", ".pq")
YEAR_RANGE = (1900, 2100)  # dates outside these years are typing errors, not transplants
MAX_DAYS = 36525  # 100 years after HCT
MAX_LISTED = 100  # errors spelled out in the exception's message (all are in `.problems`)
DATE_FORMATS_TEXT = "YYYY-MM-DD, YYYY/MM/DD, YYYYMMDD or an Excel serial number"


@dataclass(frozen=True)
class Problem:
    """One defect in the input: where it is, what it holds and why it is wrong.

    `column` is the SPEC name; `source_column` the registry's own name when a study mapping
    renamed it.  `line` is the record's line in a CSV file (header = line 1; a quoted value
    spanning lines counts from its first line), its row in a worksheet, and the record number + 1
    in a Parquet file.
    """

    line: int | None  # None for file-level problems
    patient_id: str | None
    column: str | None
    value: str | None
    message: str
    severity: str = "error"  # "error" stops the run; "warning" is shown in the report
    source_column: str | None = None

    @property
    def column_label(self) -> str:
        if self.source_column and self.column and self.source_column != self.column:
            return f"{self.source_column} ({self.column})"
        return self.column or self.source_column or ""

    def __str__(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.patient_id:
            where.append(f"patient {self.patient_id}")
        if self.column_label:
            where.append(f"column {self.column_label}")
        value = f" (value {self.value!r})" if self.value not in (None, "") else ""
        prefix = ", ".join(where) or "file"
        return f"{self.severity.upper()}: {prefix}: {self.message}{value}"


class DataValidationError(ValueError):
    """Raised with every error found in an extract; nothing has been written."""

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = list(problems)
        errors = self.errors
        shown = "\n".join(f"  {p}" for p in errors[:MAX_LISTED])
        more = f"\n  ... and {len(errors) - MAX_LISTED} more" if len(errors) > MAX_LISTED else ""
        super().__init__(f"{source}: {len(errors)} problem(s) found:\n{shown}{more}")

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity != "error"]


@dataclass(frozen=True, eq=False)
class Cohort:
    """A validated cohort: analysis columns with event dates as days after HCT.

    The flow is `n_records` records in the extract -> `exclusions` (reason, count), each record
    counted under exactly one reason -> `n` patients analysed; `n_records == n + n_excluded`.
    `criteria` describes the study's inclusion criteria in words (empty: every valid record).
    `warnings` hold patient-level detail (lines, ids, values): show only their counts.
    """

    data: pd.DataFrame
    source: str
    sha256: str
    synthetic: bool
    n_records: int
    warnings: tuple[Problem, ...] = field(default=())
    exclusions: tuple[tuple[str, int], ...] = field(default=())
    criteria: tuple[str, ...] = field(default=())

    @property
    def n(self) -> int:
        return len(self.data)

    @property
    def n_excluded(self) -> int:
        return sum(k for _, k in self.exclusions)

    @property
    def flow(self) -> tuple[tuple[str, int, bool], ...]:
        """(label, count, is_exclusion) steps: records, each exclusion reason, analysed."""
        steps = [("Records in the extract", self.n_records, False)]
        steps += [(reason, k, True) for reason, k in self.exclusions]
        steps.append(("Patients analysed", self.n, False))
        return tuple(steps)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --------------------------------------------------------------------------- reading


def _cell_text(value) -> str:
    """Normalise a spreadsheet/parquet cell to the text a CSV would hold."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "1" if value else "0"
    if isinstance(value, (float, np.floating)):
        number = float(value)
        if math.isnan(number):
            return ""
        if number.is_integer() and abs(number) < 1e15:
            return str(int(number))
        return repr(number)
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, np.datetime64):
        return "" if np.isnat(value) else str(value)[:10]
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace").strip()
    return str(value).strip()


def _file_problem(message: str) -> Problem:
    return Problem(None, None, None, None, message)


def _header_names(cells: Sequence[str]) -> list[str]:
    return [str(c).strip().lstrip("\ufeff").strip() for c in cells]


def _assemble(header: list[str], rows: list[list[str]], lines: list[int], problems: list[Problem]) -> pd.DataFrame:
    """A text frame from a header and its records; structural defects become problems."""
    width = len(header)
    named = [i for i, name in enumerate(header) if name]
    for i, name in enumerate(header):
        if not name and any(i < len(r) and r[i] != "" for r in rows):
            problems.append(_file_problem(f"column {i + 1} has values but no name in the header"))
    seen: dict[str, int] = {}
    for i in named:
        name = header[i]
        if name in seen:
            problems.append(Problem(1, None, name, None, f"duplicate column name (columns {seen[name] + 1} and {i + 1})"))
        else:
            seen[name] = i
    columns = {name: i for name, i in seen.items()}
    records = []
    for row, line in zip(rows, lines):
        if len(row) > width and any(v != "" for v in row[width:]):
            problems.append(Problem(line, None, None, None, f"{len(row)} values but the header has {width} columns"))
        elif len(row) < width:
            problems.append(Problem(line, None, None, None, f"{len(row)} values but the header has {width} columns"))
        records.append([row[i] if i < len(row) else "" for i in columns.values()])
    frame = pd.DataFrame(records, columns=list(columns), dtype=object)
    return _with_lines(frame, lines, problems)


def _with_lines(frame: pd.DataFrame, lines, problems: list[Problem]) -> pd.DataFrame:
    """Attach each record's line and the structural problems (with the ids of their records)."""
    # An array, not a list: pandas deep-copies `attrs` on every operation on the frame.
    frame.attrs["lines"] = np.asarray(lines, dtype=np.int64)
    frame.attrs["problems"] = list(problems)
    if len(frame) and "patient_id" in frame and any(p.line and p.line != 1 for p in problems):
        ids = dict(zip(lines, frame["patient_id"]))  # fill the ids of structural problems
        frame.attrs["problems"] = [replace(p, patient_id=ids.get(p.line) or None) if p.line and p.line != 1 else p
                                   for p in problems]
    return frame


# What str.strip() removes: the characters Python counts as whitespace (str.isspace).
_WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
               "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
_CSV_FIELD_LIMIT = csv.field_size_limit()


def _read_simple_csv(text: str, delimiter: str) -> pd.DataFrame | None:
    """The text frame of an unquoted CSV whose every line has the header's number of values.

    Registry exports are nearly always of this form.  A record is then one line and its cells
    are the line split at the delimiter, exactly as the csv module reads it, so Arrow's CSV
    parser cuts the cells out in bulk; cells are stripped as str.strip() strips them, and a
    line of empty cells is not a record, as in the general reader.  Anything else (quotes, a
    title line above the header, blank or ragged lines, a lone carriage return, NUL bytes, a
    cell longer than the csv module allows) returns None and is read by the general reader.
    """
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
        from pyarrow import csv as pa_csv
    except ImportError:  # pragma: no cover - pyarrow is a pinned dependency
        return None
    if '"' in text or "\x00" in text:
        return None
    if "\r" in text:
        text = text.replace("\r\n", "\n")
        if "\r" in text:
            return None
    body = text.rstrip("\n")  # blank lines at the end are not records
    header_line, newline, rest = body.partition("\n")
    header = _header_names([cell.strip() for cell in header_line.split(delimiter)])
    if sum(1 for name in header if name) < 2 or not newline or not rest or rest.startswith("\n") or "\n\n" in rest:
        return None
    width = len(header)
    try:
        table = pa_csv.read_csv(
            io.BytesIO(rest.encode("utf-8")),
            read_options=pa_csv.ReadOptions(autogenerate_column_names=True),
            parse_options=pa_csv.ParseOptions(delimiter=delimiter, quote_char=False, double_quote=False,
                                              escape_char=False, newlines_in_values=False, ignore_empty_lines=False),
            convert_options=pa_csv.ConvertOptions(
                column_types={f"f{j}": pa.string() for j in range(width)}, null_values=[], true_values=[],
                false_values=[], strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # a line with another number of values
        return None
    if table.num_columns != width:
        return None
    raw_columns = [table.column(j).combine_chunks() for j in range(width)]
    del table
    if any((pc.max(pc.utf8_length(c)).as_py() or 0) > _CSV_FIELD_LIMIT for c in raw_columns):
        return None
    stripped = [pc.utf8_trim(c, characters=_WHITESPACE) for c in raw_columns]
    del raw_columns
    n = len(stripped[0])
    blank = np.ones(n, dtype=bool)
    for c in stripped:
        blank &= pc.equal(c, "").to_numpy(zero_copy_only=False)
    keep = ~blank
    lines = np.arange(2, 2 + n, dtype=np.int64)[keep]

    # One object block (rows x columns) built column by column: no per-cell Python work, and
    # repeated values (codes, dates) share one Python string.
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for i, name in enumerate(header):
        if not name:
            if pc.any(pc.not_equal(stripped[i], "")).as_py():
                problems.append(_file_problem(f"column {i + 1} has values but no name in the header"))
        elif name in seen:
            problems.append(Problem(1, None, name, None,
                                    f"duplicate column name (columns {seen[name] + 1} and {i + 1})"))
        else:
            seen[name] = i
    problems.sort(key=lambda p: p.line is not None)  # nameless columns first, as the general reader lists them
    block = np.empty((len(seen), int(keep.sum())), dtype=object)
    for k, i in enumerate(seen.values()):
        encoded = pc.dictionary_encode(stripped[i])
        distinct = encoded.dictionary.to_numpy(zero_copy_only=False).astype(object)
        block[k] = distinct[encoded.indices.to_numpy(zero_copy_only=False)[keep]]
    frame = pd.DataFrame(block.T, columns=list(seen), copy=False)
    return _with_lines(frame, lines, problems)


def _split_header(records: list[tuple[int, list[str]]]) -> tuple[list[str] | None, list[list[str]], list[int]]:
    """The header (the first non-blank row with two or more values: title lines above a table
    are not records), the records after it and their lines."""
    if not records:
        return None, [], []
    start = next((k for k, (_, cells) in enumerate(records) if sum(1 for c in cells if c) >= 2), 0)
    header = _header_names(records[start][1])
    rest = records[start + 1:]
    return header, [cells for _, cells in rest], [line for line, _ in rest]


def _decode(data: bytes, encoding: str | None) -> tuple[str | None, str | None]:
    """(text, None) or (None, why it cannot be decoded)."""
    if encoding:
        try:
            codecs.lookup(encoding)
        except LookupError:
            return None, f"unknown encoding {encoding!r}"
        try:
            return data.decode(encoding), None
        except UnicodeDecodeError as error:
            return None, f"cannot decode the file as {encoding}: {error}"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), None
        except UnicodeDecodeError as error:
            return None, f"cannot decode the file as UTF-16: {error}"
    reasons = []
    for candidate in CSV_ENCODINGS:
        try:
            return data.decode(candidate), None
        except UnicodeDecodeError as error:
            reasons.append(f"{candidate}: {error.reason} at byte {error.start}")
    return None, ("cannot decode the file as UTF-8 or CP932 (" + "; ".join(reasons)
                  + "); give the encoding with --encoding (or `encoding:` in the study file)")


def _read_csv(path: Path, encoding: str | None) -> pd.DataFrame:
    text, why = _decode(path.read_bytes(), encoding)
    if text is None:
        raise DataValidationError(str(path), [_file_problem(why)])
    text = text.lstrip("\ufeff")
    first = text.split("\n", 1)[0]
    delimiter = "\t" if path.suffix.lower() == ".tsv" or ("\t" in first and "," not in first) else ","
    simple = _read_simple_csv(text, delimiter)
    if simple is not None:
        return simple
    records: list[tuple[int, list[str]]] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    previous = 0
    try:
        for record in reader:
            start, previous = previous + 1, reader.line_num
            cells = [cell.strip() for cell in record]
            if any(cells):  # a blank line is not a record
                records.append((start, cells))
    except csv.Error as error:
        raise DataValidationError(str(path), [Problem(previous + 1, None, None, None, f"unreadable CSV: {error}")])
    header, rows, lines = _split_header(records)
    if header is None:
        raise DataValidationError(str(path), [_file_problem("the file is empty (no header line)")])
    return _assemble(header, rows, lines, [])


def _read_excel(path: Path, sheet: str | int | None) -> pd.DataFrame:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds on a damaged or foreign file
        raise DataValidationError(str(path), [_file_problem(f"cannot read the workbook: {type(error).__name__}: {error}")])
    try:
        names = workbook.sheetnames
        if sheet is None or sheet == "":
            worksheet = workbook.worksheets[0]
        elif isinstance(sheet, int) or (isinstance(sheet, str) and sheet not in names and sheet.isdigit()):
            index = int(sheet)
            if not 0 <= index < len(names):
                raise DataValidationError(str(path), [_file_problem(
                    f"no sheet number {index} (0 is the first); the workbook has {len(names)}: {', '.join(names)}")])
            worksheet = workbook.worksheets[index]
        elif sheet in names:
            worksheet = workbook[sheet]
        else:
            raise DataValidationError(str(path), [_file_problem(
                f"no sheet named {sheet!r}; the workbook has: {', '.join(names)}")])
        records: list[tuple[int, list[str]]] = []
        try:
            for number, values in enumerate(worksheet.iter_rows(values_only=True), start=1):
                cells = [_cell_text(v) for v in values]
                if any(cells):
                    records.append((number, cells))
        except DataValidationError:
            raise
        except Exception as error:
            raise DataValidationError(str(path), [_file_problem(
                f"cannot read sheet {worksheet.title!r}: {type(error).__name__}: {error}")])
    finally:
        workbook.close()
    header, rows, lines = _split_header(records)
    if header is None:
        raise DataValidationError(str(path), [_file_problem(f"sheet {worksheet.title!r} is empty (no header row)")])
    return _assemble(header, rows, lines, [])


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        raw = pd.read_parquet(path)
    except Exception as error:  # pyarrow raises several kinds on a damaged file
        raise DataValidationError(str(path), [_file_problem(f"cannot read the Parquet file: {type(error).__name__}: {error}")])
    header = _header_names([str(c) for c in raw.columns])
    rows = [[_cell_text(v) for v in record] for record in raw.astype(object).itertuples(index=False, name=None)]
    return _assemble(header, rows, list(range(2, len(rows) + 2)), [])


def read_table(path: str | Path, encoding: str | None = None, sheet: str | int | None = None) -> pd.DataFrame:
    """Read CSV (UTF-8, UTF-8 BOM, CP932, UTF-16 with BOM), .xlsx or Parquet into a frame of text cells.

    Cells are stripped text ("" for empty).  `frame.attrs["lines"]` holds each record's line
    (row) in the file and `frame.attrs["problems"]` the structural defects found (a row with
    more values than the header, duplicate column names...), which `validate` reports.
    Raises `DataValidationError` when the file cannot be read at all, `FileNotFoundError` when
    it does not exist.  Blank lines are not records.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"data file not found: {path}")
    suffix = path.suffix.lower()
    if suffix in EXCEL_SUFFIXES:
        return _read_excel(path, sheet)
    if suffix in PARQUET_SUFFIXES:
        return _read_parquet(path)
    if suffix in (".xls", ".ods", ".numbers", ".sav", ".dta", ".sas7bdat"):
        raise DataValidationError(str(path), [_file_problem(
            f"unsupported file type {suffix}: save the extract as .xlsx, CSV or Parquet")])
    return _read_csv(path, encoding)


def _lines_of(raw: pd.DataFrame) -> list[int]:
    lines = raw.attrs.get("lines")
    if lines is None or len(lines) != len(raw):
        return list(range(2, len(raw) + 2))
    return np.asarray(lines).tolist()


# --------------------------------------------------------------------------- mapping


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def apply_mapping(raw: pd.DataFrame, mapping) -> tuple[pd.DataFrame, list[Problem]]:
    """The registry's frame with SPEC column names and codes, and the mapping's problems.

    `mapping` is an `analysis.study.Mapping` (or any object with `columns`, `codes`,
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
    missing_values = {_nfkc(str(v)) for v in getattr(mapping, "missing", ()) or ()}
    if missing_values:
        for column in frame.columns:
            frame[column] = map_distinct(frame[column], lambda v: "" if v and _nfkc(v) in missing_values else v)
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
        lookup = {_nfkc(str(k)): str(v) for k, v in table.items()}
        frame[column] = map_distinct(frame[column], lambda v: lookup.get(_nfkc(v), v) if v else v)

    for column, value in (mapping.constants or {}).items():
        present = column in frame.columns or (column in DATE_COLUMNS and day_column(column) in frame.columns)
        if present:
            problems.append(Problem(None, None, column, None,
                                    f"mapping.constants gives {column} for every record, but the file has the column"))
            continue
        frame[column] = _cell_text(value)

    for column in getattr(mapping, "unavailable", ()) or ():
        names = [column] + ([day_column(column)] if column in DATE_COLUMNS else [])
        if any(n in frame.columns for n in names):
            problems.append(Problem(None, None, column, None,
                                    "declared unavailable (mapping.unavailable), but the file has the column"))
    frame.attrs["source_names"] = {target: source for source, target in rename.items()}
    return frame, problems


# --------------------------------------------------------------------------- parsing

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
            values = map_distinct(text, lambda s: _nfkc(s) if s else None)
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
            empty &= map_distinct(raw["vital_status"], _nfkc) != "dead"  # reported as "dead without a date of death"
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
    report = _Collector(ids.reset_index(drop=True), _lines_of(raw), raw.attrs.get("source_names", {}))
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


# --------------------------------------------------------------------------- inclusion


@dataclass(frozen=True)
class Criterion:
    """One inclusion criterion of a study: `column` in `values`, or within [minimum, maximum].

    A record that fails it is excluded with `reason(...)`; a record whose value is not
    recorded is excluded as "`column` not recorded" (it cannot be shown to qualify).
    """

    column: str
    values: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None

    def describe(self) -> str:
        label = _CRITERION_LABELS.get(self.column, self.column)
        if self.values:
            return f"{label}: {', '.join(self.values)}"
        parts = []
        if self.minimum is not None:
            parts.append(f"{label} ≥ {self.minimum:g}")
        if self.maximum is not None:
            parts.append(f"{label} ≤ {self.maximum:g}")
        return ", ".join(parts)

    def reasons(self, frame: pd.DataFrame) -> list[tuple[str, np.ndarray]]:
        """(reason, mask of the records failing for it), in order."""
        label = _CRITERION_LABELS.get(self.column, self.column)
        values = frame[self.column]
        unknown = values.isna().to_numpy()
        out = [(f"{label} not recorded", unknown)]
        if self.values:
            text = map_distinct(values, lambda v: f"{v:g}" if isinstance(v, float) else str(v), na_value=None)
            out.append((f"{label} other than {' or '.join(self.values)}",
                        (~unknown) & ~text.isin(self.values).to_numpy()))
        if self.minimum is not None:
            out.append((f"{label} below {self.minimum:g}", (~unknown) & (values < self.minimum).to_numpy()))
        if self.maximum is not None:
            out.append((f"{label} above {self.maximum:g}", (~unknown) & (values > self.maximum).to_numpy()))
        return out


_CRITERION_LABELS = {"age": "age", "hct_year": "year of HCT"}


def apply_inclusion(frame: pd.DataFrame, criteria: Sequence[Criterion]
                    ) -> tuple[np.ndarray, tuple[tuple[str, int], ...], list[Problem]]:
    """Which records meet every criterion (a mask), the (reason, count) of the others, and problems.

    A record failing several criteria is counted under the first (in the study file's order),
    so every record is analysed or counted under exactly one reason.  A criterion on a column
    the extract lacks is an error.
    """
    problems = [Problem(None, None, c.column, None, "inclusion criterion on a column the extract does not have")
                for c in criteria if c.column not in frame]
    excluded = np.zeros(len(frame), dtype=bool)
    if problems:
        return ~excluded, (), problems
    counts: dict[str, int] = {}
    for criterion in criteria:
        for reason, mask in criterion.reasons(frame):
            newly = mask & ~excluded
            if newly.any():
                counts[reason] = counts.get(reason, 0) + int(newly.sum())
            excluded |= mask
    return ~excluded, tuple(counts.items()), []


# --------------------------------------------------------------------------- entry


def load_cohort(
    path: str | Path,
    *,
    synthetic: bool | None = None,
    encoding: str | None = None,
    sheet: str | int | None = None,
    mapping=None,
    include: Sequence[Criterion] = (),
    today: dt.date | None = None,
) -> Cohort:
    """Read, map, validate and select an extract; raise DataValidationError listing every error.

    The file is only read.  `mapping` is a study's `Mapping`; `include` its inclusion criteria.
    """
    path = Path(path)
    raw = read_table(path, encoding=encoding, sheet=sheet)
    frame, problems = validate(raw, source=str(path), today=today, mapping=mapping)
    if any(p.severity == "error" for p in problems):
        raise DataValidationError(str(path), problems)
    keep, exclusions, inclusion_problems = apply_inclusion(frame, tuple(include))
    if inclusion_problems:
        raise DataValidationError(str(path), inclusion_problems + problems)
    if synthetic is None:
        synthetic = "synthetic" in path.resolve().parts
    kept_lines = set(np.asarray(_lines_of(raw))[keep].tolist()) if problems else set()
    return Cohort(
        data=frame.loc[keep].reset_index(drop=True),
        source=path.name,
        sha256=file_sha256(path),
        synthetic=synthetic,
        n_records=len(raw),
        # the warnings of the records analysed (an excluded record's are not the report's concern)
        warnings=tuple(p for p in problems if p.severity == "warning" and (p.line is None or p.line in kept_lines)),
        exclusions=exclusions,
        criteria=tuple(c.describe() for c in include),
    )
