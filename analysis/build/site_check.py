"""Check a rendered site before it is published: `python -m analysis check-site SITE_DIR [--data FILE]`.

Every problem is listed, with the file it is in, and the command exits 1 if there is any:

- a symbolic link, named pipe, socket or device anywhere in the site (publishing refuses them: a
  link would publish what it points to); they are never followed or opened;
- an internal link (`href`/`src`) that does not resolve to a file of the site (links with a scheme,
  `mailto:` and same-page `#anchors` are not followed; `--anchors` also checks the `#fragment` of
  links to other pages);
- a page without the provenance footer (an element of class `report-provenance` naming the version
  recorded in the site's `provenance.json`);
- a page without a link to its PDF, or a PDF link to a missing file;
- an unresolved cross-reference (`?@fig-...`) or `{{< var >}}`/`{{< meta >}}` shortcode (`?var:...`);
- patient-level data: any `patient_id` value of the input, or any of its dates, in any file of the
  site whatever its name, hidden folders included, and in the file names.  Each file is read by its
  content (`analysis.build.site_text`): text in any encoding, compressed files and archives (gzip, bzip2,
  xz, zip, tar; so xlsx/docx/odt too), xlsx and Parquet cells, PDF text, metadata and attachments,
  image text metadata (PNG, JPEG, TIFF, GIF, WebP), base64 `data:` URIs.  Encodings are undone
  before matching (HTML character references, URL and JavaScript escapes, markup tags splitting a
  value, zero-width characters, full-width forms, letter case).  Dates are found written
  YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD, YYYYMMDD, DD.MM.YYYY, DD/MM/YYYY, DD-MM-YYYY (and MM/DD/YYYY:
  a day and month both up to 12 are matched either way), YYYY年M月D日 and with English month
  names; a part of a file that cannot be read (encrypted, damaged, a decompression bomb) is a
  problem, not skipped.

The input is read with `analysis.loading.read_table`, the same reader as the report, so its ids and
dates are exactly the ones the report could show.
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import re
import stat
import unicodedata
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pandas as pd

from analysis.build.site_text import searchable_forms, texts_of
from analysis.data.cohort import file_sha256
from analysis.data.mapping import apply_mapping
from analysis.data.readers import read_table
from analysis.data.schema import DATE_COLUMNS
from analysis.data.validate import parse_date

PROVENANCE_CLASS = "report-provenance"
RECORD_FILE = "provenance.json"
LIB_DIRS = ("site_libs",)  # Quarto's JS/CSS: linked to and searched, but not pages themselves
UNRESOLVED_REF = re.compile(r"\?@((?:fig|tbl|sec|eq|lst)-[\w:-]*)")
UNRESOLVED_SHORTCODE = re.compile(r"\?(var|meta|env):([\w.\-]+)")
LINK_ATTRIBUTES = {"href", "src"}
MIN_NUMERIC_ID_DIGITS = 5  # shorter all-digit ids cannot be told apart from counts and years


@dataclass(frozen=True)
class SiteProblem:
    """One defect of the site: where it is and what is wrong."""

    path: str  # site-relative file ("." for the site as a whole)
    kind: str  # link, footer, pdf, crossref, shortcode, leak, provenance, site
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        prefix = "" if self.severity == "error" else f"{self.severity.upper()}: "
        return f"{prefix}{self.path}: {self.message}"


@dataclass
class _Page:
    links: list[tuple[str, str, int]]  # (tag, url, line)
    ids: set[str]
    provenance_text: list[str]
    text: str


class _PageParser(HTMLParser):
    """Links, element ids and the text of the provenance footer of one HTML page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str, int]] = []
        self.ids: set[str] = set()
        self.provenance: list[str] = []
        self._open: list[tuple[str, bool]] = []  # (tag, inside a provenance element)
        self._void = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
                      "track", "wbr"}

    def _inside(self) -> bool:
        return bool(self._open) and self._open[-1][1]

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        for name, value in attrs:
            if name in LINK_ATTRIBUTES and value is not None:
                self.links.append((tag, value, self.getpos()[0]))
        for name in ("id", "name"):
            if values.get(name) and (name == "id" or tag == "a"):
                self.ids.add(values[name])
        classes = (values.get("class") or "").split()
        starts = PROVENANCE_CLASS in classes
        if starts:
            self.provenance.append("")
        if tag not in self._void:
            self._open.append((tag, starts or self._inside()))

    def handle_startendtag(self, tag, attrs):
        self._void.add(tag)
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i][0] == tag:
                del self._open[i:]
                break

    def handle_data(self, data):
        if self._inside() and self.provenance:
            self.provenance[-1] += data


