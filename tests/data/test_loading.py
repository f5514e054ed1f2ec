"""Reading and validating extracts: every problem named by line, patient and column."""
import datetime as dt
import hashlib

import pandas as pd
import pytest

from analysis.data.cohort import load_cohort

from analysis.data.problems import DataValidationError

from analysis.data.readers import read_table

from analysis.data.schema import MONTH_DAYS
from analysis.data.validate import parse_date, validate

HEADER = ("patient_id,hct_date,age,sex,status_at_hct,pif,cr_after_hct_date,graft_source,donor_type,conditioning,"
          "ps,vital_status,last_contact_date,cause_of_death,relapse,relapse_date,agvhd_grade,agvhd_date,cgvhd,cgvhd_date")
GOOD_ROWS = [
    "P01,2010-01-10,45,M,CR,0,,CB,unrelated,MAC,1,dead,2010-07-10,relapse,1,2010-04-10,2,2010-02-01,none,",
    "P02,2012-03-01,30,F,NR,1,2012-04-01,PB,related,RIC,0,alive,2016-03-01,,0,,0,,limited,2012-09-01",
]


def write_csv(path, rows, header=HEADER, encoding="utf-8"):
    path.write_text("\n".join([header, *rows]) + "\n", encoding=encoding)
    return path


def problems_of(tmp_path, rows, header=HEADER):
    raw = read_table(write_csv(tmp_path / "x.csv", rows, header))
    return validate(raw, today=dt.date(2020, 1, 1))


def test_good_extract_gives_months_after_hct_by_hand(tmp_path):
    frame, problems = problems_of(tmp_path, GOOD_ROWS)
    assert problems == []
    # 2010-01-10 -> 2010-07-10 is 181 days; relapse 2010-04-10 is day 90; aGVHD 2010-02-01 day 22.
    assert frame.loc[0, "last_contact_months"] == 181 / MONTH_DAYS
    assert frame.loc[0, "relapse_months"] == 90 / MONTH_DAYS
    assert frame.loc[0, "agvhd_months"] == 22 / MONTH_DAYS
    assert frame.loc[1, "cr_after_hct_months"] == 31 / MONTH_DAYS
    assert list(frame["hct_year"]) == [2010, 2012]
    assert "hct_date" in frame and "relapse_date" not in frame


def test_day_columns_replace_dates(tmp_path):
    header = "patient_id,age,sex,status_at_hct,graft_source,donor_type,conditioning,vital_status,last_contact_day,relapse,relapse_day"
    frame, problems = problems_of(tmp_path, ["A,50,F,PR,BM,related,MAC,dead,200,1,120"], header)
    assert problems == []
    assert frame.loc[0, "last_contact_months"] == 200 / MONTH_DAYS and frame.loc[0, "relapse_months"] == 120 / MONTH_DAYS


@pytest.mark.parametrize(
    "row_change, column, message",
    [
        ({"sex": "X"}, "sex", "unknown code"),
        ({"age": "-3"}, "age", "outside the range"),
        ({"age": "old"}, "age", "not a number"),
        ({"relapse_date": "2009-12-31"}, "relapse_date", "date before HCT"),
        ({"relapse_date": "2011-01-01"}, "relapse_date", "event after last contact"),
        ({"relapse_date": ""}, "relapse_date", "relapse = 1 without a date"),
        ({"relapse_date": "2010-13-45"}, "relapse_date", "unparseable date"),
        ({"last_contact_date": ""}, "last_contact_date", "dead without a date of death"),
        ({"last_contact_date": "", "vital_status": "alive", "cause_of_death": ""}, "last_contact_date",
         "required value is missing"),
        ({"agvhd_date": ""}, "agvhd_date", "without an onset date"),
        ({"pif": "1"}, "pif", "primary induction failure with status at HCT CR"),
        ({"cr_after_hct_date": "2010-03-01"}, "cr_after_hct_date", "CR after HCT for a patient in CR"),
        ({"cause_of_death": "boredom"}, "cause_of_death", "unknown code"),
        ({"hct_date": "2010-01-10", "vital_status": "alive", "cause_of_death": "relapse"}, "cause_of_death",
         "cause of death given for a living patient"),
    ],
)
def test_each_defect_is_named_with_line_patient_and_column(tmp_path, row_change, column, message):
    fields = HEADER.split(",")
    values = dict(zip(fields, GOOD_ROWS[0].split(",")))
    values.update(row_change)
    _, problems = problems_of(tmp_path, [",".join(values[f] for f in fields), GOOD_ROWS[1]])
    matching = [p for p in problems if p.column == column and message in p.message]
    assert matching, problems
    assert matching[0].line == 2 and matching[0].patient_id == "P01"


