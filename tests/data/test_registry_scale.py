"""Reading and validating at registry scale (issue 16): the work done in Python does not grow with the
number of records of a valid file, and the text cells are not held beside the typed frame."""
from __future__ import annotations

import datetime as dt
import sys

import pandas as pd
import pyarrow as pa
import pytest

from analysis.data import validate as validation
from analysis.data.readers import read_table
from analysis.data.validate import read_and_validate
from tests.registry_exports import synthetic_text_table

TODAY = dt.date(2026, 1, 1)


def registry(path, copies: int, quoted: bool):
    """The synthetic cohort copied `copies` times with new ids: a valid extract of 59 * copies records.
    The copies without any problem only (so that no message is written per record)."""
    table = synthetic_text_table()
    _, problems = validation.validate(table.copy(), today=TODAY)
    flagged = {p.patient_id for p in problems}
    table = table[~table["patient_id"].isin(flagged)]
    big = pd.concat([table] * copies, ignore_index=True)
    big["patient_id"] = [f"P{k:07d}" for k in range(len(big))]
    big.to_csv(path, index=False, quoting=1 if quoted else 0)  # csv.QUOTE_ALL as R's write.csv, or minimal
    return path


def python_calls(path) -> int:
    """Python functions and builtins called while reading and validating `path`."""
    calls = 0

    def count(frame, event, arg):
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1

    sys.setprofile(count)
    try:
        frame, problems, _ = read_and_validate(path, today=TODAY)
    finally:
        sys.setprofile(None)
    assert problems == [] and len(frame) > 0
    return calls


@pytest.mark.parametrize("quoted", [False, True])
def test_a_valid_file_is_read_and_validated_without_python_per_record(tmp_path, quoted):
    """Ten times the records, about the same number of Python calls: each column is parsed and checked
    in Arrow, NumPy and pandas, each distinct cell once (a per-record call would add 10^4 calls here)."""
    small = python_calls(registry(tmp_path / "small.csv", 20, quoted))
    large = python_calls(registry(tmp_path / "large.csv", 200, quoted))
    assert large < small + 2_000, (small, large)


def test_the_text_cells_are_released_once_parsed(tmp_path, monkeypatch):
    """While the records are checked, the Arrow memory held is the cells that messages may quote (ids,
    dates), well under the text frame's: the codes and numbers parsed are no longer held as text."""
    path = registry(tmp_path / "registry.csv", 300, quoted=True)
    before = pa.total_allocated_bytes()
    raw = read_table(path)
    text_bytes = pa.total_allocated_bytes() - before
    del raw
    held = []
    check_records = validation._check_records

    def measured(*args):
        held.append(pa.total_allocated_bytes() - before)
        return check_records(*args)

    monkeypatch.setattr(validation, "_check_records", measured)
    read_and_validate(path, today=TODAY)
    assert text_bytes > 1_000_000 and held
    assert held[0] < 0.6 * text_bytes, (held[0], text_bytes)



def test_dates_parsed_in_bulk_are_those_parse_date_gives():
    """Every YYYY-MM-DD cell taken in bulk gets parse_date's date, and every cell parse_date reads in
    that form is taken: leap days, month ends, year 0, out-of-range months and days, other digits."""
    import random

    import numpy as np

    from analysis.data.validate import parse_date

    rng = random.Random(16)
    cells = ["2012-02-29", "2011-02-29", "2000-02-29", "1900-02-29", "0000-01-01", "0001-01-01", "9999-12-31",
             "2010-13-01", "2010-00-10", "2010-01-32", "2010-04-31", "2010-4-1", "２０１０-０１-０１",
             "٢٠١٠-٠١-٠١", "2010-01-01 ", " 2010-01-01", "2010/01/01", "20100101", "40000", "", "x"]
    cells += [f"{rng.randint(0, 9999):04d}-{rng.randint(0, 14):02d}-{rng.randint(0, 33):02d}" for _ in range(3000)]
    bulk = validation._iso_dates(np.asarray(cells, dtype=object))
    for cell, value in zip(cells, bulk):
        expected = parse_date(cell) if cell.isascii() and len(cell) == 10 and cell[4] == cell[7] == "-" else None
        got = None if np.isnat(value) else value.astype(object)
        assert got == expected, cell
