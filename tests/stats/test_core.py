"""The estimators' shared helpers: the same results as the slower NumPy calls they replace."""
import numpy as np
import pytest

from analysis.stats.aalen_johansen import cumulative_incidence
from analysis.stats.core import (TimeIndex, content_key, distinct_integers, merge_near_ties, stable_order, tall_product,
                                 unique_inverse, unique_merged)
from analysis.stats.gray import gray_test
from analysis.stats.kaplan_meier import kaplan_meier
from analysis.stats.logrank import logrank_test


def registry_days(n, seed):
    """Whole-day times in months, as registries give them: a million with a few thousand distinct."""
    return np.random.default_rng(seed).integers(0, 3000, n) / 30.4375


@pytest.mark.parametrize("values", [
    registry_days(50_000, 1),
    np.random.default_rng(2).random(20_000),  # all distinct: the plain argsort
    np.r_[registry_days(10_000, 3), np.nan, np.inf, -0.0, 0.0, np.nan],
    np.random.default_rng(4).integers(-5, 100, 30_000),
    registry_days(100, 5),
])
def test_stable_order_is_the_stable_argsort(values):
    assert np.array_equal(stable_order(values), np.argsort(values, kind="stable"))


def test_unique_merged_is_merge_then_unique():
    days = registry_days(30_000, 6)
    near = days.copy()
    near[::7] += 1e-10  # the same day computed by another route
    for times in (days, near, days[:50], np.r_[days, np.inf]):
        merged, distinct, inverse = unique_merged(times)
        (expected,) = merge_near_ties(times)
        assert np.array_equal(merged, expected)
        expected_distinct, expected_inverse = unique_inverse(expected)
        assert np.array_equal(distinct, expected_distinct) and np.array_equal(inverse, expected_inverse)
    assert unique_merged(days)[0] is days  # nothing merged: the times themselves


def test_content_key_tells_content_apart():
    a = np.arange(6.0)
    assert content_key("efron", a, None) == content_key("efron", a.copy(), None)
    assert content_key("efron", a, None) != content_key("breslow", a, None)
    assert content_key(a) != content_key(a.reshape(2, 3))  # same bytes, other shape
    assert content_key(a) != content_key(a.astype(np.float32))
    b = a.copy()
    b[3] = 3.5
    assert content_key(a) != content_key(b)


def test_tall_product_is_the_matrix_product_bit_for_bit():
    # The influence functions and cox.zph's residuals multiply 10^6 rows by a small matrix through it.
    rng = np.random.default_rng(5)
    for n, q, k in ((200_000, 5, 5), (50_000, 1, 1), (30_000, 3, 2), (9, 4, 4), (100_000, 12, 12), (0, 3, 3)):
        tall = rng.normal(size=(n, q)) * rng.exponential(size=(n, 1))
        small = rng.normal(size=(q, k))
        product = tall_product(tall, small)
        assert np.array_equal(product, tall @ small) and product.flags.c_contiguous
    centred = rng.integers(0, 2, size=(100_000, 4)) - 0.37
    assert np.array_equal(tall_product(centred, np.eye(4)[:, :2]), centred @ np.eye(4)[:, :2])


@pytest.mark.parametrize("n", [12, 5000])
def test_time_index_subset_is_the_index_of_the_subset(n):
    rng = np.random.default_rng(n)
    time = rng.integers(0, 40, n) / 4.0  # ties, and time 0
    index = TimeIndex.of(time)
    for mask in (rng.random(n) < 0.3, time > 5, np.zeros(n, bool), np.flatnonzero(time < 2)):
        subset = index.subset(mask)
        distinct, inverse = unique_inverse(time[mask])
        np.testing.assert_array_equal(subset.distinct, distinct)
        np.testing.assert_array_equal(subset.inverse, inverse)
    assert index.subset(slice(None)) is index
    assert index.subset(np.ones(n, dtype=bool)) is index  # (all selected: nothing to count again)


