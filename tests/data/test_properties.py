"""Property-based tests (hypothesis) of reading and validating extracts.

Random corruptions of the synthetic CSV (a cell replaced by junk, written quoted or raw; a column
dropped; a row duplicated; a date shifted before HCT; the file re-encoded, truncated or with junk
bytes inserted) must end in success or `DataValidationError`, never another exception, and must
never write anything.  And whatever the inclusion criteria, every record is analysed or counted
under exactly one exclusion reason.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.data.paths import SYNTHETIC_DATA
from analysis.data.cohort import load_cohort
from analysis.data.inclusion import Criterion
from analysis.data.problems import DataValidationError
from registry_exports import synthetic_text_table

ROWS = list(csv.reader(io.StringIO(SYNTHETIC_DATA.read_text(encoding="utf-8"))))
HEADER, RECORDS = ROWS[0], ROWS[1:]
DATES = [i for i, c in enumerate(HEADER) if c.endswith("_date") and c != "hct_date"]
ENCODINGS = ("utf-8", "utf-8-sig", "cp932", "utf-16", "latin-1", "euc-jp", "utf-32")
TODAY = dt.date(2020, 1, 1)

junk = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", " ", "NA", "nan", "inf", "-inf", "1e400", "-1", "0.5", "9" * 30, "2010-02-30",
                     "0001-01-01", "9999-12-31", "99999", "20101310", "臍帯血", '"', ",", "\n", "\x00", "\r",
                     "1/2/3", "--", "TRUE", "１２", "٣"]),
)

corruption = st.one_of(
    st.tuples(st.just("cell"), st.integers(0, len(RECORDS) - 1), st.integers(0, len(HEADER) - 1), junk,
              st.booleans()),
    st.tuples(st.just("drop"), st.integers(0, len(HEADER) - 1)),
    st.tuples(st.just("duplicate"), st.integers(0, len(RECORDS) - 1)),
    st.tuples(st.just("before_hct"), st.integers(0, len(RECORDS) - 1), st.sampled_from(DATES),
              st.integers(1, 4000)),
    st.tuples(st.just("header"), st.integers(0, len(HEADER) - 1), junk),
)

damage = st.one_of(
    st.tuples(st.just("encode"), st.sampled_from(ENCODINGS)),
    st.tuples(st.just("truncate"), st.floats(0, 1)),
    st.tuples(st.just("bytes"), st.floats(0, 1), st.binary(min_size=1, max_size=8)),
    st.just(("none",)),
)


def corrupt(changes, file_damage) -> bytes:
    header, records = list(HEADER), [list(r) for r in RECORDS]
    raw_cells = []
    for change in changes:
        kind = change[0]
        if kind == "cell":
            _, r, c, value, raw = change
            if c < len(records[r]):
                records[r][c] = value
                if raw:
                    raw_cells.append((r, c))
        elif kind == "drop" and change[1] < len(header):
            header.pop(change[1])
            for record in records:
                if change[1] < len(record):
                    record.pop(change[1])
        elif kind == "duplicate":
            records.insert(change[1], list(records[change[1]]))
        elif kind == "before_hct":
            _, r, c, days = change
            if c < len(header) and header[c] == HEADER[c] and "hct_date" in header:
                hct = records[r][header.index("hct_date")]
                try:  # an earlier change may have replaced the HCT date by anything
                    hct_date = dt.date.fromisoformat(hct)
                except ValueError:
                    hct_date = None
                if hct_date is not None and len(records[r]) > c:
                    records[r][c] = (hct_date - dt.timedelta(days=days)).isoformat()
        elif kind == "header":
            header[min(change[1], len(header) - 1)] = change[2]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for r, record in enumerate(records):
        if any(rr == r for rr, _ in raw_cells):  # written without quoting: may break the row's structure
            out.write(",".join(record) + "\n")
        else:
            writer.writerow(record)
    text = out.getvalue()
    kind = file_damage[0]
    if kind == "encode":
        return text.encode(file_damage[1], errors="replace")
    data = text.encode("utf-8")
    if kind == "truncate":
        return data[: int(len(data) * file_damage[1])]
    if kind == "bytes":
        at = int(len(data) * file_damage[1])
        return data[:at] + file_damage[2] + data[at:]
    return data


@pytest.mark.slow  # in `make test`; left out of `make test-fast` (under a minute)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(changes=st.lists(corruption, min_size=0, max_size=3), file_damage=damage)
def test_corrupted_extracts_fail_only_with_our_validation_error(changes, file_damage):
    data = corrupt(changes, file_damage)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "extract.csv"
        path.write_bytes(data)
        try:
            cohort = load_cohort(path, today=TODAY)
        except DataValidationError as error:
            assert error.errors, "a DataValidationError always names at least one error"
            assert all(p.message for p in error.problems)
        else:
            assert cohort.n == cohort.n_records - cohort.n_excluded
        assert path.read_bytes() == data
        assert [p.name for p in Path(folder).iterdir()] == ["extract.csv"]


criterion = st.one_of(
    st.builds(Criterion, st.just("age"), st.just(()), st.one_of(st.none(), st.integers(10, 70)),
              st.one_of(st.none(), st.integers(20, 80))),
    st.builds(Criterion, st.just("hct_year"), st.just(()), st.one_of(st.none(), st.integers(2000, 2017)),
              st.one_of(st.none(), st.integers(2000, 2017))),
    st.builds(Criterion, st.sampled_from(["graft_source", "status_at_hct", "sex", "conditioning", "ps"]),
              st.lists(st.sampled_from(["CB", "PB", "BM", "CR", "PR", "NR", "M", "F", "MAC", "RIC", "0", "1", "2"]),
                       min_size=1, max_size=3, unique=True).map(tuple)),
)


@pytest.mark.slow  # in `make test`; left out of `make test-fast` (under a minute)
@settings(max_examples=40, deadline=None)
@given(criteria=st.lists(criterion, max_size=4))
def test_every_record_is_analysed_or_excluded_for_exactly_one_reason(criteria):
    cohort = load_cohort(SYNTHETIC_DATA, include=criteria)
    data = synthetic_text_table()
    assert cohort.n_records == len(data) == 59
    assert cohort.n + sum(k for _, k in cohort.exclusions) == cohort.n_records
    assert all(k > 0 for _, k in cohort.exclusions)
    assert len({reason for reason, _ in cohort.exclusions}) == len(cohort.exclusions)
    # the analysed records are exactly those meeting every criterion
    kept = set(cohort.data["patient_id"])
    frame = load_cohort(SYNTHETIC_DATA).data
    for criterion in criteria:
        for reason, mask in criterion.reasons(frame):
            assert not kept & set(frame.loc[mask, "patient_id"]), reason
    assert [label for label, _, _ in cohort.flow][0] == "Records in the extract"
