"""Landmark selection by hand, and the identity that a landmark at 0 keeps everyone."""
import numpy as np

from analysis.stats.landmark import landmark


def test_landmark_by_hand():
    time = np.array([5.0, 12.0, 12.0, 20.0, 30.0, 13.5])
    event = np.array([1, 1, 0, 1, 0, 1])
    eligible = np.array([True, True, True, True, False, True])
    selected = landmark(time, event, 12, eligible=eligible)
    # Patients whose follow-up ends at or before 12 months are not at risk after the landmark;
    # the fifth is not eligible (e.g. relapsed before the landmark).
    assert list(selected.selected) == [False, False, False, True, False, True]
    assert list(selected.time) == [8.0, 1.5] and list(selected.event) == [1, 1]


def test_landmark_at_zero_is_the_full_cohort():
    time = np.array([0.5, 3.0, 3.0, 7.0])
    event = np.array([1, 0, 1, 1])
    selected = landmark(time, event, 0)
    assert selected.selected.all()
    np.testing.assert_array_equal(selected.time, time)
    np.testing.assert_array_equal(selected.event, event)
