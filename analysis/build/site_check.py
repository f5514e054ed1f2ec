"""Check a rendered site before it is published: `python -m analysis check-site SITE_DIR [--data FILE]`.

Every problem is listed, with the file it is in, and the command exits 1 if there is any:

- an internal link (`href`/`src`) that does not resolve to a file of the site (links with a scheme,
  `mailto:` and same-page `#anchors` are not followed; `--anchors` also checks the `#fragment` of
  links to other pages);
- a page without the provenance footer (an element of class `report-provenance` naming the version
  recorded in the site's `provenance.json`);
- a page without a link to its PDF, or a PDF link to a missing file;
- an unresolved cross-reference (`?@fig-...`) or `{{< var >}}`/`{{< meta >}}` shortcode (`?var:...`);
- patient-level data: any `patient_id` value of the input, or any of its dates (as written in the
  input and as ISO `YYYY-MM-DD`), in any text file of the site (HTML, JSON such as `search.json`,
  JavaScript, SVG figures, ...).

The input is read with `analysis.loading.read_table`, the same reader as the report, so its ids and
dates are exactly the ones the report could show.  PDF files are not searched (their text is
compressed); every PDF page is rendered from the same source as its HTML page, which is searched.
"""
from __future__ import annotations

import argparse
import json
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pandas as pd

from analysis.data.cohort import file_sha256

from analysis.data.mapping import apply_mapping

from analysis.data.readers import read_table

from analysis.data.validate import parse_date
from analysis.data.schema import DATE_COLUMNS

PROVENANCE_CLASS = "report-provenance"
RECORD_FILE = "provenance.json"
LIB_DIRS = ("site_libs",)  # Quarto's JS/CSS: linked to and searched, but not pages themselves
TEXT_SUFFIXES = {".html", ".htm", ".json", ".js", ".mjs", ".svg", ".txt", ".xml", ".css", ".md", ".csv",
                 ".tsv", ".yml", ".yaml", ".typ", ".tex", ".ipynb", ".map"}
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
    """(target file or None if missing, fragment, problem) of an internal link from `page`."""
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


_DATE_TOKEN = re.compile(r"(?<![\w.\-/])(\d{4}[-/]\d{1,2}[-/]\d{1,2}|\d{8})(?![\w\-/]|\.\d)")


def _id_pattern(ids: frozenset[str]) -> tuple[re.Pattern, int]:
    """A tokenizer for id-shaped strings and the most separator-joined parts an id has."""
    separators = sorted({ch for i in ids for ch in i if not ch.isalnum() and not ch.isspace()})
    sep = "[" + re.escape("".join(separators)) + "]" if separators else None
    word = r"[^\W_]+"
    token = word if sep is None else f"{word}(?:{sep}{word})*"
    parts = max((len(re.findall(word, i)) for i in ids), default=1)
    return re.compile(token), max(parts, 1)


def find_leaks(text: str, identifiers: Identifiers) -> list[tuple[str, str, int]]:
    """(kind, value, line) of every patient id or input date found in `text`."""
    found: list[tuple[str, str, int]] = []

    def line_of(offset: int) -> int:
        return text.count("\n", 0, offset) + 1

    if identifiers.dates:
        for match in _DATE_TOKEN.finditer(text):
            if match.group(1) in identifiers.dates:
                found.append(("date", match.group(1), line_of(match.start())))
    spaced = [i for i in identifiers.ids if any(ch.isspace() for ch in i)]
    plain = frozenset(identifiers.ids) - set(spaced)
    if plain:
        pattern, max_parts = _id_pattern(plain)
        for match in pattern.finditer(text):
            token = match.group(0)
            if token in plain:
                hit = token
            else:  # an id joined to more text by a separator: try every run of consecutive parts
                pieces = re.split(r"([^\w]|_)", token)
                words, seps = pieces[0::2], pieces[1::2]
                hit = None
                for start in range(len(words)):
                    candidate = words[start]
                    for stop in range(start + 1, min(len(words), start + max_parts) + 1):
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
            found.append(("patient_id", hit, line_of(match.start())))
    for value in spaced:
        for match in re.finditer(r"(?<!\w)" + re.escape(value) + r"(?!\w)", text):
            found.append(("patient_id", value, line_of(match.start())))
    return found


# --- the check ----------------------------------------------------------------------------------------

