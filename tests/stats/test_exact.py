"""Fisher's exact test (r x c) and Kruskal-Wallis against hand derivations and against R
(tests/reference/characteristics_reference.R, whose JSON also holds Table 1's reference)."""
from __future__ import annotations

import json
import math
from fractions import Fraction
from math import factorial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from analysis.stats.exact import MONTE_CARLO_RESAMPLES, fisher_exact, kruskal_wallis, kruskal_wallis_codes

REFERENCE_JSON = Path(__file__).resolve().parents[1] / "reference" / "characteristics_reference.json"
REFERENCE = json.loads(REFERENCE_JSON.read_text())


def table_probability(table) -> Fraction:
    """Hypergeometric probability of a table given its margins:
    prod(R_i!) prod(C_j!) / (N! prod(n_ij!)), as an exact fraction."""
    rows = [sum(r) for r in table]
    cols = [sum(c) for c in zip(*table)]
    num = math.prod(factorial(v) for v in rows + cols)
    den = factorial(sum(rows)) * math.prod(factorial(v) for r in table for v in r)
    return Fraction(num, den)


# --------------------------------------------------------------------------
# Fisher's exact test by hand
# --------------------------------------------------------------------------


def test_fisher_2x2_by_hand():
    # [[3, 1], [1, 3]]: margins 4, 4 / 4, 4; P(a) = C(4,a) C(4,4-a) / C(8,4)
    probs = {a: Fraction(math.comb(4, a) * math.comb(4, 4 - a), math.comb(8, 4)) for a in range(5)}
    assert [probs[a] * 70 for a in range(5)] == [1, 16, 36, 16, 1]
    assert probs[3] == table_probability([[3, 1], [1, 3]])
    # two-sided: the tables no more probable than the observed one (a = 0, 1, 3, 4)
    expected = probs[0] + probs[1] + probs[3] + probs[4]
    assert expected == Fraction(34, 70)
    assert fisher_exact([[3, 1], [1, 3]]).p == pytest.approx(float(expected), rel=1e-12)


def test_fisher_2x3_by_hand():
    # Margins rows (3, 3), columns (2, 2, 2), N = 6.  The first row (a, b, c)
    # fixes the table; P = 3!3!2!2!2! / (6! prod n_ij!) = 0.4 / prod n_ij!.
    #   first row a permutation of (2, 1, 0): 6 tables, prod n_ij! = 4, P = 1/10
    #   first row (1, 1, 1):                  1 table,  prod n_ij! = 1, P = 4/10
    assert table_probability([[2, 0, 1], [0, 2, 1]]) == Fraction(1, 10)
    assert table_probability([[1, 1, 1], [1, 1, 1]]) == Fraction(4, 10)
    assert 6 * Fraction(1, 10) + Fraction(4, 10) == 1
    assert fisher_exact([[2, 0, 1], [0, 2, 1]]).p == pytest.approx(0.6, rel=1e-12)
    assert fisher_exact([[1, 1, 1], [1, 1, 1]]).p == pytest.approx(1.0, rel=1e-12)


def test_fisher_2x3_ties_by_hand():
    # Margins rows (3, 2), columns (3, 1, 1), N = 5; P = 3!2!3!1!1! / (5! prod n_ij!)
    #   [[3,0,0],[0,1,1]]: 0.6 / 6 = 0.1
    #   [[2,1,0],[1,0,1]], [[2,0,1],[1,1,0]], [[1,1,1],[2,0,0]]: 0.6 / 2 = 0.3 each
    tables = {
        ((3, 0, 0), (0, 1, 1)): Fraction(1, 10),
        ((2, 1, 0), (1, 0, 1)): Fraction(3, 10),
        ((2, 0, 1), (1, 1, 0)): Fraction(3, 10),
        ((1, 1, 1), (2, 0, 0)): Fraction(3, 10),
    }
    for t, prob in tables.items():
        assert table_probability(t) == prob
    assert sum(tables.values()) == 1
    assert fisher_exact([[3, 0, 0], [0, 1, 1]]).p == pytest.approx(0.1, rel=1e-12)
    # three tables tie with the observed one: all count, p = 1 (R's tolerance)
    assert fisher_exact([[2, 1, 0], [1, 0, 1]]).p == pytest.approx(1.0, rel=1e-12)


