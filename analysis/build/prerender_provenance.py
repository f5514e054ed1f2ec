"""Quarto's first pre-render step (`pre-render` in `_quarto.yml`): `analysis.build.provenance`.

Quarto runs a `.py` entry as a script with its own Python ($QUARTO_PYTHON) from the project
folder; the package is installed in that Python (`pip install -e .`), so a plain import finds it.
"""
import sys

from analysis.build.provenance import main

if __name__ == "__main__":
    sys.exit(main())
