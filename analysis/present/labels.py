"""The names readers see for groups: a curve's level by its grouping's label table entry."""
from __future__ import annotations

from analysis.data.schema import level_label
from analysis.stats.results import Curve, EndpointResult

__all__ = ["curve_label"]


def curve_label(result: EndpointResult, curve: Curve) -> str:
    """'Female' for the curve of level F of a result grouped by sex; other labels as they are."""
    return level_label(result.grouping, curve.label)
