"""The published headline numbers (Fujimoto et al., BMT 2021) beside this report's values."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.data.cohort import Cohort
from analysis.data.schema import column_label, level_label
from analysis.data.study import Study
from analysis.domain.endpoints import endpoint_data
from analysis.domain.states import cr_after_hct, in_remission_at_hct, primary_induction_failure
from analysis.analyses.estimates import estimate_endpoint
from analysis.analyses.landmark import cr_after_hct_comparison, efs_landmark
from analysis.stats.logrank import logrank_test


#: The publications whose headline numbers a study can set beside its own (`reproduce:` in study.yml).
PUBLISHED_STUDIES = {
    "fujimoto2021": "Fujimoto et al., *Allogeneic stem cell transplantation for patients with aggressive NK-cell "
                    "leukemia*, Bone Marrow Transplant 2021;56:347-356",
}

#: The landmark of the publication's event-free comparison (months after HCT).
EFS_LANDMARK_MONTHS = 12


#: Each figure of this report (its label) with a counterpart in the publication: the published figure and
#: the chapter that shows ours.  The text beside the figure names the published one ("cf. ... Fig. 2"), so
#: a reader can compare them page by page.  Fujimoto 2021: Fig. 1 outcomes, Fig. 2 OS by each variable,
#: Fig. 3 OS by event-free survival at 12 months, Fig. 4 OS by GVHD.
PUBLISHED_FIGURES = {
    "fujimoto2021": {
        "fig-os": ("Fig. 1", "Outcomes"), "fig-efs": ("Fig. 1", "Outcomes"),
        "fig-relapse": ("Fig. 1", "Outcomes"), "fig-nrm": ("Fig. 1", "Outcomes"),
        "fig-os-factors": ("Fig. 2", "Outcomes by patient group"),
        "fig-efs-landmark": ("Fig. 3", "Landmark and time-dependent analyses"),
        "fig-gvhd": ("Fig. 4", "Landmark and time-dependent analyses"),
        "fig-agvhd-day100": ("Fig. 4", "Landmark and time-dependent analyses"),
    },
}

#: A short citation of each publication, for notes beside figures.
PUBLISHED_SHORT = {"fujimoto2021": "Fujimoto et al. 2021"}

#: Significance level of the report's two-sided tests; a P value "agrees" with a published one when both
#: fall on the same side of it.
ALPHA = 0.05


@dataclass(frozen=True)
class ReproductionRow:
    """One published number and ours.

    `unit` is "n" (a count), "%" (an estimate, with this report's 95% CI in `lower`/`upper`) or "p"
    (a P value of the test named by `test`).  `published` is None for a row the publication does not
    report (shown for contrast); `source` says where the publication reports it.  Counts sharing a
    `count_set` are the levels of one column (their sum is the cohort), which the small-cell rule treats
    together.
    """

    section: str
    label: str
    unit: str
    published: float | None
    computed: float
    lower: float = float("nan")
    upper: float = float("nan")
    test: str | None = None
    source: str = "Abstract"
    count_set: str | None = None

    @property
    def difference(self) -> float:
        return float("nan") if self.published is None else self.computed - self.published

    @property
    def agrees(self) -> bool | None:
        """The verdict: a count equal to the published one; the published percentage inside this report's
        95% CI; a P value on the same side of 0.05.  None where there is nothing to compare."""
        if self.published is None or self.computed != self.computed:
            return None
        if self.unit == "n":
            return self.computed == self.published
        if self.unit == "%":
            if self.lower != self.lower or self.upper != self.upper:
                return None
            return self.lower <= self.published <= self.upper
        return (self.computed < ALPHA) == (self.published < ALPHA)


def _percent_row(section: str, label: str, published: float | None, curve, months: float) -> ReproductionRow:
    point = curve.at(months)
    return ReproductionRow(section, label, "%", published, 100 * point.estimate, 100 * point.lower,
                           100 * point.upper)


def _naive_crpr_vs_pif_cr(data: pd.DataFrame) -> float:
    """P of the log-rank test of CR/PR at HCT vs primary induction failure with CR after HCT, both
    counted from HCT: the naive comparison that credits the second group with the time before its CR."""
    os_data = endpoint_data(data, "os")
    crpr = in_remission_at_hct(data)
    pif_cr = primary_induction_failure(data) & cr_after_hct(data).began
    time, event = os_data.time, os_data.status
    both = crpr | pif_cr
    return logrank_test(time[both], event[both], np.where(crpr, "CR/PR", "PIF-CR")[both]).p


def reproduction_rows(data: pd.DataFrame) -> tuple[ReproductionRow, ...]:
    """Every headline number of the abstract with the value this report computes.

    The comparison of patients in CR/PR at HCT with patients who had primary induction failure and
    reached CR after HCT is time-dependent in the publication: the P = 0.95 it reports is the
    Mantel-Byar test's, and its 5-year OS the delayed-entry (Simon-Makuch) estimate.  The naive
    log-rank test from HCT is shown beside it for contrast, without a published value.
    """
    os_all = estimate_endpoint(data, "os").curves[0]
    relapse = estimate_endpoint(data, "relapse").curves[0]
    nrm = estimate_endpoint(data, "nrm").curves[0]
    by_status = estimate_endpoint(data, "os", by="status_crpr_vs_nr")
    by_graft = estimate_endpoint(data, "os", by="graft_cb_vs_other")
    cr = cr_after_hct_comparison(data)
    crpr_curve, pif_cr_curve = cr.versus_crpr.curves
    landmark = efs_landmark(data, at=EFS_LANDMARK_MONTHS)
    graft = data["graft_source"].value_counts()
    status = data["status_at_hct"].value_counts()
    graft_title, status_title = column_label("graft_source"), column_label("status_at_hct")

    return (
        ReproductionRow("Cohort", "Patients", "n", 59, len(data)),
        *(ReproductionRow("Cohort", f"{graft_title}: {level_label('graft_source', g)}", "n", n, int(graft.get(g, 0)),
                          count_set="graft_source") for g, n in (("CB", 29), ("PB", 18), ("BM", 12))),
        *(ReproductionRow("Cohort", f"{status_title}: {level_label('status_at_hct', s)}", "n", n,
                          int(status.get(s, 0)), count_set="status_at_hct")
          for s, n in (("CR", 21), ("PR", 7), ("NR", 31))),
        _percent_row("Outcomes", "Overall survival at 1 year", 33.9, os_all, 12),
        _percent_row("Outcomes", "Overall survival at 5 years", 27.3, os_all, 60),
        _percent_row("Outcomes", "Relapse/progression at 1 year", 55.5, relapse, 12),
        _percent_row("Outcomes", "Non-relapse mortality at 1 year", 12.1, nrm, 12),
        ReproductionRow("Factors", "Overall survival, CR/PR vs NR at HCT", "p", 0.046, by_status.test.p,
                        test="log-rank"),
        _percent_row("Factors", "5-year overall survival, CR/PR at HCT", 40.6, crpr_curve, 60),
        _percent_row("Factors", "5-year overall survival, primary induction failure with CR after HCT "
                     "(from the CR date)", 32.0, pif_cr_curve, 60),
        ReproductionRow("Factors", "CR/PR at HCT vs primary induction failure with CR after HCT", "p", 0.95,
                        cr.versus_crpr.test.p, test="Mantel-Byar"),
        ReproductionRow("Factors", "The same two groups counted from HCT (naive; not published)", "p", None,
                        _naive_crpr_vs_pif_cr(data), test="log-rank", source="not published"),
        _percent_row("Factors", "5-year overall survival, cord blood", 37.3, by_graft.curve("CB"), 60),
        _percent_row("Factors", "5-year overall survival, other grafts (PB/BM)", 16.2, by_graft.curve("PB/BM"), 60),
        ReproductionRow("Factors", "Overall survival, cord blood vs other grafts", "p", 0.04, by_graft.test.p,
                        test="log-rank"),
        _percent_row("Landmark", "5-year overall survival, alive and event-free at 12 months", 85.2,
                     landmark.curves[0], 60 - EFS_LANDMARK_MONTHS),
    )


def reproduction(c: Cohort, s: Study) -> tuple[ReproductionRow, ...]:
    """The published numbers the study names beside ours (none when it names no publication)."""
    if s.reproduce is None:
        return ()
    return reproduction_rows(c.data)


@dataclass(frozen=True)
class ReproductionSummary:
    """How the rows agree: percentages compared and their largest absolute difference (points); rows
    with a verdict and how many of them agree."""

    n_percent: int
    max_percent_difference: float
    n_compared: int
    n_agree: int


def reproduction_summary(rows: tuple[ReproductionRow, ...]) -> ReproductionSummary:
    percent = [abs(r.difference) for r in rows if r.unit == "%" and r.published is not None]
    verdicts = [r.agrees for r in rows if r.agrees is not None]
    return ReproductionSummary(len(percent), max(percent) if percent else float("nan"), len(verdicts),
                               sum(verdicts))
