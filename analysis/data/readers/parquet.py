"""Parquet files: every cell as the text a CSV would hold; a record's line is its number + 1.

Read column by column in Arrow: text columns as they are (stripped), dates and whole numbers cast
to their text in Arrow, every other type (timestamps, fractional numbers, flags) converted once
per distinct value (`cell_text`): no Python object per record.  A column stored as numbers
is listed in `frame.attrs["numeric_columns"]` with its type: when a study reads it as dates,
validation needs to know their day 0 (`mapping.date_epoch`), since integers could count days since
1970 as well as Excel's serial days.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.data.problems import DataValidationError, file_problem
from analysis.data.readers.frame import TEXT, arrow_text_column, assemble, header_names, with_lines

__all__ = ["SUFFIXES", "read"]

SUFFIXES = (".parquet", ".pq")


def read(path: Path) -> pd.DataFrame:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        header = header_names([str(c) for c in table.column_names])
        numeric = {name: str(field.type) for name, field in zip(header, table.schema)
                   if pa.types.is_integer(field.type) or pa.types.is_floating(field.type)}
        columns = [arrow_text_column(table.column(k)) for k in range(table.num_columns)]
    except Exception as error:  # pyarrow raises several kinds on a damaged file
        raise DataValidationError(str(path), [file_problem(f"cannot read the Parquet file: {type(error).__name__}: {error}")])
    n = table.num_rows
    del table
    if len(set(header)) != len(header) or "" in header:  # structural defects: the general assembly names them
        cells = [c.to_pylist() for c in columns]
        rows = [[cells[k][i] for k in range(len(cells))] for i in range(n)]
        frame = assemble(header, rows, list(range(2, n + 2)), [])
    else:
        frame = with_lines(pd.DataFrame({name: pd.array(c, dtype=TEXT) for name, c in zip(header, columns)},
                                        index=pd.RangeIndex(n), copy=False), range(2, n + 2), [])
    frame.attrs["numeric_columns"] = numeric
    return frame
