"""Table 1: counts and p-values, against hand derivations and against R
(tests/reference/characteristics_reference.R).  The tests themselves: tests/stats/test_exact.py."""
from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from analysis.analyses.characteristics import (
    CharacteristicsTable,
    Count,
    MedianRange,
    MissingCount,
    characteristics,
    missing_data,
)
from analysis.present.tables.characteristics import characteristics_frame, characteristics_gt
from analysis.stats.exact import fisher_exact
from analysis.present.numbers import fmt_p

REFERENCE_DIR = Path(__file__).resolve().parents[1] / "reference"
REFERENCE_JSON = REFERENCE_DIR / "characteristics_reference.json"
REFERENCE_R = REFERENCE_DIR / "characteristics_reference.R"
REFERENCE = json.loads(REFERENCE_JSON.read_text())


def _reference_cohort() -> pd.DataFrame:
    cols = REFERENCE["cohort"]["columns"]
    return pd.DataFrame(
        {
            "graft_source": pd.Series(cols["graft_source"], dtype=object),
            "age": pd.Series(cols["age"], dtype=float),
            "sex": pd.Series(cols["sex"], dtype=object),
            "status_at_hct": pd.Series(cols["status_at_hct"], dtype=object),
            "ps": pd.Series(cols["ps"], dtype=float),
            "hct_year": pd.Series(cols["hct_year"], dtype=int),
        }
    ).replace({None: np.nan})


def test_characteristics_p_values_against_r():
    # R: fisher.test(variable, graft_source), kruskal.test(variable, graft_source)
    table = characteristics(_reference_cohort())
    expected = REFERENCE["cohort"]["p"]
    got = table.p_values()
    assert set(got) == set(expected)
    for variable, p in expected.items():
        assert_allclose(got[variable], p, rtol=1e-6, err_msg=variable)
    assert table.test("age").name == "Kruskal-Wallis rank sum test"
    assert table.test("sex").name == "Fisher's exact test"


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript not installed")
def test_reference_file_is_reproduced_by_r_script(tmp_path):
    out = tmp_path / "reference.json"
    subprocess.run(["Rscript", str(REFERENCE_R), str(out)], check=True, timeout=120,
                   capture_output=True)
    fresh = json.loads(out.read_text())

    def compare(a, b, where="$"):
        if isinstance(a, dict):
            assert isinstance(b, dict) and set(a) == set(b), where
            for k in a:
                if k != "r_version":
                    compare(a[k], b[k], f"{where}.{k}")
        elif isinstance(a, list):
            assert isinstance(b, list) and len(a) == len(b), where
            for i, (x, y) in enumerate(zip(a, b)):
                compare(x, y, f"{where}[{i}]")
        elif isinstance(a, (int, float)) and not isinstance(a, bool) and a is not None:
            assert_allclose(b, a, rtol=1e-10, err_msg=where)
        else:
            assert a == b, where

    compare(REFERENCE, fresh)


# --------------------------------------------------------------------------
# Counts, percentages, medians (by hand)
# --------------------------------------------------------------------------


@pytest.fixture
def small_cohort() -> pd.DataFrame:
    # deliberately unsorted: BM first, levels in non-SPEC order
    return pd.DataFrame(
        {
            "graft_source": ["BM", "PB", "CB", "CB", "PB", "CB", "BM", "CB"],
            "age": [40.0, 50.0, 30.0, 45.0, np.nan, 22.0, 60.0, 36.0],
            "sex": ["F", "M", "M", "F", "M", np.nan, "F", "M"],
            "status_at_hct": ["NR", "PR", "NR", "CR", "CR", "NR", "CR", "CR"],
            "donor_type": ["related"] * 4 + ["unrelated"] * 4,
            "conditioning": ["RIC", "MAC"] * 4,
            "ps": [1.0, 0.0, 0.0, 2.0, 1.0, 0.0, 4.0, 0.0],
            "hct_year": [2010, 2012, 2011, 2015, 2016, 2012, 2009, 2014],
            "disease": ["ANKL"] * 8,
        }
    )


