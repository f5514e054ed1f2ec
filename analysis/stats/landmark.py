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


def landmark(time, event, at: float, eligible=None) -> LandmarkData:
    """Keep patients whose follow-up passes `at` (and who are `eligible`), timing from `at`.

    A patient must still be under observation strictly after the landmark: one
    whose event or censoring falls on the landmark itself is not at risk beyond it.
    """
    time = as_times(time)
    event = as_events(event, time.size)
    selected = time > at
    if eligible is not None:
        selected &= np.asarray(eligible, dtype=bool)
    return LandmarkData(
        landmark=float(at),
        selected=selected,
        time=frozen_array(time[selected] - at),
        event=event[selected].copy(),
    )
