"""The PDF's figures fit the text width of A4 and US Letter, and their text (the numbers at risk
included) stays at least 7 pt at the size Typst places them."""
import pytest
from matplotlib.figure import Figure

from typst_pdf import PAPERS, SMALLEST_PT, TYPST_FORMAT, check_figures, placed_figure

from analysis.present.style import PDF_FIGURE_HEIGHT_IN, PDF_TEXT_WIDTH_IN

def test_the_typst_format_draws_figures_for_the_text_width_at_300_dpi():
    assert TYPST_FORMAT["fig-format"] == "png" and TYPST_FORMAT["fig-dpi"] == 300
    assert TYPST_FORMAT["fig-width"] <= PDF_TEXT_WIDTH_IN == PAPERS["us-letter"]["text_width_in"]
    assert PDF_TEXT_WIDTH_IN < PAPERS["a4"]["text_width_in"]
    assert TYPST_FORMAT["fig-height"] <= PDF_FIGURE_HEIGHT_IN


def test_every_figure_of_the_synthetic_report_is_readable_where_the_pdf_places_it(synthetic_outputs):
    """Issue 14: the forest plot of three models was 12.8 in wide, its 8 pt text set at 4.1 pt."""
    check_figures(synthetic_outputs)
    forest = next(o.value for o in synthetic_outputs if o.label == "fig-forest")
    assert placed_figure(forest).width_in <= PDF_TEXT_WIDTH_IN + 0.2  # one panel a band, not three side by side


@pytest.mark.parametrize("width_in, smallest_pt, fits", [(6.5, 8.0, True), (12.8, 8.0, False), (7.3, 8.5, True)])
def test_the_check_scales_a_wide_figure_down_with_its_text(width_in, smallest_pt, fits):
    figure = Figure(figsize=(width_in, 3.0))
    figure.text(0.0, 0.5, "n = 59", fontsize=smallest_pt)
    figure.text(0.95, 0.5, "edge", fontsize=smallest_pt)
    placed = placed_figure(figure)
    assert (placed.smallest_pt * placed.scale("us-letter") >= SMALLEST_PT) == fits
