"""Excel workbooks (`.xlsx`, `.xlsm`): the first worksheet, or one chosen by name or number.

Cells are read by calamine (a Rust reader, python-calamine) as Excel saved them: a formula's cached
value.  A workbook written by a program that stores formulas without computing them has no value to
read; such a cell is an error naming it, never an empty cell (which would silently become a missing
value).  Calamine does not show formulas, so those cells are found in the worksheet's XML: a bulk
search for formula elements, then a look at each formula cell only (most exports hold none).
"""
from __future__ import annotations

import posixpath
import re
import zipfile
from html import unescape
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import pandas as pd

from analysis.data.cells import cell_text
from analysis.data.problems import DataValidationError, Problem, file_problem
from analysis.data.readers.frame import TEXT, assemble, header_names, split_header, with_lines

__all__ = ["SUFFIXES", "read"]

SUFFIXES = (".xlsx", ".xlsm")

_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")  # a <f> (formula) element of a worksheet's XML
_CELL_START = re.compile(rb"<(?:\w+:)?c[\s>]")
_CELL_END = re.compile(rb"</(?:\w+:)?c>")
_CELL_REF = re.compile(rb'\sr="([A-Z]+)([0-9]+)"')
_FORMULA_TEXT = re.compile(rb"<(?:\w+:)?f(?:\s[^>]*)?>(.*?)</(?:\w+:)?f>", re.S)
_SAVED_VALUE = re.compile(rb"<(?:\w+:)?v>[^<]+</(?:\w+:)?v>|<(?:\w+:)?is>")
_RELATIONSHIPS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _sheet_part(archive: zipfile.ZipFile, title: str) -> str | None:
    """The worksheet XML part of the sheet named `title` (workbook.xml and its relationships)."""
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    relationships = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target") for r in relationships}
    for sheet in workbook.iter():
        if sheet.tag.endswith("}sheet") and sheet.get("name") == title:
            target = targets.get(sheet.get(_RELATIONSHIPS))
            if target is None:
                return None
            return target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
    return None


def _letters(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _unsaved_formulas(path: Path, title: str, header: list[str] | None) -> list[Problem]:
    """Formula cells whose value Excel never saved: each named by its cell, line and column."""
    with zipfile.ZipFile(path) as archive:
        part = _sheet_part(archive, title)
        if part is None or part not in archive.namelist():
            return []
        xml = archive.read(part)
    problems = []
    end = 0
    for found in _FORMULA.finditer(xml):
        if found.start() < end:
            continue  # (a second <f> in the same cell)
        starts = list(_CELL_START.finditer(xml, max(0, found.start() - 4096), found.start()))
        closing = _CELL_END.search(xml, found.start())
        if not starts or closing is None:
            continue
        start, end = starts[-1].start(), closing.end()
        cell = xml[start:end]
        reference = _CELL_REF.search(cell[:cell.find(b">") + 1])
        if reference is None or _SAVED_VALUE.search(cell):
            continue
        column, row = _column_number(reference.group(1)), int(reference.group(2))
        name = header[column - 1] if header and column - 1 < len(header) and header[column - 1] else None
        text = _FORMULA_TEXT.search(cell)
        formula = "=" + unescape(text.group(1).decode("utf-8")) if text else None
        problems.append(Problem(row, None, name, formula, f"cell {_letters(column)}{row} holds a formula whose value "
                                "was never saved: open the workbook in Excel and save it (or paste the values) so "
                                "that the value is stored"))
    return problems


def _text_columns(rows: list[list]) -> list[np.ndarray]:
    """The sheet's cells as text, column by column; each distinct value of a column converted once."""
    columns = []
    for values in zip(*rows):
        codes, distinct = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=False)
        texts = np.empty(len(distinct), dtype=object)
        texts[:] = [cell_text(v) for v in distinct]
        columns.append(texts[codes])
    return columns


def _sheet_title(path: Path, names: list[str], sheet: str | int | None) -> str:
    if sheet is None or sheet == "":
        return names[0]
    if isinstance(sheet, int) or (isinstance(sheet, str) and sheet not in names and sheet.isdigit()):
        index = int(sheet)
        if not 0 <= index < len(names):
            raise DataValidationError(str(path), [file_problem(
                f"no sheet number {index} (0 is the first); the workbook has {len(names)}: {', '.join(names)}")])
        return names[index]
    if sheet in names:
        return sheet
    raise DataValidationError(str(path), [file_problem(f"no sheet named {sheet!r}; the workbook has: {', '.join(names)}")])


def read(path: Path, sheet: str | int | None) -> pd.DataFrame:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        names = list(workbook.sheet_names)
    except Exception as error:  # calamine raises several kinds on a damaged or foreign file
        raise DataValidationError(str(path), [file_problem(f"cannot read the workbook: {type(error).__name__}: {error}")])
    try:
        title = _sheet_title(path, names, sheet)
        try:
            rows = workbook.get_sheet_by_name(title).to_python(skip_empty_area=False)
        except Exception as error:
            raise DataValidationError(str(path), [file_problem(
                f"cannot read sheet {title!r}: {type(error).__name__}: {error}")])
    finally:
        workbook.close()
    columns = _text_columns(rows)
    del rows
    filled = np.zeros((len(columns), len(columns[0]) if columns else 0), dtype=bool)
    for k, column in enumerate(columns):
        filled[k] = column != ""
    counts = filled.sum(axis=0)
    header_row = int(np.argmax(counts >= 2)) if (counts >= 2).any() else (int(np.argmax(counts > 0)) if counts.any() else None)
    if header_row is None:
        raise DataValidationError(str(path), [file_problem(f"sheet {title!r} is empty (no header row)")])
    header = header_names([column[header_row] for column in columns])
    numbers = np.flatnonzero(counts[header_row + 1:] > 0) + header_row + 1  # the records: rows not blank
    problems = _unsaved_formulas(path, title, header) if _has_formulas(path) else []
    named = {name: k for k, name in enumerate(header) if name}
    nameless_with_values = any(filled[k, numbers].any() for k, name in enumerate(header) if not name)
    if len(named) != sum(1 for name in header if name) or nameless_with_values:
        # structural defects: the general assembly names them
        records = [(int(i) + 1, [column[i] for column in columns]) for i in [header_row, *numbers]]
        header, rows, lines = split_header(records)
        return assemble(header, rows, lines, problems)
    frame = pd.DataFrame({name: pd.array(columns[k][numbers], dtype=TEXT) for name, k in named.items()},
                         index=pd.RangeIndex(len(numbers)), copy=False)
    return with_lines(frame, numbers + 1, problems)


def _has_formulas(path: Path) -> bool:
    """Whether any worksheet of the workbook holds a formula (most exports hold none: one fast scan).

    A formula is an <f> element, with or without a namespace prefix, found by its closing tag (a
    shared formula's later cells, <f t="shared" si="0"/>, follow the one that holds its text):
    plain substring searches, not a regular expression tried at every tag."""
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                with archive.open(name) as part:
                    tail = b""
                    for block in iter(lambda: part.read(1 << 22), b""):
                        text = tail + block
                        if b"</f>" in text or b":f>" in text:
                            return True
                        tail = block[-64:]
    return False
