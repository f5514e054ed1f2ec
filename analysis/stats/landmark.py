"""Landmark selection: patients still at risk at a landmark, with time reset to it."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.stats.checks import as_events, as_times
from analysis.stats.core import frozen_array


@dataclass(frozen=True, eq=False)
class LandmarkData:
    landmark: float
    selected: np.ndarray  # boolean mask over the input rows
    time: np.ndarray      # months after the landmark, selected rows only
    event: np.ndarray


def landmark(time, event, at: float, eligible=None, *, on_landmark: bool = False) -> LandmarkData:
    """Keep patients whose follow-up reaches `at` (and who are `eligible`), timing from `at`.

    By default (T > s, as `dynpred::cutLM`) a patient must still be under observation strictly
    after the landmark: one whose event or censoring falls on the landmark itself is not at risk
    beyond it.  With `on_landmark` (T >= s) that patient enters too, with time 0 from the landmark
    (an event on the landmark day then counts at time 0).
    """
    time = as_times(time)
    event = as_events(event, time.size)
    selected = time >= at if on_landmark else time > at
    if eligible is not None:
        selected &= np.asarray(eligible, dtype=bool)
    return LandmarkData(
        landmark=float(at),
        selected=selected,
        time=frozen_array(time[selected] - at),
        event=event[selected].copy(),
    )
