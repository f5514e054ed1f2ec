"""Bad extracts report the same problems, whichever reader splits their cells.

Every file of the corpus (`tests/data/read_corpus.py`: plain, quoted as R writes it, quoted cells
holding LF or CRLF line breaks, CP932, a CP932 file with a byte no encoding accepts, blank lines, a
row with too many values) must report exactly the problems stored in `read_corpus_expected.json`:
line, patient, column, value, reason and severity of each, as the row-by-row reader reported them.
A line of a record after a quoted cell holding a line break counts that break.
"""
from __future__ import annotations

import datetime as dt
import json

import pytest

from analysis.data.problems import DataValidationError
from analysis.data.readers import read_table
from analysis.data.validate import validate
from tests.data.read_corpus import EXPECTED, corpus, write_corpus

TODAY = dt.date(2026, 1, 1)


def reported(path) -> list[list]:
    """Every problem of a file as [line, patient, column, value, message, severity]."""
    try:
        raw = read_table(path)
    except DataValidationError as error:
        problems = error.problems
    else:
        _, problems = validate(raw, source=path.name, today=TODAY)
    return [[p.line, p.patient_id, p.column, p.value, p.message, p.severity] for p in problems]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.mark.parametrize("name", sorted(corpus()))
def test_each_bad_file_reports_the_same_problems(files, name):
    expected = json.loads(EXPECTED.read_text(encoding="utf-8"))
    assert reported(files[name]) == expected[name]


def test_lines_after_quoted_line_breaks_count_them(files):
    """By hand: the cells of records 1, 10, 30 and 31 (0-based) hold 1, 2, 2 and 1 line breaks (LF or
    CRLF); record k is on line k + 2 plus the breaks above it: record 3 on line 6, the duplicate id of
    records 5 and 20 on lines 8 and 25, the bad relapse date (record 33) on line 41, the bad sex code
    (record 50) on line 58."""
    for name in ("quoted_newlines.csv", "quoted_newlines_crlf.csv"):
        found = {(p[2], p[4].split(" (")[0].split(";")[0]): p[0] for p in reported(files[name])}
        assert found[("hct_date", "unparseable date")] == 6
        assert found[("graft_source", "unknown code")] == 10
        assert found[("age", "not a number")] == 17
        assert sorted(p[0] for p in reported(files[name]) if p[2] == "patient_id") == [8, 25]
        assert found[("relapse_date", "unparseable date")] == 41
        assert found[("sex", "unknown code")] == 58


def test_a_byte_no_encoding_accepts_is_one_file_problem(files):
    problems = reported(files["cp932_bad_byte.csv"])
    assert len(problems) == 1 and problems[0][0] is None
    assert "cannot decode the file as UTF-8 or CP932" in problems[0][4]


# Characters each encoding can write, beside ASCII: in CP932, 表 and ソ end in the byte of a
# backslash (0x5C), ｱ is a one-byte (half-width) katakana; in EUC-JP every byte of 再 is >= 0x80.
_ENCODED_PIECES = {"utf-8": ["\u3000", "é", "再"], "cp932": ["\u3000", "再", "表", "ソ", "ｱ", "①"],
                   "euc-jp": ["\u3000", "再", "表"], "latin-1": ["é", "\xa0", "ÿ"]}


@pytest.mark.parametrize("encoding", sorted(_ENCODED_PIECES))
def test_the_columnar_reader_splits_cells_and_counts_lines_as_the_csv_module(tmp_path, monkeypatch, encoding):
    """Random rectangular files, written quoted or not with LF, CRLF or CR line ends, their cells
    holding delimiters, quotes, line breaks and spaces, in UTF-8 or an encoding whose cells are split
    as bytes and decoded after (CP932, EUC-JP, Latin-1): whenever the columnar reader takes a file,
    its cells, lines and structural problems are the csv module's."""
    import csv
    import io
    import random

    import numpy as np

    from analysis.data.readers import csv as reader

    pieces = ["a", "B1", "x y", ",", '"', "\n", "\r\n", "\r", " ", "", "12", "2010-01-02", *_ENCODED_PIECES[encoding]]
    rng = random.Random(16)
    taken = 0
    for case in range(300):
        width = rng.randint(2, 5)
        rows = [[f"c{j}" for j in range(width)]]
        rows += [["".join(rng.choice(pieces) for _ in range(rng.randint(0, 3))) for _ in range(width)]
                 for _ in range(rng.randint(1, 8))]
        out = io.StringIO()
        csv.writer(out, quoting=rng.choice([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
                   lineterminator=rng.choice(["\n", "\r\n", "\r"])).writerows(rows)
        data = out.getvalue().encode(encoding)
        path = tmp_path / f"case{case}.csv"
        path.write_bytes(data)
        columnar = reader.read_columnar_csv(data, ",", None if encoding == "utf-8" else encoding)
        if columnar is None:
            continue
        taken += 1
        assert read_table(path, encoding=encoding).equals(columnar)
        with monkeypatch.context() as m:
            m.setattr(reader, "read_columnar_csv", lambda *arguments: None)
            general = read_table(path, encoding=encoding)
        assert columnar.astype(object).equals(general), (case, data)
        assert list(np.asarray(columnar.attrs["lines"])) == list(np.asarray(general.attrs["lines"])), (case, data)
        assert columnar.attrs["problems"] == general.attrs["problems"], (case, data)
    assert taken >= 150, taken  # (most random files are rectangular)
