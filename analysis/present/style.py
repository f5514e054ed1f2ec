"""The report's look: figure style (rcParams), palette and inks, the figure class, table typography.

Every figure module draws inside `style()`, never with global settings; every table indents and
marks "not applicable" with the same characters, which survive Quarto's HTML -> Typst conversion.
"""
from __future__ import annotations

import functools
import io
import sys

import matplotlib as mpl
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.figure import Figure

from analysis.present import fonts
from analysis.present.numbers import NOT_SHOWN

__all__ = ["DASH", "INDENT", "INK", "MUTED", "PALETTE", "PDF_FIGURE_HEIGHT_IN", "PDF_TEXT_WIDTH_IN", "REFERENCE_LINE",
           "SINGLE_COLOR", "STYLE", "ReportFigure", "style"]

#: Okabe-Ito colours (colour-blind safe), in the order groups receive them;
#: yellow is left out (too light on white).
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")

#: The colour of a single (ungrouped) curve.
SINGLE_COLOR = "#1F2D3D"

#: Text and axes.
INK = "#222222"
#: Secondary text ("reference" in a forest plot).
MUTED = "#555555"
#: The line of no effect (HR = 1, beta = 0).
REFERENCE_LINE = "#888888"

#: rcParams used while a figure is built (journal figure at 6.5 x 4.5 in).
STYLE: dict[str, object] = {
    # The project's own font files (analysis/present/fonts.py), never whatever the machine has installed.
    # Named explicitly: a generic "sans-serif" would be resolved again through whatever rcParams
    # hold when the figure is drawn (Quarto draws it after the style is gone).
    "font.family": [fonts.FAMILY, fonts.FALLBACK],
    "font.size": 9.0,
    "axes.titlesize": 10.0,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.titlepad": 8.0,
    "axes.labelsize": 9.5,
    "axes.labelcolor": INK,
    "axes.edgecolor": "#444444",
    "axes.linewidth": 0.8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "axes.facecolor": "white",
    "figure.facecolor": "white",
    "xtick.labelsize": 8.5,
    "ytick.labelsize": 8.5,
    "xtick.color": "#444444",
    "ytick.color": "#444444",
    "xtick.labelcolor": INK,
    "ytick.labelcolor": INK,
    "xtick.major.size": 3.5,
    "ytick.major.size": 3.5,
    "xtick.major.width": 0.8,
    "ytick.major.width": 0.8,
    "legend.fontsize": 8.5,
    "legend.frameon": False,
    "text.color": INK,
    "lines.linewidth": 1.6,
    "lines.solid_joinstyle": "miter",
}

fonts.register()  # at import: every figure module draws through this style

#: The width of the PDF's text, in inches: US Letter with 1 in margins, narrower than A4 with the
#: report's 2 cm margins (6.69 in).  A figure drawn for the PDF keeps within it, so Typst places it
#: at its own size (a wider one is scaled down, and its text with it).
PDF_TEXT_WIDTH_IN = 6.5
#: The tallest figure drawn for the PDF, in inches: its caption still fits beside it on a US Letter
#: page (9 in of text height).
PDF_FIGURE_HEIGHT_IN = 8.0

#: An indentation of table rows that survives HTML -> Typst (an em space, not CSS padding).
INDENT = "\u2003"
#: "Not applicable" in a table cell (an em dash), the number formats' mark.
DASH = NOT_SHOWN


