"""The text a file of a rendered site holds, whatever its name or format, for the patient-level data search.

`texts_of(data)` reads one file's bytes and returns every piece of text in it, each with where it
was found: the bytes themselves decoded (UTF-8, or UTF-16 with or without a byte-order mark), the
content of gzip, bzip2, xz, zip and tar archives (so of xlsx/docx/odt files too, whose parts are
zipped XML), the cells of xlsx workbooks and Parquet files with dates written as dates, the text,
metadata, annotations, form fields and attachments of PDFs (pypdf), the text metadata of images
(PNG tEXt/zTXt/iTXt chunks, EXIF, XMP, comments; Pillow), and files embedded in text as base64
`data:` URIs.  Containers are opened recursively, to a depth and a total size that a decompression
bomb cannot exceed; what cannot be opened is reported, never skipped silently.

`searchable_forms(text)` undoes the encodings a text can hide a value behind before it is matched:
HTML character references (`&#80;`), URL escapes (`%50`), JavaScript/JSON escapes (`\\u0050`),
zero-width characters, full-width and other compatibility forms (NFKC) and letter case; a second
form also drops markup tags, so that `P<b>12</b>345` reads `P12345`.  Line breaks are kept where
they were, so a line number in a form is the line in the file.
"""
from __future__ import annotations

import base64
import binascii
import bz2
import codecs
import datetime as dt
import gzip
import html
import io
import logging
import lzma
import re
import tarfile
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from urllib.parse import unquote

MAX_DEPTH = 4  # archives within archives: a site has no reason to nest deeper
MAX_EXPANDED_BYTES = 512 * 1024 * 1024  # all content unpacked from one file of the site


@dataclass(frozen=True)
class Text:
    """A piece of text found in a file, and where ("" for the file's own bytes)."""

    where: str
    text: str


@dataclass
class Extraction:
    """Every text of one file, and the parts of it that could not be read (with the reason)."""

    limit: int = MAX_EXPANDED_BYTES  # most bytes unpacked from the file, all containers together
    texts: list[Text] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    unpacked: int = 0

    @property
    def budget(self) -> int:
        return max(self.limit - self.unpacked, 0)

    def spend(self, size: int, where: str) -> bool:
        """Count `size` unpacked bytes; False (and the part reported) past the limit."""
        self.unpacked += size
        if self.unpacked > self.limit:
            megabytes = self.limit / (1024 * 1024)
            size_text = f"{megabytes:g} MiB" if megabytes >= 1 else f"{self.limit} bytes"
            self.unreadable.append(_about(where, f"unpacks to more than {size_text}"))
            self.unpacked = self.limit  # nothing more from this file
            return False
        return True


def _inside(where: str, part: str) -> str:
    return f"{where} > {part}" if where else part


def _about(where: str, message: str) -> str:
    """A reason a part could not be read, naming the part when it is not the file itself."""
    return f"{where}: {message}" if where else message


# --- decoding bytes ---------------------------------------------------------------------------------------

def decoded(data: bytes) -> list[str]:
    """The text of `data` as UTF-8, and as UTF-16 when its bytes say so."""
    if data.startswith(codecs.BOM_UTF8):
        return [data[3:].decode("utf-8", "replace")]
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return [data.decode("utf-16", "replace")]
    forms = [data.decode("utf-8", "replace")]
    # UTF-16 without a byte-order mark: ASCII text has a zero byte in every other position.
    half = len(data) // 2
    if half >= 2:
        if data[1::2].count(0) > 0.6 * half:
            forms.append(data[:2 * half].decode("utf-16-le", "replace"))
        elif data[0::2].count(0) > 0.6 * half:
            forms.append(data[:2 * half].decode("utf-16-be", "replace"))
    return forms


# --- undoing encodings ------------------------------------------------------------------------------------

_NEWLINE_REFERENCE = re.compile(r"&#(?:0*1[03]|[xX]0*[aAdD]);?|&NewLine;")
_PERCENT_NEWLINE = re.compile(r"%0[aAdD]")
_PERCENT_RUN = re.compile(r"(?:%[0-9a-fA-F]{2})+")
_JS_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})|\\x([0-9a-fA-F]{2})|\\u\{([0-9a-fA-F]{1,6})\}")
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff\u180e"), None)
_TAG = re.compile(r"<[/!?]?[A-Za-z][^<>]*>")


def _js_character(match: re.Match) -> str:
    code = int(next(g for g in match.groups() if g is not None), 16)
    if code in (10, 13):
        return " "  # a line break written as an escape is not a line of the file
    try:
        return chr(code)
    except (ValueError, OverflowError):
        return match.group(0)


def _decode_once(text: str) -> str:
    if "&" in text:
        text = html.unescape(_NEWLINE_REFERENCE.sub(" ", text))
    if "%" in text:  # only runs of escapes: `unquote` on a whole page is slow where "%" is common (CSS)
        text = _PERCENT_RUN.sub(lambda run: unquote(run.group(0), errors="replace"), _PERCENT_NEWLINE.sub(" ", text))
    if "\\" in text:
        text = _JS_ESCAPE.sub(_js_character, text).replace("\\/", "/")
    return text


