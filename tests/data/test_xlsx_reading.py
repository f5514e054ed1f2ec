"""Workbooks read through typed Arrow columns (fastexcel) give the frame cell-by-cell reading gives.

Issue 16: reading a 10^5-row `.xlsx` built a Python object per cell (python-calamine's `to_python`),
then converted each column's distinct values.  The reader now takes calamine's typed Arrow columns
and converts them in Arrow; a sheet whose columns mix cell types in a way their Arrow type cannot
show is read cell by cell as before.  Every workbook here is read both ways: the frame (columns,
texts), each record's line and the structural problems must be the same, and the cases that need no
Python object per cell must be read without python-calamine.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.data.problems import DataValidationError
from analysis.data.readers import read_table, xlsx

COHORT_HEADER = ["patient_id", "hct_date", "age", "sex", "ps", "relapse_date", "note"]


def workbook(path, rows, *, sheets=None):
    """A workbook whose first sheet holds `rows` (lists of Python values, None an empty cell);
    `sheets` adds named sheets before it.  Values starting with "=" are formulas (stored, as openpyxl
    stores them, without a value); "#N/A" and "#DIV/0!" are error cells."""
    book = openpyxl.Workbook()
    first = book.active
    for name, sheet_rows in (sheets or {}).items():
        sheet = book.create_sheet(name, 0)
        for row in sheet_rows:
            sheet.append(row)
    for row in rows:
        first.append(row)
    book.save(path)
    return path


def cohort_rows(n: int = 40) -> list[list]:
    rows = [COHORT_HEADER]
    for i in range(n):
        rows.append([f"P{i + 1:03d}", dt.datetime(2010, 1, 1) + dt.timedelta(days=17 * i), 20.0 + i % 50,
                     "M" if i % 3 else "F", float(i % 5) if i % 7 else None,
                     dt.datetime(2012, 3, 1) + dt.timedelta(days=i) if i % 4 == 0 else None, f"  note {i % 6} "])
    return rows


def read_both(path, monkeypatch, sheet=None):
    """The workbook read by the reader, and read cell by cell (python-calamine, as before issue 16)."""
    def outcome():
        try:
            frame = read_table(path, sheet=sheet)
        except DataValidationError as error:
            return None, [str(p) for p in error.problems]
        return frame, frame.attrs["problems"]

    fast = outcome()
    with monkeypatch.context() as patch:
        patch.setattr(xlsx, "_typed_cells", lambda *args: None)
        one_by_one = outcome()
    return fast, one_by_one


def assert_read_alike(path, monkeypatch, sheet=None) -> pd.DataFrame | None:
    (frame, problems), (expected, expected_problems) = read_both(path, monkeypatch, sheet)
    assert problems == expected_problems
    if expected is None:
        assert frame is None
        return None
    pd.testing.assert_frame_equal(frame, expected)
    assert list(frame.attrs["lines"]) == list(expected.attrs["lines"])
    return frame


@pytest.fixture
def without_calamine(monkeypatch):
    """python-calamine's cell-by-cell reading made to fail: the workbook must be read in Arrow."""
    import python_calamine

    def refuse(*args, **kwargs):
        raise AssertionError("read cell by cell")

    monkeypatch.setattr(python_calamine.CalamineWorkbook, "from_path", refuse)


def test_a_typed_cohort_is_read_in_arrow_as_cell_by_cell(tmp_path, monkeypatch, without_calamine):
    """Numbers (75.0 as 75), dates (as YYYY-MM-DD), text (stripped), empty cells: no Python object per
    cell.  Before issue 16 the reader always built one (python-calamine), so this failed."""
    path = workbook(tmp_path / "cohort.xlsx", cohort_rows())
    frame = read_table(path)
    assert frame.loc[0].tolist() == ["P001", "2010-01-01", "20", "F", "", "2012-03-01", "note 0"]
    assert frame.loc[1, "ps"] == "1" and frame.loc[1, "relapse_date"] == ""
    assert list(frame.attrs["lines"][:3]) == [2, 3, 4]
    monkeypatch.undo()  # (calamine back, for the comparison)
    assert_read_alike(path, monkeypatch)