class ReportFigure(Figure):
    """A `Figure` that shows itself in a notebook even when pyplot was never imported.

    Where matplotlib's notebook integration is active (``%matplotlib inline``,
    Quarto) its formatter draws the figure as usual; otherwise ``_repr_png_``
    does.  The figure is not registered with pyplot, so it appears once.

    It is born with an Agg canvas (a bare `Figure` has only matplotlib's base canvas), which keeps
    one renderer for as long as the figure's size and dpi stay the same: laying the figure out,
    measuring its texts and drawing it then share that renderer and matplotlib's cache of text
    sizes (kept per renderer), instead of a new full-size canvas and cold cache each time.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _ReportCanvas(self)

    def _repr_png_(self) -> bytes | None:
        if _notebook_draws_figures():
            return None  # drawn once, in the format Quarto asked for (svg for HTML, png for PDF)
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", bbox_inches="tight")
        return buffer.getvalue()


#: The font families matplotlib resolves through rcParams ("sans-serif" ...): part of what a font is.
_GENERIC_FAMILIES = ("font.serif", "font.sans-serif", "font.cursive", "font.fantasy", "font.monospace")


@functools.lru_cache(maxsize=256)
def _font_height_metrics(prop, dpi: float, generic: tuple, fonts: tuple) -> tuple:
    """Ascent, descent and line gap of the font `prop` names, in pixels at `dpi`: what matplotlib's
    text layout reads from the font's tables for each text (`matplotlib.text.Text._get_layout`), the
    same font, tables and arithmetic; (None, None, None) to let matplotlib measure instead.
    `generic` and `fonts` are only keys: the generic families' fonts and the font manager's list."""
    font = font_manager.get_font(font_manager.fontManager._find_fonts_by_props(prop))
    for table_name, linegap_key, ascent_key, descent_key in (
            ("OS/2", "sTypoLineGap", "sTypoAscender", "sTypoDescender"), ("hhea", "lineGap", "ascent", "descent")):
        table = font.get_sfnt_table(table_name)
        if table is None:
            continue
        fontsize = prop.get_size_in_points()
        units_per_em = font.get_sfnt_table("head")["unitsPerEm"]
        scale = 1 / units_per_em * fontsize * dpi / 72
        return table[ascent_key] * scale, -table[descent_key] * scale, table[linegap_key] * scale
    return None, None, None


class _ReportRenderer(RendererAgg):
    """An Agg renderer that answers each font's line metrics from a cache.

    matplotlib lays out a text by finding its font and reading ascent, descent and line gap from the
    font's tables, at every measurement and draw of every text (thousands of times per figure, half
    of the time of laying texts out); a renderer may answer them itself (`_get_font_height_metrics`,
    as matplotlib's PDF and PostScript renderers do).  This one answers the very numbers matplotlib
    would compute, at the dpi of the figure it draws (`tests/present/test_figures_tables.py`).
    """

    figure: Figure | None = None

    def _get_font_height_metrics(self, prop):
        manager = font_manager.fontManager
        if self.figure is None or not hasattr(manager, "_find_fonts_by_props"):
            return None, None, None  # (matplotlib measures: a version without the private lookup used here)
        generic = tuple(tuple(mpl.rcParams[key]) for key in _GENERIC_FAMILIES)
        return _font_height_metrics(prop.copy(), self.figure.dpi, generic, (id(manager.ttflist), len(manager.ttflist)))


class _ReportCanvas(FigureCanvasAgg):
    """The Agg canvas of a report figure: its renderer is a `_ReportRenderer`, kept (as Agg keeps
    its own) while the figure's size and dpi stay the same."""

    def get_renderer(self):
        width, height = self.get_width_height(physical=True)
        key = width, height, self.figure.dpi
        if self._lastKey != key:
            self.renderer = _ReportRenderer(width, height, self.figure.dpi)
            self.renderer.figure = self.figure
            self._lastKey = key
        return self.renderer


def _notebook_draws_figures() -> bool:
    """Whether IPython has a formatter for matplotlib figures (``%matplotlib inline``, Quarto's setup)."""
    shell = sys.modules.get("IPython") and sys.modules["IPython"].get_ipython()
    if shell is None:
        return False
    formatters = shell.display_formatter.formatters.values()
    return any(Figure in getattr(f, "type_printers", {}) for f in formatters)


def style():
    """The figure style as a context manager: ``with style(): ...``."""
    return mpl.rc_context(STYLE)
