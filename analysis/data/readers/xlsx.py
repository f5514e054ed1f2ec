"""Excel workbooks (`.xlsx`, `.xlsm`): the first worksheet, or one chosen by name or number."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.data.cells import cell_text
from analysis.data.problems import DataValidationError, file_problem
from analysis.data.readers.frame import assemble, split_header

__all__ = ["SUFFIXES", "read"]

SUFFIXES = (".xlsx", ".xlsm")


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
    return assemble(header, rows, lines, [])