def _read_text(path: Path) -> str:
    return path.read_bytes().decode("utf-8", errors="replace")


def _pages(site: Path) -> list[Path]:
    return sorted(p for p in site.rglob("*.html")
                  if not any(part in LIB_DIRS or part.startswith(".") for part in p.relative_to(site).parts[:-1]))


def check_site(site: str | Path, data: str | Path | None = None, *, anchors: bool = False,
               require_pdf: bool = True, study=None) -> list[SiteProblem]:
    """Every problem of the site at `site`; `data` is the input file for the patient-level data check.

    `study` (an `analysis.study.Study`) says how to read that file: its encoding, sheet and mapping.
    """
    site = Path(site)
    problems: list[SiteProblem] = []
    if not site.is_dir():
        return [SiteProblem(str(site), "site", "site folder not found")]
    if not (site / "index.html").is_file():
        problems.append(SiteProblem("index.html", "site", "the site has no index.html"))

    record = None
    short_hash = None
    try:
        record = json.loads((site / RECORD_FILE).read_text(encoding="utf-8"))
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

    parsed: dict[Path, _Page] = {}
    for page in _pages(site):
        parsed[page.resolve()] = _parse_page(_read_text(page))

    def ids_of(target: Path) -> set[str] | None:
        if target.suffix.lower() not in (".html", ".htm"):
            return None
        if target not in parsed:
            parsed[target] = _parse_page(_read_text(target))
        return parsed[target].ids

    for page in _pages(site):
        rel = page.relative_to(site).as_posix()
        info = parsed[page.resolve()]
        pdf_links = []
        for tag, url, line in info.links:
            url = url.strip()
            if not url or url.startswith("#") or _is_external(url):
                if anchors and url.startswith("#") and len(url) > 1 and unquote(url[1:]) not in info.ids:
                    problems.append(SiteProblem(rel, "link", f"line {line}: <{tag}> anchor {url!r} not found on the page"))
                continue
            target, fragment, why = _resolve(site, page, url)
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
                                                             f"#{fragment} in {target.relative_to(site.resolve()).as_posix()}"))
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
    if search.is_file():
        try:
            entries = json.loads(_read_text(search))
        except ValueError:
            entries = []
            problems.append(SiteProblem("search.json", "site", "search.json is not valid JSON"))
        for entry in entries if isinstance(entries, list) else []:
            href = entry.get("href") if isinstance(entry, dict) else None
            if href and not _is_external(href) and not href.startswith("#"):
                target, _, why = _resolve(site, site / "search.json", href)
                if why or target is None:
                    problems.append(SiteProblem("search.json", "link", f"search entry {href!r} does not resolve"))

    if identifiers is not None and (identifiers.ids or identifiers.dates):
        for path in sorted(site.rglob("*")):
            if not path.is_file() or path.suffix.lower() not in TEXT_SUFFIXES:
                continue
            if any(part.startswith(".") for part in path.relative_to(site).parts[:-1]):
                continue  # .git of a published checkout
            rel = path.relative_to(site).as_posix()
            for kind, value, line in find_leaks(_read_text(path), identifiers):
                what = "a patient_id of the input" if kind == "patient_id" else "a date of the input"
                problems.append(SiteProblem(rel, "leak", f"line {line}: {what}: {value!r}"))
    return problems


def errors(problems: list[SiteProblem]) -> list[SiteProblem]:
    return [p for p in problems if p.severity == "error"]


def command_check_site(args: argparse.Namespace) -> int:
    """`python -m analysis check-site SITE_DIR [--data FILE | --no-data] [--anchors]`."""
    from analysis.analyses.settings import load_study

    study = None if args.no_data else load_study(args.study)
    data = None if args.no_data else (args.data or study.data)
    problems = check_site(args.site, data, anchors=args.anchors, require_pdf=not args.no_pdf, study=study)
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
    parser.add_argument("site", help="the rendered site folder, e.g. _site")
    parser.add_argument("--data", help="input file to search the site for (default: the report's input)")
    parser.add_argument("--no-data", action="store_true", help="skip the patient-level data check")
    parser.add_argument("--study", help="study configuration that reads the input (default: $REPORT_STUDY or study.yml)")
    parser.add_argument("--anchors", action="store_true", help="also check the #fragment of links to other pages")
    parser.add_argument("--no-pdf", action="store_true", help="do not require a PDF link on every page")
    parser.set_defaults(run=command_check_site)
