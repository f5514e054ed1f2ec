"""A fresh machine draws the same report, installs the project on Python 3.11-3.13, and a build
leaves the work tree clean.

The font test runs matplotlib in fresh processes whose font cache is built from scratch, once with
no extra fonts and once with a folder of "system" fonts that claim the names the figures could
fall back on (Arial, Helvetica, Liberation Sans, Nimbus Sans) and even the two names the figures
use (Source Sans Pro, DejaVu Sans).  The decoys are matplotlib's DejaVu Serif renamed with
fontTools, so the test depends on no font of the machine and a decoy used anywhere would change
the pixels.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import matplotlib as mpl
import pytest
from fontTools.ttLib import TTFont

from analysis.data.paths import PROJECT_ROOT

DECOY_FAMILIES = ("Arial", "Helvetica", "Liberation Sans", "Nimbus Sans", "Source Sans Pro", "DejaVu Sans")

DRAW_FIGURE = """
import re, sys
import matplotlib
matplotlib.use("Agg")
from matplotlib import font_manager
from analysis.analyses.estimates import estimate_endpoint
from analysis.pages import cohort
from analysis.present.figures.curves import plot_curves

result = estimate_endpoint(cohort().data, "os", by="graft_source")
figure = plot_curves(result, times=(0, 12, 24, 36, 48, 60))
figure.savefig(sys.argv[1] + ".png", dpi=120)
figure.savefig(sys.argv[1] + ".svg", metadata={"Date": None})
# Which fonts this process knew about: the decoys must have been found for the test to mean anything.
print("\\n".join(sorted({f"{entry.name}|{entry.fname}" for entry in font_manager.fontManager.ttflist})))
"""


def _decoy_fonts(folder: Path) -> None:
    """Fonts named like the machine's usual sans fonts (and like ours), drawn with different glyphs."""
    folder.mkdir(parents=True)
    source = Path(mpl.get_data_path()) / "fonts" / "ttf" / "DejaVuSerif.ttf"
    for family in DECOY_FAMILIES:
        font = TTFont(source)
        for record in font["name"].names:
            if record.nameID in (1, 4, 16):
                record.string = family
            elif record.nameID == 6:
                record.string = family.replace(" ", "") + "-Regular"
        font.save(folder / f"{family.replace(' ', '')}-Regular.ttf")


def _draw(tmp_path: Path, name: str, fonts_home: Path) -> tuple[bytes, str, str]:
    environment = {**os.environ, "XDG_DATA_HOME": str(fonts_home), "MPLCONFIGDIR": str(tmp_path / f"mpl-{name}")}
    out = tmp_path / name
    run = subprocess.run([sys.executable, "-c", DRAW_FIGURE, str(out)], capture_output=True, text=True,
                         cwd=PROJECT_ROOT, env=environment, timeout=300)
    assert run.returncode == 0, run.stderr
    return out.with_suffix(".png").read_bytes(), out.with_suffix(".svg").read_text(), run.stdout


@pytest.mark.slow  # in `make test`; left out of `make test-fast` (under a minute)
def test_figures_are_byte_identical_whatever_fonts_the_machine_has(tmp_path):
    empty_home = tmp_path / "no-extra-fonts"
    (empty_home / "fonts").mkdir(parents=True)
    decoy_home = tmp_path / "with-decoys"
    _decoy_fonts(decoy_home / "fonts")

    png, svg, _ = _draw(tmp_path, "plain", empty_home)
    decoy_png, decoy_svg, known = _draw(tmp_path, "decoys", decoy_home)

    # The decoys were installed as far as matplotlib could tell: the ones with other names are listed...
    for family in ("Arial", "Liberation Sans", "Helvetica", "Nimbus Sans"):
        assert f"{family}|{decoy_home / 'fonts'}" in known
    # ...and the ones named like the project's fonts were set aside in favour of the project's files.
    assert f"Source Sans Pro|{decoy_home / 'fonts'}" not in known
    assert png == decoy_png
    paths = re.findall(r' d="([^"]+)"', svg)
    assert paths and paths == re.findall(r' d="([^"]+)"', decoy_svg)
    assert "SourceSansPro" in svg  # the glyphs are Source Sans Pro's


def test_the_figure_font_is_bundled_and_open_licensed():
    from analysis.present import fonts

    files = fonts.font_files()
    assert any(path.name == "SourceSansPro-Regular.ttf" for path in files)
    assert any(path.name == "SourceSansPro-Bold.ttf" for path in files)
    licence = (files[0].parent / "LICENSE.txt").read_text(encoding="utf-8")
    assert "SIL Open Font License" in licence


# ---------------------------------------------------------------- Python versions and dependencies


def _pins(name: str) -> dict[str, str]:
    lines = (PROJECT_ROOT / name).read_text(encoding="utf-8").splitlines()
    pairs = [line.split("#")[0].strip().split("==") for line in lines if "==" in line.split("#")[0]]
    return {re.sub(r"[-_.]+", "-", package).lower(): version for package, version in pairs}