def test_title_rows_a_blank_row_and_a_table_not_in_column_a(tmp_path, monkeypatch, without_calamine):
    rows = [[None, "Registry export 2019"], [], [None, None]] + [[None, *row] for row in cohort_rows(12)]
    rows.insert(8, [])  # a blank row between records
    path = workbook(tmp_path / "titled.xlsx", rows)
    frame = read_table(path)
    assert list(frame.columns) == COHORT_HEADER
    assert frame.loc[0, "patient_id"] == "P001" and list(frame.attrs["lines"][:6]) == [5, 6, 7, 8, 10, 11]
    monkeypatch.undo()
    assert_read_alike(path, monkeypatch)


def test_values_after_a_thousand_empty_rows_keep_their_type(tmp_path, monkeypatch, without_calamine):
    """A column empty in its first 1,500 records, then dates and numbers: typed from every row, not
    from a sample (a sample of empty cells would make the dates text, 2010-04-01 00:00:00)."""
    rows = [["patient_id", "relapse_date", "ps"]]
    rows += [[f"P{i:04d}", None, None] for i in range(1500)]
    rows += [["P1500", dt.datetime(2010, 4, 1), 2.0], ["P1501", dt.datetime(2011, 5, 2, 13, 30), 0.5]]
    path = workbook(tmp_path / "late.xlsx", rows)
    frame = read_table(path)
    assert frame.iloc[-2:].values.tolist() == [["P1500", "2010-04-01", "2"], ["P1501", "2011-05-02", "0.5"]]
    monkeypatch.undo()
    assert_read_alike(path, monkeypatch)


@pytest.mark.parametrize("lead", [0, 2])  # the table in column A, or in column C
def test_ids_written_as_text_digits_stay_text(tmp_path, monkeypatch, without_calamine, lead):
    """A text column whose texts look like numbers ("000123", "true") is checked for number cells
    (a second look at that column) and kept as it is."""
    rows = [["patient_id", "age", "flag_text"], ["000123", 40.0, "true"], ["0.50", 41.0, "false"], ["7", 42.0, "x"]]
    rows = [[None] * lead + row for row in rows]
    path = workbook(tmp_path / "ids.xlsx", rows)
    frame = read_table(path)
    assert frame["patient_id"].tolist() == ["000123", "0.50", "7"]
    assert frame["flag_text"].tolist() == ["true", "false", "x"]
    monkeypatch.undo()
    assert_read_alike(path, monkeypatch)


@pytest.mark.parametrize("column, cells, texts", [
    # a number in a text column: the number's own text (75.0 as 75, all of 0.1234567891's digits)
    ("age", [75.0, "unknown", 0.1234567891, 1e20, 2.5], ["75", "unknown", "0.1234567891", "1e+20", "2.5"]),
    ("age", [0.1234567891, "n/a", 2.5, -0.25], ["0.1234567891", "n/a", "2.5", "-0.25"]),  # (fastexcel: 0.123456789)
    # texts fastexcel takes for missing values ("n/a", "NULL") or a number ("nan") beside numbers, dates, flags
    ("age", [40.0, "n/a", 41.0, "NULL", 42.0, "nan", 43.0, " "], ["40", "n/a", "41", "NULL", "42", "nan", "43", ""]),
    ("age", [40.0, "nan", 41.0, "NaN"], ["40", "nan", "41", "NaN"]),
    ("hct_date", [dt.datetime(2010, 4, 1), "NA", dt.datetime(2010, 4, 2), "None"], ["2010-04-01", "NA", "2010-04-02", "None"]),
    ("relapse", [True, "null", False, "NaN"], ["1", "null", "0", "NaN"]),
    # a date typed as text beside real dates, and a date-and-time as text
    ("hct_date", [dt.datetime(2010, 4, 1), "2010/04/02", "2010-04-03 00:00:00", dt.datetime(2010, 4, 4, 12)],
     ["2010-04-01", "2010/04/02", "2010-04-03 00:00:00", "2010-04-04"]),
    # a flag cell (TRUE) beside text flags
    ("relapse", [True, "true", False, "0"], ["1", "true", "0", "0"]),
    # a time of day and a duration, which are not dates
    ("note", [dt.time(12, 30), dt.timedelta(days=1, hours=2), "x", None], ["12:30:00", "1 day, 2:00:00", "x", ""]),
    # error cells (#N/A, #DIV/0!): empty text, each an error in the frame's problems (test_checked_extracts)
    ("ps", [1.0, "#N/A", "#DIV/0!", 2.0], ["1", "", "", "2"]),
    ("sex", ["M", "#N/A", "F", "F"], ["M", "", "F", "F"]),
])
@pytest.mark.parametrize("lead", [0, 2])  # the table in column A, or in column C
def test_mixed_cell_types_read_as_cell_by_cell(tmp_path, monkeypatch, column, cells, texts, lead):
    rows = [[None] * lead + ["patient_id", column]] + [[None] * lead + [f"P{i}", value] for i, value in enumerate(cells)]
    path = workbook(tmp_path / "mixed.xlsx", rows)
    frame = assert_read_alike(path, monkeypatch)
    assert frame[column].tolist() == texts


