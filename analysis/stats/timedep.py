"""Time-dependent covariates: counting-process splitting, Mantel-Byar test, Simon-Makuch curves.

A patient whose state changes during follow-up (complete remission reached
after HCT, onset of acute or chronic GVHD) must not be classified by a state
reached later: that creates immortal-time bias.  The tools here follow the
patients through their states:

* `split_at_event` turns one row per patient into (start, stop] intervals
  with 0/1 covariates that switch on at the change times, exactly as
  ``survival::tmerge(data, data, id, event = event(time, status),
  x = tdc(change_time))``;
* `mantel_byar` compares event rates between the states with the risk sets
  of each event time split by the state the patients are in then (Mantel and
  Byar 1974);
* `simon_makuch` draws the corresponding survival curves (Simon and Makuch
  1984): the product-limit estimate over each state's time-dependent risk
  set, identical to ``survfit(Surv(tstart, tstop, event) ~ state)`` on the
  tmerge data.

tmerge's conventions (checked against survival 3.5): a change at or before
the start of follow-up (time 0) puts the patient in the switched state from
the start; a change at or after the end of follow-up, or a missing change
time, never switches; a change at time c splits follow-up into (0, c] with
covariate 0 (an event at c still counts in the old state) and (c, stop]
with covariate 1.  As R's ``timefix``, the estimators merge times closer than
``sqrt(machine epsilon)``.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping, NamedTuple

import numpy as np
import pandas as pd

from analysis.stats.checks import as_events, as_times
from analysis.stats.core import Recent, chi2_sf, content_key, merge_interval_ties, merge_near_ties, unique_inverse
from analysis.stats.kaplan_meier import median_survival, product_limit_curve
from analysis.stats.results import Curve, EndpointResult, TestResult

__all__ = ["CountingProcessData", "split_at_event", "mantel_byar", "simon_makuch", "delayed_entry_comparison"]


@dataclass(frozen=True, eq=False)
class CountingProcessData:
    """Counting-process (start, stop] rows, one or more per patient.

    Attributes
    ----------
    patient : int array
        Position of the row's patient in the input (0-based); rows are
        ordered by patient, then time, as tmerge orders them.
    start, stop : float arrays
        The interval (start, stop].
    event : int array
        1 when the patient's event happens at `stop` of this row (only the
        last row of a patient can have it).
    covariates : mapping of name to array
        The time-dependent 0/1 covariates (in the order given), then the
        fixed covariates carried along.
    time_dependent : tuple of str
        Names of the time-dependent covariates.
    n_patients : int
    """

    patient: np.ndarray
    start: np.ndarray
    stop: np.ndarray
    event: np.ndarray
    covariates: Mapping[str, np.ndarray]
    time_dependent: tuple[str, ...]
    n_patients: int

    @property
    def n_rows(self) -> int:
        return int(self.stop.size)

    def matrix(self, names=None) -> np.ndarray:
        """The covariates `names` (default: all) as a float (rows, p) matrix."""
        names = list(self.covariates) if names is None else list(names)
        return np.column_stack([np.asarray(self.covariates[k], dtype=float) for k in names])

    def to_frame(self) -> pd.DataFrame:
        """A data frame like tmerge's: patient, tstart, tstop, event, covariates."""
        frame = pd.DataFrame(
            {"patient": self.patient, "tstart": self.start, "tstop": self.stop, "event": self.event}
        )
        for name, values in self.covariates.items():
            frame[name] = values
        return frame


