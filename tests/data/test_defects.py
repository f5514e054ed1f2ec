"""One row per defect of a registry extract: the exact problem reported, and nothing written.

Each case starts from a valid two-patient extract, applies one defect, and checks the single
problem it causes: line, patient_id, column, value, message and severity.  Errors stop
`load_cohort` with `DataValidationError`; warnings let it load.  Before and after, the input
file's SHA-256, modification time and the folder's listing are compared: reading never writes.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path

import pytest

from analysis.data.cohort import load_cohort

from analysis.data.problems import DataValidationError, Problem

from analysis.data.readers import read_table

from analysis.data.validate import DATE_FORMATS_TEXT, validate
from analysis.data.mapping import Mapping

HEADER = ["patient_id", "hct_date", "age", "sex", "status_at_hct", "graft_source", "donor_type", "conditioning",
          "vital_status", "last_contact_date", "cause_of_death", "relapse", "relapse_date"]
# P01 relapsed on day 90 and died on day 181; P02 is alive without relapse.
P01 = dict(zip(HEADER, ["P01", "2010-01-10", "45", "M", "CR", "CB", "unrelated", "MAC", "dead", "2010-07-10",
                        "relapse", "1", "2010-04-10"]))
P02 = dict(zip(HEADER, ["P02", "2012-03-01", "30", "F", "NR", "PB", "related", "RIC", "alive", "2016-03-01",
                        "", "0", ""]))
TODAY = dt.date(2020, 1, 1)


def write(path: Path, rows: list[dict], header=HEADER, encoding="utf-8") -> Path:
    lines = [",".join(header)] + [",".join(row.get(c, "") for c in header) for row in rows]
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))
    return path


def snapshot(folder: Path) -> dict:
    return {p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.iterdir())}


def changed(row: dict, **values) -> dict:
    return {**row, **values}


def without(column: str) -> list[str]:
    return [c for c in HEADER if c != column]


ERROR_CASES = [
    # (id, rows, header, mapping, expected problem)
    ("missing required column", [P01, P02], without("vital_status"), None,
     Problem(None, None, "vital_status", None, "required column is missing (or give death as a (time, event) pair, "
             "mapping.events.death, or a competing-risks status column, mapping.status)")),
    ("duplicate id", [P01, changed(P02, patient_id="P01")], HEADER, None,
     [Problem(2, "P01", "patient_id", "P01", "duplicate patient_id (also on line 3)"),
      Problem(3, "P01", "patient_id", "P01", "duplicate patient_id (also on line 2)")]),
    ("unknown code", [changed(P01, sex="X"), P02], HEADER, None,
     Problem(2, "P01", "sex", "X", "unknown code; expected one of M, F")),
    ("unknown code after mapping, named by its registry value",
     [changed(P01, 性別="男"), changed(P02, 性別="不詳")], ["性別" if c == "sex" else c for c in HEADER],
     Mapping(columns={"性別": "sex"}, codes={"sex": {"男": "M", "女": "F"}}),
     Problem(3, "P02", "sex", "不詳", "unknown code; expected one of M, F", source_column="性別")),
    ("unparseable date", [changed(P01, relapse_date="2010-13-45"), P02], HEADER, None,
     Problem(2, "P01", "relapse_date", "2010-13-45", f"unparseable date (expected {DATE_FORMATS_TEXT})")),
    ("implausible date", [changed(P02, hct_date="1812-03-01", last_contact_date="1816-03-01"), P01], HEADER, None,
     None),  # two problems: checked below
    ("event after last contact", [changed(P01, relapse_date="2011-01-01"), P02], HEADER, None,
     Problem(2, "P01", "relapse_date", "2011-01-01", "event after last contact (day 356 > last contact day 181)")),
    ("follow-up beyond today", [P01, changed(P02, last_contact_date="2031-03-01")], HEADER, None,
     Problem(3, "P02", "last_contact_date", "2031-03-01", "date after today (2020-01-01)")),
    ("date before HCT", [changed(P01, relapse_date="2009-12-31"), P02], HEADER, None,
     Problem(2, "P01", "relapse_date", "2009-12-31", "date before HCT (day -10)")),
    ("dead without date", [changed(P01, last_contact_date="", relapse="0", relapse_date=""), P02], HEADER, None,
     Problem(2, "P01", "last_contact_date", "", "dead without a date of death")),
    ("relapse flag without date", [changed(P01, relapse_date=""), P02], HEADER, None,
     Problem(2, "P01", "relapse_date", "", "relapse = 1 without a date")),
    ("negative age", [P01, changed(P02, age="-3")], HEADER, None,
     Problem(3, "P02", "age", "-3", "negative value, outside the range 0-120")),
    ("mapped column not in the file", [P01, P02], HEADER, Mapping(columns={"性別": "sex"}),
     Problem(None, None, "sex", None, "mapped column '性別' is not in the file (mapping.columns: 性別 -> sex)",
             source_column="性別")),
    ("constant for a column the file has", [P01, P02], HEADER, Mapping(constants={"conditioning": "MAC"}),
     Problem(None, None, "conditioning", None,
             "mapping.constants gives conditioning for every record, but the file has the column")),
    ("unavailable column present", [P01, P02], HEADER, Mapping(unavailable=("status_at_hct",)),
     Problem(None, None, "status_at_hct", None, "declared unavailable (mapping.unavailable), but the file has the column")),
    ("cause of death for the living", [P01, changed(P02, cause_of_death="infection")], HEADER, None,
     Problem(3, "P02", "cause_of_death", "infection", "cause of death given for a living patient")),
    ("not a number", [changed(P01, age="forty"), P02], HEADER, None,
     Problem(2, "P01", "age", "forty", "not a number")),
    ("flag not 0/1", [P01, changed(P02, relapse="2")], HEADER, None,
     Problem(3, "P02", "relapse", "2", "flag must be 0 or 1")),
]


@pytest.mark.parametrize("name, rows, header, mapping, expected", ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_each_error_is_reported_exactly_and_nothing_is_written(tmp_path, name, rows, header, mapping, expected):
    path = write(tmp_path / "extract.csv", rows, header)
    before = snapshot(tmp_path)
    with pytest.raises(DataValidationError) as caught:
        load_cohort(path, mapping=mapping, today=TODAY)
    assert snapshot(tmp_path) == before
    errors = caught.value.errors
    if expected is None:  # implausible date: each of the two dates is named
        assert [(p.line, p.column, p.value, p.message) for p in errors] == [
            (2, "hct_date", "1812-03-01", "implausible date (year outside 1900-2100)"),
            (2, "last_contact_date", "1816-03-01", "implausible date (year outside 1900-2100)"),
        ]
        return
    expected = expected if isinstance(expected, list) else [expected]
    assert errors == expected
    assert all(str(p) in str(caught.value) for p in expected)


def test_the_printed_problem_names_line_patient_registry_column_and_value():
    problem = Problem(3, "P02", "sex", "不詳", "unknown code; expected one of M, F", source_column="性別")
    assert str(problem) == "ERROR: line 3, patient P02, column 性別 (sex): unknown code; expected one of M, F (value '不詳')"


def test_every_problem_of_a_file_is_reported_at_once(tmp_path):
    rows = [changed(P01, sex="X", relapse_date="2009-12-31"), changed(P02, age="-3", graft_source="cord")]
    path = write(tmp_path / "bad.csv", rows)
    with pytest.raises(DataValidationError) as caught:
        load_cohort(path, today=TODAY)
    assert [(p.line, p.column) for p in caught.value.errors] == [
        (2, "relapse_date"), (2, "sex"), (3, "age"), (3, "graft_source")]


WARNING_CASES = [
    ("dead without a cause", changed(P02, vital_status="dead", cause_of_death=""),
     Problem(3, "P02", "cause_of_death", "", "dead without a cause of death (counted as unknown)", "warning")),
]


@pytest.mark.parametrize("name, row, expected", WARNING_CASES, ids=[c[0] for c in WARNING_CASES])
def test_questionable_records_are_warnings_and_the_cohort_loads(tmp_path, name, row, expected):
    path = write(tmp_path / "extract.csv", [P01, row])
    before = snapshot(tmp_path)
    cohort = load_cohort(path, today=TODAY)
    assert snapshot(tmp_path) == before
    assert cohort.n == 2 and cohort.warnings == (expected,)


def test_a_misspelt_column_is_named_not_dropped_silently(tmp_path):
    header = [c if c != "relapse_date" else "relapse_dat" for c in HEADER]
    path = write(tmp_path / "extract.csv", [changed(P01, relapse_dat="2010-04-10"), changed(P02, relapse_dat="")], header)
    with pytest.raises(DataValidationError) as caught:
        load_cohort(path, today=TODAY)
    assert Problem(None, None, "relapse_dat", None, "column not used: not a SPEC column (did you mean relapse_date?)",
                   "warning") in caught.value.warnings
    assert "required column is missing (relapse_date or relapse_day)" in str(caught.value)


STRUCTURE_CASES = [
    ("more values than columns", "patient_id,age\nA,1\nB,2,3\n",
     Problem(3, "B", None, None, "3 values but the header has 2 columns")),
    ("fewer values than columns", "patient_id,age\nA,1\nB\n",
     Problem(3, "B", None, None, "1 values but the header has 2 columns")),
    ("duplicate column names", "patient_id,age,age\nA,1,2\n",
     Problem(1, None, "age", None, "duplicate column name (columns 2 and 3)")),
    ("values under an unnamed column", "patient_id,,age\nA,x,1\n",
     Problem(None, None, None, None, "column 2 has values but no name in the header")),
]


@pytest.mark.parametrize("name, text, expected", STRUCTURE_CASES, ids=[c[0] for c in STRUCTURE_CASES])
def test_structural_defects_of_a_csv_are_problems_too(tmp_path, name, text, expected):
    path = tmp_path / "x.csv"
    path.write_text(text, encoding="utf-8")
    _, problems = validate(read_table(path))
    assert expected in problems


@pytest.mark.parametrize("content, message", [
    (b"", "the file is empty (no header line)"),
    (b"\x81\x00\xff\xfe\xfd" * 3 + b"\n", "cannot decode the file as UTF-8 or CP932"),
])
def test_unreadable_files_are_a_validation_error(tmp_path, content, message):
    path = tmp_path / "x.csv"
    path.write_bytes(content)
    with pytest.raises(DataValidationError) as caught:
        load_cohort(path)
    assert message in str(caught.value)
    assert path.read_bytes() == content


def test_unknown_encoding_and_unsupported_type_are_validation_errors(tmp_path):
    path = write(tmp_path / "a.csv", [P01, P02])
    with pytest.raises(DataValidationError, match="unknown encoding 'klingon'"):
        load_cohort(path, encoding="klingon")
    old = tmp_path / "a.xls"
    old.write_bytes(b"\xd0\xcf\x11\xe0")
    with pytest.raises(DataValidationError, match=r"unsupported file type \.xls"):
        load_cohort(old)


def test_line_numbers_count_blank_lines_and_multi_line_values(tmp_path):
    path = tmp_path / "x.csv"
    text = ",".join(HEADER) + "\n\n" + ",".join(P01.values()) + "\n" + \
        ",".join(changed(P02, cause_of_death='"other\nreason"').values()) + "\n"
    path.write_text(text.replace(",M,", ",X,"), encoding="utf-8")
    _, problems = validate(read_table(path), today=TODAY)
    assert [(p.line, p.column, p.value) for p in problems] == [(3, "sex", "X"), (4, "cause_of_death", "other\nreason")]


def test_the_input_file_is_opened_for_reading_only(tmp_path, monkeypatch):
    path = write(tmp_path / "extract.csv", [P01, P02])
    os.chmod(path, 0o444)  # a read-only file loads
    try:
        assert load_cohort(path, today=TODAY).n == 2
    finally:
        os.chmod(path, 0o644)
