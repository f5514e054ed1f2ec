"""Cells of an extract as text: normalising them, and mapping each distinct value once."""
from __future__ import annotations

import datetime as dt
import math
import unicodedata

import numpy as np
import pandas as pd

__all__ = ["ZERO_WIDTH", "cell_text", "map_distinct", "map_distinct_array", "nfkc", "nfkc_column"]


def cell_text(value) -> str:
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


# Characters that print as nothing; NFKC keeps them, so "P001" and "P001\u200b" would differ.
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
_DROP_ZERO_WIDTH = str.maketrans("", "", ZERO_WIDTH)


def nfkc(text: str) -> str:
    """The form two cells are compared in: Unicode NFKC (full-width letters and digits as ASCII,
    a no-break space as a space), without zero-width characters, stripped."""
    return unicodedata.normalize("NFKC", text).translate(_DROP_ZERO_WIDTH).strip()


def nfkc_column(values: pd.Series) -> pd.Series:
    """`nfkc` of every cell of a text column, computed in Arrow (no Python call per cell: ids are
    all distinct, so mapping distinct values would not save anything)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    array = pa.array(values.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    if pc.all(pc.string_is_ascii(array)).as_py() is not False:
        return values  # ASCII has one form (the readers stripped the cells): nothing to do
    normal = pc.utf8_normalize(array, form="NFKC")
    normal = pc.replace_substring_regex(normal, pattern=f"[{ZERO_WIDTH}]", replacement="")
    normal = pc.utf8_trim_whitespace(normal)
    return pd.Series(normal.to_numpy(zero_copy_only=False), index=values.index, dtype=object)


_CALL = object()  # map_distinct: call the function on missing values too


def _mapped_distinct(values: pd.Series, function, dtype) -> tuple[np.ndarray, np.ndarray]:
    """(codes, mapped): each value's code among the distinct values (-1: missing) and `function` of
    each distinct value, called once each, with one entry more at the end for the missing values."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    mapped = np.empty(len(uniques) + 1, dtype=dtype)
    for k, value in enumerate(uniques):
        mapped[k] = function(value)
    return codes, mapped


def map_distinct_array(values: pd.Series, function, na_value, dtype) -> np.ndarray:
    """`map_distinct(values, function, na_value)` as a NumPy array of `dtype` (bool for a predicate:
    no Python object per record)."""
    codes, mapped = _mapped_distinct(values, function, dtype)
    mapped[-1] = na_value
    return mapped[codes]  # code -1 (missing) takes the last entry


def map_distinct(values: pd.Series, function, na_value=_CALL) -> pd.Series:
    """`values.map(function)`, with `function` called once per distinct value (object result).

    Registry columns repeat a few codes, ages and dates over many records: hashing the values
    once and mapping the distinct ones costs O(n) instead of a Python call per record.  Missing
    values (None, NaN, NA) become `na_value` when it is given, else `function` of each of them.
    """
    codes, mapped = _mapped_distinct(values, function, object)
    mapped[-1] = None if na_value is _CALL else na_value
    out = mapped[codes]  # code -1 (missing) takes the last entry
    if na_value is _CALL:
        missing = np.flatnonzero(codes < 0)
        if missing.size:
            out[missing] = [function(v) for v in values.iloc[missing].to_numpy(dtype=object)]
    return pd.Series(out, index=values.index, dtype=object, name=getattr(values, "name", None))