def _as_change_times(change_time, n: int, names) -> tuple[np.ndarray, tuple[str, ...]]:
    """Change times as an (n, k) float matrix (NaN = never) and their names."""
    if isinstance(change_time, pd.Series):
        default = (str(change_time.name) if change_time.name is not None else "switched",)
        columns = [change_time.to_numpy()]
    elif isinstance(change_time, pd.DataFrame):
        default = tuple(str(c) for c in change_time.columns)
        columns = [change_time[c].to_numpy() for c in change_time.columns]
    elif isinstance(change_time, Mapping):
        default = tuple(str(k) for k in change_time)
        columns = [np.asarray(v) for v in change_time.values()]
    else:
        arr = np.asarray(change_time)
        if arr.ndim == 1:
            default, columns = ("switched",), [arr]
        elif arr.ndim == 2:
            default = tuple(f"switched{j + 1}" for j in range(arr.shape[1]))
            columns = [arr[:, j] for j in range(arr.shape[1])]
        else:
            raise ValueError(f"change_time must be one- or two-dimensional, got shape {arr.shape}")
    if not columns:
        raise ValueError("no change times given")
    names = default if names is None else (names,) if isinstance(names, str) else tuple(names)
    if len(names) != len(columns):
        raise ValueError(f"names has {len(names)} entries for {len(columns)} change-time column(s)")
    if len(set(names)) != len(names):
        raise ValueError("time-dependent covariate names must be unique")
    out = np.empty((n, len(columns)))
    for j, (name, col) in enumerate(zip(names, columns)):
        col = np.asarray(col)
        if col.ndim != 1 or col.size != n:
            raise ValueError(f"change time {name!r} must have one value per patient ({n}), got shape {col.shape}")
        try:
            out[:, j] = pd.to_numeric(pd.Series(col), errors="raise").to_numpy(dtype=float, na_value=np.nan)
        except (TypeError, ValueError):
            raise ValueError(f"change time {name!r} must be numeric (NaN = never)") from None
    return out, names


def _as_fixed(fixed, n: int) -> dict[str, np.ndarray]:
    if fixed is None:
        return {}
    if isinstance(fixed, pd.DataFrame):
        items = [(str(c), fixed[c].to_numpy()) for c in fixed.columns]
    elif isinstance(fixed, Mapping):
        items = [(str(k), np.asarray(v)) for k, v in fixed.items()]
    else:
        raise ValueError("fixed covariates must be a DataFrame or a mapping of name to values")
    for name, values in items:
        if values.ndim != 1 or values.size != n:
            raise ValueError(f"fixed covariate {name!r} must have one value per patient ({n})")
    return dict(items)


def _require_entry_before_end(start: np.ndarray, stop: np.ndarray) -> None:
    bad = np.flatnonzero(stop <= start)
    if bad.size:
        raise ValueError(
            f"follow-up must end after it starts; {bad.size} patient(s) do not, first at position "
            f"{bad[0]} (start {start[bad[0]]!r}, end {stop[bad[0]]!r}); tmerge rejects an ending "
            "time equal to the starting time"
        )


def split_at_event(stop_time, event, change_time, *, fixed=None, entry=None, names=None) -> CountingProcessData:
    """Split follow-up at the change times of time-dependent 0/1 covariates, as tmerge.

    Parameters
    ----------
    stop_time : array_like of float
        End of follow-up of each patient (event or censoring), > entry.
    event : array_like of {0, 1}
        Whether follow-up ends with the event.
    change_time : array_like, Series, DataFrame or mapping of name to array
        When each covariate switches from 0 to 1 (NaN = never).  A 1-D array
        is one covariate (named "switched" unless `names` says otherwise);
        several columns are several covariates, split at all their times.
    fixed : DataFrame or mapping, optional
        Per-patient covariates carried along to every row.
    entry : array_like of float, optional
        Start of follow-up (default 0 for everyone).
    names : str or sequence of str, optional
        Names of the time-dependent covariates.

    Returns
    -------
    CountingProcessData
        The rows of ``tmerge(base, data, id, event = event(stop, event),
        x = tdc(change_time))``: a change c with entry < c < stop splits
        the patient at c; c <= entry means switched from the start; c >=
        stop or NaN means never switched.  Simultaneous changes of several
        covariates make one split.  Times closer than ``sqrt(machine
        epsilon)`` are first merged by R's ``aeqSurv`` rule (over entry,
        stop and change times together), so a change computed 1 ulp before
        the stop is a change at the stop; tmerge would split there and
        coxph/survfit would then stop with "aeqSurv exception, an interval
        has effective length 0".
    """
    stop = as_times(stop_time)
    n = stop.size
    e = as_events(event, n)
    change, names = _as_change_times(change_time, n, names)
    start0 = np.zeros(n) if entry is None else as_times(entry, "entry", n)
    _require_entry_before_end(start0, stop)
    fixed_values = _as_fixed(fixed, n)
    clash = set(names) & set(fixed_values)
    if clash:
        raise ValueError(f"names used for both time-dependent and fixed covariates: {sorted(clash)}")
    rows = _split_rows(stop, e, change, start0, entry is None)

    covariates: dict[str, np.ndarray] = {}
    for j, name in enumerate(names):
        covariates[name] = rows.switched[j]
    for name, values in fixed_values.items():
        covariates[name] = _frozen(values[rows.patient])

    return CountingProcessData(
        patient=rows.patient,
        start=rows.start,
        stop=rows.stop,
        event=rows.event,
        covariates=MappingProxyType(covariates),
        time_dependent=tuple(names),
        n_patients=n,
    )


