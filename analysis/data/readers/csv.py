"""CSV (and tab-separated) extracts: UTF-8 with or without BOM, CP932/Shift_JIS, UTF-16 with BOM.

Plain rectangular files (no quotes, no title or blank lines: what registries export) are split
into cells by Arrow's CSV reader; anything else goes through Python's `csv` module, with the
same cells, line numbers and messages.
"""
from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.data.problems import DataValidationError, Problem, file_problem
from analysis.data.readers.frame import assemble, header_names, split_header, with_lines

__all__ = ["ENCODINGS", "SUFFIXES", "read", "read_plain_csv"]

SUFFIXES = (".csv", ".tsv", ".txt")
ENCODINGS = ("utf-8-sig", "cp932")  # UTF-8 (with or without BOM), then Shift_JIS as Japanese registries export

# What str.strip() removes: the characters Python counts as whitespace (str.isspace).
_WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
               "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")
_CSV_FIELD_LIMIT = csv.field_size_limit()


def read_plain_csv(text: str, delimiter: str) -> pd.DataFrame | None:
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
    header = header_names([cell.strip() for cell in header_line.split(delimiter)])
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
                problems.append(file_problem(f"column {i + 1} has values but no name in the header"))
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
    return with_lines(frame, lines, problems)


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
    for candidate in ENCODINGS:
        try:
            return data.decode(candidate), None
        except UnicodeDecodeError as error:
            reasons.append(f"{candidate}: {error.reason} at byte {error.start}")
    return None, ("cannot decode the file as UTF-8 or CP932 (" + "; ".join(reasons)
                  + "); give the encoding with --encoding (or `encoding:` in the study file)")


def read(path: Path, encoding: str | None) -> pd.DataFrame:
    text, why = _decode(path.read_bytes(), encoding)
    if text is None:
        raise DataValidationError(str(path), [file_problem(why)])
    text = text.lstrip("\ufeff")
    first = text.split("\n", 1)[0]
    delimiter = "\t" if path.suffix.lower() == ".tsv" or ("\t" in first and "," not in first) else ","
    simple = read_plain_csv(text, delimiter)
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
    header, rows, lines = split_header(records)
    if header is None:
        raise DataValidationError(str(path), [file_problem("the file is empty (no header line)")])
    return assemble(header, rows, lines, [])
