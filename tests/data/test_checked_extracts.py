"""Extracts that are checked, not trusted (issue 11, "Extracts"): each case was accepted silently.

Ids written with full-width characters, zero-width or no-break spaces; a file with a header and
no record; a spreadsheet formula whose value was never saved; Parquet dates stored as dates or
as integers; a year of HCT derived from its date; a date after the extract was made.
"""
from __future__ import annotations

import datetime as dt
import zipfile

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis.data.cohort import load_cohort
from analysis.data.mapping import Mapping
from analysis.data.paths import SYNTHETIC_DATA
from analysis.data.problems import DataValidationError
from analysis.data.readers import read_table
from analysis.data.schema import DATE_COLUMNS
from analysis.data.study import StudyConfigError, read_study
from analysis.data.validate import validate
from registry_exports import synthetic_text_table

TODAY = dt.date(2020, 1, 1)


@pytest.fixture
def table() -> pd.DataFrame:
    return synthetic_text_table()


def errors_of(path, **options) -> list[tuple]:
    with pytest.raises(DataValidationError) as caught:
        load_cohort(path, today=TODAY, **options)
    return [(p.line, p.patient_id, p.column, p.value, p.message) for p in caught.value.errors]


@pytest.mark.parametrize("written", ["ＳＹＮ００１", "SYN001\u200b", "\u200bSYN001"])
def test_ids_equal_after_unicode_normalisation_are_duplicates_named_with_both_lines(tmp_path, table, written):
    table.loc[5, "patient_id"] = written
    table.to_csv(tmp_path / "x.csv", index=False)
    assert errors_of(tmp_path / "x.csv") == [
        (2, "SYN001", "patient_id", "SYN001", "duplicate patient_id after Unicode normalisation (full-width "
         f"characters, zero-width or no-break spaces): line 7: {written!r}"),
        (7, written, "patient_id", written, "duplicate patient_id after Unicode normalisation (full-width "
         "characters, zero-width or no-break spaces): line 2: 'SYN001'")]


def test_ids_differing_by_a_no_break_space_are_duplicates(tmp_path, table):
    table.loc[0, "patient_id"] = "SYN 001"
    table.loc[5, "patient_id"] = "SYN\u00a0001"
    table.to_csv(tmp_path / "x.csv", index=False)
    assert [(line, message.split(":")[0]) for line, _, _, _, message in errors_of(tmp_path / "x.csv")] == [
        (2, "duplicate patient_id after Unicode normalisation (full-width characters, zero-width or no-break spaces)"),
        (7, "duplicate patient_id after Unicode normalisation (full-width characters, zero-width or no-break spaces)")]


def test_a_code_with_a_zero_width_space_is_the_code(tmp_path, table):
    table.loc[0, "graft_source"] = "C\u200bB"
    table.loc[1, "sex"] = "Ｍ"
    table.to_csv(tmp_path / "x.csv", index=False)
    data = load_cohort(tmp_path / "x.csv", today=TODAY).data
    assert data.loc[0, "graft_source"] == "CB" and data.loc[1, "sex"] == "M"


def test_registry_codes_equal_after_normalisation_are_duplicates_in_the_study(tmp_path):
    path = tmp_path / "study.yml"
    path.write_text("data: x.csv\nmapping:\n  codes:\n    sex: {男: M, \"男\\u200b\": F}\n", encoding="utf-8")
    with pytest.raises(StudyConfigError) as caught:
        read_study(path)
    assert "mapping.codes.sex: '男' and '男\\u200b' are the same value (after Unicode normalisation)" in str(caught.value)


def test_a_header_without_records_is_an_error(tmp_path, table):
    (tmp_path / "x.csv").write_text(",".join(table.columns) + "\n", encoding="utf-8")
    assert errors_of(tmp_path / "x.csv") == [(None, None, None, None, "the file has no records, only a header")]