def _parse_page(text: str) -> _Page:
    parser = _PageParser()
    parser.feed(text)
    parser.close()
    return _Page(parser.links, parser.ids, [" ".join(t.split()) for t in parser.provenance], text)


def _is_external(url: str) -> bool:
    parts = urlsplit(url)
    return bool(parts.scheme or parts.netloc)


def _resolve(site: Path, page: Path, url: str) -> tuple[Path | None, str, str | None]:
    """(target file or None if missing, fragment, problem) of an internal link from `page`.

    `site` is the folder links may not leave: the site, or in a published tree its root (a page of
    `v0.1.0/` may lead to `../versions.json`).
    """
    parts = urlsplit(url)
    path = unquote(parts.path)
    if path.startswith("/"):
        return None, parts.fragment, (f"link {url!r} starts at the server root: it breaks when the site is "
                                      "served from a sub-path (GitHub project pages); use a relative link")
    target = (page.parent / path).resolve() if path else page.resolve()
    root = site.resolve()
    if not target.is_relative_to(root):
        return None, parts.fragment, f"link {url!r} points outside the site"
    if target.is_dir():
        target = target / "index.html"
    return (target if target.is_file() else None), parts.fragment, None


# --- patient-level data -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Identifiers:
    """The patient-level strings that must not appear in a site."""

    ids: frozenset[str]
    dates: frozenset[str]  # as written in the input and as ISO
    skipped_ids: int = 0  # short all-digit ids that cannot be searched for meaningfully

    @classmethod
    def from_file(cls, path: str | Path, study=None) -> "Identifiers":
        """Ids and dates of an extract, read as its study reads it (encoding, sheet, column mapping)."""
        raw = read_table(path, encoding=getattr(study, "encoding", None), sheet=getattr(study, "sheet", None))
        mapping = getattr(study, "mapping", None)
        if mapping is not None:
            mapped, _ = apply_mapping(raw, mapping)
            # The registry's own columns may carry the ids and dates under other names.
            raw = pd.concat([mapped, raw.drop(columns=[c for c in raw.columns if c in mapped.columns])], axis=1)
        ids: set[str] = set()
        skipped = 0
        if "patient_id" in raw:
            for value in raw["patient_id"]:
                if not value:
                    continue
                if value.isdigit() and len(value) < MIN_NUMERIC_ID_DIGITS:
                    skipped += 1
                else:
                    ids.add(value)
        dates: set[str] = set()
        for column in [c for c in raw.columns if _holds_dates(c, raw[c])]:
            for value in raw[column]:
                if not value:
                    continue
                parsed = parse_date(value)
                if parsed is None:
                    continue
                dates.add(parsed.isoformat())
                if not re.fullmatch(r"\d{4,5}(\.0+)?", value):  # an Excel serial as written is just a number
                    dates.add(value)
        return cls(frozenset(ids), frozenset(dates), skipped)


def _holds_dates(name: str, values) -> bool:
    """A date column by its SPEC name, or (a registry's own name) by its content."""
    if name in DATE_COLUMNS or name.endswith("_date"):
        return True
    filled = [v for v in values if v]
    dated = sum(1 for v in filled if re.fullmatch(r"\d{4}[-/]\d{1,2}[-/]\d{1,2}", v))
    return bool(filled) and dated >= 0.9 * len(filled)


