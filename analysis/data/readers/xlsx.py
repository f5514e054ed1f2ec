"""Excel workbooks (`.xlsx`, `.xlsm`): the first worksheet, or one chosen by name or number.

Cells are read by calamine (a Rust reader) as Excel saved them: a formula's cached value.  fastexcel
reads them through calamine into typed Arrow columns (numbers, dates, flags, text: no Python object
per cell), whose text is `cell_text`'s, computed once per distinct value.  A column whose text cannot
be told from its Arrow type (text mixed with numbers, flags or dates in one column; text fastexcel
takes for a missing value, "n/a" or "NULL", among numbers; times of day or durations) sends the sheet
to python-calamine's cell-by-cell reading, which gives `cell_text` each cell's own Python value: the
same text either way, only slower (tests/data/test_xlsx_reading.py reads workbooks both ways).

A workbook written by a program that stores formulas without computing them has no value to read;
such a cell is an error naming it, never an empty cell (which would silently become a missing
value).  Calamine does not show formulas, so those cells are found in the worksheet's XML: a bulk
search for formula elements, then a look at each formula cell only (most exports hold none).  An
error cell (#N/A, #DIV/0!, #REF!: typed "e" in the XML, saved by Excel for a failed formula or a
pasted error) has no value either, and calamine reads it as an empty cell: it is an error naming its
cell and the error, found by the same scan.
"""
from __future__ import annotations

import logging
import posixpath
import re
import zipfile
from concurrent.futures import ThreadPoolExecutor
from html import unescape
from pathlib import Path
from typing import NamedTuple
from xml.etree import ElementTree

import numpy as np
import pandas as pd

from analysis.data.cells import cell_text
from analysis.data.problems import DataValidationError, Problem, file_problem
from analysis.data.readers.frame import TEXT, arrow_text_column, assemble, header_names, with_lines

__all__ = ["SUFFIXES", "read"]

SUFFIXES = (".xlsx", ".xlsm")

_FORMULA = re.compile(rb"<(?:\w+:)?f[\s>/]")  # a <f> (formula) element of a worksheet's XML
_CELL_START = re.compile(rb"<(?:\w+:)?c[\s>]")
_CELL_END = re.compile(rb"</(?:\w+:)?c>")
_CELL_REF = re.compile(rb'\sr="([A-Z]+)([0-9]+)"')
_FORMULA_TEXT = re.compile(rb"<(?:\w+:)?f(?:\s[^>]*)?>(.*?)</(?:\w+:)?f>", re.S)
_SAVED_VALUE = re.compile(rb"<(?:\w+:)?v>[^<]+</(?:\w+:)?v>|<(?:\w+:)?is>")
_ERROR_CELL = re.compile(rb"""<(?:\w+:)?c\s[^>]*\bt\s*=\s*["']e["'][^>]*>""")  # a cell typed as an error
_ERROR_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>")
_RELATIONSHIPS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def _sheet_part(archive: zipfile.ZipFile, title: str) -> str | None:
    """The worksheet XML part of the sheet named `title` (workbook.xml and its relationships); None
    when the workbook does not say, or names a part the archive does not hold."""
    workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
    relationships = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    targets = {r.get("Id"): r.get("Target") for r in relationships}
    for sheet in workbook.iter():
        if sheet.tag.endswith("}sheet") and sheet.get("name") == title:
            target = targets.get(sheet.get(_RELATIONSHIPS))
            if target is None:
                return None
            part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
            return part if part in archive.namelist() else None
    return None