def _enumerate_p(table) -> float:
    """Brute force: every table with the observed margins, row by row, in
    exact rational arithmetic; sum those no more probable than the observed."""
    table = np.asarray(table)
    observed = table_probability(table.tolist())
    total = Fraction(0)

    def fill_rows(i, col_left, rows):
        nonlocal total
        if i == table.shape[0] - 1:  # the last row is determined
            prob = table_probability(rows + [col_left])
            if prob <= observed:
                total += prob
            return
        for row in _row_vectors(int(table[i].sum()), col_left):
            fill_rows(i + 1, [a - b for a, b in zip(col_left, row)], rows + [list(row)])

    fill_rows(0, [int(v) for v in table.sum(axis=0)], [])
    return float(total)


def _row_vectors(total, caps):
    if len(caps) == 1:
        if total <= caps[0]:
            yield (total,)
        return
    for v in range(min(total, caps[0]) + 1):
        for rest in _row_vectors(total - v, caps[1:]):
            yield (v, *rest)


def test_fisher_equals_full_enumeration_on_small_tables():
    rng = np.random.default_rng(20210347)
    for _ in range(25):
        shape = tuple(rng.integers(2, 5, size=2))
        table = rng.integers(0, 4, size=shape)
        if (table.sum(axis=0) == 0).any() or (table.sum(axis=1) == 0).any():
            continue
        assert fisher_exact(table).p == pytest.approx(_enumerate_p(table), rel=1e-9), table


def test_fisher_empty_levels_and_degenerate_tables():
    with_zero = fisher_exact([[3, 2, 1], [1, 4, 1], [0, 0, 0]])
    assert with_zero.p == pytest.approx(fisher_exact([[3, 2, 1], [1, 4, 1]]).p, rel=1e-12)
    one_level = fisher_exact([[4, 3, 2], [0, 0, 0]])
    assert math.isnan(one_level.p) and one_level.method == "not computable"
    with pytest.raises(ValueError):
        fisher_exact([[1, -1], [2, 3]])


# --------------------------------------------------------------------------
# Against R
# --------------------------------------------------------------------------


@pytest.mark.parametrize("case", REFERENCE["fisher"], ids=[c["name"] for c in REFERENCE["fisher"]])
def test_fisher_against_r(case):
    # R: fisher.test(matrix, workspace = 2e6)$p.value
    result = fisher_exact(case["table"])
    assert result.method == "exact"
    assert_allclose(result.p, case["p"], rtol=1e-6)


def test_fisher_monte_carlo_fallback_against_r():
    # R 4.2.2: fisher.test(rbind(c(24,20,16), c(20,24,16), c(16,20,24), c(30,20,10),
    #          c(10,20,30)), workspace = 2e8)$p.value = 0.0015114916836832782 (49 s in R)
    table = [[24, 20, 16], [20, 24, 16], [16, 20, 24], [30, 20, 10], [10, 20, 30]]
    p_r = 0.0015114916836832782
    result = fisher_exact(table)
    assert result.method == "monte-carlo"
    assert result.n_resamples == MONTE_CARLO_RESAMPLES
    assert "Monte-Carlo" in result.name
    se = math.sqrt(p_r * (1 - p_r) / MONTE_CARLO_RESAMPLES)
    assert abs(result.p - p_r) < 4 * se


def test_fisher_budget_is_deterministic_and_labelled():
    case = next(c for c in REFERENCE["fisher"] if c["name"] == "3x3_n200")
    small = fisher_exact(case["table"], max_work=10)
    assert small.method == "monte-carlo"
    assert fisher_exact(case["table"], max_work=10).p == small.p  # fixed seed: reproducible
    se = math.sqrt(case["p"] * (1 - case["p"]) / MONTE_CARLO_RESAMPLES)
    assert abs(small.p - case["p"]) < 4 * se


