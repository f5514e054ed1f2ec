"""The text frame every reader returns: one string cell per value, each record's line in the file.

Readers build it with `split_header` (the header is the first row of two or more values; title
lines above a table are not records) and `assemble`, which turns structural defects (a row with
more values than the header, duplicate or nameless columns) into `Problem`s that `validate`
reports with the others.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from analysis.data.cells import cell_text
from analysis.data.problems import Problem, file_problem

# The columnar readers' cells: Arrow-backed text (pandas' `str` dtype), NaN-free, no Python object per cell.
TEXT = pd.StringDtype("pyarrow", na_value=np.nan)

# What str.strip() removes: the characters Python counts as whitespace (str.isspace), for Arrow's utf8_trim.
WHITESPACE = ("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
              "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000")

__all__ = ["TEXT", "WHITESPACE", "arrow_text_column", "assemble", "cell_bytes", "distinct_codes", "header_names",
           "lines_of", "split_header", "stripped", "with_lines"]


def cell_bytes(chunk) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, bytes) of an Arrow string or binary array: cell i is bytes[offsets[i]:offsets[i + 1]]."""
    import pyarrow as pa

    wide = pa.types.is_large_string(chunk.type) or pa.types.is_large_binary(chunk.type)
    offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int64 if wide else np.int32)[chunk.offset:chunk.offset + len(chunk) + 1]
    body = chunk.buffers()[2]
    return offsets, (np.frombuffer(body, dtype=np.uint8) if body is not None else np.empty(0, np.uint8))


# Bytes a cell to be stripped may start or end with: ASCII whitespace, and any byte of a multi-byte
# UTF-8 character (U+3000, U+00A0, ... are whitespace to str.strip(); they are checked by Arrow).
_EDGE_BYTES = np.zeros(256, dtype=bool)
_EDGE_BYTES[[ord(c) for c in WHITESPACE if ord(c) < 0x80]] = True
_EDGE_BYTES[0x80:] = True


def _may_need_stripping(column) -> bool:
    """Whether any cell of a text column may start or end with whitespace: its first and last bytes
    looked up, without copying the column (nearly every column of an export has none to strip)."""
    for chunk in getattr(column, "chunks", [column]):
        offsets, cells = cell_bytes(chunk)
        filled = offsets[1:] > offsets[:-1]
        if _EDGE_BYTES[cells[offsets[:-1][filled]]].any() or _EDGE_BYTES[cells[offsets[1:][filled] - 1]].any():
            return True
    return False


def stripped(column):
    """A text column (Arrow) with each cell stripped as str.strip() strips it; the column itself when no
    cell can have anything to strip."""
    import pyarrow.compute as pc

    return pc.utf8_trim(column, characters=WHITESPACE) if _may_need_stripping(column) else column


def _same_array(a, b) -> bool:
    """Whether two Arrow arrays are views of the same memory (the same buffers, the same length)."""
    return len(a) == len(b) and all((x is None) == (y is None) and (x is None or x.address == y.address)
                                    for x, y in zip(a.buffers(), b.buffers()))


def distinct_codes(column) -> tuple[np.ndarray, object]:
    """(codes, dictionary) of an Arrow column: cell i is dictionary[codes[i]], a null one entry (null).

    Each distinct cell is then converted or checked once, not once per record.  A column of several
    chunks is hashed chunk by chunk into the one dictionary Arrow builds for all of them, without
    copying the chunks into one array first (at 10^6 records, 0.18 s of a validation)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(column, pa.ChunkedArray) and column.num_chunks > 1:
        chunks = pc.dictionary_encode(column, null_encoding="encode").chunks
        dictionary = chunks[0].dictionary
        if all(_same_array(chunk.dictionary, dictionary) for chunk in chunks):
            return np.concatenate([chunk.indices.to_numpy(zero_copy_only=False) for chunk in chunks]), dictionary
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    encoded = pc.dictionary_encode(column, null_encoding="encode")
    return encoded.indices.to_numpy(zero_copy_only=False), encoded.dictionary


def arrow_text_column(column):
    """A typed Arrow column (Parquet's, or a workbook's read by fastexcel) as stripped text cells
    ("" where empty), in Arrow: text as it is (stripped), whole numbers and dates cast to their text,
    every other type (timestamps, fractional numbers, flags) converted once per distinct value by
    `cell_text`, the one rule of a cell's text.  No Python object per record."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if pa.types.is_null(column.type):  # a column without a value
        return pa.array([""] * len(column), type=pa.string())
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return stripped(pc.fill_null(column.cast(pa.string()), ""))
    if pa.types.is_integer(column.type) or pa.types.is_date32(column.type):
        return pc.fill_null(column.cast(pa.string()), "")  # Arrow writes them as cell_text does: 12, 2010-04-01
    codes, dictionary = distinct_codes(column)
    distinct = pa.array([cell_text(v) for v in dictionary.to_pylist()], type=pa.string())  # (a null: "")
    return distinct.take(pa.array(codes))


def header_names(cells: Sequence[str]) -> list[str]:
    return [str(c).strip().lstrip("\ufeff").strip() for c in cells]


def assemble(header: list[str], rows: list[list[str]], lines: list[int], problems: list[Problem]) -> pd.DataFrame:
    """A text frame from a header and its records; structural defects become problems."""
    width = len(header)
    named = [i for i, name in enumerate(header) if name]
    for i, name in enumerate(header):
        if not name and any(i < len(r) and r[i] != "" for r in rows):
            problems.append(file_problem(f"column {i + 1} has values but no name in the header"))
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
    return with_lines(frame, lines, problems)


def with_lines(frame: pd.DataFrame, lines, problems: list[Problem]) -> pd.DataFrame:
    """Attach each record's line and the structural problems (with the ids of their records)."""
    # An array, not a list: pandas deep-copies `attrs` on every operation on the frame.
    frame.attrs["lines"] = np.asarray(lines, dtype=np.int64)
    frame.attrs["problems"] = list(problems)
    if len(frame) and "patient_id" in frame and any(p.line and p.line != 1 for p in problems):
        ids = dict(zip(lines, frame["patient_id"]))  # fill the ids of structural problems
        frame.attrs["problems"] = [replace(p, patient_id=ids.get(p.line) or None) if p.line and p.line != 1 else p
                                   for p in problems]
    return frame


def split_header(records: list[tuple[int, list[str]]]) -> tuple[list[str] | None, list[list[str]], list[int]]:
    """The header (the first non-blank row with two or more values: title lines above a table
    are not records), the records after it and their lines."""
    if not records:
        return None, [], []
    start = next((k for k, (_, cells) in enumerate(records) if sum(1 for c in cells if c) >= 2), 0)
    header = header_names(records[start][1])
    rest = records[start + 1:]
    return header, [cells for _, cells in rest], [line for line, _ in rest]


def lines_of(raw: pd.DataFrame) -> np.ndarray:
    """Each record's line in the file (int64; a frame without them: a header, then one record a line).
    An array, not a list: a million Python ints cost more than any message that quotes a few."""
    lines = raw.attrs.get("lines")
    if lines is None or len(lines) != len(raw):
        return np.arange(2, len(raw) + 2, dtype=np.int64)
    return np.asarray(lines, dtype=np.int64)
