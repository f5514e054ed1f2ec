"""The small-cell rule: no count from 1 to min_cell - 1 is shown, or can be worked out, anywhere.

A study sets the threshold in `study.yml` (`privacy: min_cell: 5`; 0 switches the rule off, the
default).  Each page sets it once (`analysis.present.context.use_display`); every table, figure and
sentence builder reads it from there.

**One rule for a set of related counts.**  Counts are rarely alone: the levels of a category add
up to the group's size, the groups of a figure to the cohort, the numbers at risk of the curves at
one time to the overall number at risk, a group's events and non-events to its size.  A builder
describes what it prints as a `CountSet`: each count, whether it is printed, and the sums and
orderings a reader knows; `CountSet.solve` then decides what is hidden:

1. **primary suppression**: a count n with 0 < n < min_cell is shown as "<min_cell" ("<5");
   0 is shown as 0 (an empty cell discloses no patient);
2. **complementary suppression**: in every sum a reader knows (total = parts), a hidden count must
   not be the only unknown, and the hidden parts of a known total must add up to min_cell or more.
   Otherwise the smallest shown count of that sum is hidden too, shown as "≥min_cell" ("≥5"): it
   is at least min_cell, or it would have been hidden by the first step;
3. **audit**: everything a reader knows (the shown counts, the sums, the orderings such as numbers
   at risk falling over time, and the bounds the marks give: "<5" is 1-4, "≥5" at least 5) is
   solved as a linear program for each hidden small count; while one is pinned to a single whole
   number, another count it depends on is hidden.

Counts that are never printed but follow from printed ones (a group's patients without the event,
n - events; the patients in no group) are in the set too ("unprinted"): when they are small they
are protected like printed ones.  A count printed in several places either comes from one shared
set (`group_sizes`, `flow_counts`: the same counts are hidden the same way wherever they appear)
or is given to a set as already decided (`hidden=`, ``may_hide=False``), so that it is never
hidden in one display and shown in another.

Percentages reveal their count and their denominator; builders show a percentage only when its
count is shown and its denominator is known (`percent_allowed`).  Minima and maxima are single
patients' values: under the rule, continuous variables are summarised by their median and
interquartile range, and a category level (free text) held by fewer than min_cell patients is
pooled with the other rare levels (`rare_levels`).

Estimates (survival, incidence, hazard ratios) and p-values are not counts and are shown.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from analysis.present.context import current, resolve_min_cell
from analysis.stats.results import EndpointResult

__all__ = ["CountSet", "Shown", "SUPPRESSED_NOTE", "audit_counts", "complementary_mark", "events_counts",
           "flow_counts", "group_sizes", "is_suppressed", "omitted_sizes", "percent_allowed", "rare_levels", "result_counts",
           "result_sizes", "shown_count", "small_mark", "suppress_count", "suppress_count_pct", "suppression_note"]


def is_suppressed(n, min_cell: int = 0) -> bool:
    """True when the count `n` falls under the primary rule (0 < n < min_cell)."""
    if not min_cell or n is None:
        return False
    try:
        value = float(n)
    except (TypeError, ValueError):
        return False
    if math.isnan(value):
        return False
    return 0 < value < min_cell


def small_mark(min_cell: int) -> str:
    """How a count from 1 to min_cell - 1 is shown: '<5'."""
    return f"<{min_cell}"


def complementary_mark(min_cell: int) -> str:
    """How a count hidden so that a small one cannot be worked out is shown: '≥5'."""
    return f"\u2265{min_cell}"


def _plain(n) -> str:
    if n is None:
        return ""
    value = float(n)
    if math.isnan(value):
        return "NA"
    return f"{value:.0f}" if value.is_integer() else f"{value:g}"


def suppress_count(n, min_cell: int = 0) -> str:
    """A count alone (in no set) as text: '12', '0', or '<5' when 0 < n < min_cell (min_cell = 5)."""
    if is_suppressed(n, min_cell):
        return small_mark(min_cell)
    return _plain(n)


def shown_count(n, *, min_cell: int | None = None) -> str:
    """A count alone, with the page's rule: '59', '<5'."""
    return suppress_count(n, resolve_min_cell(min_cell))


