"""Endpoint estimates overall and by group: Kaplan-Meier or Aalen-Johansen plus the group test.

A group too small to say anything (`min_group_size`: fewer than 5 patients, or fewer than the
study's small-cell threshold) gets no curve and takes no part in the group test: a curve of one
or two patients is their individual course, and with the small-cell rule it would disclose them.
The result lists it (`EndpointResult.omitted`) so that the figure or table can say why it is missing.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.domain.endpoints import ENDPOINTS, endpoint_data
from analysis.domain.groupings import group_codes_of, grouping_title
from analysis.domain.memo import per_frame
from analysis.stats.aalen_johansen import cumulative_incidence
from analysis.stats.core import TimeIndex
from analysis.stats.gray import gray_test
from analysis.stats.results import EndpointResult
from analysis.stats.kaplan_meier import kaplan_meier, median_survival
from analysis.stats.logrank import logrank_test

#: The fewest patients a group needs for its own curve and a place in a group test.
MIN_GROUP_SIZE = 5


def min_group_size(min_cell: int = 0) -> int:
    """The fewest patients a group of the report needs: `MIN_GROUP_SIZE`, or the study's small-cell
    threshold when that is larger (a group under it could not even be counted)."""
    return max(MIN_GROUP_SIZE, int(min_cell or 0))


def estimate_endpoint(data: pd.DataFrame, endpoint: str, by: str | None = None, *,
                      min_group: int = 0) -> EndpointResult:
    """Estimate `endpoint` for the whole cohort, or per level of `by` with the group test.

    Patients with an unknown group are left out of a grouped analysis (the
    overall analysis keeps them).  A level with fewer than `min_group` patients
    (0, the default: none; the report passes `min_group_size(study.min_cell)`) is
    left out of the curves and the test and listed in `omitted`. The result (frozen) is kept with
    the frame: the factors and prognostic chapters compare the same endpoints by the same groupings.
    """
    known = per_frame(data)
    key = ("estimate", endpoint, by, int(min_group))
    if key not in known:
        known[key] = _estimate(data, endpoint, by, int(min_group))
    return known[key]


def endpoint_time_index(data: pd.DataFrame, endpoint: str) -> TimeIndex:
    """The distinct times of an endpoint's follow-up times, found once per cohort frame: its overall
    curve, its curves and tests by every grouping and its adjusted probabilities take subsets of it
    (hashing a million times is what costs)."""
    known = per_frame(data)
    key = ("time index", endpoint)
    if key not in known:
        index = TimeIndex.of(endpoint_data(data, endpoint).time)
        for array in (index.distinct, index.inverse):
            array.setflags(write=False)  # (handed to every later estimate of the endpoint)
        known[key] = index
    return known[key]


def _estimate(data: pd.DataFrame, endpoint: str, by: str | None, min_group: int) -> EndpointResult:
    spec = ENDPOINTS[endpoint]
    derived = endpoint_data(data, endpoint)
    time, status = derived.time, derived.status
    index = endpoint_time_index(data, endpoint)

    omitted: tuple[tuple[str, int], ...] = ()
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
        index = index.subset(known)
        levels = tuple(level for level in groups.levels if level in groups.names)
        members = {level: codes == groups.code(level) for level in levels}
        sizes = {level: int(members[level].sum()) for level in levels}
        omitted = tuple((level, sizes[level]) for level in levels if sizes[level] < min_group)
        if omitted:
            levels = tuple(level for level in levels if sizes[level] >= min_group)
            kept = np.isin(codes, [groups.code(level) for level in levels])
            labels, time, status, index = codes[kept], time[kept], status[kept], index.subset(kept)
            members = {level: members[level][kept] for level in levels}

    # each level's patients as positions: found once, then taken from the times, the events and the index
    members = {level: m if isinstance(m, slice) else np.flatnonzero(m) for level, m in members.items()}
    if spec.kind == "survival":
        event = (status == 1).astype(int)
        curves = tuple(kaplan_meier(time[members[level]], event[members[level]], label=level,
                                    index=index.subset(members[level])) for level in levels)
        medians = tuple(median_survival(curve) for curve in curves)
        test = logrank_test(time, event, labels, index=index) if len(levels) > 1 else None
    else:
        curves = tuple(cumulative_incidence(time[members[level]], status[members[level]], cause=1, label=level,
                                            index=index.subset(members[level])) for level in levels)
        medians = ()
        test = gray_test(time, status, labels, cause=1, index=index) if len(levels) > 1 else None

    return EndpointResult(
        endpoint=endpoint,
        title=spec.title,
        kind=spec.kind,
        curves=curves,
        test=test,
        by=grouping_title(by) if by else None,
        median=medians,
        grouping=by,
        omitted=omitted,
    )