def _letters(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _sheet_xml(path: Path, title: str) -> bytes:
    """The worksheet XML of the sheet named `title` (empty when the workbook does not say which part)."""
    with zipfile.ZipFile(path) as archive:
        part = _sheet_part(archive, title)
        return archive.read(part) if part is not None else b""


def _column_name(header: list[str] | None, column: int) -> str | None:
    return header[column - 1] if header and column - 1 < len(header) and header[column - 1] else None


def _error_cells(xml: bytes, header: list[str] | None) -> list[Problem]:
    """Cells holding an error (#N/A, #DIV/0!, ...): each named by its cell, line, column and error."""
    problems = []
    for found in _ERROR_CELL.finditer(xml):
        reference = _CELL_REF.search(found.group(0))
        if reference is None:
            continue
        closing = _CELL_END.search(xml, found.end())
        value = _ERROR_VALUE.search(xml, found.end(), closing.start() if closing else found.end())
        error = unescape(value.group(1).decode("utf-8")) if value else None
        column, row = _column_number(reference.group(1)), int(reference.group(2))
        problems.append(Problem(row, None, _column_name(header, column), error,
                                f"cell {_letters(column)}{row} holds the error {error or '(unnamed)'}, not a value: "
                                "correct it in the workbook, or leave the cell empty if the value is unknown"))
    return problems


def _unsaved_formulas(xml: bytes, header: list[str] | None) -> list[Problem]:
    """Formula cells whose value Excel never saved: each named by its cell, line and column."""
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
        name = _column_name(header, column)
        text = _FORMULA_TEXT.search(cell)
        formula = "=" + unescape(text.group(1).decode("utf-8")) if text else None
        problems.append(Problem(row, None, name, formula, f"cell {_letters(column)}{row} holds a formula whose value "
                                "was never saved: open the workbook in Excel and save it (or paste the values) so "
                                "that the value is stored"))
    return problems


class _Cells(NamedTuple):
    """A sheet's header row and the rows below it as text, every column from column A."""
    header: list[str]
    columns: list  # one Arrow string array per column, "" where empty
    first_line: int  # the sheet row of the columns' first cell


def _header_index(counts: np.ndarray) -> int | None:
    """The header among rows holding `counts` values: the first row of two or more values (title
    lines above a table are not records), else the first row of one, else none (an empty sheet)."""
    if (counts >= 2).any():
        return int(np.argmax(counts >= 2))
    return int(np.argmax(counts > 0)) if counts.any() else None


def _filled(columns: list) -> np.ndarray:
    """Which cells hold a value: one row per column."""
    import pyarrow.compute as pc

    filled = np.zeros((len(columns), len(columns[0]) if columns else 0), dtype=bool)
    for k, column in enumerate(columns):
        filled[k] = pc.not_equal(column, "").to_numpy(zero_copy_only=False)
    return filled


def _cells_one_by_one(path: Path, title: str) -> _Cells:
    """The sheet through python-calamine: a Python value per cell, each distinct one given to `cell_text`."""
    import pyarrow as pa
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        try:
            rows = workbook.get_sheet_by_name(title).to_python(skip_empty_area=False)
        finally:
            workbook.close()
    except Exception as error:  # calamine raises several kinds on a damaged or foreign file
        raise DataValidationError(str(path), [file_problem(f"cannot read sheet {title!r}: {type(error).__name__}: {error}")])
    columns = []
    for values in zip(*rows):
        codes, distinct = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=False)
        texts = pa.array([cell_text(v) for v in distinct], type=pa.string())
        columns.append(texts.take(pa.array(codes)))
    del rows
    header_row = _header_index(_filled(columns).sum(axis=0))
    if header_row is None:
        return _Cells([], [], 1)
    header = [column[header_row].as_py() for column in columns]
    return _Cells(header, [column[header_row + 1:] for column in columns], header_row + 2)


# Texts that fastexcel gives a text column's number, flag or date cells: a column holding one of them
# may mix cell types, whose texts differ (the number 0.1234567891 becomes "0.123456789", the date
# 2010-04-01 "2010-04-01 00:00:00", the flag TRUE "true").
_NUMBER_OR_FLAG_TEXT = r"^(-?[0-9]+(\.[0-9]+)?|true|false)$"
_DATETIME_TEXT = r"^-?[0-9]{4,}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?$"
_DATE_TEXT = r"^-?[0-9]{4,}-[0-9]{2}-[0-9]{2}$"
_FIRST_DAY = np.datetime64("1900-03-01", "ms")  # earlier "dates" are times of day or durations


def _first_row(path: Path, title: str) -> tuple[int, int] | None:
    """The sheet row of the first cell holding a value (where calamine's cells start) and how many
    cells of that row hold one, from the beginning of the worksheet's XML; None when it is not there."""
    with zipfile.ZipFile(path) as archive:
        part = _sheet_part(archive, title)
        if part is None:
            return None
        with archive.open(part) as stream:
            xml = stream.read(1 << 20)
    row, count = None, 0
    for found in _CELL_START.finditer(xml):
        opening_end = xml.find(b">", found.start())
        closing = _CELL_END.search(xml, found.start())
        if opening_end < 0 or closing is None:
            return None  # (beyond the part read)
        if xml[opening_end - 1:opening_end] == b"/" or not _SAVED_VALUE.search(xml, opening_end, closing.start()):
            continue  # a cell without a value
        reference = _CELL_REF.search(xml[found.start():opening_end + 1])
        if reference is None:
            return None
        if row is not None and int(reference.group(2)) != row:
            return row, count
        row, count = int(reference.group(2)), count + 1
    return None