def suppress_count_pct(n: int, denominator: int, min_cell: int = 0, digits: int = 1) -> str:
    """'12 (41.4%)'; '<5' (no percentage) when the count is suppressed; '0 (0.0%)' for 0."""
    if is_suppressed(n, min_cell):
        return small_mark(min_cell)
    if not denominator:
        return f"{n} (NA)"
    return f"{n} ({100 * n / denominator:.{digits}f}%)"


SUPPRESSED_NOTE = ("Counts from 1 to {last} are shown as <{min_cell} (small-cell rule), and counts from which "
                   "one could be worked out as \u2265{min_cell}; their percentages are not shown.")


def suppression_note(min_cell: int = 0) -> str | None:
    """The table note explaining the rule, or None when it is off (min_cell <= 1)."""
    if not min_cell or min_cell <= 1:
        return None
    return SUPPRESSED_NOTE.format(last=min_cell - 1, min_cell=min_cell)


# --------------------------------------------------------------------------- one set of counts


@dataclass(frozen=True)
class Shown:
    """A count and how it is shown: `state` is "shown", "small" (<5) or "complementary" (≥5)."""

    value: int
    state: str
    min_cell: int = 0

    @property
    def hidden(self) -> bool:
        return self.state != "shown"

    @property
    def text(self) -> str:
        if self.state == "small":
            return small_mark(self.min_cell)
        if self.state == "complementary":
            return complementary_mark(self.min_cell)
        return _plain(self.value)

    @property
    def words(self) -> str:
        """The count as the subject of a sentence: '12', 'fewer than 5', 'at least 5' (a mark such as
        '≥5 were alive' reads as a formula in running text)."""
        if self.state == "small":
            return f"fewer than {self.min_cell}"
        if self.state == "complementary":
            return f"at least {self.min_cell}"
        return self.text

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        # Printed by accident (an inline expression without .text), it still shows only the text.
        return self.text


@dataclass
class _Count:
    value: int
    printed: bool
    may_hide: bool
    hidden: bool = False  # printed and hidden (small or complementary)