@pytest.mark.parametrize("header", [
    ["patient_id", "age", "patient_id"],  # a duplicate name (fastexcel would rename it patient_id_1)
    ["patient_id", 2020.0, "age"],  # a number as a column name
    ["patient_id", dt.datetime(2020, 1, 1), "age"],  # a date as a column name
    ["patient_id", None, "age"],  # a column with values but no name
    ["patient_id", "id_1", "id"],  # names that look renamed but are not
    [1e20, dt.time(8, 0), "age"],  # a number fastexcel writes 1e+20, a time of day it writes as 1899-12-31
])
def test_header_defects_are_the_same_problems(tmp_path, monkeypatch, header):
    rows = [header, ["P1", 40.0, 5.0], ["P2", 41.0, 6.0]]
    assert_read_alike(workbook(tmp_path / "header.xlsx", rows), monkeypatch)


def test_a_header_found_below_a_one_value_row_is_read_as_cell_by_cell(tmp_path, monkeypatch):
    """The row of one value is a title; the header below it holds a number and a time of day, whose
    texts fastexcel writes 1e+20 and 1899-12-31 (cell by cell: 08:00:00).  Found by the property test."""
    rows = [["id", None], [1e20, dt.time(8, 0)]]
    assert list(assert_read_alike(workbook(tmp_path / "header.xlsx", rows), monkeypatch).columns) == ["1e+20", "08:00:00"]


def test_a_longer_record_than_the_header_and_ragged_columns(tmp_path, monkeypatch):
    rows = [["patient_id", "age"], ["P1", 40.0], ["P2", 41.0, None, "stray"], ["P3"]]
    frame = assert_read_alike(workbook(tmp_path / "ragged.xlsx", rows), monkeypatch)
    assert frame is None or "column 4 has values but no name in the header" in str(frame.attrs["problems"])


@pytest.mark.parametrize("rows", [[], [["only a title"]], [["patient_id", "age"]]])
def test_empty_sheets_and_header_only_sheets(tmp_path, monkeypatch, rows):
    assert_read_alike(workbook(tmp_path / "empty.xlsx", rows), monkeypatch)


def test_sheet_by_name_and_by_number(tmp_path, monkeypatch):
    path = workbook(tmp_path / "sheets.xlsx", cohort_rows(5), sheets={"README": [["see the next sheet"]]})
    by_name = assert_read_alike(path, monkeypatch, sheet="Sheet")
    by_number = assert_read_alike(path, monkeypatch, sheet=1)
    pd.testing.assert_frame_equal(by_name, by_number)
    assert by_name.loc[0, "patient_id"] == "P001"


def test_an_unsaved_formula_is_reported_with_its_cell_and_line(tmp_path, monkeypatch, without_calamine):
    rows = [["Registry export"], cohort_rows(4)[0]] + cohort_rows(4)[1:]
    rows[3][4] = "=1+1"  # ps of the second patient: a formula without a saved value
    path = workbook(tmp_path / "formula.xlsx", rows)
    frame = read_table(path)
    (problem,) = frame.attrs["problems"]
    assert (problem.line, problem.patient_id, problem.column, problem.value) == (4, "P002", "ps", "=1+1")
    assert problem.message.startswith("cell E4 holds a formula whose value was never saved")
    assert frame.loc[1, "ps"] == ""
    monkeypatch.undo()
    assert_read_alike(path, monkeypatch)


