"""Endpoint derivation by hand: which event, which competing event, at which time."""
import numpy as np
import pandas as pd
import pytest

from analysis.domain.endpoints import available_endpoints, endpoint_data
from analysis.data.schema import MONTH_DAYS
#  a: relapse day 100, dies day 200                 b: dies day 50 without relapse (NRM)
#  c: alive at 400, aGVHD II day 30, limited cGVHD 150   d: aGVHD III day 40, extensive cGVHD 120, alive at 300
#  e: relapse day 60 then aGVHD II on day 80 (relapse comes first), alive at 90
#  f: graft failure: no engraftment, dies day 25     g: engraftment missing (excluded where needed)
def months(days):
    """The validated frame holds times as months after HCT."""
    return np.array(days, dtype=float) / MONTH_DAYS


COHORT = pd.DataFrame({
    "patient_id": list("abcdefg"),
    "vital_status": ["dead", "dead", "alive", "alive", "alive", "dead", "alive"],
    "last_contact_months": months([200, 50, 400, 300, 90, 25, 500]),
    "relapse": [1, 0, 0, 0, 1, 0, 0],
    "relapse_months": months([100, np.nan, np.nan, np.nan, 60, np.nan, np.nan]),
    "neutrophil_engraftment": [1, 1, 1, 1, 1, 0, np.nan],
    "neutrophil_engraftment_months": months([15, 20, 12, 14, 18, np.nan, np.nan]),
    "agvhd_grade": [0, 1, 2, 3, 2, 0, 0],
    "agvhd_months": months([np.nan, np.nan, 30, 40, 80, np.nan, np.nan]),
    "cgvhd": ["none", "none", "limited", "extensive", "none", "none", "none"],
    "cgvhd_months": months([np.nan, np.nan, 150, 120, np.nan, np.nan, np.nan]),
})


def days_and_status(name):
    derived = endpoint_data(COHORT, name)
    return list(np.round(derived.time * MONTH_DAYS, 9)), list(derived.status), derived


def test_os_and_efs_by_hand():
    assert days_and_status("os")[:2] == ([200, 50, 400, 300, 90, 25, 500], [1, 1, 0, 0, 0, 1, 0])
    assert days_and_status("efs")[:2] == ([100, 50, 400, 300, 60, 25, 500], [1, 1, 0, 0, 1, 1, 0])


def test_relapse_and_nrm_are_mirror_images_by_hand():
    assert days_and_status("relapse")[:2] == ([100, 50, 400, 300, 60, 25, 500], [1, 2, 0, 0, 1, 2, 0])
    assert days_and_status("nrm")[:2] == ([100, 50, 400, 300, 60, 25, 500], [2, 1, 0, 0, 2, 1, 0])


def test_engraftment_excludes_unknown_and_counts_death_first_by_hand():
    days, status, derived = days_and_status("neutrophil")
    assert days == [15, 20, 12, 14, 18, 25] and status == [1, 1, 1, 1, 1, 2]
    assert derived.exclusions == (("neutrophil_engraftment missing", 1),)
    assert list(derived.included) == [True] * 6 + [False]


def test_acute_gvhd_with_relapse_or_death_competing_by_hand():
    days, status, _ = days_and_status("agvhd2")
    # e relapsed on day 60 before its aGVHD on day 80: the competing event comes first.
    assert days == [100, 50, 30, 40, 60, 25, 500] and status == [2, 2, 1, 1, 2, 2, 0]
    days, status, _ = days_and_status("agvhd3")
    assert days == [100, 50, 400, 40, 60, 25, 500] and status == [2, 2, 0, 1, 2, 2, 0]


def test_chronic_gvhd_by_hand():
    assert days_and_status("cgvhd")[:2] == ([100, 50, 150, 120, 60, 25, 500], [2, 2, 1, 1, 2, 2, 0])
    assert days_and_status("cgvhd_extensive")[:2] == ([100, 50, 400, 120, 60, 25, 500], [2, 2, 0, 1, 2, 2, 0])


def test_grfs_first_of_severe_gvhd_relapse_or_death_by_hand():
    assert days_and_status("grfs")[:2] == ([100, 50, 400, 40, 60, 25, 500], [1, 1, 0, 1, 1, 1, 0])


def test_available_endpoints_follow_the_columns():
    assert available_endpoints(COHORT) == [
        "os", "efs", "relapse", "nrm", "neutrophil", "agvhd2", "agvhd3", "cgvhd", "cgvhd_extensive", "grfs"]
    assert available_endpoints(COHORT.drop(columns=["agvhd_grade", "agvhd_months"])) == [
        "os", "efs", "relapse", "nrm", "neutrophil", "cgvhd", "cgvhd_extensive"]


def test_unknown_endpoint():
    with pytest.raises(KeyError, match="unknown endpoint"):
        endpoint_data(COHORT, "pfs2")


def test_an_endpoint_is_derived_once_per_frame_and_read_only():
    # A report asks for the same endpoint of the same cohort dozens of times: the second time is the
    # first result, a copy of the frame gets its own, and what is shared cannot be changed in place.
    frame = COHORT.copy()
    first = endpoint_data(frame, "relapse")
    assert endpoint_data(frame, "relapse") is first
    assert endpoint_data(frame.copy(), "relapse") is not first
    for array in (first.time, first.status, first.included):
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 0


def test_the_memo_of_a_frame_ends_with_the_frame():
    import gc

    from analysis.domain import memo

    frame = COHORT.copy()
    endpoint_data(frame, "os")
    key = id(frame)
    assert key in memo._KEPT
    del frame
    gc.collect()
    assert key not in memo._KEPT


def test_threads_asking_first_share_the_frames_one_memo(monkeypatch):
    """Chapters compute parts side by side: two threads asking for a new frame's memo at once get the
    same one (made under a lock), so that neither thread's derivations are lost."""
    import threading
    import time
    import types
    import weakref

    from analysis.domain import memo

    def slow_ref(obj, callback=None):  # (widens the moment between looking the memo up and keeping it)
        time.sleep(0.05)
        return weakref.ref(obj, callback)

    monkeypatch.setattr(memo, "weakref", types.SimpleNamespace(ref=slow_ref))
    frame = COHORT.copy()
    start, found = threading.Barrier(2), []

    def ask():
        start.wait()
        found.append(memo.per_frame(frame))

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert found[0] is found[1] is memo.per_frame(frame)
