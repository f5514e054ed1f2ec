"""CSV (and tab-separated) extracts: UTF-8 with or without BOM, CP932/Shift_JIS, UTF-16 with BOM.

Rectangular files (a header line, then one record per line, quoted or not: what registries
export) are split into cells by Arrow's CSV reader, column by column; anything else (title or
blank lines, ragged rows) goes through Python's `csv` module, with the same cells, line numbers
and messages.
"""
from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.data.problems import DataValidationError, Problem, file_problem
from analysis.data.readers.frame import (TEXT, assemble, cell_bytes, distinct_codes, header_names, split_header, stripped,
                                         with_lines)

__all__ = ["ENCODINGS", "SUFFIXES", "read", "read_columnar_csv"]

SUFFIXES = (".csv", ".tsv", ".txt")
ENCODINGS = ("utf-8-sig", "cp932")  # UTF-8 (with or without BOM), then Shift_JIS as Japanese registries export

_CSV_FIELD_LIMIT = csv.field_size_limit()


def _line_breaks(column) -> np.ndarray:
    """Line breaks inside each cell of a text column (LF, CRLF and a lone CR each count one, as the
    csv module counts lines)."""
    import pyarrow.compute as pc

    counts = pc.add(pc.count_substring(column, "\n"), pc.count_substring(column, "\r"))
    return pc.subtract(counts, pc.count_substring(column, "\r\n")).to_numpy(zero_copy_only=False)


def _count_breaks(data: bytes, start: int, end: int) -> int:
    """Line breaks in data[start:end] as the csv module counts lines (LF, CRLF, a lone CR)."""
    if data.find(b"\r", start, end) < 0:
        return data.count(b"\n", start, end)
    return data.count(b"\n", start, end) + data.count(b"\r", start, end) - data.count(b"\r\n", start, end)


def _end_of_text(data: bytes) -> int:
    """Where the text ends without its trailing line breaks (blank lines at the end are not records)."""
    end = len(data)
    while end and data[end - 1] in b"\r\n":
        end -= 1
    return end


# Encodings whose bytes below 0x80 are ASCII and never part of a multi-byte character, so that the
# delimiter, the quote and line breaks are found in the bytes as they are: Arrow splits the cells of
# such a file without decoding it.  (Not UTF-16, whose ASCII characters are two bytes.)
_ASCII_SAFE = frozenset({"cp932", "shift_jis", "euc_jp", "iso8859-1", "cp1252"})


def _ascii_safe(encoding: str) -> bool:
    try:
        return codecs.lookup(encoding).name in _ASCII_SAFE
    except LookupError:
        return False


def _decoded(column, encoding: str):
    """A column of raw cells (Arrow binary) as text; None when a cell does not decode as `encoding`.

    Cells of ASCII bytes only (codes, dates, numbers: nearly every column) are already their text
    and are taken as they are; a column holding other bytes is decoded one distinct value at a time."""
    import pyarrow as pa

    chunks = []
    for chunk in column.chunks:
        offsets, cells = cell_bytes(chunk)
        raw = cells[offsets[0]:offsets[-1]]
        if not raw.size or raw.max() < 0x80:
            chunks.append(chunk.view(pa.string()))
            continue
        codes, distinct = distinct_codes(chunk)
        try:
            texts = [value.decode(encoding) for value in distinct.to_pylist()]
        except UnicodeDecodeError:
            return None
        chunks.append(pa.array(texts, type=pa.string()).take(pa.array(codes)))
    return pa.chunked_array(chunks, type=pa.string())


