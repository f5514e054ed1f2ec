"""Cells of an extract as text: normalising them, and mapping each distinct value once."""
from __future__ import annotations

import datetime as dt
import math
import unicodedata

import numpy as np
import pandas as pd

__all__ = ["cell_text", "map_distinct", "nfkc"]


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


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


_CALL = object()  # map_distinct: call the function on missing values too


def map_distinct(values: pd.Series, function, na_value=_CALL) -> pd.Series:
    """`values.map(function)`, with `function` called once per distinct value (object result).

    Registry columns repeat a few codes, ages and dates over many records: hashing the values
    once and mapping the distinct ones costs O(n) instead of a Python call per record.  Missing
    values (None, NaN, NA) become `na_value` when it is given, else `function` of each of them.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    mapped = np.empty(len(uniques) + 1, dtype=object)
    for k, value in enumerate(uniques):
        mapped[k] = function(value)
    mapped[-1] = None if na_value is _CALL else na_value
    out = mapped[codes]  # code -1 (missing) takes the last entry
    if na_value is _CALL:
        missing = np.flatnonzero(codes < 0)
        if missing.size:
            out[missing] = [function(v) for v in values.iloc[missing].to_numpy(dtype=object)]
    return pd.Series(out, index=values.index, dtype=object, name=getattr(values, "name", None))
