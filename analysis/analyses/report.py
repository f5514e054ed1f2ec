"""Every computation of every chapter at once, without Quarto (for benchmarks, checks and the guard of
identical numbers).  The chapters call the same functions one by one through `analysis.pages`."""
from __future__ import annotations

from dataclasses import dataclass

from analysis.analyses.characteristics import missing_data
from analysis.analyses.cohort import cohort_overview, table_one
from analysis.analyses.factors import FactorComparisons, factor_comparisons
from analysis.analyses.landmark import LandmarkAnalyses, landmark_analyses
from analysis.analyses.outcomes import outcomes
from analysis.analyses.prognostic import MultivariableModels, multivariable, univariable
from analysis.analyses.reproduction import reproduction
from analysis.analyses.transplant import causes_of_death, transplant_outcomes
from analysis.data.cohort import Cohort
from analysis.data.study import Study

__all__ = ["ReportResults", "compute_report"]


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
    landmark: LandmarkAnalyses
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
        landmark=landmark_analyses(c, s),
        transplant=transplant_outcomes(c.data),
        causes_of_death=causes_of_death(c.data),
        reproduction=reproduction(c, s),
    )
