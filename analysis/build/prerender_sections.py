"""Quarto's second pre-render step (`pre-render` in `_quarto.yml`): `analysis.build.sections`.

Run as a script by $QUARTO_PYTHON from the project folder, after `prerender_provenance.py`.
"""
import sys

from analysis.build.sections import main

if __name__ == "__main__":
    sys.exit(main())
