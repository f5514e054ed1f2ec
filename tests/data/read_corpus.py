"""A corpus of bad extracts: the synthetic cohort written as registries write it, with defects.

Each file is built from the committed synthetic cohort, so the corpus needs no stored data: plain
CSV, CSV quoted as R's `write.csv` quotes it (every cell), quoted cells holding line breaks (LF and
CRLF), CP932 with Japanese free text, CP932 with a byte no encoding accepts, blank lines and a row
with too many values.  `tests/data/test_read_corpus.py` checks every problem each file reports
(line, patient, column, value, reason) against `read_corpus_expected.json`, the problems the
row-by-row reader reported before the columnar one replaced it.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd

from registry_exports import synthetic_text_table

EXPECTED = Path(__file__).with_name("read_corpus_expected.json")


def _table() -> pd.DataFrame:
    table = synthetic_text_table()
    # a free-text column a registry adds (not a SPEC column: carried along, never analysed)
    table.insert(1, "note", "")
    return table


def _defects(table: pd.DataFrame) -> pd.DataFrame:
    """Bad dates, bad codes, a bad number and a duplicate id, spread over the file."""
    table = table.copy()
    table.loc[3, "hct_date"] = "2003-02-30"
    table.loc[7, "graft_source"] = "XX"
    table.loc[12, "age"] = "forty"
    table.loc[20, "patient_id"] = table.loc[5, "patient_id"]
    table.loc[33, "relapse_date"] = "31/12/2005"
    table.loc[50, "sex"] = "f "  # (a code in another case: unknown)
    return table


def _write(table: pd.DataFrame, quoting: int, newline: str = "\n") -> str:
    out = io.StringIO()
    writer = csv.writer(out, quoting=quoting, lineterminator=newline)
    writer.writerow(table.columns)
    writer.writerows(table.itertuples(index=False, name=None))
    return out.getvalue()


def _with_multiline_notes(table: pd.DataFrame, newline: str) -> pd.DataFrame:
    table = table.copy()
    table.loc[1, "note"] = f"seen twice{newline}at the clinic"
    table.loc[10, "note"] = f"a{newline}{newline}long note, \"quoted\""
    table.loc[30, "note"] = f"three{newline}lines{newline}here"
    table.loc[31, "cause_of_death"] = f"relapse{newline}"  # a code broken over two lines: unknown code
    return table


def corpus() -> dict[str, bytes]:
    """File name -> the bytes of that extract."""
    bad = _defects(_table())
    japanese = bad.copy()
    japanese.loc[2, "note"] = "再発後に再移植"
    files = {
        "plain.csv": _write(bad, csv.QUOTE_MINIMAL).encode("utf-8"),
        "quoted_all.csv": _write(bad, csv.QUOTE_ALL).encode("utf-8"),
        "quoted_newlines.csv": _write(_with_multiline_notes(bad, "\n"), csv.QUOTE_ALL).encode("utf-8"),
        "quoted_newlines_crlf.csv": _write(_with_multiline_notes(bad, "\r\n"), csv.QUOTE_MINIMAL, "\r\n").encode("utf-8"),
        "cp932.csv": _write(japanese, csv.QUOTE_MINIMAL).encode("cp932"),
        "cp932_quoted.csv": _write(japanese, csv.QUOTE_ALL, "\r\n").encode("cp932"),
    }
    text = _write(japanese, csv.QUOTE_ALL).encode("cp932")
    at = text.index("再発".encode("cp932"))
    files["cp932_bad_byte.csv"] = text[:at] + b"\x85\x40" + text[at + 2:]  # neither UTF-8 nor CP932
    lines = _write(bad, csv.QUOTE_ALL).split("\n")
    lines.insert(15, "")
    lines.insert(40, ",,,,")
    files["quoted_blank_lines.csv"] = "\n".join(lines).encode("utf-8")
    ragged = _write(bad, csv.QUOTE_ALL).split("\n")
    ragged[25] += ',"extra"'
    files["quoted_ragged.csv"] = "\n".join(ragged).encode("utf-8")
    return files


def write_corpus(folder: Path) -> dict[str, Path]:
    paths = {}
    for name, data in corpus().items():
        paths[name] = folder / name
        paths[name].write_bytes(data)
    return paths
