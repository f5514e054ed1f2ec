"""Excel workbooks (`.xlsx`, `.xlsm`): the first worksheet, or one chosen by name or number.

Cells are read as Excel saved them (`data_only`): a formula's cached value.  A workbook written by
a program that stores formulas without computing them has no value to read; such a cell is an
error naming it, never an empty cell (which would silently become a missing value).
"""
from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pandas as pd

from analysis.data.cells import cell_text
from analysis.data.problems import DataValidationError, Problem, file_problem
from analysis.data.readers.frame import assemble, split_header

__all__ = ["SUFFIXES", "read"]

SUFFIXES = (".xlsx", ".xlsm")


_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")  # a <f> (formula) element of a worksheet's XML


def _has_formulas(path: Path) -> bool:
    """Whether any worksheet of the workbook holds a formula (most exports hold none: one fast scan)."""
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                with archive.open(name) as part:
                    tail = b""
                    for block in iter(lambda: part.read(1 << 20), b""):
                        if _FORMULA.search(tail + block):
                            return True
                        tail = block[-16:]
    return False


def _unsaved_formulas(path: Path, title: str, values: dict[int, list[str]], header: list[str] | None) -> list[Problem]:
    """Formula cells whose value Excel never saved: each named by its cell, line and column."""
    import openpyxl
    from openpyxl.utils import get_column_letter

    workbook = openpyxl.load_workbook(path, read_only=True, data_only=False)
    problems = []
    try:
        for number, row in enumerate(workbook[title].iter_rows(values_only=True), start=1):
            saved = values.get(number, [])
            for k, formula in enumerate(row):
                is_formula = isinstance(formula, str) and formula.startswith("=") or type(formula).__name__ == "ArrayFormula"
                if is_formula and (k >= len(saved) or saved[k] == ""):
                    column = header[k] if header and k < len(header) and header[k] else None
                    text = formula if isinstance(formula, str) else getattr(formula, "text", str(formula))
                    problems.append(Problem(number, None, column, text, f"cell {get_column_letter(k + 1)}{number} holds "
                                            "a formula whose value was never saved: open the workbook in Excel and save it "
                                            "(or paste the values) so that the value is stored"))
    finally:
        workbook.close()
    return problems


def read(path: Path, sheet: str | int | None) -> pd.DataFrame:
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds on a damaged or foreign file
        raise DataValidationError(str(path), [file_problem(f"cannot read the workbook: {type(error).__name__}: {error}")])
    try:
        names = workbook.sheetnames
        if sheet is None or sheet == "":
            worksheet = workbook.worksheets[0]
        elif isinstance(sheet, int) or (isinstance(sheet, str) and sheet not in names and sheet.isdigit()):
            index = int(sheet)
            if not 0 <= index < len(names):
                raise DataValidationError(str(path), [file_problem(
                    f"no sheet number {index} (0 is the first); the workbook has {len(names)}: {', '.join(names)}")])
            worksheet = workbook.worksheets[index]
        elif sheet in names:
            worksheet = workbook[sheet]
        else:
            raise DataValidationError(str(path), [file_problem(
                f"no sheet named {sheet!r}; the workbook has: {', '.join(names)}")])
        records: list[tuple[int, list[str]]] = []
        try:
            for number, values in enumerate(worksheet.iter_rows(values_only=True), start=1):
                cells = [cell_text(v) for v in values]
                if any(cells):
                    records.append((number, cells))
        except DataValidationError:
            raise
        except Exception as error:
            raise DataValidationError(str(path), [file_problem(
                f"cannot read sheet {worksheet.title!r}: {type(error).__name__}: {error}")])
    finally:
        workbook.close()
    header, rows, lines = split_header(records)
    if header is None:
        raise DataValidationError(str(path), [file_problem(f"sheet {worksheet.title!r} is empty (no header row)")])
    problems = _unsaved_formulas(path, worksheet.title, dict(records), header) if _has_formulas(path) else []
    return assemble(header, rows, lines, problems)