def searchable_forms(text: str) -> list[str]:
    """`text` with its encodings undone, folded for matching; a second form without markup tags.

    Each form has as many lines as `text`.
    """
    for _ in range(3):  # an id escaped twice (`&amp;#80;`, `%2550`) is undone too
        undone = _decode_once(text)
        if undone == text:
            break
        text = undone
    text = unicodedata.normalize("NFKC", text.translate(_ZERO_WIDTH)).casefold()
    forms = [text]
    if "<" in text:
        forms.append(_TAG.sub(lambda tag: "\n" * tag.group(0).count("\n"), text))
    return forms


# --- files and containers ---------------------------------------------------------------------------------

_DATA_URI = re.compile(r"data:[\w.+/-]*(?:;[\w.+-]+=[\w.+-]+)*;base64,([A-Za-z0-9+/]{16,}={0,2})")


def _text(data: bytes, where: str, extraction: Extraction, depth: int) -> None:
    for form in decoded(data):
        extraction.texts.append(Text(where, form))
        for match in _DATA_URI.finditer(form):
            try:
                embedded = base64.b64decode(match.group(1), validate=True)
            except (binascii.Error, ValueError):
                continue
            line = form.count("\n", 0, match.start()) + 1
            _file(embedded, _inside(where, f"data: URI on line {line}"), extraction, depth + 1)


def _stream(opener, data: bytes, what: str, where: str, extraction: Extraction, depth: int) -> None:
    inner = _inside(where, f"{what} content")
    try:
        with opener(io.BytesIO(data)) as stream:
            content = stream.read(extraction.budget + 1)
    except (OSError, EOFError, lzma.LZMAError, zlib.error, ValueError) as error:
        extraction.unreadable.append(f"{inner}: cannot be decompressed ({error})")
        return
    if extraction.spend(len(content), inner):
        _file(content, inner, extraction, depth + 1)


def _zip(data: bytes, where: str, extraction: Extraction, depth: int) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        extraction.unreadable.append(_about(where, f"cannot be read as a zip archive ({error})"))
        return
    extraction.texts.append(Text(_inside(where, "names in the zip archive"), "\n".join(m.filename for m in members)))
    for member in members:
        if member.is_dir():
            continue
        inner = _inside(where, member.filename)
        if member.flag_bits & 0x1:
            extraction.unreadable.append(f"{inner}: encrypted")
            continue
        if not extraction.spend(member.file_size, inner):
            return
        try:
            with archive.open(member) as stream:
                content = stream.read(member.file_size + 1)
        except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, zlib.error, EOFError) as error:
            extraction.unreadable.append(f"{inner}: cannot be unpacked ({error})")
            continue
        _file(content, inner, extraction, depth + 1)
    if any(m.filename == "xl/workbook.xml" for m in members):
        _workbook(data, where, extraction)


def _tar(data: bytes, where: str, extraction: Extraction, depth: int) -> None:
    try:
        archive = tarfile.open(fileobj=io.BytesIO(data))
        members = archive.getmembers()
    except (tarfile.TarError, OSError, ValueError, EOFError) as error:
        extraction.unreadable.append(_about(where, f"cannot be read as a tar archive ({error})"))
        return
    names = [m.name + (f" -> {m.linkname}" if m.issym() or m.islnk() else "") for m in members]
    extraction.texts.append(Text(_inside(where, "names in the tar archive"), "\n".join(names)))
    for member in members:
        if not member.isfile():
            continue
        inner = _inside(where, member.name)
        if not extraction.spend(member.size, inner):
            return
        handle = archive.extractfile(member)
        if handle is not None:
            _file(handle.read(), inner, extraction, depth + 1)


def _cell(value) -> str:
    """A cell as the report would read it: dates as YYYY-MM-DD, whole numbers without a decimal point."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _workbook(data: bytes, where: str, extraction: Extraction) -> None:
    """The cells of an xlsx workbook: a date cell is stored as a day count, which only the
    workbook's number formats turn back into the date."""
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds on a damaged or foreign file
        extraction.unreadable.append(_about(where, f"cannot be read as an xlsx workbook ({error})"))
        return
    try:
        for sheet in workbook.worksheets:
            rows = ["\t".join(_cell(v) for v in row) for row in sheet.iter_rows(values_only=True)]
            extraction.texts.append(Text(_inside(where, f"sheet {sheet.title!r}"), "\n".join(rows)))
    except Exception as error:  # as above: a damaged sheet
        extraction.unreadable.append(_about(where, f"a sheet cannot be read ({error})"))
    finally:
        workbook.close()


