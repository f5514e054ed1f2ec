"""Prognostic factors: univariable comparisons and multivariable models (SPEC analysis 4)."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analysis.analyses.estimates import estimate_endpoint, min_group_size
from analysis.domain.groupings import grouping_title
from analysis.analyses.models import ModelResult, fit_model
from analysis.analyses.parallel import in_threads
from analysis.data.cohort import Cohort
from analysis.data.study import Study


@dataclass(frozen=True, eq=False)
class UnivariableFactor:
    """One factor: OS (Kaplan-Meier, log-rank) and relapse/NRM (Aalen-Johansen, Gray) by its levels."""

    factor: str
    title: str
    os: object  # EndpointResult
    relapse: object
    nrm: object


def univariable_analysis(data: pd.DataFrame, factors, *, min_group: int = 0) -> tuple[UnivariableFactor, ...]:
    """Every factor compared on OS, relapse and NRM (levels with fewer than `min_group` patients left out)."""
    return tuple(
        UnivariableFactor(
            factor=f,
            title=grouping_title(f),
            os=estimate_endpoint(data, "os", by=f, min_group=min_group),
            relapse=estimate_endpoint(data, "relapse", by=f, min_group=min_group),
            nrm=estimate_endpoint(data, "nrm", by=f, min_group=min_group),
        )
        for f in factors
    )


@dataclass(frozen=True, eq=False)
class MultivariableModels:
    """Cox for OS and EFS; Fine-Gray and cause-specific Cox for relapse and NRM, on the same covariates."""

    covariates: tuple[str, ...]
    os_cox: ModelResult
    efs_cox: ModelResult
    relapse_finegray: ModelResult
    nrm_finegray: ModelResult
    relapse_cause_specific: ModelResult
    nrm_cause_specific: ModelResult

    def as_dict(self) -> dict[str, ModelResult]:
        return {
            "OS (Cox)": self.os_cox,
            "EFS (Cox)": self.efs_cox,
            "Relapse (Fine-Gray)": self.relapse_finegray,
            "NRM (Fine-Gray)": self.nrm_finegray,
            "Relapse (cause-specific Cox)": self.relapse_cause_specific,
            "NRM (cause-specific Cox)": self.nrm_cause_specific,
        }


# The chapter's models: (field of `MultivariableModels`, endpoint, method).
_MULTIVARIABLE = (("os_cox", "os", "cox"), ("efs_cox", "efs", "cox"), ("relapse_finegray", "relapse", "finegray"),
                  ("nrm_finegray", "nrm", "finegray"), ("relapse_cause_specific", "relapse", "cox"),
                  ("nrm_cause_specific", "nrm", "cox"))


def multivariable_models(data: pd.DataFrame, covariates) -> MultivariableModels:
    covariates = tuple(covariates)
    # The models side by side (`analysis.analyses.parallel`): each is fitted as it would be alone.
    fits = in_threads(lambda model: fit_model(data, model[1], model[2], covariates), _MULTIVARIABLE)
    return MultivariableModels(covariates=covariates, **{field: fit for (field, _, _), fit in zip(_MULTIVARIABLE, fits)})


def least_proportional_term(model: ModelResult) -> str:
    """The model term whose cox.zph test gives the smallest p: the one most worth looking at."""
    if model.ph_test is None:
        raise ValueError("the model has no proportional-hazards test (Fine-Gray or time-dependent)")
    rows = [row for row in model.ph_test.table if row.term != "GLOBAL"]
    worst = min(rows, key=lambda row: row.p)
    columns = dict(model.fit.assign)[worst.term]
    return model.fit.names[columns[0]]


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
    return univariable_analysis(c.data, prognostic_factors(c, s), min_group=min_group_size(s.min_cell))


def multivariable(c: Cohort, s: Study) -> MultivariableModels:
    return multivariable_models(c.data, s.covariates)
