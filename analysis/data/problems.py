"""What is wrong with an extract: one `Problem` per defect, all of them raised together."""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DataValidationError", "MAX_LISTED", "Problem", "RepeatedWarning", "file_problem", "summarise_warnings"]

MAX_LISTED = 100  # errors spelled out in the exception's message (all are in `.problems`)
REPEATED = 3  # a warning of one kind on more records than this is shown as one line with its count
FIRST_IDS = 5  # the patients a summarised warning names


@dataclass(frozen=True)
class Problem:
    """One defect in the input: where it is, what it holds and why it is wrong.

    `column` is the SPEC name; `source_column` the registry's own name when a study mapping
    renamed it.  `line` is the record's line in a CSV file (header = line 1; a quoted value
    spanning lines counts from its first line), its row in a worksheet, and the record number + 1
    in a Parquet file.
    """

    line: int | None  # None for file-level problems
    patient_id: str | None
    column: str | None
    value: str | None
    message: str
    severity: str = "error"  # "error" stops the run; "warning" is shown in the report
    source_column: str | None = None

    @property
    def column_label(self) -> str:
        if self.source_column and self.column and self.source_column != self.column:
            return f"{self.source_column} ({self.column})"
        return self.column or self.source_column or ""

    def __str__(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.patient_id:
            where.append(f"patient {self.patient_id}")
        if self.column_label:
            where.append(f"column {self.column_label}")
        value = f" (value {self.value!r})" if self.value not in (None, "") else ""
        prefix = ", ".join(where) or "file"
        return f"{self.severity.upper()}: {prefix}: {self.message}{value}"


@dataclass(frozen=True)
class RepeatedWarning:
    """One kind of warning on many records, shown as one line: its count and the first patients."""

    column: str
    message: str
    count: int
    first: tuple[str, ...]  # the first patients (or lines) it concerns

    def __str__(self) -> str:
        more = ", ..." if self.count > len(self.first) else ""
        return f"WARNING: column {self.column}: {self.message}: {self.count} records (first: {', '.join(self.first)}{more})"


def summarise_warnings(problems) -> list:
    """The problems with each kind of warning (column and message) repeated on more than `REPEATED`
    records replaced by one `RepeatedWarning` where it first occurs; errors and rare warnings as they are.

    An empty column of 737 deaths' causes is then one line, not 737.
    """
    kinds: dict[tuple[str, str], list[Problem]] = {}
    for p in problems:
        if p.severity != "error" and p.line is not None:
            kinds.setdefault((p.column_label, p.message), []).append(p)
    out, shown = [], set()
    for p in problems:
        key = (p.column_label, p.message)
        group = kinds.get(key) if p.severity != "error" and p.line is not None else None
        if group is None or len(group) <= REPEATED:
            out.append(p)
        elif key not in shown:
            shown.add(key)
            first = tuple(q.patient_id or f"line {q.line}" for q in group[:FIRST_IDS])
            out.append(RepeatedWarning(key[0], key[1], len(group), first))
    return out


class DataValidationError(ValueError):
    """Raised with every error found in an extract; nothing has been written."""

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = list(problems)
        errors = self.errors
        shown = "\n".join(f"  {p}" for p in errors[:MAX_LISTED])
        more = f"\n  ... and {len(errors) - MAX_LISTED} more" if len(errors) > MAX_LISTED else ""
        super().__init__(f"{source}: {len(errors)} problem(s) found:\n{shown}{more}")

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity != "error"]


def file_problem(message: str) -> Problem:
    return Problem(None, None, None, None, message)