def test_python_3_11_to_3_13_are_allowed():
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["requires-python"] == ">=3.11,<3.14"


def test_dependencies_are_split_by_role():
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime, test_only = _pins("requirements.lock"), _pins("requirements-test.lock")
    assert not runtime.keys() & test_only.keys()
    for package in ("pytest", "hypothesis", "lifelines"):
        assert package in test_only and package not in runtime
    for requirement in project["dependencies"]:
        package, version = requirement.split("==")
        assert runtime[re.sub(r"[-_.]+", "-", package).lower()] == version, requirement
    for requirement in project["optional-dependencies"]["test"]:
        package, version = requirement.split("==")
        assert test_only[re.sub(r"[-_.]+", "-", package).lower()] == version, requirement


def test_provenance_lists_what_computed_the_numbers_not_what_checked_them():
    from analysis.analyses.provenance import SOFTWARE

    assert "lifelines" not in SOFTWARE and "pytest" not in SOFTWARE
    assert {"numpy", "scipy", "pandas", "matplotlib"} <= set(SOFTWARE)


# ---------------------------------------------------------------- a build leaves the tree clean


def _quarto_required_ignores() -> list[str]:
    # What Quarto 1.10 looks for, line by line, before every render; a missing line is appended to the
    # tracked .gitignore (src/project/project-gitignore.ts).  "/_*.local" only when such files exist.
    return ["/.quarto/", "**/*.quarto_ipynb", "/_*.local"]


def test_quarto_finds_every_line_it_would_append_to_gitignore():
    lines = [line.strip() for line in (PROJECT_ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()]
    for required in _quarto_required_ignores():
        assert required in lines, f"quarto render would append {required!r} to .gitignore"


def _project_copy(tmp_path: Path) -> Path:
    """The working tree's tracked and untracked (not ignored) files, committed in a new repository."""
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=PROJECT_ROOT,
                            capture_output=True, check=True).stdout.decode().split("\0")
    copy = tmp_path / "project"
    for name in filter(None, listed):
        if (PROJECT_ROOT / name).is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(PROJECT_ROOT / name, copy / name)
    for command in (["init", "-q"], ["add", "-A"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "copy"]):
        subprocess.run(["git", *command], cwd=copy, check=True, capture_output=True)
    return copy


def _make(copy: Path, target: str, *variables: str) -> None:
    # The Makefile's own recipe, run with this interpreter instead of a new .venv.
    run = subprocess.run(["make", "-s", target, f"PY={sys.executable}", "INSTALLED=", "TEST_INSTALLED=", *variables],
                         cwd=copy, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr


def _porcelain(copy: Path) -> str:
    return subprocess.run(["git", "status", "--porcelain"], cwd=copy, capture_output=True, text=True,
                          check=True).stdout


@pytest.mark.slow  # in `make test`; left out of `make test-fast` (under a minute)
@pytest.mark.skipif(shutil.which("make") is None or shutil.which("git") is None, reason="needs make and git")
def test_make_provenance_leaves_the_work_tree_clean(tmp_path):
    copy = _project_copy(tmp_path)
    _make(copy, "provenance")
    assert (copy / "_variables.yml").exists()
    assert _porcelain(copy) == ""


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("make") is None or shutil.which("git") is None, reason="needs make and git")
def test_make_preview_leaves_the_work_tree_clean(tmp_path):
    """Every page writes through the same code (its source data beside it, its figures in the notebook):
    the overview, a chapter of figures and tables with source data, and the page of time-dependent
    states stand for them (all eleven took half a minute of the suite's four)."""
    copy = _project_copy(tmp_path)
    _make(copy, "provenance")
    pages = ["index.qmd", "report/outcomes.qmd", "report/landmark.qmd"]
    _make(copy, "preview", f"PAGES={' '.join(pages)}")
    assert sorted(path.name for path in (copy / "_preview").iterdir()) == sorted(
        page.replace("/", "_").replace(".qmd", ".html") for page in pages)
    assert _porcelain(copy) == ""


# ---------------------------------------------------------------- quiet runs


@pytest.mark.slow
def test_executing_a_page_prints_only_what_a_reader_of_the_log_needs(tmp_path):
    """Each kernel start used to print ipykernel's "running over TCP without encryption" warning;
    `make` installs a kernel configuration in the venv that keeps kernel logs to errors."""
    config = Path(sys.prefix) / "etc" / "ipython" / "ipython_kernel_config.json"
    assert config.exists(), f"{config} is missing: the Makefile's install step writes it"
    run = subprocess.run([sys.executable, "-m", "analysis.build", "execute", "report/outcomes.qmd"],
                         cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "without encryption" not in run.stderr + run.stdout
    assert "WARNING" not in run.stderr