_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?"
_MONTHS = {name: number for number, name in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
# Dates in the written forms a site could hold, in text already folded by `searchable_forms`. Not a
# digit or letter before, nor a digit after (with or without a separator): a date inside a longer
# number, a hash or a decimal (an SVG coordinate) is not a date; an ISO time may follow ("T10:30").
# The leading lookahead lets the regex engine skip to the next possible start quickly.
_DATE_BEFORE = r"(?<![0-9a-z])(?<![0-9][.\-/])"
_DATE_AFTER = r"(?![.\-/]?[0-9])(?!(?!t\d)[a-z])"
_DATE_NUMERIC = re.compile(
    r"(?=\d)" + _DATE_BEFORE + r"(?:"
    r"(?P<y1>\d{4})(?P<s1>[-/.])(?P<m1>\d{1,2})(?P=s1)(?P<d1>\d{1,2})"
    r"|(?P<y2>\d{4})(?P<m2>\d{2})(?P<d2>\d{2})"
    r"|(?P<d3>\d{1,2})(?P<s3>[-/.])(?P<m3>\d{1,2})(?P=s3)(?P<y3>\d{4})"
    r"|(?P<y4>\d{4})\s*年\s*(?P<m4>\d{1,2})\s*月\s*(?P<d4>\d{1,2})\s*日"
    rf"|(?P<d5>\d{{1,2}})(?:st|nd|rd|th)?[\s\-]+(?P<n5>{_MONTH})[\s\-,]+(?P<y5>\d{{4}})"
    r")" + _DATE_AFTER)
_DATE_NAMED = re.compile(
    r"(?=[adfjmnos])" + _DATE_BEFORE
    + rf"(?P<n6>{_MONTH})\s+(?P<d6>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y6>\d{{4}})" + _DATE_AFTER)
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff\u180e"), None)


def _iso_readings(match: re.Match) -> list[str]:
    """The dates a written date can mean, as YYYY-MM-DD (two when day and month can swap)."""
    g = dict.fromkeys(("y1", "y2", "y3", "y4", "y5")) | match.groupdict()
    if g["y1"]:
        readings = [(g["y1"], g["m1"], g["d1"])]
    elif g["y2"]:
        readings = [(g["y2"], g["m2"], g["d2"])]
    elif g["y3"]:
        readings = [(g["y3"], g["m3"], g["d3"]), (g["y3"], g["d3"], g["m3"])]  # DD.MM.YYYY or MM/DD/YYYY
    elif g["y4"]:
        readings = [(g["y4"], g["m4"], g["d4"])]
    elif g["y5"]:
        readings = [(g["y5"], _MONTHS[g["n5"][:3]], g["d5"])]
    else:
        readings = [(g["y6"], _MONTHS[g["n6"][:3]], g["d6"])]
    return [f"{int(y):04d}-{int(m):02d}-{int(d):02d}" for y, m, d in readings]


def _fold(value: str) -> str:
    """An id as `searchable_forms` writes text: compatibility forms and case folded."""
    return unicodedata.normalize("NFKC", value.translate(_ZERO_WIDTH)).casefold()


@dataclass(frozen=True)
class _Matcher:
    dates: frozenset[str]  # YYYY-MM-DD
    ids: dict  # folded id without whitespace -> id as in the input
    spaced: dict  # folded id with whitespace -> (pattern, id as in the input)
    pattern: re.Pattern | None
    max_parts: int


@functools.lru_cache(maxsize=4)
def _matcher(identifiers: "Identifiers") -> _Matcher:
    dates = set()
    for value in identifiers.dates:
        parsed = parse_date(value)
        if parsed is not None:
            dates.add(parsed.isoformat())
    ids, spaced = {}, {}
    for value in sorted(identifiers.ids):
        folded = _fold(value)
        if any(ch.isspace() for ch in folded):
            words = [re.escape(w) for w in folded.split()]
            spaced[folded] = (re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)"), value)
        elif folded:
            ids.setdefault(folded, value)
    pattern, max_parts = _id_pattern(frozenset(ids)) if ids else (None, 1)
    return _Matcher(frozenset(dates), ids, spaced, pattern, max_parts)


def _id_pattern(ids: frozenset[str]) -> tuple[re.Pattern, int]:
    """A tokenizer for id-shaped strings and the most separator-joined parts an id has."""
    separators = sorted({ch for i in ids for ch in i if not ch.isalnum() and not ch.isspace()})
    sep = "[" + re.escape("".join(separators)) + "]" if separators else None
    word = r"[^\W_]+"
    token = word if sep is None else f"{word}(?:{sep}{word})*"
    parts = max((len(re.findall(word, i)) for i in ids), default=1)
    return re.compile(token), max(parts, 1)


def _find_ids(text: str, matcher: _Matcher) -> list[tuple[int, str]]:
    """(offset, id as in the input) of every id in a folded text."""
    found = []
    plain = matcher.ids
    for match in matcher.pattern.finditer(text) if matcher.pattern else ():
        token = match.group(0)
        if token in plain:
            hit = token
        elif token.isalnum():
            continue  # a single word that is no id: no run of parts inside it to try
        else:  # an id joined to more text by a separator: try every run of consecutive parts
            pieces = re.split(r"([^\w]|_)", token)
            words, seps = pieces[0::2], pieces[1::2]
            hit = None
            for start in range(len(words)):
                candidate = words[start]
                for stop in range(start + 1, min(len(words), start + matcher.max_parts) + 1):
                    if stop > start + 1:
                        candidate += seps[stop - 2] + words[stop - 1]
                    if candidate in plain:
                        hit = candidate
                        break
                if hit:
                    break
        if hit is None:
            continue
        before = text[match.start() - 2:match.start()]
        after = text[match.end():match.end() + 2]
        if hit.isdigit() and (re.fullmatch(r"\d\.", before or "") or re.fullmatch(r"\.\d", after or "")):
            continue  # digits of a decimal number (an SVG coordinate), not an id
        found.append((match.start(), plain[hit]))
    for pattern, value in matcher.spaced.values():
        found += [(match.start(), value) for match in pattern.finditer(text)]
    return sorted(found)


def find_leaks(text: str, identifiers: Identifiers) -> list[tuple[str, str, int]]:
    """(kind, value, line) of every patient id or input date found in `text`, however it is encoded.

    A date is reported as written in `text`, an id as written in the input.
    """
    return _find_leaks(text, _matcher(identifiers))


def _find_leaks(text: str, matcher: _Matcher) -> list[tuple[str, str, int]]:
    dates: list[tuple[str, str, int]] = []
    ids: list[tuple[str, str, int]] = []
    for form in searchable_forms(text):
        def line_of(offset: int) -> int:
            return form.count("\n", 0, offset) + 1

        if matcher.dates:
            found = [m for pattern in (_DATE_NUMERIC, _DATE_NAMED) for m in pattern.finditer(form)]
            for match in sorted(found, key=lambda m: m.start()):
                if any(reading in matcher.dates for reading in _iso_readings(match)):
                    dates.append(("date", match.group(0), line_of(match.start())))
        ids += [("patient_id", value, line_of(offset)) for offset, value in _find_ids(form, matcher)]
    return list(dict.fromkeys(dates + ids))  # the same find in both forms, once


# --- the check ----------------------------------------------------------------------------------------

def _kind_of(mode: int) -> str:
    for test, name in ((stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a named pipe"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISCHR, "a character device")):
        if test(mode):
            return name
    return "not a regular file"


@dataclass(frozen=True)
class _Inventory:
    """What the site holds, found without following a link."""

    files: list[str]  # site-relative paths of its regular files
    refused: list[tuple[str, str]]  # (site-relative path, what it is) of links and special files


def _inventory(site: Path) -> _Inventory:
    files: list[str] = []
    refused: list[tuple[str, str]] = []

    def walk(folder: str, prefix: str) -> None:
        with os.scandir(folder) as scan:
            entries = sorted(scan, key=lambda e: e.name)
        for entry in entries:
            rel = prefix + entry.name
            if entry.is_symlink():
                refused.append((rel, f"a symbolic link to {os.readlink(entry.path)}"))
            elif entry.is_dir(follow_symlinks=False):
                walk(entry.path, rel + "/")
            elif entry.is_file(follow_symlinks=False):
                files.append(rel)
            else:
                refused.append((rel, _kind_of(entry.stat(follow_symlinks=False).st_mode)))

    walk(str(site), "")
    return _Inventory(files, refused)


def _read_bytes(path: Path) -> bytes:
    """A regular file's bytes; a link or pipe put in its place since the inventory is not followed."""
    handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(handle, "rb") as reader:
        if not stat.S_ISREG(os.fstat(reader.fileno()).st_mode):
            raise OSError(f"{path} is no longer a regular file")
        return reader.read()


def _read_text(path: Path) -> str:
    return _read_bytes(path).decode("utf-8", errors="replace")


def _is_page(rel: str) -> bool:
    *folders, name = rel.split("/")
    return name.endswith(".html") and not any(part in LIB_DIRS or part.startswith(".") for part in folders)


def _pages(site: Path, inventory: _Inventory | None = None) -> list[Path]:
    inventory = inventory or _inventory(site)
    return [site / rel for rel in inventory.files if _is_page(rel)]


def _describe(kind: str) -> str:
    return "a patient_id of the input" if kind == "patient_id" else "a date of the input"


def _search_for_data(site: Path, inventory: _Inventory, identifiers: Identifiers) -> list[SiteProblem]:
    """Every id or date of the input in the files of the site and in their names."""
    problems: list[SiteProblem] = []
    matcher = _matcher(identifiers)
    for rel in inventory.files + [path for path, _ in inventory.refused]:
        for kind, value, _ in _find_leaks(rel, matcher):
            problems.append(SiteProblem(rel, "leak", f"the file name holds {_describe(kind)}: {value!r}"))
    for rel in inventory.files:
        try:
            extraction = texts_of(_read_bytes(site / rel))
        except OSError as error:
            problems.append(SiteProblem(rel, "leak", f"cannot be read ({error}): it was not searched"))
            continue
        for text in extraction.texts:
            for kind, value, line in _find_leaks(text.text, matcher):
                where = f"{text.where}, line {line}" if text.where else f"line {line}"
                problems.append(SiteProblem(rel, "leak", f"{where}: {_describe(kind)}: {value!r}"))
        for why in extraction.unreadable:
            problems.append(SiteProblem(rel, "leak", f"{why}: it could not be searched for patient-level data"))
    return problems


def check_site(site: str | Path, data: str | Path | None = None, *, anchors: bool = False,
               require_pdf: bool = True, study=None, boundary: str | Path | None = None,
               skip: tuple[str, ...] = ()) -> list[SiteProblem]:
    """Every problem of the site at `site`; `data` is the input file for the patient-level data check.

    `study` (an `analysis.study.Study`) says how to read that file: its encoding, sheet and mapping.
    In a published tree (`check_published`): `boundary` is the tree's root, which links may reach
    (default: the site itself), and `skip` names top-level entries of the site that are not part of
    it (the other versions' folders at the root).  Paths in problems are relative to `site`.
    """
    site = Path(site)
    problems: list[SiteProblem] = []
    if not site.is_dir():
        return [SiteProblem(str(site), "site", "site folder not found")]
    inventory = _inventory(site)
    if skip:
        def kept(rel: str) -> bool:
            return rel.split("/", 1)[0] not in skip
        inventory = _Inventory([f for f in inventory.files if kept(f)], [r for r in inventory.refused if kept(r[0])])
    edge = Path(boundary) if boundary is not None else site
    for rel, what in inventory.refused:
        problems.append(SiteProblem(rel, "site", f"{what}: a site holds only files and folders (publishing "
                                                 "refuses it; it was not followed)"))
    regular = set(inventory.files)
    if "index.html" not in regular:
        problems.append(SiteProblem("index.html", "site", "the site has no index.html"))

    record = None
    short_hash = None
    try:
        if RECORD_FILE not in regular and os.path.lexists(site / RECORD_FILE):
            raise ValueError("not a regular file")
        record = json.loads(_read_text(site / RECORD_FILE))
        version = str(record["report"]["version"])
        short_hash = str(record.get("data", {}).get("sha256", ""))[:12] or None
    except FileNotFoundError:
        version = None
        problems.append(SiteProblem(RECORD_FILE, "provenance",
                                    f"{RECORD_FILE} is missing: the provenance pre-render step did not run"))
    except (ValueError, KeyError, TypeError) as error:
        version = None
        problems.append(SiteProblem(RECORD_FILE, "provenance", f"{RECORD_FILE} is not a provenance record ({error})"))

    identifiers = None
    if data is not None:
        identifiers = Identifiers.from_file(data, study)
        if identifiers.skipped_ids:
            problems.append(SiteProblem(
                ".", "leak",
                f"{identifiers.skipped_ids} patient_id value(s) are all-digit and shorter than "
                f"{MIN_NUMERIC_ID_DIGITS} digits: they cannot be told apart from numbers and were not searched",
                "warning"))
        sha = file_sha256(data)
        recorded = (record or {}).get("data", {}).get("sha256") if isinstance(record, dict) else None
        if recorded and recorded != sha:
            problems.append(SiteProblem(
                RECORD_FILE, "provenance",
                f"the site was built from input SHA-256 {recorded[:12]}, not from {Path(data).name} "
                f"({sha[:12]}): check it against the file it was built from"))

    pages = _pages(site, inventory)
    parsed: dict[Path, _Page] = {}
    for page in pages:
        parsed[page.resolve()] = _parse_page(_read_text(page))

    def ids_of(target: Path) -> set[str] | None:
        if target.suffix.lower() not in (".html", ".htm"):
            return None
        if target not in parsed:
            parsed[target] = _parse_page(_read_text(target))
        return parsed[target].ids

    for page in pages:
        rel = page.relative_to(site).as_posix()
        info = parsed[page.resolve()]
        pdf_links = []
        for tag, url, line in info.links:
            url = url.strip()
            if not url or url.startswith("#") or _is_external(url):
                if anchors and url.startswith("#") and len(url) > 1 and unquote(url[1:]) not in info.ids:
                    problems.append(SiteProblem(rel, "link", f"line {line}: <{tag}> anchor {url!r} not found on the page"))
                continue
            target, fragment, why = _resolve(edge, page, url)
            if why:
                problems.append(SiteProblem(rel, "link", f"line {line}: <{tag}> {why}"))
                continue
            is_pdf = urlsplit(url).path.lower().endswith(".pdf")
            if is_pdf:
                pdf_links.append(url)
            if target is None:
                kind = "pdf" if is_pdf else "link"
                what = "PDF link" if is_pdf else "link"
                problems.append(SiteProblem(rel, kind, f"line {line}: <{tag}> {what} {url!r} does not resolve "
                                                       "to a file of the site"))
                continue
            if anchors and fragment:
                ids = ids_of(target.resolve())
                if ids is not None and unquote(fragment) not in ids:
                    problems.append(SiteProblem(rel, "link", f"line {line}: <{tag}> {url!r}: no element "
                                                             f"#{fragment} in {target.relative_to(edge.resolve()).as_posix()}"))
        if require_pdf and not pdf_links:
            problems.append(SiteProblem(rel, "pdf", "the page offers no PDF (no link to a .pdf file)"))

        if not info.provenance_text:
            problems.append(SiteProblem(rel, "footer", f"no provenance footer (no element of class "
                                                       f"{PROVENANCE_CLASS!r})"))
        else:
            for what, value in (("version", version), ("input SHA-256", short_hash)):
                if value and not any(value in text for text in info.provenance_text):
                    problems.append(SiteProblem(rel, "footer", f"the provenance footer does not name {what} "
                                                               f"{value}: {info.provenance_text[0]!r}"))

        for match in UNRESOLVED_REF.finditer(info.text):
            line = info.text.count("\n", 0, match.start()) + 1
            problems.append(SiteProblem(rel, "crossref", f"line {line}: unresolved cross-reference ?@{match.group(1)}"))
        for match in UNRESOLVED_SHORTCODE.finditer(info.text):
            line = info.text.count("\n", 0, match.start()) + 1
            problems.append(SiteProblem(rel, "shortcode", f"line {line}: unresolved shortcode "
                                                          f"{{{{< {match.group(1)} {match.group(2)} >}}}}"))

    search = site / "search.json"
    if "search.json" in regular:
        try:
            entries = json.loads(_read_text(search))
        except ValueError:
            entries = []
            problems.append(SiteProblem("search.json", "site", "search.json is not valid JSON"))
        for entry in entries if isinstance(entries, list) else []:
            href = entry.get("href") if isinstance(entry, dict) else None
            if href and not _is_external(href) and not href.startswith("#"):
                target, _, why = _resolve(edge, site / "search.json", href)
                if why or target is None:
                    problems.append(SiteProblem("search.json", "link", f"search entry {href!r} does not resolve"))

    if identifiers is not None and (identifiers.ids or identifiers.dates):
        problems += _search_for_data(site, inventory, identifiers)
    return problems


# --- a published tree (the gh-pages branch) -------------------------------------------------------------

TAG_RE = re.compile(r"^v(\d+)\.(\d+)\.(\d+)$")
PUBLISHED_FILES = ("versions.json", "versions.js", "versions.html")
LATEST_DIR = "latest"
FILLED_PAGES = ("report/versions.html", "report/changelog.html")  # lists that publishing fills in
_REFRESH = re.compile(r'<meta\s+http-equiv="refresh"\s+content="0;\s*url=([^"]+)"', re.I)
_VERSIONS_SCRIPT = re.compile(r"window\.REPORT_VERSIONS\s*=\s*(\{.*\});\s*$", re.S)


def _tag_key(tag: str) -> tuple[int, ...]:
    return tuple(int(x) for x in TAG_RE.match(tag).groups())


def _within(prefix: str, problems: list[SiteProblem]) -> list[SiteProblem]:
    """Problems of a version's folder, named from the root of the published tree."""
    return [SiteProblem(prefix + p.path if p.path != "." else prefix.rstrip("/"), p.kind, p.message, p.severity)
            for p in problems]


def _published_versions(tree: Path) -> tuple[dict | None, list[SiteProblem]]:
    """versions.json, and what is wrong with it and versions.js."""
    problems = []
    try:
        document = json.loads(_read_text(tree / "versions.json"))
        versions = document["versions"]
        tags = [v["tag"] for v in versions]
    except FileNotFoundError:
        return None, [SiteProblem("versions.json", "versions", "versions.json is missing: this is not a published tree")]
    except (ValueError, KeyError, TypeError) as error:
        return None, [SiteProblem("versions.json", "versions", f"versions.json is not a versions list ({error})")]
    bad = [t for t in tags if not isinstance(t, str) or not TAG_RE.match(t)]
    if bad:
        return None, [SiteProblem("versions.json", "versions", f"not release tags: {bad}")]
    if tags != sorted(tags, key=_tag_key, reverse=True):
        problems.append(SiteProblem("versions.json", "versions", "the versions are not listed newest first"))
    if tags and document.get("latest") != max(tags, key=_tag_key):
        problems.append(SiteProblem("versions.json", "versions", f"latest is {document.get('latest')!r}, not the "
                                                                 f"newest listed version {max(tags, key=_tag_key)}"))
    try:
        match = _VERSIONS_SCRIPT.search(_read_text(tree / "versions.js"))
        if not match or json.loads(match.group(1)) != document:
            problems.append(SiteProblem("versions.js", "versions", "versions.js does not hold the list of versions.json "
                                                                   "(the version switcher would show another list)"))
    except FileNotFoundError:
        problems.append(SiteProblem("versions.js", "versions", "versions.js is missing: no page can show the "
                                                               "version switcher or the old-version banner"))
    except ValueError as error:
        problems.append(SiteProblem("versions.js", "versions", f"versions.js is not valid ({error})"))
    return document, problems


def check_published(tree: str | Path, data: str | Path | None = None, *, anchors: bool = False,
                    require_pdf: bool = True, study=None) -> list[SiteProblem]:
    """Every problem of a published tree (a checkout of gh-pages): each version in its `vX.Y.Z/`
    folder checked as a site against its own provenance, the root copy of the latest release, the
    lists (`versions.json`, `versions.js`, `versions.html`) and the `latest/` redirects.

    Links may leave a version's folder for the rest of the tree (`../../versions.json`); they must
    resolve there.  `data`: the input to search the whole tree for patient-level data.
    """
    tree = Path(tree)
    if not tree.is_dir():
        return [SiteProblem(str(tree), "site", "published tree not found")]
    document, problems = _published_versions(tree)
    if document is None:
        return problems
    listed = {v["tag"]: v for v in document["versions"]}
    folders = sorted(e.name for e in os.scandir(tree) if e.is_dir(follow_symlinks=False) and TAG_RE.match(e.name))
    for tag in sorted(set(listed) - set(folders)):
        problems.append(SiteProblem(tag, "versions", f"{tag} is listed in versions.json but its folder is missing"))
    for tag in sorted(set(folders) - set(listed)):
        problems.append(SiteProblem(tag, "versions", f"the folder {tag}/ is not listed in versions.json"))

    for tag in sorted(set(listed) & set(folders), key=_tag_key):
        folder = tree / tag
        problems += _within(f"{tag}/", check_site(folder, None, anchors=anchors, require_pdf=require_pdf,
                                                  boundary=tree))
        pages = sorted(p.relative_to(folder).as_posix() for p in _pages(folder))
        if "pages" in listed[tag] and sorted(listed[tag]["pages"]) != pages:
            problems.append(SiteProblem(f"{tag}/", "versions", "the pages versions.json lists for this version are "
                                                               "not the pages of its folder (the switcher would lead "
                                                               "to missing pages)"))
    latest = document.get("latest")
    if latest:
        top_level = set(folders) | {LATEST_DIR, *PUBLISHED_FILES, ".git"}
        problems += check_site(tree, None, anchors=anchors, require_pdf=require_pdf, skip=tuple(top_level))
        release = tree / latest
        if release.is_dir():
            for rel in _inventory(release).files:
                if rel in FILLED_PAGES:
                    continue
                root_copy = tree / rel
                if not root_copy.is_file() or _read_bytes(root_copy) != _read_bytes(release / rel):
                    problems.append(SiteProblem(rel, "versions", f"the root does not hold {latest}/{rel} as it is: "
                                                                 "the root must be a copy of the latest release"))
            for rel in (p.relative_to(release).as_posix() for p in _pages(release)):
                redirect = tree / LATEST_DIR / rel
                if not redirect.is_file():
                    problems.append(SiteProblem(f"{LATEST_DIR}/{rel}", "latest", "missing: latest/ must lead to "
                                                                              f"every page of {latest}"))
                    continue
                found = _REFRESH.search(_read_text(redirect))
                goal = (redirect.parent / found.group(1)).resolve() if found else None
                if goal != (release / rel).resolve():
                    problems.append(SiteProblem(f"{LATEST_DIR}/{rel}", "latest", f"does not lead to {latest}/{rel}"))
    short = tree / "versions.html"
    if short.is_file():
        found = _REFRESH.search(_read_text(short))
        if not found or not (tree / found.group(1)).is_file():
            problems.append(SiteProblem("versions.html", "link", "does not lead to an existing Versions page"))

    if data is not None:
        identifiers = Identifiers.from_file(data, study)
        if identifiers.ids or identifiers.dates:
            everything = _inventory(tree)
            published = _Inventory([f for f in everything.files if not f.startswith(".git/") and f != ".git"],
                                   [r for r in everything.refused if not r[0].startswith(".git")])
            problems += _search_for_data(tree, published, identifiers)
    return problems


def errors(problems: list[SiteProblem]) -> list[SiteProblem]:
    return [p for p in problems if p.severity == "error"]


def command_check_site(args: argparse.Namespace) -> int:
    """`python -m analysis check-site SITE_DIR [--data FILE | --no-data] [--anchors]`."""
    from analysis.analyses.settings import load_study

    study = None if args.no_data else load_study(args.study)
    data = None if args.no_data else (args.data or study.data)
    check = check_published if args.published else check_site
    problems = check(args.site, data, anchors=args.anchors, require_pdf=not args.no_pdf, study=study)
    for problem in problems:
        print(problem)
    failed = errors(problems)
    pages = len(_pages(Path(args.site))) if Path(args.site).is_dir() else 0
    searched = f"patient-level data of {Path(data).name} searched" if data else "no patient-level data check"
    if failed:
        print(f"{args.site}: {len(failed)} problem(s) in {pages} page(s); {searched}")
        return 1
    print(f"{args.site}: {pages} page(s) OK; {searched}")
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("site", help="the rendered site folder, e.g. _site (with --published: a gh-pages checkout)")
    parser.add_argument("--published", action="store_true",
                        help="check a published tree: every vX.Y.Z/ version, the root copy of the latest, "
                             "versions.json, versions.js, versions.html and the latest/ redirects")
    parser.add_argument("--data", help="input file to search the site for (default: the report's input)")
    parser.add_argument("--no-data", action="store_true", help="skip the patient-level data check")
    parser.add_argument("--study", help="study configuration that reads the input (default: $REPORT_STUDY or study.yml)")
    parser.add_argument("--anchors", action="store_true", help="also check the #fragment of links to other pages")
    parser.add_argument("--no-pdf", action="store_true", help="do not require a PDF link on every page")
    parser.set_defaults(run=command_check_site)
