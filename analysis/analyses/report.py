"""The chapters' entry: data loaded once per page, one computation per display.

Each Quarto page runs in its own kernel, so `cohort()` is cached per kernel:
the extract is read and validated once at the top of each page.  The page
then calls one function here to compute and one presentation function to show.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from analysis import __version__
from analysis.analyses.characteristics import characteristics, missing_data
from analysis.present.tables.characteristics import characteristics_gt
from analysis.present.numbers import fmt_horizon
from analysis.present.prose import cr_after_hct_markdown, estimates_markdown, findings_markdown, gvhd_markdown, test_phrase
from analysis.analyses.settings import load_study
from analysis.data.study import Study, study_cohort
from analysis.analyses.estimates import estimate_endpoint
from analysis.present.figures.curves import plot_curves, plot_panels
from analysis.data.cohort import Cohort
from analysis.analyses.cohort import cohort_overview
from analysis.present.tables.cohort import cohort_flow_table, endpoint_exclusion_table, missing_data_table, warnings_markdown
from analysis.analyses.reproduction import PUBLISHED_STUDIES, ReproductionRow, reproduction_rows
from analysis.data.schema import days_to_months
from analysis.stats.results import EndpointResult
from analysis.analyses.landmark import (DAY_100, chronic_gvhd_series, cr_after_hct_comparison, efs_landmark, gvhd_effects,
                                landmark_series)
from analysis.present.figures.models import forest_plots, landmark_series_plot, zph_plot
from analysis.present.tables.models import causes_of_death_table, landmark_series_table, model_table, ph_note, univariable_table
from analysis.analyses.prognostic import MultivariableModels, least_proportional_term, multivariable_models, univariable_analysis
from analysis.present.tables.estimates import ComparisonRow, comparison_table, estimates_table
from analysis.analyses.transplant import CauseOfDeath, causes_of_death, transplant_outcomes


@lru_cache(maxsize=1)
def study() -> Study:
    """The study configuration: $REPORT_STUDY, else study.yml at the project root."""
    return load_study()


@lru_cache(maxsize=1)
def cohort() -> Cohort:
    """The validated extract the study names ($REPORT_DATA overrides it)."""
    return study_cohort(study())


def outcomes(c: Cohort) -> dict[str, EndpointResult]:
    """OS, EFS, relapse and NRM for the whole cohort (the paper's Fig. 1)."""
    return {name: estimate_endpoint(c.data, name) for name in ("os", "efs", "relapse", "nrm")}


def risk_times(s: Study) -> tuple[float, ...]:
    """Axis ticks and numbers-at-risk times: 0 to the last horizon, yearly (6-monthly for short horizons)."""
    last = max(s.horizons)
    step = 12 if last >= 36 else 6 if last >= 12 else 1
    ticks = list(range(0, int(last) + 1, step))
    return tuple(ticks if ticks[-1] == last else [*ticks, last])


FACTOR_ENDPOINTS = ("os", "relapse", "nrm")


@dataclass(frozen=True, eq=False)
class FactorComparisons:
    """Each endpoint compared across each grouping of the study (log-rank or Gray's test)."""

    groupings: tuple[str, ...]
    os: tuple[EndpointResult, ...]
    relapse: tuple[EndpointResult, ...]
    nrm: tuple[EndpointResult, ...]

    def all(self) -> list[EndpointResult]:
        return [*self.os, *self.relapse, *self.nrm]


def factor_comparisons(c: Cohort, s: Study) -> FactorComparisons:
    by_endpoint = {e: tuple(estimate_endpoint(c.data, e, by=g) for g in s.groupings) for e in FACTOR_ENDPOINTS}
    return FactorComparisons(groupings=s.groupings, **by_endpoint)


def panel_titles(results: tuple[EndpointResult, ...]) -> list[str]:
    return [f"By {r.by[0].lower()}{r.by[1:]}" if r.by else r.title for r in results]


def reproduction(c: Cohort, s: Study) -> tuple[ReproductionRow, ...]:
    """The published numbers the study names beside ours (none when it names no publication)."""
    if s.reproduce is None:
        return ()
    return reproduction_rows(c.data)


def reproduction_intro(rows: tuple[ReproductionRow, ...], c: Cohort, s: Study) -> str:
    """The paragraph that introduces the reproduction table, with its largest difference."""
    if not rows:
        return ("This study's configuration names no publication to reproduce (`reproduce:` in the study "
                "file), so @tbl-reproduction is empty.")
    summary = reproduction_summary(rows)
    return (
        f"@tbl-reproduction sets each headline number of {PUBLISHED_STUDIES[s.reproduce]} beside the value this "
        f"report computes from `{c.source}`. Of the {summary.n_percent} percentages, the largest absolute "
        f"difference is {summary.max_percent_difference:.1f} percentage points. Percentages are Kaplan-Meier "
        "(survival) or Aalen-Johansen (incidence) estimates; P values are log-rank tests unless named. Patients "
        "in CR/PR at HCT are compared with patients who had primary induction failure and reached CR after HCT "
        "twice: by naive Kaplan-Meier curves from HCT (which credit the second group with the time before its "
        "CR) and by the Mantel-Byar test with that group entering at its CR date (see the landmark chapter)."
    )


@dataclass(frozen=True)
class ReproductionSummary:
    n_percent: int
    max_percent_difference: float


def reproduction_summary(rows: tuple[ReproductionRow, ...]) -> ReproductionSummary:
    percent = [abs(r.difference) for r in rows if r.unit == "%"]
    return ReproductionSummary(len(percent), max(percent) if percent else float("nan"))


def reproduction_table(rows: tuple[ReproductionRow, ...], *, min_cell: int = 0):
    """The published numbers beside ours, grouped by section; differences in the unit's own terms."""
    if not rows:
        return comparison_table([("No published reference for this study", None, None)], min_cell=min_cell)
    kinds = {"n": "count", "%": "pct", "p": "p"}
    scale = {"n": 1.0, "%": 0.01, "p": 1.0}  # the table formats percentages from proportions
    return comparison_table(
        [ComparisonRow(r.label, r.published * scale[r.unit], r.computed * scale[r.unit], kind=kinds[r.unit],
                       section=r.section) for r in rows],
        source_note="Percentages: Kaplan-Meier or Aalen-Johansen estimates; differences in percentage points. "
                    "P: log-rank tests.",
        min_cell=min_cell,
    )


# Factors of the univariable analysis beyond the study's groupings, when the data hold more than one level.
EXTRA_FACTORS = ("age_group", "sex", "donor_type", "conditioning")


def prognostic_factors(c: Cohort, s: Study) -> tuple[str, ...]:
    """The study's groupings, then the usual transplant factors that vary in these data."""
    factors = list(s.groupings)
    for factor in EXTRA_FACTORS:
        source = "age" if factor == "age_group" else factor
        if factor not in factors and source in c.data and c.data[source].nunique() > 1:
            factors.append(factor)
    return tuple(factors)


def univariable(c: Cohort, s: Study):
    return univariable_analysis(c.data, prognostic_factors(c, s))


def multivariable(c: Cohort, s: Study) -> MultivariableModels:
    return multivariable_models(c.data, s.covariates)


def show_causes_of_death(rows: tuple[CauseOfDeath, ...], *, min_cell: int = 0):
    return causes_of_death_table([(r.cause, r.deaths, r.percent, r.after_relapse, r.without_relapse) for r in rows],
                                 min_cell=min_cell)


def table_one_grouping(c: Cohort, s: Study) -> str | None:
    """Table 1's columns: graft source (SPEC) when it varies, else the study's first grouping column."""
    candidates = ["graft_source", *s.groupings]
    return next((g for g in candidates if g in c.data and c.data[g].nunique() > 1), None)


def table_one(c: Cohort, s: Study):
    return characteristics(c.data, by=table_one_grouping(c, s))


@dataclass(frozen=True, eq=False)
class ReportResults:
    """Every computation of every chapter, without Quarto (for benchmarks and checks)."""

    overview: object
    characteristics: object
    missing: object
    outcomes: dict
    factors: FactorComparisons
    univariable: tuple
    multivariable: MultivariableModels
    efs_landmark: EndpointResult
    cr_after_hct: object
    gvhd: object
    landmark_series: tuple | None
    transplant: object
    causes_of_death: tuple
    reproduction: tuple


def compute_report(c: Cohort, s: Study) -> ReportResults:
    """Run the computations of all chapters in the order the pages do."""
    return ReportResults(
        overview=cohort_overview(c),
        characteristics=table_one(c, s),
        missing=missing_data(c.data),
        outcomes=outcomes(c),
        factors=factor_comparisons(c, s),
        univariable=univariable(c, s),
        multivariable=multivariable(c, s),
        efs_landmark=efs_landmark(c.data, at=s.landmarks[0]),
        cr_after_hct=cr_after_hct_comparison(c.data),
        gvhd=gvhd_effects(c.data),
        landmark_series=chronic_gvhd_series(c.data, LANDMARK_SERIES_MONTHS),
        transplant=transplant_outcomes(c.data),
        causes_of_death=causes_of_death(c.data),
        reproduction=reproduction(c, s),
    )


def data_banner(c: Cohort) -> str:
    """A Markdown callout saying where the numbers come from (synthetic or a real extract)."""
    if c.synthetic:
        return (
            "::: {.callout-warning}\n## Synthetic data\n"
            f"These results come from a **synthetic cohort** of {c.n} simulated patients made to resemble "
            "the published study. They describe no real patient.\n:::\n"
        )
    return (
        "::: {.callout-note}\n## Registry extract\n"
        f"Results from the extract `{c.source}` ({c.n} patients, SHA-256 `{c.sha256[:12]}`).\n:::\n"
    )


def report_version() -> str:
    return __version__


DAY = days_to_months(1)  # one day in months, for the day axes of engraftment and acute GVHD
LANDMARK_SERIES_MONTHS = (3, 6, 9, 12, 18, 24)  # the landmarks of the chronic GVHD series

__all__ = [
    "DAY", "LANDMARK_SERIES_MONTHS", "chronic_gvhd_series", "compute_report", "least_proportional_term", "table_one", "cr_after_hct_markdown", "estimates_markdown", "gvhd_markdown",    "DAY_100", "causes_of_death", "cr_after_hct_comparison", "efs_landmark", "forest_plots", "gvhd_effects",
    "landmark_series", "landmark_series_plot", "landmark_series_table", "model_table", "multivariable",
    "ph_note", "prognostic_factors", "show_causes_of_death", "transplant_outcomes", "univariable",
    "univariable_table", "zph_plot",
    "FactorComparisons", "findings_markdown", "fmt_horizon", "panel_titles", "risk_times", "test_phrase", "characteristics", "characteristics_gt", "cohort", "cohort_overview",
    "data_banner", "cohort_flow_table", "endpoint_exclusion_table", "estimates_table", "factor_comparisons",
    "missing_data", "missing_data_table", "outcomes", "plot_curves", "plot_panels", "report_version",
    "reproduction", "reproduction_intro", "reproduction_table", "study", "warnings_markdown",
]