def _frozen(array: np.ndarray) -> np.ndarray:
    """`array` (made by the caller, referenced nowhere else) made read-only in place: no copy."""
    array.setflags(write=False)
    return array


class _SplitRows(NamedTuple):
    """The (start, stop] rows of `split_at_event` before the covariates are named (all read-only)."""

    patient: np.ndarray
    start: np.ndarray
    stop: np.ndarray
    event: np.ndarray
    switched: tuple[np.ndarray, ...]  # per change-time column, 0/1 (int64) per row


# The rows of the last few splits: a time-dependent state's Cox model and its Simon-Makuch curves
# split the same follow-up at the same onsets.
_SPLITS = Recent(2)


def _split_rows(stop: np.ndarray, e: np.ndarray, change: np.ndarray, start0: np.ndarray,
                from_zero: bool) -> _SplitRows:
    """The split of checked input (`split_at_event`), reused when the same input comes again
    (`from_zero`: every entry is 0, not hashed)."""
    key = content_key(stop, e.astype(np.int8), change, None if from_zero else start0)
    return _SPLITS.get(key, lambda: _split(stop, e, change, start0))


def _split(stop: np.ndarray, e: np.ndarray, change: np.ndarray, start0: np.ndarray) -> _SplitRows:
    n = stop.size
    # aeqSurv over entry, stop and change times together: times computed by different routes
    # (e.g. days / 30.4375 added up in another order) can differ in the last bit, and a change 1 ulp
    # before the stop would make an interval of length 1e-16, which coxph and survfit reject.
    change, start0, stop = merge_near_ties(change, start0, stop)

    # split points strictly inside (entry, stop); one split for equal times
    inside = (change > start0[:, None]) & (change < stop[:, None])
    cut_patient = np.nonzero(inside)[0]  # (in patient order: np.nonzero reads the rows in turn)
    cut_time = change[inside]
    if change.shape[1] > 1:  # a patient's split points in time order
        by_time = np.lexsort((cut_time, cut_patient))
        cut_patient, cut_time = cut_patient[by_time], cut_time[by_time]
    # each patient's rows: from its entry, then from each split point (all later than the entry)
    rows_of = np.bincount(cut_patient, minlength=n) + 1
    first_row = np.cumsum(rows_of) - rows_of
    patient = np.repeat(np.arange(n, dtype=np.int64), rows_of)
    starts = np.empty(patient.size)
    from_split = np.ones(patient.size, dtype=bool)
    from_split[first_row] = False
    starts[first_row] = start0
    starts[from_split] = cut_time
    keep = np.r_[True, (patient[1:] != patient[:-1]) | (starts[1:] != starts[:-1])]
    if not keep.all():
        patient, starts = patient[keep], starts[keep]

    last = np.r_[patient[1:] != patient[:-1], True]
    stop_of_row = stop[patient]
    stops = np.where(last, stop_of_row, np.r_[starts[1:], 0.0])
    events = np.where(last, e[patient], 0).astype(np.int64, copy=False)
    switched = tuple(
        _frozen(((c <= starts) & (c < stop_of_row)).astype(np.int64))
        for c in (change[patient, j] for j in range(change.shape[1]))
    )
    return _SplitRows(_frozen(patient), _frozen(starts), _frozen(stops), _frozen(events), switched)