class CountSet:
    """Counts a display shows or relies on, the sums and orderings that tie them, and the rule.

    >>> counts = CountSet(5)
    >>> total, female, male = counts.count(12), counts.count(3), counts.count(9)
    >>> counts.sums_to(total, [female, male])
    >>> counts.solve(); [counts.text(k) for k in (total, female, male)]
    ['12', '<5', '≥5']
    """

    def __init__(self, min_cell: int | None = None):
        self.min_cell = resolve_min_cell(min_cell)
        self._counts: list[_Count] = []
        self._sums: list[tuple[int, tuple[int, ...]]] = []
        self._orders: list[tuple[int, int]] = []
        self._beyond_help: set[int] = set()
        self._solved = False

    @property
    def active(self) -> bool:
        return self.min_cell > 1

    def count(self, value, *, printed: bool = True, may_hide: bool = True, hidden: bool | None = None) -> int:
        """Add a count; returns its key.

        printed: the display prints it.  An unprinted count is one a reader can compute from printed
            ones (n - events): it is never shown, and protected when small.
        may_hide: whether it may be hidden to protect another.  False for a count printed elsewhere
            whose state its own set decides (a cohort's size; use `hidden` to give that state).
        hidden: the state decided elsewhere (True: hidden, False: shown); None: this set decides.
        """
        value = int(value)
        if value < 0:
            raise ValueError(f"a count cannot be negative: {value}")
        entry = _Count(value, printed, may_hide and hidden is None)
        if hidden is not None:
            entry.hidden = bool(hidden) and printed
        self._counts.append(entry)
        self._solved = False
        return len(self._counts) - 1

    def shown(self, value: Shown | None, *, printed: bool = True) -> int:
        """Add a count whose state another set decided (a `Shown`)."""
        if value is None:
            raise ValueError("no count given")
        return self.count(value.value, printed=printed, hidden=value.hidden)

    def sums_to(self, total: int, parts: Sequence[int]) -> None:
        """A reader knows that `total` = sum of `parts` (keys from `count`)."""
        parts = tuple(parts)
        if sum(self._counts[p].value for p in parts) != self._counts[total].value:
            raise ValueError("the parts do not add up to the total")
        self._sums.append((total, parts))
        self._solved = False

    def partition(self, total: int, parts: Sequence[int], *, rest_printed: bool = False) -> int | None:
        """`total` = `parts` + the rest; returns the rest's key (None when there is none).

        rest_printed: the rest is printed elsewhere (patients in no group appear in the missing-data
        and exclusion tables), so it counts as known unless it is small.  Otherwise it is an
        unprinted count, added only when it is not zero: no rest is the strictest reading.
        """
        rest = self._counts[total].value - sum(self._counts[p].value for p in parts)
        if rest < 0:
            raise ValueError("the parts exceed the total")
        if not rest and not rest_printed:
            self.sums_to(total, parts)
            return None
        key = self.count(rest, printed=rest_printed, may_hide=False)
        self.sums_to(total, [*parts, key])
        return key

    def at_least(self, larger: int, smaller: int) -> None:
        """A reader knows that `larger` >= `smaller` (numbers at risk never rise without entries)."""
        if self._counts[larger].value < self._counts[smaller].value:
            raise ValueError("the ordering does not hold")
        self._orders.append((larger, smaller))
        self._solved = False

    # ----------------------------------------------------------------------- solving

    def _unknown(self, k: int) -> bool:
        c = self._counts[k]
        return c.hidden or not c.printed

    def _small(self, k: int) -> bool:
        return 0 < self._counts[k].value < self.min_cell

    def _sensitive(self, k: int) -> bool:
        """A small count a reader does not see: it must not be worked out."""
        return self._unknown(k) and self._small(k)

    def _opens_a_sum(self, k: int, members: tuple[int, ...]) -> bool:
        """Whether hiding `k` would leave it the only unknown of another sum (which would then need
        one more hidden count): a count whose other sums already hold an unknown is cheaper."""
        for total, parts in self._sums:
            others = (total, *parts)
            if k in others and others != members and not any(self._unknown(j) for j in others if j != k):
                return True
        return False

    def _candidate(self, members: tuple[int, ...]) -> int | None:
        """The count to hide among `members`: shown, printed, nonzero, allowed to be hidden; one whose
        other sums already hold an unknown first, then the smallest."""
        choices = [k for k in members if self._counts[k].printed and not self._counts[k].hidden
                   and self._counts[k].may_hide and self._counts[k].value > 0]
        if not choices:
            return None
        return min(choices, key=lambda k: (self._opens_a_sum(k, members), self._counts[k].value, k))

    def _primary(self) -> None:
        for k, c in enumerate(self._counts):
            if c.printed and self._small(k):  # decided elsewhere or not, a small count is hidden everywhere
                c.hidden = True

    def _needs_more(self, total: int, parts: tuple[int, ...]) -> bool:
        members = (total, *parts)
        unknown = [k for k in members if self._unknown(k)]
        if not any(self._sensitive(k) or (self._counts[k].printed and self._counts[k].hidden) for k in unknown):
            return False
        if len(unknown) == 1:
            return True
        if not self._unknown(total):
            hidden_sum = sum(self._counts[k].value for k in parts if self._unknown(k))
            return 0 < hidden_sum < self.min_cell
        return False

    def _complementary_pass(self) -> bool:
        changed = False
        for total, parts in self._sums:
            while self._needs_more(total, parts):
                pick = self._candidate((total, *parts))
                if pick is None:
                    break
                self._counts[pick].hidden = True
                changed = True
        return changed

    def _pinned(self) -> list[int]:
        """Sensitive counts whose value a reader can work out exactly from everything shown (the
        first found: one more hidden count may free the others)."""
        unknown = [k for k in range(len(self._counts)) if self._unknown(k)]
        targets = [k for k in unknown if self._sensitive(k) and k not in self._beyond_help]
        if not targets:
            return []
        column = {k: i for i, k in enumerate(unknown)}
        m = self.min_cell

        def rows(terms_of_each) -> tuple[list, list]:
            """sum(sign * count) over each relation's terms: unknowns on the left, known counts on the right."""
            lhs, rhs = [], []
            for terms in terms_of_each:
                row, known = np.zeros(len(unknown)), 0.0
                for k, sign in terms:
                    if k in column:
                        row[column[k]] += sign
                    else:
                        known -= sign * self._counts[k].value
                if row.any():
                    lhs.append(row)
                    rhs.append(known)
            return lhs, rhs

        # parts - total = 0;  smaller - larger <= 0
        a_eq, b_eq = rows([((total, -1.0), *((p, 1.0) for p in parts)) for total, parts in self._sums])
        a_ub, b_ub = rows([((smaller, 1.0), (larger, -1.0)) for larger, smaller in self._orders])
        bounds = []
        for k in unknown:
            c = self._counts[k]
            if not c.printed:
                bounds.append((0, None))
            elif self._small(k):
                bounds.append((1, m - 1))
            else:
                bounds.append((m, None))
        from scipy.optimize import linprog  # (SciPy's optimiser: only where a count may be worked out)

        system = {"A_ub": np.array(a_ub) if a_ub else None, "b_ub": np.array(b_ub) if b_ub else None,
                  "A_eq": np.array(a_eq) if a_eq else None, "b_eq": np.array(b_eq) if b_eq else None,
                  "bounds": bounds, "method": "highs"}
        for k in targets:
            objective = np.zeros(len(unknown))
            objective[column[k]] = 1.0
            true_value = self._counts[k].value
            for sign in (1.0, -1.0):  # the least, then the greatest value a reader cannot rule out
                solution = linprog(sign * objective, **system)
                if solution.status != 0:  # unbounded (or not solved): nothing is learnt at that end
                    break
                # the true value is always possible: another whole number at either end frees the count
                if abs(sign * solution.fun - true_value) >= 1 - 1e-7:
                    break
            else:
                return [k]
        return []

    def _relations_of(self, k: int) -> list[tuple[int, ...]]:
        related = [(total, *parts) for total, parts in self._sums if k == total or k in parts]
        related += [pair for pair in self._orders if k in pair]
        return sorted(related, key=lambda members: sum(self._unknown(j) for j in members))

    def _protect(self, k: int) -> bool:
        """Hide one more count that `k` is worked out from; False when none may be hidden."""
        seen, frontier = {k}, [k]
        while frontier:  # nearest relations first, then those of the unknowns they hold
            for members in (m for j in frontier for m in self._relations_of(j)):
                pick = self._candidate(members)
                if pick is not None:
                    self._counts[pick].hidden = True
                    return True
            frontier = [j for j in {j for f in frontier for m in self._relations_of(f) for j in m}
                        if j not in seen and self._unknown(j)]
            seen.update(frontier)
        return False

    def solve(self) -> None:
        """Decide what is hidden (primary, complementary, then the audit)."""
        if self._solved:
            return
        if self.active:
            self._primary()
            while True:
                while self._complementary_pass():
                    pass
                # one more hidden count at a time: it may free the other pinned counts too
                pinned = self._pinned()
                if not pinned:
                    break
                if not self._protect(pinned[0]):
                    # only counts decided elsewhere pin it: their own sets protect it there
                    self._beyond_help.add(pinned[0])
        self._solved = True

    def state(self, key: int) -> Shown:
        self.solve()
        c = self._counts[key]
        if not c.printed:
            raise ValueError("an unprinted count has no text")
        if not c.hidden:
            return Shown(c.value, "shown", self.min_cell)
        return Shown(c.value, "small" if self._small(key) else "complementary", self.min_cell)

    def text(self, key: int) -> str:
        return self.state(key).text

    def hidden(self, key: int) -> bool:
        return self.state(key).hidden

    @property
    def any_hidden(self) -> bool:
        self.solve()
        return any(c.printed and c.hidden for c in self._counts)


