"""Endpoint estimates overall and by group: Kaplan-Meier or Aalen-Johansen plus the group test."""
from __future__ import annotations

import pandas as pd

from analysis.domain.endpoints import ENDPOINTS, endpoint_data
from analysis.domain.groupings import group_codes_of, grouping_title
from analysis.domain.memo import per_frame
from analysis.stats.aalen_johansen import cumulative_incidence
from analysis.stats.gray import gray_test
from analysis.stats.results import EndpointResult
from analysis.stats.kaplan_meier import kaplan_meier, median_survival
from analysis.stats.logrank import logrank_test


def estimate_endpoint(data: pd.DataFrame, endpoint: str, by: str | None = None) -> EndpointResult:
    """Estimate `endpoint` for the whole cohort, or per level of `by` with the group test.

    Patients with an unknown group are left out of a grouped analysis (the
    overall analysis keeps them). The result (frozen) is kept with the frame: the
    factors and prognostic chapters compare the same endpoints by the same groupings.
    """
    known = per_frame(data)
    key = ("estimate", endpoint, by)
    if key not in known:
        known[key] = _estimate(data, endpoint, by)
    return known[key]


def _estimate(data: pd.DataFrame, endpoint: str, by: str | None) -> EndpointResult:
    spec = ENDPOINTS[endpoint]
    derived = endpoint_data(data, endpoint)
    time, status = derived.time, derived.status

    if by is None:
        labels = None
        levels: tuple[str, ...] = ("all",)
        members = {"all": slice(None)}
    else:
        # each patient's level as a code (-1: unknown), so that selecting a level compares integers;
        # the tests take the codes too (they order the groups as the labels would be sorted)
        groups = group_codes_of(data, by, derived.included)
        known = groups.codes >= 0
        labels = codes = groups.codes[known]
        time, status = time[known], status[known]
        levels = tuple(level for level in groups.levels if level in groups.names)
        members = {level: codes == groups.code(level) for level in levels}

    if spec.kind == "survival":
        event = (status == 1).astype(int)
        curves = tuple(kaplan_meier(time[members[level]], event[members[level]], label=level) for level in levels)
        medians = tuple(median_survival(curve) for curve in curves)
        test = logrank_test(time, event, labels) if len(levels) > 1 else None
    else:
        curves = tuple(cumulative_incidence(time[members[level]], status[members[level]], cause=1, label=level)
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
        grouping=by,
    )