def test_counts_and_percent_by_hand(small_cohort):
    t = characteristics(small_cohort)
    assert t.groups == ("CB", "PB", "BM")  # SPEC order, not data order
    assert t.group_n == (4, 2, 2) and t.n == 8
    # sex: 7 known (1 missing, in CB); CB known = 3 (M, F, M)
    male_cb = t.cell("sex", "M", "CB")
    assert male_cb == Count(2, 3)
    assert male_cb.percent == pytest.approx(100 * 2 / 3)
    assert t.cell("sex", "F") == Count(3, 7)
    assert t.cell("sex", "Missing", "CB") == MissingCount(1)
    assert t.cell("sex", "Missing") == MissingCount(1)
    # status: SPEC order CR, PR, NR
    levels = [r.level for r in t.rows if r.variable == "status_at_hct" and r.row_type == "level"]
    assert levels == ["CR", "PR", "NR"]
    assert t.cell("status_at_hct", "NR", "CB") == Count(2, 4)
    # ps as categories 0..4 (float codes shown without decimals), 3 kept with 0
    ps_levels = [r.level for r in t.rows if r.variable == "ps" and r.row_type == "level"]
    assert ps_levels == ["0", "1", "2", "3", "4"]
    assert t.cell("ps", "0") == Count(4, 8)
    assert t.cell("ps", "3") == Count(0, 8)
    # age: median (range) of the non-missing; PB has one value
    assert t.cell("age") == MedianRange(7, 40.0, 22.0, 60.0, True)
    assert t.cell("age", group="CB") == MedianRange(4, 33.0, 22.0, 45.0, True)
    assert t.cell("age", group="PB") == MedianRange(1, 50.0, 50.0, 50.0, True)
    assert t.cell("age", "Missing", "PB") == MissingCount(1)
    # "Missing" rows only where something is missing
    missing_rows = {r.variable for r in t.rows if r.row_type == "missing"}
    assert missing_rows == {"age", "sex"}
    # disease has one value: not in the default table
    assert "disease" not in t.variables
    assert t.variables == ("age", "sex", "status_at_hct", "donor_type", "conditioning", "ps", "hct_year")


def test_fisher_table_uses_known_values_only(small_cohort):
    t = characteristics(small_cohort, variables=["sex"])
    # sex by graft, missing excluded: rows M, F; columns CB, PB, BM
    by_hand = fisher_exact([[2, 2, 0], [1, 0, 2]])
    assert t.test("sex").p == pytest.approx(by_hand.p, rel=1e-12)


def test_disease_only_when_it_varies(small_cohort):
    df = small_cohort.assign(disease=["ANKL", "ANKL", "ENKL"] + ["ANKL"] * 5)
    assert characteristics(df).variables[-1] == "disease"


def test_missing_group_is_left_out_and_reported(small_cohort):
    df = small_cohort.copy()
    df.loc[0, "graft_source"] = np.nan
    t = characteristics(df)
    assert t.n == 7 and t.n_missing_by == 1 and t.group_n == (4, 2, 1)
    assert "1 patient with unknown graft source not included." in characteristics_gt(t).as_raw_html()


def test_without_groups_and_explicit_kinds(small_cohort):
    t = characteristics(small_cohort, by=None, variables={"hct_year": "categorical", "age": "continuous"})
    assert t.groups == () and all(r.test is None for r in t.rows)
    assert t.cell("hct_year", "2012") == Count(2, 8)
    assert "p" not in characteristics_frame(t).columns
    with pytest.raises(KeyError):
        characteristics(small_cohort, variables=["no_such_column"])


def test_results_are_frozen(small_cohort):
    t = characteristics(small_cohort)
    assert isinstance(t, CharacteristicsTable)
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.n = 3  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.rows[0].label = "x"  # type: ignore[misc]


# --------------------------------------------------------------------------
# Missing data
# --------------------------------------------------------------------------