def percent_allowed(count: Shown, denominator_parts: Iterable[Shown]) -> bool:
    """A percentage may be printed when its count is shown and every count of its denominator too
    (count / percentage = denominator, so a percentage reveals what its denominator is made of)."""
    return not count.hidden and not any(part.hidden for part in denominator_parts)


# --------------------------------------------------------------------------- shared sets


def _cohort_n(cohort_n: int | None) -> int | None:
    return current().cohort_n if cohort_n is None else cohort_n


def group_sizes(sizes: Sequence[int], *, total: int | None = None, nested: bool = False,
                min_cell: int | None = None) -> tuple[Shown, ...]:
    """The sizes of groups, as every table, figure and sentence shows them.

    The groups partition `total` patients (the page's cohort by default; those in no group make an
    unprinted count); without a total the groups' sum counts as known.  `nested`: the first group
    holds the others (Simon-Makuch curves: every patient starts in the first state), so the first
    is the total of the others and the rest.  The same sizes are always hidden the same way.
    """
    counts = CountSet(min_cell)
    keys = [counts.count(n, may_hide=True) for n in sizes]
    if not keys:
        return ()
    if nested:
        first, others = keys[0], keys[1:]
        if sum(sizes[1:]) <= sizes[0]:
            counts.partition(first, others)
        parts = [first]
    else:
        parts = keys
    total = _cohort_n(total)
    if total is not None and sum(counts._counts[k].value for k in parts) <= total:
        counts.partition(counts.count(total, may_hide=False), parts, rest_printed=True)
    else:
        counts.sums_to(counts.count(sum(counts._counts[k].value for k in parts), may_hide=False), parts)
    return tuple(counts.state(k) for k in keys)


