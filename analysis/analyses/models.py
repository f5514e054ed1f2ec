"""Regression models on an endpoint: Cox (cause-specific for incidence endpoints) and Fine-Gray.

`fit_model` builds the design matrix (dummy coding against the SPEC's first
code, terms named `column[level]`), applies an optional landmark and
time-dependent covariate, and returns a `ModelResult` with the same fields
whichever method fitted it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.data.schema import column_spec, reference_level
from analysis.domain.endpoints import ENDPOINTS, endpoint_data
from analysis.domain.groupings import DERIVED, group_codes_of
from analysis.domain.memo import per_frame
from analysis.domain.states import STATES
from analysis.stats.cox import CoxResult, cox_model
from analysis.stats.cox_zph import ZphResult, cox_zph
from analysis.stats.finegray import FineGrayResult, fine_gray
from analysis.stats.results import Coefficient, TermLookup
from analysis.stats.timedep import split_at_event

@dataclass(frozen=True)
class Design:
    """Dummy-coded covariates of the complete cases."""

    matrix: pd.DataFrame  # one column per term, indexed like the input rows kept
    complete: np.ndarray  # boolean mask over the input rows
    references: dict = field(default_factory=dict)  # categorical column -> reference level


#: Fewest events per estimated parameter for a model to be read without a warning (Peduzzi et al.
#: 1995, Cox models; the usual rule of thumb of registry papers' reviewers).
EVENTS_PER_PARAMETER_MINIMUM = 10


@dataclass(frozen=True, eq=False)
class ModelResult(TermLookup):
    endpoint: str
    method: str  # "cox" or "finegray"
    n: int  # patients
    events: int
    terms: tuple[Coefficient, ...]
    tests: dict  # "wald", "lr", "score" -> TestResult or None
    ties: str | None
    time_dependent: str | None
    landmark: float | None
    exclusions: tuple[tuple[str, int], ...]
    references: dict
    ph_test: ZphResult | None = None
    fit: CoxResult | FineGrayResult | None = field(default=None, repr=False)

    @property
    def parameters(self) -> int:
        """Coefficients estimated (each level of a categorical covariate but its reference counts)."""
        return len(self.terms)

    @property
    def events_per_parameter(self) -> float:
        return self.events / self.parameters if self.parameters else float("nan")

    @property
    def few_events(self) -> bool:
        """Fewer than `EVENTS_PER_PARAMETER_MINIMUM` events per parameter: estimates may be unstable."""
        return self.parameters > 0 and self.events_per_parameter < EVENTS_PER_PARAMETER_MINIMUM


def _is_categorical(data: pd.DataFrame, column: str) -> bool:
    if column in DERIVED:
        return True
    spec = column_spec(column)
    if spec is not None:
        return spec.kind in ("code", "text")
    return not pd.api.types.is_numeric_dtype(data[column])


def design_matrix(data: pd.DataFrame, covariates, reference: dict | None = None) -> Design:
    """Dummy-code categorical covariates against their reference level; keep complete cases.

    The last design of a frame is kept with it (`analysis.domain.memo`): the multivariable models of
    one chapter code the same covariates of the same patients six times. (Only the last: each holds a
    column per term for every patient.)"""
    reference = dict(reference or {})
    key = (tuple(covariates), tuple(sorted(reference.items())))
    memo = per_frame(data)
    kept = memo.get("design")  # (read once: a chapter's thread may keep another design meanwhile)
    if kept is not None and kept[0] == key:
        return kept[1]
    design = _design_matrix(data, key[0], reference)
    design.complete.setflags(write=False)  # (handed to every later model of the same covariates)
    memo["design"] = (key, design)
    return design


def _design_matrix(data: pd.DataFrame, covariates, reference: dict) -> Design:
    columns: dict[str, pd.Series] = {}
    complete = np.ones(len(data), dtype=bool)
    references = {}
    for column in covariates:
        if column not in data and column not in DERIVED:
            raise ValueError(f"unknown covariate {column!r}: the data have no such column "
                             f"(columns: {', '.join(sorted(data.columns))})")
        if _is_categorical(data, column):
            groups = group_codes_of(data, column)  # (kept with a cohort frame: every model shares it)
            levels = groups.levels
            if column in reference:
                if reference[column] not in levels:
                    raise ValueError(f"reference level {reference[column]!r} of {column} is not in the data "
                                     f"(levels: {', '.join(levels)})")
                base = reference[column]
            else:
                default = reference_level(column) if column not in DERIVED else None
                base = default if default in levels else levels[0]
            references[column] = base
            # each patient's level as a code (-1: unknown): dummies compare integers, not labels
            codes = groups.codes
            complete &= codes >= 0
            for level in levels:
                if level != base:
                    code = groups.code(level) if level in groups.names else -2
                    columns[f"{column}[{level}]"] = pd.Series((codes == code).astype(float), index=data.index)
        else:
            values = data[column].astype(float)
            complete &= values.notna().to_numpy()
            columns[column] = values
    unused = set(reference) - set(references)
    if unused:
        raise ValueError(f"--reference given for {', '.join(sorted(unused))}, which is not a categorical covariate")
    matrix = pd.DataFrame(columns, index=data.index)
    if not complete.all():  # (every patient complete: the frame itself, not a copy of every row)
        matrix = matrix.loc[complete]
    # (complete cases: no NaN, so a column takes a single value when its least and greatest are equal)
    values = matrix.to_numpy(dtype=float)  # (one float block: a view)
    single = values.min(axis=0) == values.max(axis=0) if values.size else np.zeros(values.shape[1], dtype=bool)
    constant = [name for name, one in zip(matrix.columns, single) if one]
    if constant:
        raise ValueError(f"covariate term(s) {', '.join(constant)} take a single value among the patients analysed")
    return Design(matrix=matrix, complete=complete, references=references)


def state_months(data: pd.DataFrame, name: str) -> np.ndarray:
    """Months from HCT to the onset of time-dependent state `name` (NaN: never), per patient (read-only).

    Kept with the frame (`analysis.domain.memo`): the landmark chapter reads each state's onsets for
    its Cox model, its curves and every landmark of its series."""
    if name not in STATES:
        raise KeyError(f"unknown time-dependent covariate {name!r}; choose from {', '.join(STATES)}")
    memo = per_frame(data)
    key = ("state months", name)
    if key not in memo:
        months = STATES[name].onset(data).time
        months.setflags(write=False)
        memo[key] = months
    return memo[key]


def counting_process_cox(start, stop, event, covariates: dict, *, endpoint: str, time_dependent: str | None,
                         ties: str = "efron") -> ModelResult:
    """A Cox model on (start, stop] rows built by the caller (e.g. delayed entry at a CR date)."""
    fit = cox_model(stop, event, covariates, start=start, ties=ties)
    return ModelResult(
        endpoint=endpoint, method="cox", n=int(len(stop)), events=int(fit.events), terms=fit.terms,
        tests={"wald": fit.tests.wald, "lr": fit.tests.lr, "score": fit.tests.score}, ties=ties,
        time_dependent=time_dependent, landmark=None, exclusions=(), references={}, fit=fit,
    )


def _model_rows(data: pd.DataFrame, covariates, included: np.ndarray) -> pd.DataFrame:
    """The included rows of the columns a model's design reads (covariates and their sources).

    Copying those few columns, not the whole frame, keeps repeated models on a registry cheap (a
    time-dependent state's onsets are read from the whole frame: `state_months`).
    """
    wanted: list[str] = []
    for column in covariates:
        wanted += list(DERIVED[column].sources) if column in DERIVED else [column]
    columns = [c for c in dict.fromkeys(wanted) if c in data]
    rows = data[columns] if included.all() else data.loc[included, columns]
    return rows.reset_index(drop=True)


def fit_model(
    data: pd.DataFrame,
    endpoint: str,
    method: str = "cox",
    covariates=(),
    *,
    time_dependent: str | None = None,
    landmark: float | None = None,
    on_landmark: bool = False,
    ties: str = "efron",
    reference: dict | None = None,
    ph_test: bool = True,
) -> ModelResult:
    """Fit a Cox or Fine-Gray model of `endpoint` on `covariates`.

    Cox on an incidence endpoint is the cause-specific hazard model (competing
    events censored).  With `landmark`, only patients still under observation
    after it enter, with time measured from it; a time-dependent state is then
    a fixed covariate: whether it began by the landmark.  Without a landmark,
    a time-dependent state enters a Cox model in counting-process form.  At a
    landmark s, the patients at risk are those still followed after it (T > s),
    or from it on (T >= s) with `on_landmark`.  A Cox model without a time-dependent state carries
    its ``cox.zph`` test unless `ph_test` is false (a caller that reads only the coefficients).
    """
    if method not in ("cox", "finegray"):
        raise ValueError(f"unknown method {method!r}; choose cox or finegray")
    spec = ENDPOINTS[endpoint]
    if method == "finegray" and spec.kind != "incidence":
        raise ValueError(f"Fine-Gray needs a competing-risk endpoint; {endpoint} has no competing event")
    if method == "finegray" and time_dependent and landmark is None:
        raise ValueError("Fine-Gray takes a time-dependent state only at a landmark (give --landmark)")
    if ties not in ("efron", "breslow"):
        raise ValueError("ties must be efron or breslow")

    derived = endpoint_data(data, endpoint)
    exclusions = list(derived.exclusions)
    # every patient, without a landmark: the cohort frame itself (its group codes are kept with it)
    whole = landmark is None and derived.included.all() and isinstance(data.index, pd.RangeIndex) \
        and data.index.start == 0 and data.index.step == 1
    rows = data if whole else _model_rows(data, covariates, derived.included)
    time, status = np.asarray(derived.time, float), np.asarray(derived.status, int)
    state = None
    if time_dependent:
        state = state_months(data, time_dependent)  # (each patient's own onset: the rows' are a subset)
        state = state if whole else state[derived.included]

    began_by_landmark = None
    if landmark is not None:
        still_followed = time >= landmark if on_landmark else time > landmark
        if (~still_followed).any():
            exclusions.append((f"event or censoring by the {landmark:g}-month landmark", int((~still_followed).sum())))
        rows = rows.loc[still_followed].reset_index(drop=True)
        time, status = time[still_followed] - landmark, status[still_followed]
        if state is not None:
            # At a landmark the state is fixed: whether it began by then (later onsets count as not yet).
            began_by_landmark = (state[still_followed] <= landmark).astype(float)
            state = None

    design = design_matrix(rows, covariates, reference)
    if (~design.complete).any():
        exclusions.append(("covariate missing", int((~design.complete).sum())))
    time, status = time[design.complete], status[design.complete]
    x = design.matrix
    if began_by_landmark is not None:
        x = pd.concat([pd.DataFrame({time_dependent: began_by_landmark[design.complete]}, index=x.index), x], axis=1)
    if x.shape[1] == 0 and state is None:
        raise ValueError("the model has no covariate: give --covariates or --time-dependent")

    zph = None
    if method == "finegray":
        fit = fine_gray(time, status, x.to_numpy(), cause=1, names=list(x.columns))
        tests = {"wald": fit.wald, "lr": fit.pseudo_lr, "score": None}
        events = fit.events
    else:
        event = (status == 1).astype(int)
        if state is not None:
            change = state[design.complete]
            split = split_at_event(time, event, change, fixed={k: x[k].to_numpy() for k in x}, names=[time_dependent])
            columns = [time_dependent, *x.columns]
            fit = cox_model(split.stop, split.event, split.matrix(columns), start=split.start, ties=ties,
                            names=columns)
        else:
            fit = cox_model(time, event, x.to_numpy(), ties=ties, names=list(x.columns))
            zph = cox_zph(fit) if ph_test else None
        tests = {"wald": fit.tests.wald, "lr": fit.tests.lr, "score": fit.tests.score}
        events = fit.events

    return ModelResult(
        endpoint=endpoint,
        method=method,
        n=int(len(time)),
        events=int(events),
        terms=fit.terms,
        tests=tests,
        ties=ties if method == "cox" else None,
        time_dependent=time_dependent,
        landmark=landmark,
        exclusions=tuple(exclusions),
        references=design.references,
        ph_test=zph,
        fit=fit,
    )