def test_missing_data_counts_only_where_required():
    df = pd.DataFrame(
        {
            "age": [50.0, np.nan, 30.0, 40.0],
            "status_at_hct": ["NR", "NR", "CR", "PR"],
            "pif": [1.0, np.nan, np.nan, np.nan],  # required for NR only
            "vital_status": ["dead", "alive", "dead", "alive"],
            "cause_of_death": ["relapse", np.nan, np.nan, np.nan],
            "relapse": [1, 0, 1, 0],
            "relapse_months": [3.3, np.nan, np.nan, np.nan],  # the frame's form of relapse_date
            "cr_after_hct_date": [np.nan] * 4,  # empty = no CR after HCT: not counted
        }
    )
    m = missing_data(df)
    assert m["age"].n_missing == 1 and m["age"].applicable == 4 and m["age"].percent == 25.0
    assert (m["pif"].n_missing, m["pif"].applicable) == (1, 2)
    assert (m["cause_of_death"].n_missing, m["cause_of_death"].applicable) == (1, 2)
    assert (m["relapse_date"].n_missing, m["relapse_date"].applicable) == (1, 2)
    assert "cr_after_hct_date" not in m.to_frame()["column"].tolist()
    frame = m.to_frame()
    assert list(frame.columns) == ["column", "applies_to", "applicable", "n_missing", "percent"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.n = 0  # type: ignore[misc]


def test_blank_text_counts_as_missing():
    # Each distinct text is looked at once: empty and blank texts are missing, as are None, NaN and NA, in
    # object and string columns; a text that only looks empty around other characters is not.
    texts = ["CR", "", "  ", None, np.nan, "PR", " NR ", "\u3000"]
    for dtype in (object, "string"):
        df = pd.DataFrame({"status_at_hct": pd.Series(texts, dtype=dtype), "pif": [0.0] * 8,
                           "vital_status": pd.Series(["dead", "alive", "", None, "dead", "alive", "dead", "x"],
                                                     dtype=dtype),
                           "cause_of_death": pd.Series([None, "relapse", "gvhd", "", " ", "x", "y", "z"], dtype=dtype)})
        m = missing_data(df)
        assert (m["status_at_hct"].n_missing, m["status_at_hct"].applicable) == (5, 8)
        assert (m["pif"].n_missing, m["pif"].applicable) == (0, 1)  # " NR " is NR
        assert (m["cause_of_death"].n_missing, m["cause_of_death"].applicable) == (2, 3)


# --------------------------------------------------------------------------
# The great-tables table
# --------------------------------------------------------------------------


def test_gt_html_contains_expected_strings(small_cohort):
    t = characteristics(small_cohort)
    html = characteristics_gt(t, title="Patient characteristics").as_raw_html()
    for text in [
        "Patient characteristics",
        "Characteristic",
        "Overall, N = 8",
        "CB, N = 4",
        "PB, N = 2",
        "BM, N = 2",
        "id=\"p\">P</th>",
        "Age at HCT, years",
        "40 (22-60)",  # overall age: whole years, median (range)
        "33 (22-45)",
        "\u2003Male",  # levels indented with an em space, not CSS
        "\u2003Missing",
        "2 (66.7%)",  # male among the 3 CB patients with known sex
        "4 (50.0%)",
        "n (%); median (range)",
        "P: Fisher&#x27;s exact test; Kruskal-Wallis rank sum test.",
    ]:
        assert text in html, text
    # p-values formatted by fmt_p on the variable rows
    frame = characteristics_frame(t)
    p_sex = t.test("sex").p
    assert frame.loc[frame["label"] == "Sex", "p"].item() == fmt_p(p_sex)
    assert (frame.loc[frame["label"].str.startswith("\u2003"), "p"] == "").all()
    # nothing that needs CSS or images to be read
    table_html = html[html.index("<table"):]
    assert "<img" not in table_html and "gt_footnote_marks" not in table_html


def test_gt_formats_decimals_and_na():
    df = pd.DataFrame(
        {
            "graft_source": ["CB", "CB", "PB", "PB", "BM"],
            "age": [30.5, 41.0, 52.25, 60.0, 45.0],
            "sex": ["M", "M", "M", "M", "M"],
        }
    )
    t = characteristics(df, variables=["age", "sex"])
    frame = characteristics_frame(t)
    age = frame.loc[frame["label"] == "Age at HCT, years"].iloc[0]
    assert age["overall"] == "45.0 (30.5-60.0)" and age["group_2"] == "45.0 (45.0-45.0)"
    html = characteristics_gt(t).as_raw_html()
    assert frame.loc[frame["label"] == "Sex", "p"].item() == "\u2014"
    assert "\u2014: no test" in html


def test_gt_names_a_monte_carlo_p_value(small_cohort):
    t = characteristics(small_cohort, variables=["age", "ps"], max_work=1)
    assert t.test("ps").method == "monte-carlo"
    html = characteristics_gt(t).as_raw_html()
    assert "P for ECOG performance status: Fisher&#x27;s exact test (Monte-Carlo P value" in html
    assert "P: Kruskal-Wallis rank sum test." in html
