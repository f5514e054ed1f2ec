"""The record of one landmark of a dynamic landmark series (statistics side, no drawing)."""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LandmarkRow"]


@dataclass(frozen=True)
class LandmarkRow:
    """A hazard ratio estimated among the patients still at risk at one landmark.

    Attributes
    ----------
    landmark : float
        Months after HCT; follow-up is measured from it.
    n : int
        Patients still under observation after the landmark.
    events : int
        Events among them after the landmark.
    hr, lower, upper : float
        Hazard ratio with its 95% confidence interval (``inf`` or NaN where
        the model could not bound it).
    p : float
        p-value of the hazard ratio.
    """

    landmark: float
    n: int
    events: int
    hr: float
    lower: float
    upper: float
    p: float