def _typed_cells(path: Path, reader, title: str) -> _Cells | None:
    """The sheet through fastexcel, typed columns converted in Arrow; None when a column's cells
    cannot be told apart by its type (see the module's note)."""
    import pyarrow as pa

    first = _first_row(path, title)
    if first is None:
        return None
    header_row, valued = first[0] - 1, first[1]  # (fastexcel counts rows from 0)
    header = None  # the names of the first row read: fastexcel's
    for _ in range(2):
        sheet = reader.load_sheet(title, header_row=header_row, schema_sample_rows=None, dtype_coercion="coerce")
        infos = sheet.available_columns()
        batch, errors = sheet.to_arrow_with_errors()
        width = infos[-1].absolute_index + 1 if infos else 0
        blank = pa.array([""] * batch.num_rows, type=pa.string())  # (columns left of the first one read)
        columns: list = [blank] * width
        names = [""] * width
        for k, info in enumerate(infos):
            columns[info.absolute_index] = arrow_text_column(batch.column(k))
            names[info.absolute_index] = "" if info.column_name_from == "generated" else info.name
        if header is None:
            # A date or a flag as a name is not shown (a generated name, as for an empty cell), a number
            # is shown as fastexcel writes it and a duplicate renamed: those names are read cell by cell.
            if sum(1 for name in names if name.strip()) != valued or _ambiguous_names(names):
                return None
            header = names
        # Which cells are empty is right whatever the types: the header and the records are found first.
        counts = np.concatenate([[sum(1 for name in header if name.strip())], _filled(columns).sum(axis=0)])
        found = _header_index(counts)
        if found is None:
            return None  # (cells of spaces only: as empty to `cell_text`)
        if found == 0:
            return None if _mixed(reader, title, header_row, infos, batch, errors) else _Cells(header, columns, header_row + 2)
        # title lines above the table: read again from its header, whose texts this reading gave
        header = [column[found - 1].as_py() for column in columns]
        if _ambiguous_names(header):
            return None
        header_row += found
    return None


