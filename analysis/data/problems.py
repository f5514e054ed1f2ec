"""What is wrong with an extract: one `Problem` per defect, all of them raised together."""
from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DataValidationError", "MAX_LISTED", "Problem", "file_problem"]

MAX_LISTED = 100  # errors spelled out in the exception's message (all are in `.problems`)


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
