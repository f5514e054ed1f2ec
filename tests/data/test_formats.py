"""The same cohort in every format a registry exports gives the same validated frame.

The synthetic cohort is written as CSV in UTF-8, UTF-8 with BOM, CP932 (also with Japanese
column names and codes, read through `studies/example_jp.yml`'s mapping) and UTF-16; with
dates in every accepted format and as `X_day` columns; as an Excel workbook (first sheet and a
named sheet; real dates and serial numbers) and as Parquet (text and typed columns).  Each must
validate to exactly the frame of the committed CSV.
"""
from __future__ import annotations

import codecs
import datetime as dt

import numpy as np
import pandas as pd
import pytest

from analysis.cli.main import main
from analysis.data.paths import PROJECT_ROOT, SYNTHETIC_DATA
from analysis.data.cohort import load_cohort
from analysis.data.problems import DataValidationError
from analysis.data.readers import read_table
from analysis.data.validate import EXCEL_EPOCH, validate
from analysis.data.schema import BY_NAME, DATE_COLUMNS, day_column
from analysis.analyses.settings import load_study
from registry_exports import japanese_extract, synthetic_text_table

EXAMPLE_JP = PROJECT_ROOT / "studies" / "example_jp.yml"


@pytest.fixture(scope="module")
def expected() -> pd.DataFrame:
    return load_cohort(SYNTHETIC_DATA).data


@pytest.fixture(scope="module")
def text_table() -> pd.DataFrame:
    return synthetic_text_table()


def typed(table: pd.DataFrame, dates: str = "datetime") -> pd.DataFrame:
    """The cohort as a spreadsheet or Parquet file holds it: numbers, dates, empty cells."""
    out = {}
    for column in table.columns:
        values = table[column]
        kind = BY_NAME[column].kind
        if kind == "date":
            parsed = pd.to_datetime(values.replace("", None))
            if dates == "serial":
                out[column] = [None if pd.isna(d) else (d.date() - EXCEL_EPOCH).days for d in parsed]
            elif dates == "date":
                out[column] = [None if pd.isna(d) else d.date() for d in parsed]
            else:
                out[column] = parsed
        elif kind in ("number", "integer", "flag"):
            out[column] = pd.to_numeric(values.replace("", None))
        else:
            out[column] = values.replace("", None)
    return pd.DataFrame(out)


def assert_same(frame: pd.DataFrame, expected: pd.DataFrame):
    pd.testing.assert_frame_equal(frame, expected, check_dtype=False)


def validated(path, **options) -> pd.DataFrame:
    return load_cohort(path, **options).data


@pytest.mark.parametrize("name, encode", [
    ("utf8", lambda t: t.encode("utf-8")),
    ("utf8-bom", lambda t: codecs.BOM_UTF8 + t.encode("utf-8")),
    ("cp932", lambda t: t.encode("cp932")),
    ("utf16", lambda t: t.encode("utf-16")),
    ("crlf", lambda t: t.replace("\n", "\r\n").encode("utf-8")),
])
def test_csv_encodings_read_identically(tmp_path, expected, name, encode):
    path = tmp_path / f"{name}.csv"
    path.write_bytes(encode(SYNTHETIC_DATA.read_text(encoding="utf-8")))
    assert_same(validated(path), expected)


def test_cp932_with_japanese_headers_and_codes_through_the_example_mapping(tmp_path, expected, text_table, capsys):
    study = load_study(EXAMPLE_JP)
    japanese = japanese_extract(text_table, study.mapping)
    assert "移植ソース" in japanese.columns and set(japanese["移植ソース"]) == {"臍帯血", "末梢血", "骨髄"}
    assert set(japanese["性別"]) == {"男", "女"}
    path = tmp_path / "registry_export.csv"
    path.write_bytes(japanese.to_csv(index=False, lineterminator="\n").encode("cp932"))
    cohort = load_cohort(path, encoding=study.encoding, mapping=study.mapping, include=study.include)
    assert_same(cohort.data, expected)
    assert cohort.exclusions == () and cohort.n_records == cohort.n == 59
    # the same file through the command line, with the study's mapping and encoding
    assert main(["validate", str(path), "--study", str(EXAMPLE_JP)]) == 0
    assert "no problems found" in capsys.readouterr().out


def test_an_unmapped_japanese_code_names_its_registry_column_and_value(tmp_path, text_table):
    study = load_study(EXAMPLE_JP)
    japanese = japanese_extract(text_table, study.mapping)
    japanese.loc[3, "移植ソース"] = "末梢血幹細胞"
    path = tmp_path / "registry_export.csv"
    path.write_bytes(japanese.to_csv(index=False, lineterminator="\n").encode("cp932"))
    with pytest.raises(DataValidationError) as caught:
        load_cohort(path, mapping=study.mapping)
    (problem,) = caught.value.errors
    assert (problem.line, problem.patient_id, problem.column_label, problem.value) == (
        5, "SYN004", "移植ソース (graft_source)", "末梢血幹細胞")


@pytest.mark.parametrize("style", ["slash", "compact", "serial", "time"])
def test_every_date_format_reads_identically(tmp_path, expected, text_table, style):
    table = text_table.copy()
    for column in DATE_COLUMNS:
        def convert(value):
            if not value:
                return value
            day = dt.date.fromisoformat(value)
            return {"slash": f"{day.year}/{day.month}/{day.day}", "compact": day.strftime("%Y%m%d"),
                    "serial": str((day - EXCEL_EPOCH).days), "time": f"{value} 00:00:00"}[style]
        table[column] = table[column].map(convert)
    path = tmp_path / f"{style}.csv"
    table.to_csv(path, index=False)
    assert_same(validated(path), expected)