# ---------------------------------------------------------------- estimators


def _state_rows(time, event, change_time):
    """Merged (start, stop], event and 0/1 state of the split rows of one binary change."""
    data = split_at_event(time, event, change_time, names="state")
    start, stop = merge_interval_ties(np.asarray(data.start), np.asarray(data.stop))
    return start, stop, np.asarray(data.event), np.asarray(data.covariates["state"]), data


def _at_risk(start: np.ndarray, stop: np.ndarray, times: np.ndarray, *, already_sorted: bool = False) -> np.ndarray:
    """Number of rows with start < t <= stop at each t: #(start < t) - #(stop < t) (`already_sorted`:
    start and stop are each in ascending order)."""
    if not already_sorted:
        start, stop = np.sort(start), np.sort(stop)
    return np.searchsorted(start, times, side="left") - np.searchsorted(stop, times, side="left")


def mantel_byar(time, event, change_time) -> TestResult:
    """Mantel-Byar test of a binary time-dependent state (e.g. CR reached after HCT).

    At each event time the patients at risk are split by the state they are
    in at that moment (state 1 from the change time on); the observed events
    in state 1 are compared with their expectation d * n1 / n, with the
    hypergeometric variance d (n - d) n0 n1 / (n^2 (n - 1)), summed over
    event times: (O - E)^2 / V on 1 df.

    Parameters
    ----------
    time, event : array_like
        Follow-up and event indicator of each patient.
    change_time : array_like of float
        Time of the change of state (NaN = never); conventions of
        `split_at_event`.

    Returns
    -------
    TestResult
        ``name="Mantel-Byar"``, df = 1.

    Notes
    -----
    This is the log-rank test with time-dependent group membership, i.e. the
    score test of ``coxph(Surv(tstart, tstop, event) ~ state)`` on the
    tmerge data with ``ties = "exact"`` (R's exact partial likelihood gives
    the hypergeometric variance).  Without tied event times it equals the
    score test with Breslow or Efron ties too.  With ties, Breslow's score
    test has the same O - E but the binomial variance d n0 n1 / n^2, and
    Efron's differs in both.

    Raises
    ------
    ValueError
        When there are no events or nobody is at risk in one of the states at
        any event time (the statistic is then undefined).
    """
    start, stop, ev, state, _ = _state_rows(time, event, change_time)
    return _two_state_test(start, stop, ev, state == 1)


def _two_state_test(start, stop, ev, in1, curves: tuple[Curve, Curve] | None = None) -> TestResult:
    """Log-rank comparison of two sets of (start, stop] rows with the hypergeometric variance.

    `curves`: the product-limit curves of the rows not in and in `in1`, whose sorted entry and exit
    times are those of the risk sets (not sorted again)."""
    times, d = np.unique(stop[ev == 1], return_counts=True)
    if times.size == 0:
        raise ValueError("there are no events: the Mantel-Byar test is undefined")
    if curves is None:
        n1 = _at_risk(start[in1], stop[in1], times).astype(float)
        n0 = _at_risk(start[~in1], stop[~in1], times).astype(float)
    else:
        n0, n1 = (_at_risk(c.entry_time, c.exit_time, times, already_sorted=True).astype(float) for c in curves)
    d1 = np.bincount(np.searchsorted(times, stop[(ev == 1) & in1]), minlength=times.size).astype(float)
    n = n0 + n1
    d = d.astype(float)
    observed = d1.sum()
    expected = float(np.sum(d * n1 / n))
    with np.errstate(divide="ignore", invalid="ignore"):
        v = np.where(n > 1, d * (n - d) * n0 * n1 / (n**2 * (n - 1)), 0.0)
    variance = float(v.sum())
    if not variance > 0:
        raise ValueError(
            "the Mantel-Byar variance is 0: nobody is at risk in one of the states at any event time"
        )
    statistic = (observed - expected) ** 2 / variance
    return TestResult("Mantel-Byar", float(statistic), 1, float(chi2_sf(statistic, 1)))


