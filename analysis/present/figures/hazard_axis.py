"""A hazard-ratio axis on a log scale, shared by the forest plots and the landmark series.

Limits and ticks on "nice" values covering 1, every hazard ratio and the confidence limits (a
limit far beyond the farthest HR, or infinite, is clipped with an arrow by the caller).
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["FONT", "MARKER", "NICE", "SPAN_CAP", "ci_extent", "fmt_tick", "log_limits", "log_ticks"]

#: Row text and counts.
FONT = 8.5
#: The side of a hazard-ratio square, in points.
MARKER = 5.5
#: "Nice" axis values; limits and ticks are chosen among them.
NICE = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0,
        200.0, 500.0, 1000.0)
#: A CI is shown at most this factor beyond the farthest HR (then clipped with an arrow).
SPAN_CAP = 25.0


def ci_extent(hr: float, lower: float, upper: float) -> tuple[float, float]:
    """The ends of a CI whisker on a log axis, before clipping to the axis.

    A missing or non-positive lower limit runs to 0 and a NaN upper limit stops
    at the estimate; an infinite limit stays infinite (clipped with an arrow).
    """
    return (lower if np.isfinite(lower) and lower > 0 else 0.0,
            upper if not np.isnan(upper) else hr)


def _finite_positive(values) -> list[float]:
    return [float(v) for v in values if v is not None and np.isfinite(v) and v > 0]


def log_limits(hrs: Sequence[float], limits: Sequence[float]) -> tuple[float, float]:
    """Axis limits on "nice" values covering 1, every HR, and the CIs up to `SPAN_CAP` beyond the HRs."""
    hrs = _finite_positive(hrs) or [1.0]
    lo_hr, hi_hr = min(min(hrs), 1.0), max(max(hrs), 1.0)
    limits = _finite_positive(limits)
    lo = max(min([lo_hr, *limits]), lo_hr / SPAN_CAP)
    hi = min(max([hi_hr, *limits]), hi_hr * SPAN_CAP)
    lo, hi = min(lo, 0.5), max(hi, 2.0)  # at least 0.5-2 around the line at 1
    lo = max([v for v in NICE if v <= lo * (1 + 1e-9)], default=NICE[0])
    hi = min([v for v in NICE if v >= hi * (1 - 1e-9)], default=NICE[-1])
    return lo, hi


def log_ticks(lo: float, hi: float, max_ticks: int = 7) -> list[float]:
    """Ticks within the limits: 1-2-5, else 1-5, else decades, the first with at most `max_ticks`."""

    def mantissa(v: float) -> int:
        return int(round(v / 10 ** math.floor(math.log10(v) + 1e-9)))

    within = [v for v in NICE if lo * (1 - 1e-9) <= v <= hi * (1 + 1e-9)]
    for allowed in ((1, 2, 5), (1, 5), (1,)):
        ticks = [v for v in within if mantissa(v) in allowed]
        # keep an end of the axis labelled when it is clear of the other ticks
        for end in (within[0], within[-1]):
            if end not in ticks and all(abs(math.log10(end / t)) >= 0.45 for t in ticks):
                ticks.append(end)
        ticks = sorted(ticks)
        if len(ticks) <= max_ticks:
            return ticks
    return ticks


def fmt_tick(value: float) -> str:
    return f"{value:g}"
