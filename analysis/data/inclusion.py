"""A study's inclusion criteria (`include:`): which records it analyses, and why the others are not.

Each excluded record is counted under the first criterion it fails, so every record of the
extract is analysed or counted under exactly one reason.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.data.cells import cell_text, map_distinct
from analysis.data.problems import Problem
from analysis.data.schema import BY_NAME, column_label, lower_first
from analysis.data.study_file import did_you_mean

__all__ = ["Criterion", "apply_inclusion", "criteria_from_settings"]


@dataclass(frozen=True)
class Criterion:
    """One inclusion criterion of a study: `column` in `values`, or within [minimum, maximum].

    A record that fails it is excluded with `reason(...)`; a record whose value is not
    recorded is excluded as "`column` not recorded" (it cannot be shown to qualify).
    """

    column: str
    values: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None

    def describe(self) -> str:
        label = lower_first(column_label(self.column))
        if self.values:
            return f"{label}: {', '.join(self.values)}"
        parts = []
        if self.minimum is not None:
            parts.append(f"{label} ≥ {self.minimum:g}")
        if self.maximum is not None:
            parts.append(f"{label} ≤ {self.maximum:g}")
        return ", ".join(parts)

    def reasons(self, frame: pd.DataFrame) -> list[tuple[str, np.ndarray]]:
        """(reason, mask of the records failing for it), in order."""
        label = lower_first(column_label(self.column))
        values = frame[self.column]
        unknown = values.isna().to_numpy()
        out = [(f"{label} not recorded", unknown)]
        if self.values:
            text = map_distinct(values, lambda v: f"{v:g}" if isinstance(v, float) else str(v), na_value=None)
            out.append((f"{label} other than {' or '.join(self.values)}",
                        (~unknown) & ~text.isin(self.values).to_numpy()))
        if self.minimum is not None:
            out.append((f"{label} below {self.minimum:g}", (~unknown) & (values < self.minimum).to_numpy()))
        if self.maximum is not None:
            out.append((f"{label} above {self.maximum:g}", (~unknown) & (values > self.maximum).to_numpy()))
        return out


def apply_inclusion(frame: pd.DataFrame, criteria: Sequence[Criterion]
                    ) -> tuple[np.ndarray, tuple[tuple[str, int], ...], list[Problem]]:
    """Which records meet every criterion (a mask), the (reason, count) of the others, and problems.

    A record failing several criteria is counted under the first (in the study file's order),
    so every record is analysed or counted under exactly one reason.  A criterion on a column
    the extract lacks is an error.
    """
    problems = [Problem(None, None, c.column, None, "inclusion criterion on a column the extract does not have")
                for c in criteria if c.column not in frame]
    excluded = np.zeros(len(frame), dtype=bool)
    if problems:
        return ~excluded, (), problems
    counts: dict[str, int] = {}
    for criterion in criteria:
        for reason, mask in criterion.reasons(frame):
            newly = mask & ~excluded
            if newly.any():
                counts[reason] = counts.get(reason, 0) + int(newly.sum())
            excluded |= mask
    return ~excluded, tuple(counts.items()), []


def _keys() -> list[str]:
    """What `include:` accepts: the SPEC columns a study can select on, and `_min` / `_max` of numbers."""
    keys = [c.name for c in BY_NAME.values() if c.kind not in ("id", "date")]
    return keys + [f"{c.name}{end}" for c in BY_NAME.values() if c.kind in ("number", "integer")
                   for end in ("_min", "_max")]


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def criteria_from_settings(value, problems: list[str]) -> tuple[Criterion, ...]:
    """`include:` of a study file -> criteria (`column: [values]`, `column_min: x`, `column_max: x`);
    each problem is appended to `problems`."""
    if value is None:
        return ()
    if not isinstance(value, dict):
        problems.append("include: expected column: [values], column_min: number or column_max: number")
        return ()
    order: list[str] = []
    values: dict[str, tuple[str, ...]] = {}
    bounds: dict[str, dict[str, float]] = {}
    for key, setting in value.items():
        key = str(key)
        column, bound = key, None
        for suffix in ("_min", "_max"):
            if key.endswith(suffix) and key[: -len(suffix)] in BY_NAME:
                column, bound = key[: -len(suffix)], suffix[1:]
        spec = BY_NAME.get(column)
        if spec is None or spec.kind in ("id", "date"):
            problems.append(f"include.{key}: not a column a study can select on "
                            f"(use a SPEC column, or column_min / column_max for numbers){did_you_mean(key, _keys())}")
            continue
        if bound is not None:
            if spec.kind not in ("number", "integer"):
                problems.append(f"include.{key}: {column} is not a number")
                continue
            if not _is_number(setting):
                problems.append(f"include.{key}: expected a number, got {setting!r}")
                continue
            bounds.setdefault(column, {})[bound] = float(setting)
        else:
            listed = setting if isinstance(setting, list) else [setting]
            if not listed or not all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in listed):
                problems.append(f"include.{key}: expected a list of values, got {setting!r}")
                continue
            listed = tuple(cell_text(v) for v in listed)
            if spec.kind == "code":
                wrong = [v for v in listed if v not in spec.codes]
                if wrong:
                    problems.append(f"include.{key}: {', '.join(wrong)} not a code of {column} "
                                    f"(expected {', '.join(spec.codes)})")
                    continue
            values[column] = listed
        if column not in order:
            order.append(column)
    criteria = []
    for column in order:
        low, high = bounds.get(column, {}).get("min"), bounds.get(column, {}).get("max")
        if low is not None and high is not None and low > high:
            problems.append(f"include: {column}_min {low:g} is above {column}_max {high:g}")
        criteria.append(Criterion(column, values.get(column, ()), low, high))
    return tuple(criteria)
