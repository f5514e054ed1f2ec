"""Checks of the data handed to the estimators: one check, and one message, per kind of bad input.

An estimator fed a missing value, a text column or a stray shape would, like
R, drop rows or coerce values silently; these checks stop it instead, with a
message that says what to fix and where the first offending value is.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "as_cause", "as_events", "as_status", "as_times", "clearly_independent", "competing_risks_outcome", "covariate_matrix",
    "group_codes", "one_dimensional", "reject_missing", "require_finite_covariates",
]


def one_dimensional(values, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    return array


def _same_length(array: np.ndarray, name: str, n: int | None) -> None:
    if n is not None and array.size != n:
        raise ValueError(f"{name} has {array.size} values but time has {n}: they must have the same length")


def _first(mask: np.ndarray) -> tuple[int, int]:
    """How many entries `mask` flags, and the position of the first."""
    rows = np.flatnonzero(mask)
    return rows.size, int(rows[0])


def reject_missing(values, name: str) -> None:
    missing = np.asarray(pd.isna(values))
    if missing.any():
        count, first = _first(missing)
        raise ValueError(f"{name} has {count} missing value(s), first at position {first}; drop or resolve them first")


def _floats(values, name: str, n: int | None, expected: str) -> np.ndarray:
    """One-dimensional values of length `n`, none missing, as floats (`expected` says what they must be)."""
    array = one_dimensional(values, name)
    _same_length(array, name, n)
    reject_missing(array, name)
    try:
        return array.astype(float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be {expected}: {exc}") from None


def as_times(values, name: str = "time", n: int | None = None, *, nonnegative: bool = True) -> np.ndarray:
    """Finite float times (>= 0 unless `nonnegative` is False), one-dimensional, not empty, of length `n`."""
    if np.size(values) == 0 and np.ndim(values) == 1:
        raise ValueError(f"{name} is empty: no observations")
    times = _floats(values, name, n, "numeric")
    infinite = ~np.isfinite(times)
    if infinite.any():
        count, first = _first(infinite)
        raise ValueError(f"{name} has {count} infinite value(s), first at position {first}")
    negative = times < 0
    if nonnegative and negative.any():
        count, first = _first(negative)
        raise ValueError(f"{name} has {count} negative value(s), first at position {first} ({times[first]!r}); "
                         "times must be >= 0")
    return times


def as_events(values, n: int, name: str = "event") -> np.ndarray:
    """0/1 event indicators (1 = event, 0 = censored) as int64, one per time."""
    events = _floats(values, name, n, "0 or 1")
    other = ~((events == 0) | (events == 1))
    if other.any():
        count, first = _first(other)
        raise ValueError(f"{name} must be 0 or 1; {count} other value(s), first at position {first} ({events[first]!r})")
    return events.astype(np.int64)


def as_status(values, n: int, name: str = "status") -> np.ndarray:
    """Competing-risks status codes as int64: 0 = censored, otherwise the cause of the event."""
    status = _floats(values, name, n, "numeric")
    if not np.isfinite(status).all() or (status != np.round(status)).any():
        raise ValueError(f"{name} must hold integer codes (0 = censored, otherwise the cause)")
    return status.astype(np.int64)


def as_cause(cause) -> int:
    """The code of the event of interest: a non-zero integer."""
    try:
        ok = not isinstance(cause, (bool, np.bool_)) and float(cause).is_integer() and cause != 0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"cause must be a non-zero integer code, got {cause!r}")
    return int(cause)


def competing_risks_outcome(time, status, cause) -> tuple[np.ndarray, np.ndarray, int]:
    """Float times >= 0, integer status codes (0 = censored, otherwise the cause) and the cause of interest."""
    time = as_times(time)
    return time, as_status(status, time.size), as_cause(cause)


def group_codes(values, n: int, name: str) -> tuple[np.ndarray, int]:
    """Integer codes 0..k-1 of group (or stratum) labels in sorted level order (R's factor order), and k."""
    array = values.to_numpy() if isinstance(values, pd.Series) else np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    _same_length(array, name, n)
    reject_missing(array, name)
    if array.dtype.kind in "iu" and array.size and 0 <= array.min() and array.max() < 2**20:
        # integer labels (e.g. the codes of a grouping): their ranks among the values present, counted
        # rather than hashed (the codes factorize(sort=True) gives)
        present = np.bincount(array) > 0
        rank = np.cumsum(present) - 1
        return rank[array].astype(np.int64), int(present.sum())
    codes, levels = pd.factorize(array, sort=True)
    try:
        sorted(levels)  # pandas orders mixed labels its own way; R's factor levels need one order
    except TypeError:
        raise ValueError(f"{name} mixes values that cannot be ordered (e.g. numbers and text)") from None
    return codes.astype(np.int64), len(levels)


def require_finite_covariates(x: np.ndarray, names, r_function: str) -> None:
    """Reject missing and infinite covariate values, which `r_function` would drop silently."""
    for j in range(x.shape[1]):
        column = x[:, j]
        if np.isnan(column).any():
            count, first = _first(np.isnan(column))
            raise ValueError(f"covariate {names[j]!r} has {count} missing value(s), first at position {first}; "
                             f"{r_function} would drop such rows silently: drop or impute them explicitly")
        if not np.isfinite(column).all():
            count, first = _first(~np.isfinite(column))
            raise ValueError(f"covariate {names[j]!r} has {count} infinite value(s), first at position {first}")


def covariate_matrix(
    covariates, n: int, names, *, fitter: str, accept_dict: bool = False, dummy_naming: str | None = None
) -> tuple[np.ndarray, tuple[str, ...]]:
    """A float (n, p) matrix of numeric covariates, p >= 1, and its p distinct column names.

    `covariates` is a DataFrame, a Series, a 1-D (one column) or 2-D array,
    or with `accept_dict` a dict of columns; the names are `names` if given,
    else the columns, the dict keys or x1..xp.  `fitter` is the function
    named when there is no column; `dummy_naming` tells DataFrame users how
    to name dummy columns where the fitter reads meaning into the names.
    Missing and infinite values are the caller's to reject: each says what
    its R counterpart would have done with them.
    """
    if isinstance(covariates, pd.Series):
        covariates = covariates.to_frame()
    if isinstance(covariates, pd.DataFrame):
        default = tuple(str(c) for c in covariates.columns)
        coding_advice = "dummy-code categorical covariates" + (f" ({dummy_naming})" if dummy_naming else "")
        for name, label in zip(default, covariates.columns):
            column = covariates[label]
            if not (pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)):
                raise ValueError(
                    f"covariate {name!r} is not numeric (dtype {column.dtype}); {coding_advice} before fitting"
                )
        # a copy (to_numpy may return a view): later edits of the frame must not reach a fitted model
        x = np.array(covariates.to_numpy(dtype=float, na_value=np.nan))
    else:
        if accept_dict and isinstance(covariates, dict):
            default = tuple(str(k) for k in covariates)
            columns = [np.asarray(v) for v in covariates.values()]
            if any(c.ndim != 1 for c in columns):
                raise ValueError("each covariate in a dict must be one-dimensional")
            x = np.column_stack(columns) if columns else np.empty((n, 0))
        else:
            x = np.asarray(covariates)
            if x.ndim == 1:
                x = x[:, None]
            if x.ndim != 2:
                raise ValueError(f"covariates must be an (n, p) array, got shape {x.shape}")
            default = tuple(f"x{j + 1}" for j in range(x.shape[1]))
        try:
            # a copy, unless no one can change the array: a read-only float array owning its data (an
            # adjustment design's matrix, fitted by a model per endpoint: at 10^6 patients a copy is
            # tens of MB of new memory per model)
            x = x if x.dtype == float and x.flags.owndata and not x.flags.writeable else x.astype(float)
        except (TypeError, ValueError):
            raise ValueError("covariates must be numeric; dummy-code categorical covariates before fitting") from None
    if x.shape[0] != n:
        raise ValueError(f"covariates have {x.shape[0]} rows but time has {n}")
    p = x.shape[1]
    if p == 0:
        raise ValueError(f"no covariates: {fitter} needs at least one column")
    names = default if names is None else tuple(str(v) for v in names)
    if len(names) != p:
        raise ValueError(f"names has {len(names)} entries but covariates have {p} columns")
    if len(set(names)) != p:
        repeated = sorted({v for v in names if names.count(v) > 1})
        raise ValueError(f"covariate names must be unique; repeated: {', '.join(repeated)}")
    return x, names


def clearly_independent(x: np.ndarray) -> bool:
    """Whether the columns of `x` (n, q) are far from constant and from collinear: the smallest
    eigenvalue of their correlation matrix above 1e-6, judged from the (q, q) cross-products without
    centring the (n, q) matrix (rounding moves it by about 1e-16 x mean^2 / variance of a column).

    A fitter's own collinearity check (R's ``qr`` tolerance 1e-7 on the unit-length centred columns,
    or a rank tolerance) cannot fail on such columns: it is needed only when this says False.
    """
    n = x.shape[0]
    if x.shape[1] == 0 or n == 0:
        return False
    with np.errstate(over="ignore", invalid="ignore"):
        mean = x.mean(axis=0)
        cross = x.T @ x
    if not (np.isfinite(cross).all() and np.isfinite(mean).all()):  # (values too large to square: look closer)
        return False
    centred = cross - n * np.outer(mean, mean)
    spread = np.diag(centred)
    if not (spread > 1e-6 * np.diag(cross)).all():
        return False
    correlation = centred / np.sqrt(np.outer(spread, spread))
    return bool(np.linalg.eigvalsh(correlation).min() > 1e-6)
