"""Readers of extracts, one module per format; `read_table` picks one by the file's suffix.

A new format is one module here with `SUFFIXES` and `read(path, ...)` returning the text frame of
`analysis.data.readers.frame`, and one line in `read_table`.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

from analysis.data.paths import shown_path
from analysis.data.problems import DataValidationError, file_problem
from analysis.data.readers import csv, parquet, xlsx
from analysis.data.readers.frame import lines_of

__all__ = ["lines_of", "read_table"]

UNSUPPORTED = (".xls", ".ods", ".numbers", ".sav", ".dta", ".sas7bdat")


@lru_cache(maxsize=1)
def use_returning_memory_pool() -> None:
    """Arrow's memory from jemalloc, which gives what is freed back to the system: mimalloc,
    pyarrow's default, kept about 200 MB of a 10^6-record file's scratch memory (parsing, stripping)
    for the rest of the process.  Builds without jemalloc keep their default."""
    import pyarrow as pa

    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
        pa.jemalloc_set_decay_ms(0)
    except NotImplementedError:  # pragma: no cover - pyarrow built without jemalloc
        pass


def read_table(path: str | Path, encoding: str | None = None, sheet: str | int | None = None) -> pd.DataFrame:
    """Read CSV (UTF-8, UTF-8 BOM, CP932, UTF-16 with BOM), .xlsx or Parquet into a frame of text cells.

    Cells are stripped text ("" for empty).  `frame.attrs["lines"]` holds each record's line
    (row) in the file and `frame.attrs["problems"]` the structural defects found (a row with
    more values than the header, duplicate column names...), which `validate` reports.
    Raises `DataValidationError` when the file cannot be read at all, `FileNotFoundError` when
    it does not exist.  Blank lines are not records.
    """
    path = Path(path)
    use_returning_memory_pool()
    if not path.exists():
        raise FileNotFoundError(f"data file not found: {shown_path(path)}")
    suffix = path.suffix.lower()
    if suffix in xlsx.SUFFIXES:
        return xlsx.read(path, sheet)
    if suffix in parquet.SUFFIXES:
        return parquet.read(path)
    if suffix in UNSUPPORTED:
        raise DataValidationError(str(path), [file_problem(
            f"unsupported file type {suffix}: save the extract as .xlsx, CSV or Parquet")])
    return csv.read(path, encoding)  # any other name: a delimited text file
