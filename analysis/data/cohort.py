"""The validated cohort of a study: the extract read, mapped, validated and selected, once.

`load_cohort` is the entry: it reads the file (`analysis.data.readers`), applies the mapping and
validates every cell (`analysis.data.validate`), raises `DataValidationError` listing every error,
and applies the inclusion criteria (`analysis.data.inclusion`).  The file is only ever read.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.data.inclusion import Criterion, apply_inclusion
from analysis.data.problems import DataValidationError, Problem
from analysis.data.readers import lines_of, read_table
from analysis.data.validate import validate

__all__ = ["Cohort", "file_sha256", "load_cohort"]


@dataclass(frozen=True, eq=False)
class Cohort:
    """A validated cohort: analysis columns with event dates as days after HCT.

    The flow is `n_records` records in the extract -> `exclusions` (reason, count), each record
    counted under exactly one reason -> `n` patients analysed; `n_records == n + n_excluded`.
    `criteria` describes the study's inclusion criteria in words (empty: every valid record).
    `warnings` hold patient-level detail (lines, ids, values): show only their counts.
    """

    data: pd.DataFrame
    source: str
    sha256: str
    synthetic: bool
    n_records: int
    warnings: tuple[Problem, ...] = field(default=())
    exclusions: tuple[tuple[str, int], ...] = field(default=())
    criteria: tuple[str, ...] = field(default=())

    @property
    def n(self) -> int:
        return len(self.data)

    @property
    def n_excluded(self) -> int:
        return sum(k for _, k in self.exclusions)

    @property
    def flow(self) -> tuple[tuple[str, int, bool], ...]:
        """(label, count, is_exclusion) steps: records, each exclusion reason, analysed."""
        steps = [("Records in the extract", self.n_records, False)]
        steps += [(reason, k, True) for reason, k in self.exclusions]
        steps.append(("Patients analysed", self.n, False))
        return tuple(steps)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_cohort(
    path: str | Path,
    *,
    synthetic: bool | None = None,
    encoding: str | None = None,
    sheet: str | int | None = None,
    mapping=None,
    include: Sequence[Criterion] = (),
    today: dt.date | None = None,
) -> Cohort:
    """Read, map, validate and select an extract; raise DataValidationError listing every error.

    The file is only read.  `mapping` is a study's `Mapping`; `include` its inclusion criteria.
    """
    path = Path(path)
    raw = read_table(path, encoding=encoding, sheet=sheet)
    frame, problems = validate(raw, source=str(path), today=today, mapping=mapping)
    if any(p.severity == "error" for p in problems):
        raise DataValidationError(str(path), problems)
    keep, exclusions, inclusion_problems = apply_inclusion(frame, tuple(include))
    if inclusion_problems:
        raise DataValidationError(str(path), inclusion_problems + problems)
    if synthetic is None:
        synthetic = "synthetic" in path.resolve().parts
    kept_lines = set(np.asarray(lines_of(raw))[keep].tolist()) if problems else set()
    return Cohort(
        data=frame.loc[keep].reset_index(drop=True),
        source=path.name,
        sha256=file_sha256(path),
        synthetic=synthetic,
        n_records=len(raw),
        # the warnings of the records analysed (an excluded record's are not the report's concern)
        warnings=tuple(p for p in problems if p.severity == "warning" and (p.line is None or p.line in kept_lines)),
        exclusions=exclusions,
        criteria=tuple(c.describe() for c in include),
    )
