"""What a careful reader can work out from what a display prints, as an integer program.

Independent of `analysis.present.privacy` (which decides what to hide): this module reads only the
printed texts ("12", "12 (41.4%)", "<5", "≥5", "0"), the sums and orderings any reader knows (a
column adds up to its N, the groups to the cohort, numbers at risk never rise), and what a
percentage says about its denominator; then, for every count printed as "<min_cell" (and every
small count the display relies on without printing it, such as a group's survivors), it finds the
least and the greatest whole number consistent with all of it (scipy's MILP solver).  A count whose
least and greatest value agree has been disclosed.
"""
from __future__ import annotations

import re

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

_COUNT = re.compile(r"^\s*(\d+)(?:\s*\((\d+(?:\.\d+)?)%\))?\s*$")


class Reader:
    def __init__(self, min_cell: int):
        self.min_cell = min_cell
        self.bounds: list[tuple[float, float]] = []
        self.small: list[int] = []
        self.rows: list[tuple[dict[int, float], float, float]] = []
        self.percents: list[tuple[int, float, float]] = []  # (var, count, percent)

    def text(self, text: str) -> int:
        """A printed count: '12', '12 (41.4%)', '<5', '≥5'; returns the unknown standing for it."""
        text = str(text).strip()
        var = len(self.bounds)
        if text == f"<{self.min_cell}":
            self.bounds.append((1, self.min_cell - 1))
            self.small.append(var)
            return var
        if text == f"\u2265{self.min_cell}":
            self.bounds.append((self.min_cell, np.inf))
            return var
        match = _COUNT.match(text)
        if not match:
            raise ValueError(f"not a count: {text!r}")
        value = int(match.group(1))
        self.bounds.append((value, value))
        if match.group(2) is not None:
            self.percents.append((var, value, float(match.group(2))))
        return var

    def unknown(self, true_value: int | None = None) -> int:
        """A count the display does not print (bounded below by 0).  Given its true value (which the
        reader does not know), a small one must not be disclosed either (a group's survivors)."""
        self.bounds.append((0, np.inf))
        var = len(self.bounds) - 1
        if true_value is not None and 0 < true_value < self.min_cell:
            self.small.append(var)
        return var

    def sums_to(self, total: int, parts) -> None:
        row = {total: -1.0}
        for p in parts:
            row[p] = row.get(p, 0.0) + 1.0
        self.rows.append((row, 0.0, 0.0))

    def at_least(self, larger: int, smaller: int) -> None:
        self.rows.append(({larger: 1.0, smaller: -1.0}, 0.0, np.inf))

    def percent_denominator(self, count_var: int, denominator: dict[int, float]) -> None:
        """The printed percentage of `count_var` is of the denominator sum(coef * var)."""
        for var, n, percent in self.percents:
            if var == count_var and percent > 0.05:
                # round(100 n / D, 1) == percent  ->  100 n / (percent + 0.05) <= D <= 100 n / (percent - 0.05)
                self.rows.append((denominator, 100 * n / (percent + 0.05), 100 * n / (percent - 0.05)))

    def _range(self, var: int) -> tuple[float, float]:
        size = len(self.bounds)
        a = np.zeros((len(self.rows), size))
        lo, hi = np.zeros(len(self.rows)), np.zeros(len(self.rows))
        for i, (row, low, high) in enumerate(self.rows):
            for k, coef in row.items():
                a[i, k] = coef
            lo[i], hi[i] = low, high
        ends = []
        for sign in (1.0, -1.0):
            c = np.zeros(size)
            c[var] = sign
            result = milp(c, constraints=LinearConstraint(a, lo, hi) if self.rows else None,
                          integrality=np.ones(size), bounds=Bounds([b[0] for b in self.bounds],
                                                                    [b[1] for b in self.bounds]))
            assert result.status == 0, result.message  # the true values are always a solution
            ends.append(sign * result.fun)
        return ends[0], ends[1]

    def disclosed(self) -> list[tuple[int, float]]:
        """The "<min_cell" counts a reader can pin to one value, with that value."""
        out = []
        for var in self.small:
            low, high = self._range(var)
            if round(high) - round(low) < 1:
                out.append((var, low))
        return out
