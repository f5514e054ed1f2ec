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

import pandas as pd

from analysis.data.changes import AuditEntry, RecordChanges
from analysis.data.inclusion import Criterion, apply_inclusion
from analysis.data.paths import shown_path
from analysis.data.problems import DataValidationError, Problem
from analysis.data.schema import use_study_columns
from analysis.data.validate import read_and_validate

__all__ = ["Cohort", "file_sha256", "load_cohort"]


@dataclass(frozen=True, eq=False)
class Cohort:
    """A validated cohort: analysis columns with event dates as days after HCT.

    The flow is `n_records` records in the extract -> `exclusions` (reason, count), each record
    counted under exactly one reason -> `n` patients analysed; `n_records == n + n_excluded`.
    The study file's own exclusions (`exclude:`) come first, then its inclusion criteria.
    `criteria` describes the study's inclusion criteria in words (empty: every valid record).
    `audit` lists what the study file changed before validation (exclusions and corrections,
    by reason), the extract itself being untouched.  `follow_up_ends_at_first_event`: the
    extract's only vital status is a competing-risks status column, so a relapsed patient is
    followed to the relapse only (overall survival censors them there).
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
    audit: tuple[AuditEntry, ...] = field(default=())
    follow_up_ends_at_first_event: bool = False

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
    changes: RecordChanges | None = None,
    today: dt.date | None = None,
    extract_date: dt.date | None = None,
) -> Cohort:
    """Read, change, map, validate and select an extract; raise DataValidationError listing every error.

    The file is only read.  `mapping` is a study's `Mapping`; `include` its inclusion criteria;
    `changes` its record exclusions and corrections; `extract_date` the day the extract was made
    (no date may be later; without it, no date may be after `today`).  The study's own columns
    and levels become part of the label table (`analysis.data.schema.use_study_columns`).
    """
    path = Path(path)
    frame, problems, n_records = read_and_validate(path, encoding=encoding, sheet=sheet, today=today, mapping=mapping,
                                                   changes=changes, extract_date=extract_date)
    if any(p.severity == "error" for p in problems):
        raise DataValidationError(shown_path(path), problems)
    keep, exclusions, inclusion_problems = apply_inclusion(frame, tuple(include))
    if inclusion_problems:
        raise DataValidationError(shown_path(path), inclusion_problems + problems)
    if synthetic is None:
        synthetic = "synthetic" in path.resolve().parts
    warnings = [p for p in problems if p.severity == "warning"]
    if warnings and not keep.all():
        # the warnings of the records analysed (an excluded record's are not the report's concern)
        kept_ids = set(frame.loc[keep, "patient_id"])
        warnings = [p for p in warnings if p.line is None or p.patient_id in kept_ids]
    use_study_columns(mapping.study_columns() if hasattr(mapping, "study_columns") else ())
    changes = changes or RecordChanges()
    if not keep.all():
        frame = frame.loc[keep]  # (a new frame; its index renumbered without copying the columns again)
        frame.index = pd.RangeIndex(len(frame))
    return Cohort(
        data=frame,
        source=path.name,
        sha256=file_sha256(path),
        synthetic=synthetic,
        n_records=n_records,
        warnings=tuple(warnings),
        exclusions=changes.exclusion_counts() + exclusions,
        criteria=tuple(c.describe() for c in include),
        audit=changes.audit(),
        follow_up_ends_at_first_event=bool(getattr(mapping, "follow_up_ends_at_first_event", False)),
    )
