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
    """The words of the PDF in reading order (non-breaking spaces read as spaces; a word Typst broke
    after its own hyphen or slash at the end of a line, "cause-" + "specific", "(relapse/" +
    "progression,", read whole again)."""
    found: list[str] = []
    for word in " ".join(p.text.replace("\u00a0", " ") for p in pages).split():
        if found and len(found[-1]) > 1 and found[-1].endswith(("-", "/")) and found[-1][-2].isalpha():
            found[-1] += word
        else:
            found.append(word)
    return found


def overlaps(chars: list[dict], tolerance: float = 0.25) -> list[tuple[str, str]]:
    """Pairs of visible glyphs drawn over each other: boxes overlapping by more than `tolerance` pt
    both ways.  Neighbours in the text (one glyph after the other) may overlap by kerning ("Ta",
    "y.", ",'"): they count only when one covers (nearly) the whole of the other."""
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
        hit = (wide > tolerance) & (tall > tolerance) & (~neighbours | (wide > 0.9 * narrower))
        found += [(chars[i]["text"], chars[j]["text"]) for j in later[hit]]
    return found


MARK_CHARACTERS = set("*\u2020\u2021\u00a7,")  # footnote marks, which follow a word without a space


def contains_in_order(haystack: list[str], needle: list[str]) -> bool:
    """Whether `needle`'s words appear in `haystack` in order (a wrapped cell's words may have
    other cells' words between its lines; a word may carry a footnote mark before or after it)."""
    def same(found: str, word: str) -> bool:
        if found == word:
            return True
        before, after = found.find(word), len(found) - found.find(word) - len(word)
        return before >= 0 and set(found[:before] + found[len(found) - after:]) <= MARK_CHARACTERS

    position = 0
    for word in needle:
        position = next((i + 1 for i in range(position, len(haystack)) if same(haystack[i], word)), None)
        if position is None:
            return False
    return True


@dataclass
class PlacedFigure:
    width_in: float  # as saved for the PDF: PNG at the Typst format's dpi, cropped to its content
    height_in: float
    smallest_pt: float  # the smallest text of the figure, at the figure's own size
    smallest_risk_pt: float | None  # the numbers-at-risk table's smallest text, if the figure has one
    overlapping: list[tuple[str, str]]  # texts drawn over each other

    def scale(self, paper: str) -> float:
        """How much Typst shrinks the figure to fit the text width of `paper` (1 when it fits)."""
        return min(1.0, PAPERS[paper]["text_width_in"] / self.width_in)


def placed_figure(figure) -> PlacedFigure:
    """A matplotlib figure as Quarto saves it for the PDF (`fig-format: png` at `fig-dpi`, with the
    inline backend's tight bounding box), its smallest text and any texts drawn over each other."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text
    from PIL import Image

    dpi = TYPST_FORMAT["fig-dpi"]
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    width, height = Image.open(io.BytesIO(buffer.getvalue())).size
    texts = [t for t in figure.findobj(Text) if t.get_visible() and t.get_text().strip()]
    risk = [t.get_fontsize() for t in texts if str(t.get_gid() or "").startswith("risk")]
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts]
    overlapping = [(a, b) for i, (a, box) in enumerate(boxes) for b, other in boxes[i + 1:]
                   if min(box.x1, other.x1) - max(box.x0, other.x0) > 1
                   and min(box.y1, other.y1) - max(box.y0, other.y0) > 1]
    return PlacedFigure(width / dpi, height / dpi, min(t.get_fontsize() for t in texts), min(risk) if risk else None,
                        overlapping)


SMALLEST_PT = 7.0
US_LETTER_TEXT_HEIGHT_IN = 9.0


def check_figures(outputs) -> None:
    """Every figure of `outputs` fits the PDF (see `placed_figure`) with its text at least 7 pt."""
    from matplotlib.figure import Figure

    figures = [(o, o.value) for o in outputs if isinstance(o.value, Figure)]
    assert figures, "the report has no figure"
    for output, figure in figures:
        placed = placed_figure(figure)
        for paper in PAPERS:
            shown = placed.smallest_pt * placed.scale(paper)
            assert shown >= SMALLEST_PT, (f"{output.label}: {placed.width_in:.2f} in wide, its {placed.smallest_pt} pt "
                                          f"text is set at {shown:.1f} pt on {paper}")
            if placed.smallest_risk_pt is not None:
                assert placed.smallest_risk_pt * placed.scale(paper) >= SMALLEST_PT, output.label
        # Room for its caption on a US Letter page (Typst would shrink a taller figure, and move the caption).
        assert placed.height_in * placed.scale("us-letter") <= US_LETTER_TEXT_HEIGHT_IN - 0.5, output.label
        assert not placed.overlapping, f"{output.label}: texts drawn over each other: {placed.overlapping[:3]}"


HEADING_RE = re.compile(r"^(#{1,6})\s+(.*)$")


def page_document(notebook, folder: Path) -> str:
    """An executed page (`python -m analysis.build execute --to typst`) as Typst, placed as Quarto
    places it: headings, prose paragraphs (as plain text), raw Typst outputs as they are, figures
    (their PNGs) and tables in captioned floats.  Quarto's own Markdown conversion is not copied:
    prose keeps its Markdown marks as text."""
    import base64

    from analysis.build.qmd import INLINE_TAG, cell_options

    parts, images = [], 0
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for block in re.split(r"\n\s*\n", cell.source):
                lines = [line for line in block.splitlines() if line.strip() and not line.startswith(":::")]
                if not lines:
                    continue
                heading = HEADING_RE.match(lines[0])
                if heading and len(lines) == 1:
                    parts.append("=" * len(heading.group(1)) + " #" + typst_string(heading.group(2)))
                else:
                    parts.append("#" + typst_string(" ".join(lines)))
            continue
        if INLINE_TAG in cell.metadata.get("tags", []):
            continue
        options = cell_options(cell.source)
        label = str(options.get("label", ""))
        shown = []
        for output in cell.get("outputs", []):
            if output.output_type == "stream" and options.get("output") == "asis":
                blocks = raw_typst(output.text)
                shown += blocks if blocks else ["#" + typst_string(output.text.strip())]
            elif output.output_type in ("display_data", "execute_result"):
                if "text/markdown" in output.data:
                    shown += raw_typst(output.data["text/markdown"])
                elif "image/png" in output.data:
                    images += 1
                    (folder / f"figure-{images}.png").write_bytes(base64.b64decode(output.data["image/png"]))
                    shown.append(f'#box(image("figure-{images}.png"))')
        if label.startswith("tbl-") and shown:
            parts.append(table_float("\n".join(shown), str(options.get("tbl-cap", ""))))
        elif label.startswith("fig-") and shown:
            caption = typst_string(str(options.get("fig-cap", "")))
            parts.append(f'#figure([\n{chr(10).join(shown)}\n], caption: [#{caption}], kind: "quarto-float-fig", '
                         'supplement: "Figure")')
        else:
            parts += shown
    return "\n\n".join(parts)