def test_every_problem_is_reported_at_once_and_nothing_is_written(tmp_path):
    rows = [GOOD_ROWS[0].replace(",M,", ",X,"), GOOD_ROWS[1].replace(",PB,", ",ZZ,"), GOOD_ROWS[1]]
    path = write_csv(tmp_path / "bad.csv", rows)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(DataValidationError) as caught:
        load_cohort(path)
    text = str(caught.value)
    assert "line 2, patient P01, column sex" in text
    assert "line 3, patient P02, column graft_source" in text
    assert "duplicate patient_id" in text
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv"]


def test_missing_required_column(tmp_path):
    header = HEADER.replace("vital_status,", "")
    rows = [",".join(v for f, v in zip(HEADER.split(","), r.split(",")) if f != "vital_status") for r in GOOD_ROWS]
    _, problems = problems_of(tmp_path, rows, header)
    assert any(p.column == "vital_status" and "required column is missing" in p.message for p in problems)


def test_a_date_after_today_is_an_error(tmp_path):
    """Issue 11: a last contact in the future was only a warning, so a typed 2031 became follow-up."""
    rows = [GOOD_ROWS[0], GOOD_ROWS[1].replace("2016-03-01,,0", "2031-03-01,,0")]
    _, problems = problems_of(tmp_path, rows)
    assert [(p.severity, p.line, p.column, p.message) for p in problems] == [
        ("error", 3, "last_contact_date", "date after today (2020-01-01)")]


@pytest.mark.parametrize("text, expected", [
    ("2010-01-10", dt.date(2010, 1, 10)), ("2010/1/10", dt.date(2010, 1, 10)),
    ("20100110", dt.date(2010, 1, 10)), ("40188", dt.date(2010, 1, 10)), ("2010-02-30", None), ("soon", None),
])
def test_date_formats(text, expected):
    assert parse_date(text) == expected


def test_cp932_and_bom_csv_read_the_same(tmp_path):
    rows = [GOOD_ROWS[0].replace(",relapse,", ",other,"), GOOD_ROWS[1]]
    plain = read_table(write_csv(tmp_path / "a.csv", rows))
    (tmp_path / "b.csv").write_bytes(b"\xef\xbb\xbf" + (tmp_path / "a.csv").read_bytes())
    header_jp = HEADER + ",備考"
    write_csv(tmp_path / "c.csv", [r + ",臍帯血" for r in rows], header_jp, encoding="cp932")
    assert read_table(tmp_path / "b.csv").equals(plain)
    japanese = read_table(tmp_path / "c.csv")
    assert japanese["備考"].tolist() == ["臍帯血", "臍帯血"]
    assert japanese.drop(columns="備考").equals(plain)


@pytest.mark.parametrize("given", [None, "cp932", "shift_jis"])
def test_cp932_cells_are_split_as_bytes_not_decoded_file_first(tmp_path, monkeypatch, given):
    """A CP932 file goes to the columnar reader as it is (its delimiter, quotes and line breaks are
    ASCII bytes no double-byte character holds), found as CP932 or named: never decoded whole first.
    表 and ソ end in 0x5C (a backslash's byte), ｱ is a one-byte katakana."""
    from analysis.data.readers import csv as reader

    rows = [GOOD_ROWS[0] + ',"表,ソ"', GOOD_ROWS[1] + ",ｱ"]
    write_csv(tmp_path / "c.csv", rows, HEADER + ",備考", encoding="cp932")
    monkeypatch.setattr(reader, "_as_utf8", lambda *arguments: pytest.fail("file re-encoded whole"))
    japanese = read_table(tmp_path / "c.csv", encoding=given)
    assert japanese["備考"].tolist() == ["表,ソ", "ｱ"]
    assert japanese.drop(columns="備考").equals(read_table(write_csv(tmp_path / "a.csv", GOOD_ROWS)))


def test_excel_and_parquet_read_like_csv(tmp_path):
    csv = write_csv(tmp_path / "a.csv", GOOD_ROWS)
    expected, _ = validate(read_table(csv))
    table = pd.read_csv(csv, dtype=str, keep_default_na=False)
    dated = table.copy()
    dated["hct_date"] = pd.to_datetime(dated["hct_date"])
    dated.to_excel(tmp_path / "a.xlsx", index=False)
    table.to_parquet(tmp_path / "a.parquet")
    for name in ("a.xlsx", "a.parquet"):
        frame, problems = validate(read_table(tmp_path / name))
        assert problems == []
        pd.testing.assert_frame_equal(frame, expected, check_dtype=False)


def test_synthetic_flag_and_hash(tmp_path):
    folder = tmp_path / "synthetic"
    folder.mkdir()
    path = write_csv(folder / "c.csv", GOOD_ROWS)
    c = load_cohort(path)
    assert c.synthetic and c.n == 2 and c.n_records == 2
    assert c.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert not load_cohort(write_csv(tmp_path / "real.csv", GOOD_ROWS)).synthetic
