"""Parquet files: every cell as the text a CSV would hold; a record's line is its number + 1."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.data.cells import cell_text
from analysis.data.problems import DataValidationError, file_problem
from analysis.data.readers.frame import assemble, header_names

__all__ = ["SUFFIXES", "read"]

SUFFIXES = (".parquet", ".pq")


def read(path: Path) -> pd.DataFrame:
    try:
        raw = pd.read_parquet(path)
    except Exception as error:  # pyarrow raises several kinds on a damaged file
        raise DataValidationError(str(path), [file_problem(f"cannot read the Parquet file: {type(error).__name__}: {error}")])
    header = header_names([str(c) for c in raw.columns])
    rows = [[cell_text(v) for v in record] for record in raw.astype(object).itertuples(index=False, name=None)]
    return assemble(header, rows, list(range(2, len(rows) + 2)), [])