def _product_limit(start, stop, event, label: str) -> Curve:
    """Kaplan-Meier over (start, stop] rows (delayed entry), as survfit on counting-process data."""
    times, index = unique_inverse(stop)
    n_event = np.bincount(index, weights=event, minlength=times.size).astype(np.int64)
    n_censor = np.bincount(index, minlength=times.size) - n_event
    entry, exit = _frozen(np.sort(start)), _frozen(np.sort(stop))  # (sorted once: the risk sets read them too)
    return product_limit_curve(
        times, _at_risk(entry, exit, times, already_sorted=True), n_event, n_censor, label=label,
        n=int(stop.size), events=int(event.sum()), entry_time=entry, exit_time=exit,
    )


def simon_makuch(
    time,
    event,
    change_time,
    *,
    labels: tuple[str, str] = ("Not switched", "Switched"),
    endpoint: str = "os",
    title: str = "Overall survival",
    by: str = "time-dependent state",
) -> EndpointResult:
    """Simon-Makuch survival curves of a binary time-dependent state, with the Mantel-Byar test.

    Each curve is the product-limit estimate over the time-dependent risk
    set of its state: a patient counts in state 0 until the change time and
    in state 1 afterwards (delayed entry), so the switched curve starts with
    the first patients who switch.  Greenwood variance and log-log 95% CI
    as `kaplan_meier`; identical to ``survfit(Surv(tstart, tstop, event) ~
    state, conf.type = "log-log")`` on the tmerge data (times, n.risk,
    n.event, n.censor, surv, std.err, lower, upper).

    Parameters
    ----------
    time, event, change_time
        As `mantel_byar`.
    labels : (str, str)
        Labels of the state-0 and state-1 curves.
    endpoint, title, by
        Stored in the result.

    Returns
    -------
    EndpointResult
        ``kind="survival"``, curves (state 0, state 1), the Mantel-Byar test
        (None when it is undefined, e.g. nobody switches) and the medians.
        ``Curve.n`` is the number of patients who are ever in the state
        (R's ``n``); n_risk varies with entries, so it is not monotone for
        the switched curve.
    """
    start, stop, ev, state, _ = _state_rows(time, event, change_time)
    curves = tuple(
        _product_limit(start[state == s], stop[state == s], ev[state == s], str(labels[s])) for s in (0, 1)
    )
    try:
        test = _two_state_test(start, stop, ev, state == 1, curves)  # (mantel_byar of the rows split above)
    except ValueError:
        test = None
    return EndpointResult(
        endpoint=endpoint,
        title=title,
        kind="survival",
        curves=curves,
        test=test,
        by=by,
        median=tuple(median_survival(c) for c in curves),
        nested=True,
    )


def delayed_entry_comparison(
    start,
    stop,
    event,
    group,
    *,
    labels: tuple[str, str],
    endpoint: str = "os",
    title: str = "Overall survival",
    by: str = "group",
) -> EndpointResult:
    """Two groups whose members enter the risk set at `start`, compared by product-limit curves and Mantel-Byar.

    For comparing patients in CR at HCT with patients who reach CR only later:
    the latter count from their CR date (delayed entry), so neither group is
    credited with time before it existed.  Curves as ``survfit(Surv(start,
    stop, event) ~ group)``; the test as the score test of ``coxph(Surv(start,
    stop, event) ~ group, ties = "exact")``.

    Parameters
    ----------
    start, stop : array_like of float
        Entry into the comparison and end of follow-up, start < stop.
    event : array_like of {0, 1}
    group : array_like of {0, 1}
        0 for the first label, 1 for the second.
    """
    stop = as_times(stop, "stop")
    start = as_times(start, "start", stop.size)
    event = as_events(event, stop.size)
    group = as_events(group, stop.size, "group")
    _require_entry_before_end(start, stop)
    start, stop = merge_interval_ties(start, stop)
    curves = tuple(
        _product_limit(start[group == g], stop[group == g], event[group == g], str(labels[g])) for g in (0, 1)
    )
    try:
        test = _two_state_test(start, stop, event, group == 1, curves)
    except ValueError:
        test = None
    return EndpointResult(
        endpoint=endpoint, title=title, kind="survival", curves=curves, test=test, by=by,
        median=tuple(median_survival(c) for c in curves),
    )