def _mixed(reader, title: str, header_row: int, infos, batch, errors) -> bool:
    """Whether a column's texts may not be `cell_text`'s: text in a column of numbers, dates or flags
    (fastexcel types a column of numbers and "n/a" or "NULL" as numbers, that text a conversion error,
    and "nan" as a number), durations, times of day (dates before 1900-03-01), and text columns
    holding texts that fastexcel gives numbers, flags or dates."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if errors is not None and any("got 'Error(" not in error.detail for error in errors.errors):
        return True  # (an error cell, #N/A, is empty, as it always was)
    numbers_or_flags = []
    for k, info in enumerate(infos):
        column = batch.column(k)
        if pa.types.is_duration(column.type):
            return True
        if pa.types.is_floating(column.type) and pc.any(pc.is_nan(column)).as_py():
            return True  # (Excel stores no NaN: the text "nan")
        if pa.types.is_timestamp(column.type) or pa.types.is_date(column.type):
            earliest = pc.min(column.cast(pa.timestamp("ms"))).as_py()
            if earliest is not None and np.datetime64(earliest, "ms") < _FIRST_DAY:
                return True
        if pa.types.is_string(column.type):
            distinct = pc.unique(column.drop_null())
            if pc.any(pc.match_substring_regex(distinct, _DATETIME_TEXT)).as_py():
                return True
            if pc.any(pc.match_substring_regex(distinct, _NUMBER_OR_FLAG_TEXT)).as_py():
                numbers_or_flags.append(_letters(info.absolute_index + 1))
    if not numbers_or_flags:
        return False
    # Read as flags, text cells are empty: ids written as text ("000123") are text, not numbers.
    flags = reader.load_sheet(title, header_row=header_row, schema_sample_rows=None, use_columns=",".join(numbers_or_flags),
                              dtypes="boolean", eager=True)
    return any(pc.count(column).as_py() for column in flags.columns)


def _may_be_typed(text: str) -> bool:
    """Whether a text may be fastexcel's text of a number (1e+20), a flag, a date or a date and time
    (a time of day in a header is written as the date 1899-12-31)."""
    if re.fullmatch(_NUMBER_OR_FLAG_TEXT, text) or re.fullmatch(_DATETIME_TEXT, text) or re.fullmatch(_DATE_TEXT, text):
        return True
    try:
        float(text)
    except ValueError:
        return False
    return True


def _ambiguous_names(header: list[str]) -> bool:
    """Whether a column name may be fastexcel's text of a number, flag or date (not `cell_text`'s),
    or its renaming of a duplicate (`id`, `id_1`): the names are then read cell by cell."""
    names = set(header)
    for name in header:
        if _may_be_typed(name.strip()):
            return True
        stem, underscore, number = name.rpartition("_")
        if underscore and number.isdigit() and stem in names:
            return True
    return False


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
    import fastexcel
    import pyarrow as pa

    logging.getLogger("fastexcel").setLevel(logging.ERROR)  # (it logs each column it reads as text)
    try:
        reader = fastexcel.read_excel(str(path))
        names = list(reader.sheet_names)
    except Exception as error:  # calamine raises several kinds on a damaged or foreign file
        raise DataValidationError(str(path), [file_problem(f"cannot read the workbook: {type(error).__name__}: {error}")])
    title = _sheet_title(path, names, sheet)
    # The scan for formulas and error cells decompresses the worksheets again: on a second core while
    # calamine reads (fastexcel releases the interpreter), which takes its time off the reading's.
    with ThreadPoolExecutor(max_workers=1) as scan:
        any_formula = scan.submit(_formulas_or_errors, path, title)
        try:
            cells = _typed_cells(path, reader, title)
        except Exception:  # e.g. fastexcel cannot type a column of dates, durations and text: cell by cell,
            cells = None  # which reads what calamine can (or names the sheet it cannot read)
        del reader
        if cells is None:
            cells = _cells_one_by_one(path, title)
        holds_formulas, holds_errors = any_formula.result()
    if not cells.header:
        raise DataValidationError(str(path), [file_problem(f"sheet {title!r} is empty (no header row)")])
    header, columns = header_names(cells.header), cells.columns
    filled = _filled(columns)
    numbers = np.flatnonzero(filled.sum(axis=0) > 0)  # the records: rows not blank
    lines = numbers + cells.first_line
    xml = _sheet_xml(path, title) if holds_formulas or holds_errors else b""
    problems = (_unsaved_formulas(xml, header) if holds_formulas else []) + (_error_cells(xml, header) if holds_errors else [])
    problems.sort(key=lambda p: (p.line, p.message))
    del xml
    named = {name: k for k, name in enumerate(header) if name}
    nameless_with_values = any(filled[k, numbers].any() for k, name in enumerate(header) if not name)
    if len(named) != sum(1 for name in header if name) or nameless_with_values:
        # structural defects: the general assembly names them
        texts = [column.to_pylist() for column in columns]
        rows = [[column[i] for column in texts] for i in numbers]
        return assemble(header, rows, lines.tolist(), problems)
    if len(numbers) < filled.shape[1]:  # blank rows: not records
        indices = pa.array(numbers)
        columns = [column.take(indices) for column in columns]
    frame = pd.DataFrame({name: pd.array(columns[k], dtype=TEXT) for name, k in named.items()},
                         index=pd.RangeIndex(len(numbers)), copy=False)
    return with_lines(frame, lines, problems)


def _formulas_or_errors(path: Path, title: str) -> tuple[bool, bool]:
    """Whether the sheet holds a formula, and whether it holds an error cell (most exports hold
    neither: one fast scan); every worksheet is scanned when the workbook does not say which part
    holds the sheet.

    A formula is an <f> element, with or without a namespace prefix, found by its closing tag (a
    shared formula's later cells, <f t="shared" si="0"/>, follow the one that holds its text); an
    error cell's type is "e" (t="e"): plain substring searches, a regular expression only where the
    value "e" occurs."""
    formulas = errors = False
    with zipfile.ZipFile(path) as archive:
        sheet = _sheet_part(archive, title)
        for name in [sheet] if sheet is not None else archive.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                with archive.open(name) as part:
                    tail = b""
                    for block in iter(lambda: part.read(1 << 22), b""):
                        text = tail + block
                        formulas = formulas or b"</f>" in text or b":f>" in text
                        errors = errors or ((b'"e"' in text or b"'e'" in text) and _ERROR_CELL.search(text) is not None)
                        if formulas and errors:
                            return True, True
                        tail = block[-64:]
    return formulas, errors