def test_estimators_given_the_time_index_give_the_same_results():
    """Ties and a censoring at an event time in groups a/b: the curves and tests from one index of all
    times equal those hashing their own times, field by field."""
    time = np.array([2.0, 1, 5, 2, 3, 5, 8, 1])
    status = np.array([1, 0, 2, 0, 1, 1, 0, 1])
    group = np.array(["a", "b", "a", "a", "b", "b", "a", "b"])
    index = TimeIndex.of(time)
    a = group == "a"
    own, shared = kaplan_meier(time[a], status[a] == 1), kaplan_meier(time[a], status[a] == 1, index=index.subset(a))
    np.testing.assert_array_equal(own.time, [2, 5, 8])
    # at 2: one event among 4 at risk (the censoring at 2 counts at risk); 5 (competing) and 8 are censored
    np.testing.assert_array_equal(own.estimate, [0.75, 0.75, 0.75])
    for field in ("time", "estimate", "variance", "lower", "upper", "n_risk", "n_event", "n_censor"):
        np.testing.assert_array_equal(getattr(own, field), getattr(shared, field), err_msg=field)
        own_cif = cumulative_incidence(time[~a], status[~a], label="b")
        shared_cif = cumulative_incidence(time[~a], status[~a], label="b", index=index.subset(~a))
        np.testing.assert_array_equal(getattr(own_cif, field), getattr(shared_cif, field), err_msg=field)
    assert logrank_test(time, status == 1, group) == logrank_test(time, status == 1, group, index=index)
    assert gray_test(time, status, group) == gray_test(time, status, group, index=index)
    assert gray_test(time, status, group, strata=time > 2) == gray_test(time, status, group, strata=time > 2,
                                                                        index=index)


def test_a_time_index_of_other_times_is_refused():
    with pytest.raises(ValueError, match="3 positions for 4 times"):
        kaplan_meier([1.0, 2, 3, 4], [1, 0, 1, 1], index=TimeIndex.of([1.0, 2, 3]))


@pytest.mark.parametrize("values", [
    np.random.default_rng(7).integers(0, 10**6, size=(100_000, 2)),  # Fisher's node entries at 10^6: mostly distinct
    np.random.default_rng(8).integers(-3, 4, size=5_000),  # few, negative too
    np.array([5, 5, 5], dtype=np.int32),
    np.array([], dtype=np.int64),
    np.array([[2, 1], [1, 0]], dtype=np.uint8),
])
def test_distinct_integers_is_np_unique(values):
    found = distinct_integers(values)
    assert np.array_equal(found, np.unique(values)) and found.dtype == np.unique(values).dtype


def test_distinct_integers_refuses_floats():
    with pytest.raises(TypeError):
        distinct_integers(np.array([1.0, 2.0]))


def test_z_975_ndtri_is_scipys_ndtri():
    """Written out so the estimators import without SciPy; it must stay SciPy's value to the bit."""
    from scipy import special

    from analysis.stats.core import Z_975, Z_975_NDTRI

    assert Z_975_NDTRI == float(special.ndtri(0.975))
    assert Z_975_NDTRI == np.nextafter(np.nextafter(Z_975, 3.0), 3.0)  # (2 ulp above R's qnorm(0.975))


def test_integer_groups_are_coded_as_their_sorted_values():
    # Integer labels (a grouping's codes) are ranked among the values present by counting, not hashing:
    # the codes and number of groups of factorize(sort=True), gaps in the values and all.
    import pandas as pd

    from analysis.stats.checks import group_codes

    for labels in ([7, 2, 2, 9, 7], np.array([3, 0, 3], dtype=np.uint8), np.array([5])):
        codes, k = group_codes(labels, len(labels), "group")
        expected, levels = pd.factorize(np.asarray(labels), sort=True)
        assert codes.tolist() == expected.tolist() and k == len(levels) and codes.dtype == np.int64
    assert group_codes([7, 2, 2, 9, 7], 5, "group")[0].tolist() == [1, 0, 0, 2, 1]


def test_recent_keeps_the_last_used_values_and_makes_each_once():
    from analysis.stats.core import Recent

    made = []

    def make(value):
        made.append(value)
        return value

    kept = Recent(2)
    assert kept.get(b"a", lambda: make("A")) == "A"
    assert kept.get(b"b", lambda: make("B")) == "B"
    assert kept.get(b"a", lambda: make("A again")) == "A"  # (kept: now the most recently used)
    assert kept.get(b"c", lambda: make("C")) == "C"  # (b, the least recently used, goes)
    assert kept.get(b"a", lambda: make("A again")) == "A"
    assert kept.get(b"b", lambda: make("B again")) == "B again"
    assert made == ["A", "B", "C", "B again"]


def test_recent_shared_by_threads():
    """Threads reading and filling one store get, for each key, the value made for it."""
    import threading

    from analysis.stats.core import Recent

    kept, errors = Recent(3), []

    def work(offset):
        for i in range(2000):
            key = (i + offset) % 5
            if kept.get(bytes([key]), lambda: key * 10) != key * 10:
                errors.append(key)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(kept._values) == 3
