"""Average ranks and the Kruskal-Wallis statistic built on them (no scipy.stats at run time)."""
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from analysis.stats.exact import kruskal_wallis
from analysis.stats.ranks import average_ranks, average_ranks_and_ties, tied_groups


def test_average_ranks_by_hand():
    # sorted: 1 | 2 2 2 | 3.5 | 7 7  ->  ranks 1 | 3 3 3 | 5 | 6.5 6.5
    values = [7, 2, 3.5, 2, 1, 7, 2]
    assert_array_equal(average_ranks(values), [6.5, 3, 5, 3, 1, 6.5, 3])


def test_tied_groups_by_hand():
    order, starts, lengths = tied_groups([7, 2, 3.5, 2, 1, 7, 2])
    assert_array_equal(order, [4, 1, 3, 6, 2, 0, 5])  # stable: equal values keep their input order
    assert_array_equal(starts, [0, 1, 4, 5])
    assert_array_equal(lengths, [1, 3, 1, 2])


def test_ranks_and_ties_from_one_sort_by_hand():
    ranks, ties = average_ranks_and_ties([7, 2, 3.5, 2, 1, 7, 2])
    assert_array_equal(ranks, [6.5, 3, 5, 3, 1, 6.5, 3])
    assert_array_equal(ties, [1, 3, 1, 2])


def test_average_ranks_of_nothing_and_of_one_value():
    assert average_ranks([]).size == 0
    assert_array_equal(average_ranks([4.0]), [1.0])


def test_average_ranks_sum_to_n_n_plus_1_over_2():
    rng = np.random.default_rng(3)
    values = rng.integers(0, 20, size=500)  # many ties
    ranks = average_ranks(values)
    assert ranks.sum() == 500 * 501 / 2
    # the same as ranking through a dense comparison (O(n^2), only for checking)
    less = (values[None, :] < values[:, None]).sum(axis=1)
    equal = (values[None, :] == values[:, None]).sum(axis=1)
    assert_array_equal(ranks, less + (equal + 1) / 2)


def test_average_ranks_refuse_nan():
    with pytest.raises(ValueError, match="NaN"):
        average_ranks([1.0, np.nan])


def test_kruskal_wallis_by_hand():
    # groups a: 1, 2, 2  b: 2, 5  -> ranks a: 1, 3, 3  b: 3, 5 (three-way tie at 2: ranks 2, 3, 4)
    # H0 = 12 / (5 * 6) * (7^2 / 3 + 8^2 / 2) - 3 * 6 = 0.4 * (49/3 + 32) - 18 = 1.3333...
    # tie correction 1 - (3^3 - 3) / (5^3 - 5) = 0.8  ->  H = 1.6666...
    result = kruskal_wallis([1, 2, 2, 2, 5], ["a", "a", "a", "b", "b"])
    assert_allclose(result.statistic, (0.4 * (49 / 3 + 32) - 18) / 0.8, rtol=1e-14)
    assert result.df == 1
    assert_allclose(result.p, 0.19670560245894694, rtol=1e-12)  # R: pchisq(5/3, 1, lower.tail = FALSE)
