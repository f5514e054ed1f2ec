"""What a page kernel pays before its page runs: the import of `analysis.pages` (every page's setup
cell) leaves the heavy libraries to the computations and renderers that use them (issue 16: a render
starts two kernels per page).  Checked by the modules imported, never by a time."""
from __future__ import annotations

import json
import subprocess
import sys

from analysis.data.paths import PROJECT_ROOT

# Imported where first used: SciPy by the tests' P values and Fisher's exact test, great_tables by an
# HTML table when it is shown.
DEFERRED = ("scipy", "great_tables")


def imported_after(code: str) -> set[str]:
    """The top-level packages a fresh interpreter has imported after running `code`."""
    probe = code + "\nimport json, sys\nprint(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    run = subprocess.run([sys.executable, "-c", probe], cwd=PROJECT_ROOT, capture_output=True, text=True,
                         check=True)
    return set(json.loads(run.stdout.splitlines()[-1]))


def test_importing_the_pages_leaves_the_heavy_libraries_for_later():
    assert not imported_after("import analysis.pages") & set(DEFERRED)


def test_a_page_setup_cells_import_leaves_them_too():
    """The names `report/_setup.qmd` imports, on top of Quarto's own setup (matplotlib.pyplot)."""
    from analysis.build.qmd import qmd_to_notebook, setup_cell

    setup = next(c for c in qmd_to_notebook(PROJECT_ROOT / "report" / "_setup.qmd").cells if c.cell_type == "code")
    start = setup.source.index("from analysis.pages import (")
    imports = setup.source[start:setup.source.index(")", start) + 1]
    quarto = "\n".join(line for line in setup_cell({"fig-width": 7, "fig-height": 5, "fig-format": "retina",
                                                    "fig-dpi": 96}).source.splitlines() if not line.startswith("%"))
    assert not imported_after(quarto + "\n" + imports) & set(DEFERRED)