def workbook_with_formula(path, table) -> int:
    """The cohort as a workbook written by openpyxl, its third patient's ps the formula =1+1 (stored
    without a value, as openpyxl stores formulas); returns the ps column's number."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(list(table.columns))
    for row in table.itertuples(index=False):
        sheet.append(list(row))
    ps = list(table.columns).index("ps") + 1
    sheet.cell(row=4, column=ps, value="=1+1")
    workbook.save(path)
    return ps


def test_an_unsaved_formula_in_a_workbook_is_an_error_naming_its_cell(tmp_path, table):
    """openpyxl (like other programs that write workbooks) stores a formula without its value;
    reading the saved values gave an empty cell, silently a missing ECOG performance status."""
    column = openpyxl.utils.get_column_letter(workbook_with_formula(tmp_path / "x.xlsx", table))
    assert errors_of(tmp_path / "x.xlsx") == [
        (4, "SYN003", "ps", "=1+1", f"cell {column}4 holds a formula whose value was never saved: open the workbook "
         "in Excel and save it (or paste the values) so that the value is stored")]


def test_an_error_cell_in_a_workbook_is_an_error_naming_its_cell_and_the_error(tmp_path, table):
    """#N/A (a failed lookup) in the ECOG column and #DIV/0! from a formula in the age column: each
    was read as an empty cell, silently a missing value; now each is an error naming cell and error."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(list(table.columns))
    for row in table.itertuples(index=False):
        sheet.append(list(row))
    ps, age = (list(table.columns).index(name) + 1 for name in ("ps", "age"))
    sheet.cell(row=4, column=ps, value="#N/A")  # (openpyxl writes an error code as an error cell)
    workbook.save(tmp_path / "pasted.xlsx")
    with zipfile.ZipFile(tmp_path / "pasted.xlsx") as source, \
            zipfile.ZipFile(tmp_path / "x.xlsx", "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":  # a formula whose saved value is an error, as Excel writes it
                cell = f'<c r="{openpyxl.utils.get_column_letter(age)}6"'.encode()
                start = data.index(cell)
                end = data.index(b"</c>", start) + 4
                data = data[:start] + cell + b' t="e"><f>1/0</f><v>#DIV/0!</v></c>' + data[end:]
            target.writestr(item, data)
    letters = {name: openpyxl.utils.get_column_letter(k) for name, k in (("ps", ps), ("age", age))}
    found = [e for e in errors_of(tmp_path / "x.xlsx") if "holds the error" in e[4]]
    assert found == [
        (4, "SYN003", "ps", "#N/A", f"cell {letters['ps']}4 holds the error #N/A, not a value: correct it in the "
         "workbook, or leave the cell empty if the value is unknown"),
        (6, "SYN005", "age", "#DIV/0!", f"cell {letters['age']}6 holds the error #DIV/0!, not a value: correct it in "
         "the workbook, or leave the cell empty if the value is unknown")]


def test_a_formula_whose_value_was_saved_is_its_value(tmp_path, table):
    """The formula scan must not refuse what Excel saved: a formula cell holding its computed value
    (here written into the worksheet's XML as Excel writes it) is read as that value."""
    workbook_with_formula(tmp_path / "unsaved.xlsx", table)
    with zipfile.ZipFile(tmp_path / "unsaved.xlsx") as source, \
            zipfile.ZipFile(tmp_path / "x.xlsx", "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                assert b"<f>1+1</f><v />" in data
                data = data.replace(b"<f>1+1</f><v />", b"<f>1+1</f><v>2</v>")
            target.writestr(item, data)
    assert load_cohort(tmp_path / "x.xlsx", today=TODAY).data.loc[2, "ps"] == 2  # (no error raised)


def parquet(tmp_path, table: pd.DataFrame, dates) -> str:
    """The cohort as Parquet, its date columns typed by `dates` (a function of the ISO texts)."""
    columns = {}
    for name in table.columns:
        text = table[name].replace("", None)
        columns[name] = dates(text) if name.endswith("_date") else pa.array(text, type=pa.string())
    path = tmp_path / "x.parquet"
    pq.write_table(pa.table(columns), path)
    return path


def test_parquet_date_and_timestamp_columns_are_read_as_dates(tmp_path, table):
    expected = load_cohort(SYNTHETIC_DATA, today=TODAY).data
    for typed in (lambda t: pa.array(pd.to_datetime(t).dt.date, type=pa.date32()),
                  lambda t: pa.array(pd.to_datetime(t), type=pa.timestamp("ms"))):
        data = load_cohort(parquet(tmp_path, table, typed), today=TODAY).data
        pd.testing.assert_frame_equal(data, expected, check_dtype=False)


def test_parquet_integer_dates_are_refused_unless_the_study_gives_their_epoch(tmp_path, table):
    """int64 days since 1970 were read as Excel serial numbers: HCT in the 1930s, silently."""
    days = lambda t: pa.array((pd.to_datetime(t) - pd.Timestamp("1970-01-01")).dt.days, type=pa.int64())  # noqa: E731
    path = parquet(tmp_path, table, days)
    message = ("the Parquet column holds numbers (int64), not dates: say which day is 0 (mapping.date_epoch, e.g. "
               "1970-01-01 for days since 1970) or store the column as a date")
    assert errors_of(path) == [(None, None, column, None, message) for column in sorted(DATE_COLUMNS)]
    data = load_cohort(path, today=TODAY, mapping=Mapping(date_epoch=dt.date(1970, 1, 1))).data
    pd.testing.assert_frame_equal(data, load_cohort(SYNTHETIC_DATA, today=TODAY).data, check_dtype=False)


def test_a_derived_year_of_hct_is_range_checked_like_a_given_one(tmp_path, table):
    table = table.drop(columns="hct_year")
    for column in [c for c in table.columns if c.endswith("_date")]:  # the first patient's course 81 years earlier
        value = table.loc[0, column]
        table.loc[0, column] = f"{int(value[:4]) - 81}{value[4:]}" if value else ""
    table.to_csv(tmp_path / "x.csv", index=False)
    assert errors_of(tmp_path / "x.csv") == [
        (2, "SYN001", "hct_date", "1920-01-30", "year of HCT 1920 outside the range 1950-2100 of hct_year")]


def test_a_date_after_the_extracts_date_is_an_error(tmp_path, table):
    table.loc[2, "last_contact_date"] = "2019-05-01"
    table.to_csv(tmp_path / "x.csv", index=False)
    assert errors_of(tmp_path / "x.csv", extract_date=dt.date(2019, 3, 31)) == [
        (4, "SYN003", "last_contact_date", "2019-05-01", "date after the extract's date (2019-03-31)")]


def test_a_time_after_hct_beyond_the_extracts_date_is_an_error(tmp_path):
    header = ("patient_id,hct_date,age,sex,status_at_hct,graft_source,donor_type,conditioning,vital_status,"
              "last_contact_day,relapse,relapse_day")
    (tmp_path / "x.csv").write_text(f"{header}\nA,2019-01-01,50,F,PR,BM,related,MAC,alive,120,0,\n", encoding="utf-8")
    _, problems = validate(read_table(tmp_path / "x.csv"), extract_date=dt.date(2019, 3, 31))
    assert [(p.line, p.column, p.value, p.message) for p in problems] == [
        (2, "last_contact_day", "120", "date after the extract's date (2019-03-31)")]


def test_the_study_gives_the_extracts_date(tmp_path, table):
    table.loc[2, "last_contact_date"] = "2019-05-01"
    table.to_csv(tmp_path / "x.csv", index=False)
    (tmp_path / "study.yml").write_text("data: x.csv\nextract_date: 2019-03-31\n", encoding="utf-8")
    study = read_study(tmp_path / "study.yml")
    assert study.extract_date == dt.date(2019, 3, 31)
    with pytest.raises(DataValidationError, match="date after the extract's date"):
        load_cohort(study.data, extract_date=study.extract_date)
