"""Readers of extracts, one module per format; `read_table` picks one by the file's suffix.

A new format is one module here with `SUFFIXES` and `read(path, ...)` returning the text frame of
`analysis.data.readers.frame`, and one line in `read_table`.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.data.paths import shown_path
from analysis.data.problems import DataValidationError, file_problem
from analysis.data.readers import csv, parquet, xlsx
from analysis.data.readers.frame import lines_of

__all__ = ["lines_of", "read_table"]

UNSUPPORTED = (".xls", ".ods", ".numbers", ".sav", ".dta", ".sas7bdat")


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
