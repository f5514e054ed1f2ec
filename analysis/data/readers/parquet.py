"""Parquet files: every cell as the text a CSV would hold; a record's line is its number + 1.

Date and timestamp columns become ISO dates.  A column stored as numbers is listed in
`frame.attrs["numeric_columns"]` with its type: when a study reads it as dates, validation needs to
know their day 0 (`mapping.date_epoch`), since integers could count days since 1970 as well as
Excel's serial days.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.data.cells import cell_text, map_distinct
from analysis.data.problems import DataValidationError, file_problem
from analysis.data.readers.frame import assemble, header_names, with_lines

__all__ = ["SUFFIXES", "read"]

SUFFIXES = (".parquet", ".pq")


def read(path: Path) -> pd.DataFrame:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        raw = table.to_pandas()
    except Exception as error:  # pyarrow raises several kinds on a damaged file
        raise DataValidationError(str(path), [file_problem(f"cannot read the Parquet file: {type(error).__name__}: {error}")])
    header = header_names([str(c) for c in raw.columns])
    numeric = {name: str(field.type) for name, field in zip(header, table.schema)
               if pa.types.is_integer(field.type) or pa.types.is_floating(field.type)}
    if len(set(header)) != len(header) or "" in header:  # structural defects: the general assembly names them
        rows = [[cell_text(v) for v in record] for record in raw.astype(object).itertuples(index=False, name=None)]
        frame = assemble(header, rows, list(range(2, len(rows) + 2)), [])
    else:
        # each distinct value of a column converted once (codes, dates and ages repeat)
        cells = {name: map_distinct(raw.iloc[:, k].astype(object), cell_text).to_numpy(dtype=object)
                 for k, name in enumerate(header)}
        frame = with_lines(pd.DataFrame(cells, columns=header, dtype=object), range(2, len(raw) + 2), [])
    frame.attrs["numeric_columns"] = numeric
    return frame
