"""Quarto's third pre-render step (`pre-render` in `_quarto.yml`): `analysis.build.records`.

Run as a script by $QUARTO_PYTHON from the project folder, after `prerender_sections.py`: the
version's headline results, its citation and the whole report as one document.
"""
import sys

from analysis.build.records import main

if __name__ == "__main__":
    sys.exit(main())
