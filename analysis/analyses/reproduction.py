"""The published headline numbers (Fujimoto et al., BMT 2021) beside this report's values."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.data.cohort import Cohort
from analysis.data.schema import column_label
from analysis.data.study import Study
from analysis.domain.endpoints import endpoint_data
from analysis.domain.states import cr_after_hct, in_remission_at_hct, primary_induction_failure
from analysis.analyses.estimates import estimate_endpoint
from analysis.analyses.landmark import cr_after_hct_comparison, efs_landmark
from analysis.stats.kaplan_meier import kaplan_meier
from analysis.stats.logrank import logrank_test


#: The publications whose headline numbers a study can set beside its own (`reproduce:` in study.yml).
PUBLISHED_STUDIES = {
    "fujimoto2021": "Fujimoto et al., *Allogeneic stem cell transplantation for patients with aggressive NK-cell "
                    "leukemia*, Bone Marrow Transplant 2021;56:347-356",
}

#: The landmark of the publication's event-free comparison (months after HCT).
EFS_LANDMARK_MONTHS = 12


@dataclass(frozen=True)
class ReproductionRow:
    """One published number and ours; `unit` is "n", "%" or "p".  Counts sharing a `count_set` are
    the levels of one column (their sum is the cohort), which the small-cell rule treats together."""

    section: str
    label: str
    unit: str
    published: float
    computed: float
    count_set: str | None = None

    @property
    def difference(self) -> float:
        return self.computed - self.published


def _percent(curve, months: float) -> float:
    return 100 * curve.at(months).estimate


def _crpr_vs_pif_cr(data: pd.DataFrame) -> tuple[float, float, float]:
    """5-y OS from HCT: CR/PR at HCT vs primary induction failure with CR after HCT (naive KM, log-rank)."""
    os_data = endpoint_data(data, "os")
    crpr = in_remission_at_hct(data)
    pif_cr = primary_induction_failure(data) & cr_after_hct(data).began
    time, event = os_data.time, os_data.status
    both = crpr | pif_cr
    test = logrank_test(time[both], event[both], np.where(crpr, "CR/PR", "PIF-CR")[both])
    return (_percent(kaplan_meier(time[crpr], event[crpr]), 60),
            _percent(kaplan_meier(time[pif_cr], event[pif_cr]), 60), test.p)


def _efs12_os(data: pd.DataFrame) -> float:
    """OS at 5 years after HCT of patients alive and event-free at the 12-month landmark."""
    curve = efs_landmark(data, at=EFS_LANDMARK_MONTHS).curves[0]
    return _percent(curve, 60 - EFS_LANDMARK_MONTHS)


def reproduction_rows(data: pd.DataFrame) -> tuple[ReproductionRow, ...]:
    """Every headline number of the abstract with the value this report computes."""
    os_all = estimate_endpoint(data, "os").curves[0]
    relapse = estimate_endpoint(data, "relapse").curves[0]
    nrm = estimate_endpoint(data, "nrm").curves[0]
    by_status = estimate_endpoint(data, "os", by="status_crpr_vs_nr")
    by_graft = estimate_endpoint(data, "os", by="graft_cb_vs_other")
    crpr_os, pif_cr_os, crpr_vs_pif_p = _crpr_vs_pif_cr(data)
    graft = data["graft_source"].value_counts()
    status = data["status_at_hct"].value_counts()

    return (
        ReproductionRow("Cohort", "Patients", "n", 59, len(data)),
        *(ReproductionRow("Cohort", f"{column_label('graft_source')} {g}", "n", n, int(graft.get(g, 0)),
                          count_set="graft_source")
          for g, n in (("CB", 29), ("PB", 18), ("BM", 12))),
        *(ReproductionRow("Cohort", f"{column_label('status_at_hct')} {s}", "n", n, int(status.get(s, 0)),
                          count_set="status_at_hct")
          for s, n in (("CR", 21), ("PR", 7), ("NR", 31))),
        ReproductionRow("Outcomes", "OS at 1 year", "%", 33.9, _percent(os_all, 12)),
        ReproductionRow("Outcomes", "OS at 5 years", "%", 27.3, _percent(os_all, 60)),
        ReproductionRow("Outcomes", "Relapse/progression at 1 year", "%", 55.5, _percent(relapse, 12)),
        ReproductionRow("Outcomes", "Non-relapse mortality at 1 year", "%", 12.1, _percent(nrm, 12)),
        ReproductionRow("Factors", "OS, CR/PR vs NR at HCT: log-rank P", "p", 0.046, by_status.test.p),
        ReproductionRow("Factors", "5-y OS, CR/PR at HCT", "%", 40.6, crpr_os),
        ReproductionRow("Factors", "5-y OS, primary induction failure with CR after HCT", "%", 32.0, pif_cr_os),
        ReproductionRow("Factors", "CR/PR vs PIF with CR after HCT: log-rank P (naive, from HCT)", "p", 0.95,
                        crpr_vs_pif_p),
        ReproductionRow("Factors", "CR/PR vs PIF with CR after HCT: Mantel-Byar P (entry at CR)", "p", 0.95,
                        cr_after_hct_comparison(data).versus_crpr.test.p),
        ReproductionRow("Factors", "5-y OS, cord blood", "%", 37.3, _percent(by_graft.curve("CB"), 60)),
        ReproductionRow("Factors", "5-y OS, other grafts (PB/BM)", "%", 16.2, _percent(by_graft.curve("PB/BM"), 60)),
        ReproductionRow("Factors", "OS, CB vs others: log-rank P", "p", 0.04, by_graft.test.p),
        ReproductionRow("Landmark", "5-y OS, event-free at 12 months", "%", 85.2, _efs12_os(data)),
    )


def reproduction(c: Cohort, s: Study) -> tuple[ReproductionRow, ...]:
    """The published numbers the study names beside ours (none when it names no publication)."""
    if s.reproduce is None:
        return ()
    return reproduction_rows(c.data)


@dataclass(frozen=True)
class ReproductionSummary:
    n_percent: int
    max_percent_difference: float


def reproduction_summary(rows: tuple[ReproductionRow, ...]) -> ReproductionSummary:
    percent = [abs(r.difference) for r in rows if r.unit == "%"]
    return ReproductionSummary(len(percent), max(percent) if percent else float("nan"))
