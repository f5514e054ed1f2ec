"""Endpoint estimates overall and by group: Kaplan-Meier or Aalen-Johansen plus the group test."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .endpoints import ENDPOINTS, endpoint_data
from .groups import group_labels, grouping_title
from .incidence import cumulative_incidence, gray_test
from .results import EndpointResult
from .survival import kaplan_meier, logrank_test, median_survival


def estimate_endpoint(data: pd.DataFrame, endpoint: str, by: str | None = None) -> EndpointResult:
    """Estimate `endpoint` for the whole cohort, or per level of `by` with the group test.

    Patients with an unknown group are left out of a grouped analysis (the
    overall analysis keeps them).
    """
    spec = ENDPOINTS[endpoint]
    derived = endpoint_data(data, endpoint)
    time, status = derived.time, derived.status

    if by is None:
        labels = np.array(["all"] * len(time), dtype=object)
        levels: tuple[str, ...] = ("all",)
    else:
        group, levels = group_labels(data.loc[derived.included], by)
        labels = group.to_numpy(dtype=object)
        known = pd.notna(labels)
        time, status, labels = time[known], status[known], labels[known]
        levels = tuple(level for level in levels if (labels == level).any())

    if spec.kind == "survival":
        event = (status == 1).astype(int)
        curves = tuple(kaplan_meier(time[labels == level], event[labels == level], label=level) for level in levels)
        medians = tuple(median_survival(curve) for curve in curves)
        test = logrank_test(time, event, labels) if len(levels) > 1 else None
    else:
        curves = tuple(cumulative_incidence(time[labels == level], status[labels == level], cause=1, label=level)
                       for level in levels)
        medians = ()
        test = gray_test(time, status, labels, cause=1) if len(levels) > 1 else None

    return EndpointResult(
        endpoint=endpoint,
        title=spec.title,
        kind=spec.kind,
        curves=curves,
        test=test,
        by=grouping_title(by) if by else None,
        median=medians,
    )
