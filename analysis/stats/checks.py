"""Checks of the data handed to the estimators, shared so that each mistake is reported alike.

An estimator fed a missing value, a text column or a stray shape would, like
R, drop rows or coerce values silently; these checks stop it instead, with a
message that says what to fix and where the first offending value is.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["competing_risks_outcome", "covariate_matrix", "one_dimensional", "reject_missing"]


def one_dimensional(values, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    return array


def reject_missing(values, name: str, *, before: str) -> None:
    """Raise on missing values; `before` names what the caller is about to do ("estimating", "fitting")."""
    missing = np.asarray(pd.isna(values))
    if missing.any():
        rows = np.flatnonzero(missing)
        raise ValueError(
            f"{name} has {rows.size} missing value(s) (first at position {rows[0]}); "
            f"drop or resolve them before {before}"
        )


def competing_risks_outcome(time, status, cause, *, before: str) -> tuple[np.ndarray, np.ndarray, int]:
    """Float times >= 0, integer status codes (0 = censored, otherwise the cause) and the cause of interest.

    `before` is as in `reject_missing`.
    """
    time = one_dimensional(time, "time")
    status = one_dimensional(status, "status")
    if time.shape != status.shape:
        raise ValueError(f"time and status differ in length ({time.size} vs {status.size})")
    if time.size == 0:
        raise ValueError("no observations: time and status are empty")
    reject_missing(time, "time", before=before)
    reject_missing(status, "status", before=before)
    try:
        time = time.astype(float)
        status_f = status.astype(float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"time and status must be numeric: {exc}") from None
    if not np.isfinite(time).all():
        raise ValueError("time has infinite values")
    if (time < 0).any():
        i = int(np.flatnonzero(time < 0)[0])
        raise ValueError(f"time must be >= 0; position {i} has {time[i]!r}")
    if not np.isfinite(status_f).all() or (status_f != np.round(status_f)).any():
        raise ValueError("status must hold integer codes (0 = censored, otherwise the cause)")
    try:
        ok = not isinstance(cause, (bool, np.bool_)) and float(cause).is_integer() and cause != 0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValueError(f"cause must be a non-zero integer code, got {cause!r}")
    return time, status_f.astype(np.int64), int(cause)


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
            x = x.astype(float)
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