def _parquet(data: bytes, where: str, extraction: Extraction) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(pa.BufferReader(data))
    except Exception as error:  # pyarrow raises several kinds on a damaged file
        extraction.unreadable.append(_about(where, f"cannot be read as Parquet ({error})"))
        return
    columns = [[_cell(v) for v in table.column(i).to_pylist()] for i in range(table.num_columns)]
    rows = ["\t".join(table.column_names)] + ["\t".join(cells) for cells in zip(*columns)]
    extraction.texts.append(Text(_inside(where, "Parquet cells"), "\n".join(rows)))


def _pdf(data: bytes, where: str, extraction: Extraction, depth: int) -> None:
    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings about sloppy files are not ours
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            extraction.unreadable.append(_about(where, "an encrypted PDF"))
            return
        found = [Text(_inside(where, "PDF metadata"),
                      "\n".join(f"{key}: {value}" for key, value in (reader.metadata or {}).items()))]
        metadata = reader.root_object.get("/Metadata")
        if metadata is not None:
            found.append(Text(_inside(where, "PDF XMP metadata"),
                              metadata.get_object().get_data().decode("utf-8", "replace")))
        for number, page in enumerate(reader.pages, start=1):
            found.append(Text(_inside(where, f"PDF page {number}"), page.extract_text() or ""))
            notes = []
            for annotation in page.get("/Annots") or []:
                annotation = annotation.get_object()
                action = annotation.get("/A")
                action = action.get_object() if action is not None else {}
                notes += [str(v) for v in (annotation.get("/Contents"), annotation.get("/T"), action.get("/URI"))
                          if v is not None]
            if notes:
                found.append(Text(_inside(where, f"PDF page {number} annotations"), "\n".join(notes)))
        fields = reader.get_fields() or {}
        if fields:
            found.append(Text(_inside(where, "PDF form fields"),
                              "\n".join(f"{name}: {info.get('/V', '')}" for name, info in fields.items())))
        attachments = dict(reader.attachments)
    except Exception as error:  # pypdf raises many kinds on a damaged file
        extraction.unreadable.append(_about(where, f"cannot be read as a PDF ({type(error).__name__}: {error})"))
        return
    extraction.texts += found
    for name, contents in attachments.items():
        for content in contents:
            inner = _inside(where, f"PDF attachment {name}")
            if extraction.spend(len(content), inner):
                _file(content, inner, extraction, depth + 1)


def _image(data: bytes, where: str, extraction: Extraction) -> None:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format or "image"
            values = []
            if kind == "PNG":
                values += [f"{k}: {v}" for k, v in image.text.items()]  # tEXt, zTXt, iTXt, wherever they are
            values += [f"{k}: {_cell(v)}" for k, v in image.info.items() if isinstance(v, (str, bytes))]
            exif = image.getexif()
            values += [f"{k}: {_cell(v)}" for k, v in exif.items()]
            for block in (0x8769, 0x8825):  # the Exif and GPS blocks: comments, dates, places
                values += [f"{k}: {_cell(v)}" for k, v in exif.get_ifd(block).items()]
    except Exception as error:  # Pillow raises many kinds on a damaged image or a decompression bomb
        extraction.unreadable.append(_about(where, f"cannot be read as an image ({type(error).__name__}: {error})"))
        return
    # PNG text chunks before the image data are in `info` too: each value once
    extraction.texts.append(Text(_inside(where, f"{kind} metadata"), "\n".join(dict.fromkeys(values))))


def _file(data: bytes, where: str, extraction: Extraction, depth: int) -> None:
    if depth > MAX_DEPTH:
        extraction.unreadable.append(f"{where}: nested more than {MAX_DEPTH} containers deep")
        return
    head = data[:1024]
    if data.startswith(b"\x1f\x8b"):
        _stream(lambda f: gzip.GzipFile(fileobj=f), data, "gzip", where, extraction, depth)
        return
    if data.startswith(b"BZh"):
        _stream(bz2.BZ2File, data, "bzip2", where, extraction, depth)
        return
    if data.startswith(b"\xfd7zXZ\x00"):
        _stream(lzma.LZMAFile, data, "xz", where, extraction, depth)
        return
    _text(data, where, extraction, depth)  # every file's own bytes, whatever else it is
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        _zip(data, where, extraction, depth)
    elif data[257:262] == b"ustar":
        _tar(data, where, extraction, depth)
    elif head.lstrip().startswith(b"%PDF-"):
        _pdf(data, where, extraction, depth)
    elif data.startswith(b"PAR1") and data.endswith(b"PAR1"):
        _parquet(data, where, extraction)
    elif data.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"II*\x00", b"MM\x00*")) or (
            data.startswith(b"RIFF") and data[8:12] == b"WEBP"):
        _image(data, where, extraction)


def texts_of(data: bytes, limit: int = MAX_EXPANDED_BYTES) -> Extraction:
    """Every text in a file's bytes (see the module's description), and what could not be read."""
    extraction = Extraction(limit)
    _file(data, "", extraction, 0)
    return extraction
