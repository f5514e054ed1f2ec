"""The Quarto project as Quarto sees it: schema check offline, real render when Quarto exists."""
import os
import shutil
import subprocess
import sys

import pytest

from analysis.data.paths import PROJECT_ROOT

QUARTO_CHECK = PROJECT_ROOT.parent / "shared" / "tools" / "quarto-check"


@pytest.mark.skipif(not QUARTO_CHECK.exists(), reason="../shared/tools/quarto-check is not beside the project")
def test_quarto_check_reports_no_error():
    result = subprocess.run(
        [str(QUARTO_CHECK), str(PROJECT_ROOT)],
        capture_output=True, text=True, env={**os.environ, "PYTHON": sys.executable}, timeout=120,
    )
    assert result.returncode == 0 and "0 error(s)" in result.stdout, result.stdout + result.stderr


@pytest.mark.skipif(shutil.which("quarto") is None, reason="the quarto CLI is not on PATH")
def test_quarto_render_builds_every_page(tmp_path):
    output = tmp_path / "site"
    result = subprocess.run(
        ["quarto", "render", str(PROJECT_ROOT), "--output-dir", str(output)],
        capture_output=True, text=True, env={**os.environ, "QUARTO_PYTHON": sys.executable}, timeout=1200,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    for page in ("index.html", "report/cohort.html", "report/outcomes.html", "report/factors.html",
                 "report/reproduction.html"):
        html = (output / page).read_text(encoding="utf-8")
        assert "?@fig-" not in html and "?@tbl-" not in html, page
    # The whole site as it would be published: links, provenance footer, PDFs, cross-references and
    # no patient-level data of the input (analysis/site_check.py).
    from analysis.analyses.settings import load_study
    from analysis.build.site_check import check_site, errors

    problems = errors(check_site(output, load_study().data))
    assert not problems, "\n".join(str(p) for p in problems)