def test_day_columns_read_identically(tmp_path, expected, text_table):
    table = text_table.copy()
    hct = pd.to_datetime(table["hct_date"])
    for column in DATE_COLUMNS:
        if column == "hct_date":
            continue
        dates = pd.to_datetime(table[column].replace("", None))
        table[day_column(column)] = [("" if pd.isna(d) else str((d - h).days)) for d, h in zip(dates, hct)]
        table = table.drop(columns=column)
    path = tmp_path / "days.csv"
    table.drop(columns="hct_date").to_csv(path, index=False)
    assert_same(validated(path), expected.drop(columns="hct_date"))


def test_excel_first_sheet_with_real_dates(tmp_path, expected, text_table):
    path = tmp_path / "extract.xlsx"
    with pd.ExcelWriter(path) as writer:
        typed(text_table).to_excel(writer, sheet_name="cohort", index=False)
        pd.DataFrame({"note": ["not the extract"]}).to_excel(writer, sheet_name="notes", index=False)
    assert_same(validated(path), expected)


def test_excel_named_sheet_with_serial_dates(tmp_path, expected, text_table, capsys):
    path = tmp_path / "extract.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame({"説明": ["registry export, see next sheet"]}).to_excel(writer, sheet_name="README", index=False)
        typed(text_table, dates="serial").to_excel(writer, sheet_name="extract", index=False)
    assert_same(validated(path, sheet="extract"), expected)
    assert_same(validated(path, sheet=1), expected)
    with pytest.raises(DataValidationError, match="no sheet named 'cohort'; the workbook has: README, extract"):
        validated(path, sheet="cohort")
    assert main(["validate", str(path), "--sheet", "extract"]) == 0
    assert main(["validate", str(path)]) == 1  # the first sheet is not an extract
    assert "required column is missing" in capsys.readouterr().out


def test_excel_rows_are_named_by_their_sheet_row(tmp_path, text_table):
    table = typed(text_table)
    table.loc[4, "sex"] = "X"
    path = tmp_path / "extract.xlsx"
    with pd.ExcelWriter(path) as writer:
        pd.DataFrame([["Registry export 2019"]]).to_excel(writer, sheet_name="s", index=False, header=False)
        table.to_excel(writer, sheet_name="s", index=False, startrow=2)  # a title row, a blank row, the table
    _, problems = validate(read_table(path))
    assert [(p.line, p.patient_id, p.column) for p in problems] == [(8, "SYN005", "sex")]


@pytest.mark.parametrize("kind", ["text", "typed"])
def test_parquet_reads_identically(tmp_path, expected, text_table, kind):
    table = text_table if kind == "text" else typed(text_table, dates="date")
    path = tmp_path / f"{kind}.parquet"
    table.to_parquet(path)
    assert_same(validated(path), expected)


def test_parquet_text_cells_are_stripped_of_every_whitespace_character(tmp_path):
    """Each character str.strip() removes, at the start or the end of one cell of a text column that
    has nothing else to strip, is stripped (the reader only strips columns whose cells may need it)."""
    from analysis.data.readers.frame import WHITESPACE

    cells = [cell for c in WHITESPACE for cell in (c + "M", "M" + c)]
    path = tmp_path / "padded.parquet"
    pd.DataFrame({f"c{k}": ["M", cell, "M"] for k, cell in enumerate(cells)}).to_parquet(path)
    frame = read_table(path)
    assert {repr(cell): frame[f"c{k}"].tolist() for k, cell in enumerate(cells)} == {repr(cell): ["M"] * 3 for cell in cells}


def test_excel_and_parquet_keep_the_input_unchanged(tmp_path, text_table):
    xlsx, parquet = tmp_path / "a.xlsx", tmp_path / "a.parquet"
    typed(text_table).to_excel(xlsx, index=False)
    typed(text_table, dates="date").to_parquet(parquet)
    before = {p: p.read_bytes() for p in (xlsx, parquet)}
    for path in (xlsx, parquet):
        load_cohort(path)
    assert {p: p.read_bytes() for p in (xlsx, parquet)} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.parquet", "a.xlsx"]


def test_damaged_workbook_and_parquet_are_validation_errors(tmp_path):
    for name in ("bad.xlsx", "bad.parquet"):
        path = tmp_path / name
        path.write_bytes(b"PK\x03\x04 not really a zip" + np.arange(50, dtype=np.uint8).tobytes())
        with pytest.raises(DataValidationError, match="cannot read"):
            load_cohort(path)


def test_leak_check_reads_a_japanese_extract_through_its_study(tmp_path, text_table):
    """Patient ids under a registry's own column name are still found (site check with the study's mapping)."""
    from analysis.build.site_check import Identifiers

    study = load_study(EXAMPLE_JP)
    japanese = japanese_extract(text_table, study.mapping)
    path = tmp_path / "registry_export.csv"
    path.write_bytes(japanese.to_csv(index=False, lineterminator="\n").encode("cp932"))
    found = Identifiers.from_file(path, study)
    assert set(text_table["patient_id"]) <= found.ids
    assert "2001/01/30" in found.dates and "2001-01-30" in found.dates
