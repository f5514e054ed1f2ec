"""The cohort chapter: inclusion flow, per-endpoint exclusions, data warnings, follow-up, Table 1.

Table 1 itself and the missing-data counts are computed by `analysis.analyses.characteristics`;
which grouping its columns show is this chapter's choice (`table_one_grouping`).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from analysis.domain.endpoints import ENDPOINTS, available_endpoints, endpoint_data
from analysis.analyses.characteristics import CharacteristicsTable, characteristics
from analysis.data.cohort import Cohort
from analysis.data.study import Study
from analysis.stats.kaplan_meier import FollowUp, reverse_km_followup


@dataclass(frozen=True)
class FlowStep:
    label: str
    n: int
    excluded: bool = False


@dataclass(frozen=True)
class WarningCount:
    """Questionable records of one kind, counted (the report never names a patient).

    `count` is the number of records of this kind; a warning about the file itself (a column not
    used, say) has `count` 0 and `about_file` true.
    """

    column: str
    message: str
    count: int
    about_file: bool = False


@dataclass(frozen=True, eq=False)
class CohortOverview:
    """`warnings`: one entry per kind of warning; `questionable_records`: how many records (not kinds)
    have at least one warning."""

    flow: tuple[FlowStep, ...]
    endpoint_exclusions: tuple[tuple[str, int, str, int], ...]  # endpoint, n analysed, reason, n excluded
    warnings: tuple[WarningCount, ...]
    follow_up: FollowUp
    questionable_records: int = 0


def cohort_overview(c: Cohort) -> CohortOverview:
    flow = [FlowStep(label, n, excluded) for label, n, excluded in c.flow]

    exclusions = []
    for name in available_endpoints(c.data):
        derived = endpoint_data(c.data, name)
        analysed = int(derived.included.sum())
        for reason, k in derived.exclusions or (("none", 0),):
            exclusions.append((ENDPOINTS[name].title, analysed, reason, k))

    record_warnings = [w for w in c.warnings if w.line is not None]
    counts = Counter((w.column or "", w.message) for w in record_warnings)
    warnings = tuple(WarningCount(column, message, k) for (column, message), k in sorted(counts.items()))
    about_file = dict.fromkeys((w.column or "", w.message) for w in c.warnings if w.line is None)
    warnings += tuple(WarningCount(column, message, 0, about_file=True) for column, message in about_file)

    os_data = endpoint_data(c.data, "os")
    return CohortOverview(
        flow=tuple(flow),
        endpoint_exclusions=tuple(exclusions),
        warnings=warnings,
        follow_up=reverse_km_followup(os_data.time, os_data.status),
        questionable_records=len({w.line for w in record_warnings}),
    )


def table_one_grouping(c: Cohort, s: Study) -> str | None:
    """Table 1's columns: graft source (SPEC) when it varies, else the study's first grouping column."""
    candidates = ["graft_source", *s.groupings]
    return next((g for g in candidates if g in c.data and c.data[g].nunique() > 1), None)


def table_one(c: Cohort, s: Study) -> CharacteristicsTable:
    return characteristics(c.data, by=table_one_grouping(c, s))
