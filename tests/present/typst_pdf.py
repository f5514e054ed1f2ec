"""Compiling the report's Typst without Quarto, and reading the PDF back (a helper of the tests).

`document` sets a Typst document up as Quarto's Typst template does for this project (paper and
margins of `_quarto.yml`, 11 pt justified text, the text parts of its `include-in-header`), and
`table_float` wraps a table as Quarto wraps a `tbl-` cell (a figure of kind "quarto-float-tbl" with
its caption on top).  `compile_pdf` runs the pinned `typst` compiler with its own embedded fonts
only, so no test depends on the machine's fonts.  `pdf_pages` reads every glyph's box back with
pdfplumber; `overlaps` finds glyphs drawn over each other; `words` is the text, in reading order.

Imported by the tests of this folder as a plain module (pytest puts their folder on sys.path).
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pdfplumber
import typst
import yaml

from analysis.data.paths import PROJECT_ROOT
from analysis.present.tables.render_typst import typst_string

CONFIG = yaml.safe_load((PROJECT_ROOT / "_quarto.yml").read_text(encoding="utf-8"))
TYPST_FORMAT = CONFIG["format"]["typst"]
QUARTO_FONT_SIZE = "11pt"  # Quarto's Typst template: `fontsize: 11pt`, `set par(justify: true)`

#: The papers a table must fit: the project's (A4, 2 cm margins) and US Letter with 1 in margins,
#: the narrowest text of the two (6.5 in).
PAPERS = {
    "a4": {"paper": "a4", "margin": TYPST_FORMAT["margin"]["x"], "text_width_in": 21.0 / 2.54 - 2 * 2 / 2.54},
    "us-letter": {"paper": "us-letter", "margin": "1in", "text_width_in": 6.5},
}
RAW_TYPST_RE = re.compile(r"^(`{3,})\{=typst\}\n(.*?)\n\1$", re.S | re.M)


def header_includes() -> str:
    """The Typst the project adds to every PDF's header (its text entries: files are generated)."""
    entries = TYPST_FORMAT.get("include-in-header") or []
    return "\n".join(e["text"] for e in (entries if isinstance(entries, list) else [entries]) if isinstance(e, dict))


def document(body: str, paper: str = "a4") -> str:
    setup = PAPERS[paper]
    return (f'#set page(paper: "{setup["paper"]}", margin: {setup["margin"]}, numbering: "1")\n'
            f"#set par(justify: true)\n#set text(size: {QUARTO_FONT_SIZE})\n"
            f"{header_includes()}\n{body}\n")


def table_float(source: str, caption: str) -> str:
    """A table's Typst as Quarto places a `tbl-` cell's output: a breakable float, caption on top."""
    return (f"#figure([\n{source}\n], caption: figure.caption(position: top, [#{typst_string(caption)}]), "
            f'kind: "quarto-float-tbl", supplement: "Table")\n')


def raw_typst(markdown: str) -> list[str]:
    """The raw Typst blocks (```{=typst}) of Markdown text."""
    return [m.group(2) for m in RAW_TYPST_RE.finditer(markdown)]


def compile_pdf(source: str, root: Path) -> bytes:
    path = root / "document.typ"
    path.write_text(source, encoding="utf-8")
    return typst.compile(str(path), root=str(root), ignore_system_fonts=True)


@dataclass
class Page:
    text: str
    chars: list[dict]


def pdf_pages(pdf: bytes) -> list[Page]:
    with pdfplumber.open(io.BytesIO(pdf)) as document_:
        return [Page(page.extract_text(), [dict(c) for c in page.chars]) for page in document_.pages]


def words(pages: list[Page]) -> list[str]:
    """The words of the PDF in reading order (non-breaking spaces read as spaces)."""
    return " ".join(p.text.replace("\u00a0", " ") for p in pages).split()


def overlaps(chars: list[dict], tolerance: float = 0.25) -> list[tuple[str, str]]:
    """Pairs of visible glyphs drawn over each other: boxes overlapping by more than `tolerance` pt
    both ways.  Neighbours in the text (one glyph after the other) may touch by kerning ("Ta",
    "y."): they count only when they overlap by more than half the narrower glyph."""
    chars = [c for c in chars if c["text"].strip()]
    if len(chars) < 2:
        return []
    x0 = np.array([c["x0"] for c in chars])
    x1 = np.array([c["x1"] for c in chars])
    top = np.array([c["top"] for c in chars])
    bottom = np.array([c["bottom"] for c in chars])
    found = []
    order = np.argsort(top, kind="stable")
    for k, i in enumerate(order):
        later = order[k + 1:]
        later = later[top[later] < bottom[i] - tolerance]
        if not len(later):
            continue
        wide = np.minimum(x1[i], x1[later]) - np.maximum(x0[i], x0[later])
        tall = np.minimum(bottom[i], bottom[later]) - np.maximum(top[i], top[later])
        narrower = np.minimum(x1[i] - x0[i], x1[later] - x0[later])
        neighbours = np.abs(later - i) == 1
        hit = (wide > tolerance) & (tall > tolerance) & (~neighbours | (wide > 0.5 * narrower))
        found += [(chars[i]["text"], chars[j]["text"]) for j in later[hit]]
    return found


def contains_in_order(haystack: list[str], needle: list[str]) -> bool:
    """Whether `needle`'s words appear in `haystack` in order (a wrapped cell's words may have
    other cells' words between its lines)."""
    position = 0
    for word in needle:
        try:
            position = haystack.index(word, position) + 1
        except ValueError:
            return False
    return True