@pytest.mark.parametrize("case", REFERENCE["kruskal"], ids=[c["name"] for c in REFERENCE["kruskal"]])
def test_kruskal_against_r(case):
    # R: kruskal.test(x, factor(g))
    result = kruskal_wallis(case["x"], case["g"])
    assert_allclose(result.statistic, case["statistic"], rtol=1e-6)
    assert result.df == case["df"]
    assert_allclose(result.p, case["p"], rtol=1e-6)


def test_kruskal_drops_missing_pairs_and_groups_left_empty():
    # Pairs with a missing value or group are dropped, then groups without values (R drops unused
    # levels): the statistic of the remaining samples, groups in sorted order.
    values = pd.Series([3.0, np.nan, 1.0, 4.0, 1.0, 5.0, 9.0, np.nan, 6.0], index=range(10, 19))
    groups = pd.Series(["b", "a", None, "b", "c", "c", "a", "d", "c"], index=range(10, 19))  # "d": no value
    result = kruskal_wallis(values, groups)
    # a: 9; b: 3, 4; c: 1, 5, 6 -> ranks a: 6; b: 2, 3; c: 1, 4, 5 (no ties)
    # H = 12 / (6 x 7) (6^2 / 1 + 5^2 / 2 + 10^2 / 3) - 3 x 7 = 50/21; with 2 df, p = exp(-H / 2)
    assert result.n == 6 and result.df == 2
    assert result.statistic == pytest.approx(50 / 21, rel=1e-14)
    assert result.p == pytest.approx(math.exp(-25 / 21), rel=1e-12)


def test_kruskal_of_integer_codes_is_that_of_the_labels_in_sorted_order():
    # Table 1 codes each patient's group as an integer: codes numbered in the labels' sorted order
    # give the same test, to the bit; -1 is a missing group, NaN a missing value.
    values = np.array([3.0, np.nan, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, 2.0])
    labels = ["b", "a", None, "b", "c", "c", "a", "b", "c", "a"]
    codes = np.array([{"a": 0, "b": 1, "c": 2, None: -1}[g] for g in labels])
    assert kruskal_wallis_codes(values, codes) == kruskal_wallis(values, labels)


def test_kruskal_not_computable():
    assert math.isnan(kruskal_wallis([1, 1, 1, 1], ["a", "a", "b", "b"]).p)
    assert math.isnan(kruskal_wallis([1, 2, 3], ["a", "a", "a"]).p)


def test_a_table_beyond_the_budget_is_not_enumerated(monkeypatch):
    # A registry's 3 x 5 table: the lines of the first stage alone (millions) exceed the budget.
    # They are counted, not built, before the test turns to Monte-Carlo (it used to build them first).
    import analysis.stats.exact as exact

    table = np.array([[10685, 16169, 9037], [9769, 14994, 8244], [4578, 6707, 3833], [2301, 3438, 1872],
                      [1027, 1520, 853]])
    built = []
    original = exact._compositions
    monkeypatch.setattr(exact, "_compositions", lambda total, caps: built.append(total) or original(total, caps))
    monkeypatch.setattr(exact, "_fisher_monte_carlo", lambda t, n, seed: 0.5)
    network = exact._Network(table, exact._FEXACT_LOG_TOL, exact.MAX_EXACT_WORK)
    with pytest.raises(exact._WorkBudgetExceeded):
        network.p_value()
    assert built == []
    assert fisher_exact(table).method == "monte-carlo"


def test_lines_are_counted_as_they_are_built():
    from analysis.stats.exact import _composition_count, _compositions

    rng = np.random.default_rng(3)
    for _ in range(300):
        caps = rng.integers(0, 12, rng.integers(1, 5))
        total = int(rng.integers(0, 30))
        assert _composition_count(total, caps) == len(_compositions(total, caps))
    assert _compositions(5, [3, 4]).tolist() == [[1, 4], [2, 3], [3, 2]]