def result_sizes(result: EndpointResult, *, min_cell: int | None = None) -> tuple[Shown, ...]:
    """The patients of each curve of a result (legends, tables, sentences): `group_sizes`."""
    return _result_sizes(result, resolve_min_cell(min_cell), current().cohort_n)[:len(result.curves)]


def omitted_sizes(result: EndpointResult, *, min_cell: int | None = None) -> tuple[Shown, ...]:
    """The patients of each group left out for its size (`EndpointResult.omitted`), decided with the
    curves' sizes: the groups together make a total a reader knows (the patients at a landmark are
    the number at risk there), so a small group left out must not be the curves' total minus theirs."""
    return _result_sizes(result, resolve_min_cell(min_cell), current().cohort_n)[len(result.curves):]


@lru_cache(maxsize=256)
def _result_sizes(result: EndpointResult, min_cell: int, cohort_n: int | None) -> tuple[Shown, ...]:
    # results are frozen and hashed by identity: a figure's legend, risk table and sentences share one answer
    return group_sizes([c.n for c in result.curves] + [n for _, n in result.omitted], nested=result.nested,
                       total=cohort_n, min_cell=min_cell)


def result_counts(result: EndpointResult, *, min_cell: int | None = None) -> tuple[tuple[Shown, Shown], ...]:
    """Each curve's patients and events as a table shows them.

    A curve's events and its patients without the event (unprinted) add up to its size, and the
    curves' events to the overall events (shown in the overall row or table).
    """
    sizes = result_sizes(result, min_cell=min_cell)
    counts = CountSet(min_cell)
    size_keys = [counts.shown(size) for size in sizes]
    event_keys = [counts.count(curve.events) for curve in result.curves]
    for size, events in zip(size_keys, event_keys):
        counts.partition(size, [events])
    if len(event_keys) > 1:
        counts.sums_to(counts.count(sum(c.events for c in result.curves), may_hide=False), event_keys)
    return tuple((size, counts.state(events)) for size, events in zip(sizes, event_keys))