def read_columnar_csv(data: bytes, delimiter: str, encoding: str | None = None) -> pd.DataFrame | None:
    """The text frame of a rectangular CSV, cells split by Arrow's CSV reader (quoted or not).

    Registry exports are nearly always rectangular: a header line, then one record per line, each
    with the header's number of values, cells quoted or not (R's `write.csv` quotes every cell).
    Arrow cuts the cells out as the csv module does (a quoted cell may hold the delimiter, doubled
    quotes and line breaks); cells are stripped as str.strip() strips them, and a record of empty
    cells is not a record, as in the general reader.  A record's line is 2 plus the records and the
    line breaks inside cells above it, so quoted cells holding line breaks keep every line exact.
    Anything else (a title line above the header, blank or ragged lines, NUL bytes, a cell longer
    than the csv module allows) returns None and is read by the general reader, which names the
    line of each defect.  The columns are Arrow-backed text (`str` dtype): no Python object per cell.
    The bytes are UTF-8 (Arrow checks), or in `encoding`, one whose ASCII bytes are always ASCII
    (`_ASCII_SAFE`: CP932 among them): its cells are split as bytes and decoded column by column.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    from pyarrow import csv as pa_csv

    if b"\x00" in data:
        return None
    end = _end_of_text(data)
    cut = min((i for i in (data.find(b"\n", 0, end), data.find(b"\r", 0, end)) if i >= 0), default=-1)
    if cut < 0:
        return None
    try:
        header_line = data[:cut].decode(encoding or "utf-8")
    except UnicodeDecodeError:
        return None
    if header_line.count('"') % 2:  # a quoted header name holding a line break
        return None
    header = header_names([cell.strip() for cell in next(csv.reader([header_line], delimiter=delimiter))])
    if sum(1 for name in header if name) < 2:
        return None
    body_start = cut + (2 if data[cut:cut + 2] == b"\r\n" else 1)
    if body_start >= end:
        return None
    body = memoryview(data)[body_start:end]
    width = len(header)
    cell_type = pa.string() if encoding is None else pa.binary()
    try:
        table = pa_csv.read_csv(
            pa.BufferReader(pa.py_buffer(body)),
            read_options=pa_csv.ReadOptions(autogenerate_column_names=True, block_size=1 << 24),
            parse_options=pa_csv.ParseOptions(delimiter=delimiter, quote_char='"', double_quote=True,
                                              escape_char=False, newlines_in_values=True, ignore_empty_lines=False),
            convert_options=pa_csv.ConvertOptions(
                column_types={f"f{j}": cell_type for j in range(width)}, null_values=[], true_values=[],
                false_values=[], strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # another number of values, or not UTF-8
        return None
    if table.num_columns != width:
        return None
    n = table.num_rows
    lines_in_body = _count_breaks(data, body_start, end) + 1
    columns = [table.column(j) for j in range(width)]
    del table
    if encoding is not None:
        columns = [_decoded(column, encoding) for column in columns]
        if any(column is None for column in columns):
            return None
    breaks = np.zeros(n, dtype=np.int64)
    if lines_in_body != n:  # line breaks inside quoted cells: count them, record by record
        for column in columns:
            if pc.any(pc.match_substring_regex(column, "[\r\n]")).as_py():
                breaks += _line_breaks(column)
        if int(breaks.sum()) + n != lines_in_body:  # blank lines between records
            return None
    # (bytes first: a cell's characters are never more than its bytes, which Arrow knows without reading them)
    if any((pc.max(pc.binary_length(c)).as_py() or 0) > _CSV_FIELD_LIMIT
           and (pc.max(pc.utf8_length(c)).as_py() or 0) > _CSV_FIELD_LIMIT for c in columns):
        return None
    columns = [stripped(column) for column in columns]
    blank = np.ones(n, dtype=bool)
    for column in columns:
        blank &= pc.equal(column, "").to_numpy(zero_copy_only=False)
        if not blank.any():
            break
    lines = 2 + np.arange(n, dtype=np.int64) + np.concatenate(([0], np.cumsum(breaks)[:-1])).astype(np.int64)

    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for i, name in enumerate(header):
        if not name:
            if pc.any(pc.not_equal(columns[i], "")).as_py():
                problems.append(file_problem(f"column {i + 1} has values but no name in the header"))
        elif name in seen:
            problems.append(Problem(1, None, name, None,
                                    f"duplicate column name (columns {seen[name] + 1} and {i + 1})"))
        else:
            seen[name] = i
    problems.sort(key=lambda p: p.line is not None)  # nameless columns first, as the general reader lists them
    if blank.any():
        keep = pa.array(~blank)
        columns = [pc.filter(c, keep) for c in columns]
        lines = lines[~blank]
    frame = pd.DataFrame({name: pd.array(columns[i], dtype=TEXT) for name, i in seen.items()}, copy=False)
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


def _columnar(data: bytes, suffix: str, encoding: str | None = None) -> pd.DataFrame | None:
    """`read_columnar_csv` of UTF-8 bytes (a BOM dropped) or bytes in an ASCII-safe `encoding`, with
    the delimiter of the first line."""
    if encoding is None and data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
    newline = data.find(b"\n")
    first = data[:newline] if newline >= 0 else data
    delimiter = "\t" if suffix == ".tsv" or (b"\t" in first and b"," not in first) else ","
    return read_columnar_csv(data, delimiter, encoding)


_BLOCK = 1 << 24  # bytes decoded at a time: a file is never held as one Python string


def _blocks_as_utf8(data: bytes, encoding: str):
    """The file's text in `encoding`, re-encoded as UTF-8 block by block (an incremental decoder:
    a character split between blocks is decoded whole); raises UnicodeError, LookupError."""
    decoder = codecs.getincrementaldecoder(encoding)()
    view = memoryview(data)
    for start in range(0, len(view), _BLOCK):
        yield decoder.decode(view[start:start + _BLOCK]).encode("utf-8")
    yield decoder.decode(b"", final=True).encode("utf-8")


def _is_utf8(data: bytes) -> bool:
    try:
        for _ in _blocks_as_utf8(data, "utf-8"):
            pass
    except UnicodeError:
        return False
    return True


def _as_utf8(data: bytes, encoding: str) -> bytes | None:
    """The file as UTF-8 bytes; None when it does not decode as `encoding` (the general reader then
    says where)."""
    try:
        return b"".join(_blocks_as_utf8(data, encoding))
    except (UnicodeError, LookupError):
        return None


def read(path: Path, encoding: str | None) -> pd.DataFrame:
    """The text frame of a delimited file.  UTF-8 bytes go to Arrow as they are (Arrow checks that
    they are UTF-8); another encoding (the one given, else CP932 when the file is not UTF-8) goes to
    Arrow as it is too when its ASCII bytes are always ASCII (CP932, EUC-JP, Latin-1: cells decoded
    after splitting), else is re-encoded as UTF-8 block by block first."""
    data = path.read_bytes()
    suffix = path.suffix.lower()
    try:
        wanted = codecs.lookup(encoding).name if encoding else None
    except LookupError:
        wanted = "unknown"
    utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    if wanted in (None, "utf-8", "utf-8-sig") and not utf16:
        columnar = _columnar(data, suffix)  # None when not UTF-8 (e.g. CP932), among others
        if columnar is not None:
            return columnar
    if wanted is None:
        other = "utf-16" if utf16 else (None if _is_utf8(data) else ENCODINGS[-1])
    else:
        other = None if wanted in ("utf-8", "utf-8-sig", "unknown") else encoding
    if other is not None and _ascii_safe(other):
        columnar = _columnar(data, suffix, other)
        if columnar is not None:
            return columnar
    elif other is not None:
        utf8 = _as_utf8(data, other)
        if utf8 is not None:
            del data  # (not held beside its UTF-8 copy: the general reader reads the file again)
            columnar = _columnar(utf8, suffix)
            del utf8
            if columnar is not None:
                return columnar
            data = path.read_bytes()
    return _read_general(path, data, encoding)


def _read_general(path: Path, data: bytes, encoding: str | None) -> pd.DataFrame:
    """Any delimited text the csv module reads, record by record: title lines, blank lines, ragged
    rows, each defect named by its line."""
    text, why = _decode(data, encoding)
    if text is None:
        raise DataValidationError(str(path), [file_problem(why)])
    del data
    text = text.lstrip("\ufeff")
    first = text.split("\n", 1)[0]
    delimiter = "\t" if path.suffix.lower() == ".tsv" or ("\t" in first and "," not in first) else ","
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