def test_the_registry_scale_workbook_reads_in_arrow(tmp_path, monkeypatch, without_calamine):
    """10^4 records of every kind of column: the same frame either way (the benchmark's 10^5 take ~1 s)."""
    rng = np.random.default_rng(16)
    n = 10_000
    rows = [COHORT_HEADER]
    for i in range(n):
        rows.append([f"REG{i:07d}", dt.datetime(2000, 1, 1) + dt.timedelta(days=int(rng.integers(0, 7000))),
                     float(rng.integers(18, 75)), "MF"[i % 2], float(rng.integers(0, 5)) if i % 9 else None,
                     None if i % 3 else dt.datetime(2005, 1, 1) + dt.timedelta(days=int(rng.integers(0, 3000))),
                     float(rng.normal()) if i % 2 else None])
    path = workbook(tmp_path / "registry.xlsx", rows)
    frame = read_table(path)
    assert len(frame) == n and float(frame.loc[1, "note"]) == pytest.approx(rows[2][6], rel=1e-14)
    monkeypatch.undo()
    assert_read_alike(path, monkeypatch)


# Every kind of cell a registry's workbook holds, and the texts fastexcel or a type could confuse.
CELLS = [None, 1.0, 75.0, 0.5, 0.1234567891, 1e20, 1e-5, -3.0, 2.0**53, "x", " y ", "000123", "75", "0.5", "true",
         "FALSE", "n/a", "NA", "nan", "NULL", "None", "", " ", "2010-01-01", "2010-01-01 00:00:00", "#N/A", "#DIV/0!",
         True, False, dt.datetime(2010, 1, 1), dt.datetime(2010, 1, 1, 12, 30), dt.date(1999, 12, 31), dt.time(8, 0),
         dt.timedelta(days=3), "=1+1", "M", "全角", "\u3000z\u3000"]
column_cells = st.lists(st.sampled_from(CELLS), min_size=1, max_size=3)
name = st.sampled_from(["id", "age", "a_1", None, 2020.0, "x"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(kinds=st.lists(column_cells, min_size=1, max_size=4), names=st.lists(name, min_size=4, max_size=4),
       title=st.booleans(), lead=st.integers(0, 2), shape=st.lists(st.integers(0, 10_000), min_size=1, max_size=25))
def test_any_mix_of_cells_reads_as_cell_by_cell(tmp_path_factory, monkeypatch, kinds, names, title, lead, shape):
    """Columns of one kind of cell or of a few, title rows, a table not in column A, blank rows."""
    header = [names[k] if shape[0] % 5 == 0 else f"c{k}" for k in range(len(kinds))]
    rows = [["Registry export"], []] if title else []
    rows.append([None] * lead + header)
    for draw in shape[1:]:
        rows.append([None] * lead + [kinds[k][(draw >> k) % len(kinds[k])] if (draw >> (k + 8)) % 5 else None
                                     for k in range(len(kinds))] if draw % 17 else [])
    assert_read_alike(workbook(tmp_path_factory.mktemp("mix") / "mix.xlsx", rows), monkeypatch)


def test_formulas_are_looked_for_in_the_chosen_sheet(tmp_path, monkeypatch):
    rows = cohort_rows(3)
    rows[2][2] = "=20+1"  # age of the second patient: a formula without a saved value
    path = workbook(tmp_path / "sheets.xlsx", rows, sheets={"README": [["see the next sheet"], ["=1+1"]]})
    frame = assert_read_alike(path, monkeypatch, sheet=1)
    assert [(p.line, p.column, p.value) for p in frame.attrs["problems"]] == [(3, "age", "=20+1")]
    clean = workbook(tmp_path / "clean.xlsx", cohort_rows(3), sheets={"README": [["=1+1"]]})
    assert assert_read_alike(clean, monkeypatch, sheet=1).attrs["problems"] == []
