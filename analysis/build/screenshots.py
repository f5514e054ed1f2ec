"""The README's two pictures, drawn by the very calls the chapters make, on the committed synthetic cohort.

    python -m analysis.build screenshots [DIR]     (default docs/; needs the `typst` package: make test installs it)

- `figure-overall-survival-by-factor.png`: the factors chapter's @fig-os-factors, saved as PNG at screen
  resolution (96 dpi, the HTML pages' `figure.dpi`), from `factor_comparisons` and `plot_panels` with the
  chapter's panel titles and ticks;
- `table-patient-characteristics.png`: the cohort chapter's Table 1 (@tbl-characteristics) as the PDF sets
  it, the `TableModel`'s native Typst table (`render_typst.to_typst`) compiled to PNG by the `typst`
  package with its own fonts only (no font of the machine), at 144 pixels per inch.

Nothing is random and every input is committed, so running the command again writes the same pictures.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from analysis.analyses.cohort import table_one
from analysis.analyses.factors import factor_comparisons
from analysis.analyses.settings import load_study
from analysis.data.paths import DEFAULT_STUDY, PROJECT_ROOT
from analysis.data.study import study_cohort
from analysis.present.context import using_display
from analysis.present.figures.curves import plot_panels, time_ticks
from analysis.present.prose import panel_titles
from analysis.present.tables.characteristics import characteristics_gt
from analysis.present.tables.render_typst import to_typst

FIGURE = "figure-overall-survival-by-factor.png"
TABLE = "table-patient-characteristics.png"
SCREEN_DPI = 96  # the HTML figures' resolution (Quarto's default figure.dpi for HTML)
TABLE_PPI = 144
# A page as wide as the report's text (A4 less its 2 cm margins), as high as the table.
TABLE_PAGE = '#set page(width: 17cm, height: auto, margin: 6pt)\n#set text(size: 10pt)\n'


def write_figure(target: Path) -> Path:
    """The factors chapter's overall-survival figure, as its cell draws it, at screen resolution."""
    settings = load_study(DEFAULT_STUDY)
    cohort = study_cohort(settings)
    with using_display(settings, cohort):
        comparisons = factor_comparisons(cohort, settings)
        figure = plot_panels(comparisons.os, titles=panel_titles(comparisons.os), times=time_ticks(settings.horizons))
    figure.savefig(target, dpi=SCREEN_DPI, metadata={"Software": None})
    return target


def write_table(target: Path) -> Path:
    """The cohort chapter's Table 1, as the PDF sets it, compiled to PNG."""
    try:
        import typst
    except ImportError:
        raise SystemExit("screenshots: the table needs the `typst` package (make test installs it)") from None
    settings = load_study(DEFAULT_STUDY)
    cohort = study_cohort(settings)
    with using_display(settings, cohort):
        source = TABLE_PAGE + to_typst(characteristics_gt(table_one(cohort, settings)).model)
    with tempfile.TemporaryDirectory() as folder:
        document = Path(folder) / "table.typ"
        document.write_text(source, encoding="utf-8")
        target.write_bytes(typst.compile(str(document), format="png", ppi=TABLE_PPI, ignore_system_fonts=True))
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis.build screenshots", description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=PROJECT_ROOT / "docs", help="where to write (docs/)")
    args = parser.parse_args(argv)
    args.folder.mkdir(parents=True, exist_ok=True)
    for path in (write_figure(args.folder / FIGURE), write_table(args.folder / TABLE)):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