def events_counts(rows: Sequence[tuple[int, int]], *, ordered: bool = False,
                  min_cell: int | None = None) -> tuple[tuple[Shown, Shown], ...]:
    """(patients, events) pairs, each pair's events and patients without the event (unprinted)
    adding up to its patients; `ordered`: the patients never rise from one pair to the next (the
    patients still at risk at successive landmarks)."""
    counts = CountSet(min_cell)
    keys = []
    for n, events in rows:
        n_key, events_key = counts.count(n), counts.count(events)
        counts.partition(n_key, [events_key])
        keys.append((n_key, events_key))
    if ordered:
        for (earlier, _), (later, _) in zip(keys, keys[1:]):
            if counts._counts[earlier].value >= counts._counts[later].value:
                counts.at_least(earlier, later)
    return tuple((counts.state(n), counts.state(e)) for n, e in keys)


def flow_counts(steps: Sequence[tuple[str, int, bool]], *, min_cell: int | None = None) -> tuple[Shown, ...]:
    """The inclusion flow (records, each exclusion, analysed): records = exclusions + analysed.

    The number analysed is the cohort's size, shown everywhere, so it is never hidden to protect an
    exclusion; the records or another exclusion are.
    """
    counts = CountSet(min_cell)
    keys = [counts.count(n, may_hide=i != len(steps) - 1) for i, (_, n, _) in enumerate(steps)]
    if len(keys) >= 2:
        counts.sums_to(keys[0], keys[1:])
    return tuple(counts.state(k) for k in keys)


def audit_counts(cohort, *, min_cell: int | None = None) -> tuple[tuple[Shown, ...], Shown | None, Shown | None]:
    """The counts of a study's audit trail (`Cohort.audit`): each entry's records, then the records
    excluded and the values corrected in all (None when there are none).

    The exclusions are the flow table's first exclusions: they are shown as `flow_counts` shows them
    there; their total and the corrections form one set with them (total = its entries).
    """
    flow = flow_counts(cohort.flow, min_cell=min_cell)
    counts = CountSet(min_cell)
    keys = []
    parts: dict[str, list[tuple[int, int]]] = {"excluded": [], "corrected": []}  # (key, count) by action
    step = 1  # the flow's first exclusion step: the study file's own exclusions come first
    for entry in cohort.audit:
        if entry.action == "excluded":
            keys.append(counts.shown(flow[step]))
            step += 1
        else:
            keys.append(counts.count(entry.count))
        parts[entry.action].append((keys[-1], entry.count))
    totals = []
    for members in parts.values():
        if not members:
            totals.append(None)
            continue
        total = counts.count(sum(n for _, n in members))
        counts.sums_to(total, [k for k, _ in members])
        totals.append(total)
    return (tuple(counts.state(k) for k in keys),
            *(None if k is None else counts.state(k) for k in totals))


def rare_levels(counts: Mapping[str, int], *, keep: Iterable[str] = (), min_cell: int | None = None) -> set[str]:
    """Levels held by 1 to min_cell - 1 patients, to be pooled as "Other" (free-text levels: a
    single patient's label is as telling as their count); the levels in `keep` (a column's codes)
    are never pooled, and nothing is when the rule is off."""
    min_cell = resolve_min_cell(min_cell)
    keep = set(keep)
    return {level for level, n in counts.items() if level not in keep and is_suppressed(n, min_cell)}
