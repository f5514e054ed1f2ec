"""The provenance pre-render step: what every page's footer and the Methods page say, and the freeze story."""
import json
import re
import subprocess
import sys

import pytest
import yaml

from analysis import __version__
from analysis.analyses import provenance
from analysis.analyses.provenance import collect, report_version
from analysis.build.provenance import (
    FINGERPRINT_FILE, RECORD_FILE, TYPST_FILE, VARIABLES_FILE, fingerprint, refresh_freeze, write_outputs,
)
from analysis.data.cohort import file_sha256, load_cohort
from analysis.data.paths import PROJECT_ROOT, SYNTHETIC_DATA
from analysis.present import prose
from analysis.present.tables import provenance as provenance_tables

VAR_RE = re.compile(r"\{\{<\s*var\s+([\w.\-]+)\s*>\}\}")


@pytest.fixture
def fixed(monkeypatch):
    """A reproducible build: version, commit and date from the environment, no Quarto."""
    monkeypatch.setenv("REPORT_VERSION", "v1.4.2")
    monkeypatch.setenv("REPORT_COMMIT", "0123456789abcdef")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1900000000")  # 2030-03-17
    monkeypatch.delenv("REPORT_DATA", raising=False)
    monkeypatch.setattr(provenance, "quarto_version", lambda: None)


@pytest.fixture
def git_env(monkeypatch, tmp_path):
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for who in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{who}_NAME", "Test")
        monkeypatch.setenv(f"GIT_{who}_EMAIL", "test@example.org")
    monkeypatch.delenv("REPORT_VERSION", raising=False)
    monkeypatch.delenv("REPORT_COMMIT", raising=False)


def git(*args, cwd):
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_collect_names_version_date_input_and_software(fixed):
    p = collect()
    assert (p.version, p.release, p.commit, p.date) == ("1.4.2", True, "0123456789ab", "2030-03-17 17:46 UTC")
    assert p.package_version == __version__
    assert p.data_source == "ankl_cohort.csv" and p.synthetic is True
    assert p.data_sha256 == file_sha256(SYNTHETIC_DATA) and p.data_sha256_short == p.data_sha256[:12]
    assert list(p.software)[:7] == ["Python", "pandas", "numpy", "scipy", "pyarrow", "matplotlib", "great-tables"]
    assert p.quarto is None and "Quarto" not in p.software
    assert p.configuration["Input file"] == "data/synthetic/ankl_cohort.csv"
    assert p.footer == f"Report 1.4.2 · built 2030-03-17 17:46 UTC · input SHA-256 {p.data_sha256[:12]} · synthetic data: yes"


def test_collect_from_a_page_reuses_the_loaded_cohort(fixed):
    cohort = load_cohort(SYNTHETIC_DATA)
    p = collect(cohort=cohort)
    assert (p.data_source, p.data_sha256, p.synthetic) == (cohort.source, cohort.sha256, cohort.synthetic)


def test_a_registry_extract_is_not_synthetic(fixed, tmp_path, monkeypatch):
    extract = tmp_path / "private" / "extract.csv"
    extract.parent.mkdir()
    extract.write_bytes(SYNTHETIC_DATA.read_bytes())
    monkeypatch.setenv("REPORT_DATA", str(extract))
    p = collect()
    assert p.synthetic is False and p.data_source == "extract.csv"
    assert p.configuration["Input file"] == "extract.csv"  # outside the project: the name only
    assert p.configuration["Chosen by"] == "$REPORT_DATA"
    with pytest.raises(FileNotFoundError):
        collect(tmp_path / "missing.csv")


def test_version_from_a_release_tag_else_a_development_build(git_env, tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git("init", "--quiet", cwd=repo)
    (repo / "file.txt").write_text("one")
    git("add", ".", cwd=repo)
    git("commit", "--quiet", "-m", "one", cwd=repo)
    assert report_version(repo) == (f"{__version__}+dev", False)
    git("tag", "v2.0.1", cwd=repo)
    assert report_version(repo) == ("2.0.1", True)
    head = git("rev-parse", "--short=12", "HEAD", cwd=repo)
    assert provenance.git_commit(repo) == head
    (repo / "file.txt").write_text("two")
    assert provenance.git_commit(repo) == f"{head}-dirty"
    git("commit", "--quiet", "-am", "two", cwd=repo)
    assert report_version(repo) == (f"{__version__}+dev", False)  # HEAD is past the tag
    assert report_version(tmp_path) == (f"{__version__}+dev", False)  # not a repository


def test_the_generated_files(fixed, tmp_path):
    p = collect()
    written = write_outputs(p, tmp_path)
    assert {path.name for path in written} == {VARIABLES_FILE, RECORD_FILE, TYPST_FILE}
    variables = yaml.safe_load((tmp_path / VARIABLES_FILE).read_text())
    assert variables["report"] == {"version": "1.4.2", "package_version": __version__, "release": "yes",
                                   "commit": "0123456789ab", "date": "2030-03-17 17:46 UTC"}
    assert variables["data"] == {"source": "ankl_cohort.csv", "sha256": p.data_sha256,
                                 "sha256_short": p.data_sha256[:12], "synthetic": "yes"}
    assert variables["quarto"] == {"version": "unknown"}
    record = json.loads((tmp_path / RECORD_FILE).read_text())
    assert record["report"]["version"] == "1.4.2" and record["data"]["synthetic"] is True
    assert record["data"]["sha256"] == p.data_sha256 and record["software"]["scipy"]
    typst = (tmp_path / TYPST_FILE).read_text()
    assert f'#set page(header: align(right, text(size: 7.5pt, fill: luma(110), "{p.footer}")))' in typst
    # Unchanged values are not rewritten (quarto preview re-renders when _variables.yml changes).
    assert write_outputs(p, tmp_path) == []


def test_every_variable_the_site_uses_is_generated(fixed):
    variables = collect().variables()
    sources = [PROJECT_ROOT / "_quarto.yml", *PROJECT_ROOT.glob("*.qmd"), *PROJECT_ROOT.glob("report/*.qmd")]
    used = {name for path in sources for name in VAR_RE.findall(path.read_text(encoding="utf-8"))}
    assert {"report.version", "report.date", "data.sha256_short", "data.synthetic"} <= used
    for name in used:
        value = variables
        for key in name.split("."):
            assert isinstance(value, dict) and key in value, f"{{{{< var {name} >}}}} is not generated"
            value = value[key]
        assert isinstance(value, str)


def test_freeze_is_cleared_when_data_code_or_version_change(fixed, tmp_path):
    (tmp_path / "analysis").mkdir()
    (tmp_path / "analysis" / "stats.py").write_text("X = 1\n")
    frozen = tmp_path / "_freeze" / "report" / "cohort" / "execute-results" / "html.json"
    hidden = tmp_path / ".quarto" / "_freeze" / "report" / "cohort" / "execute-results" / "html.json"

    def freeze_something():
        for path in (frozen, hidden):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("{}")

    p = collect()
    freeze_something()
    why = refresh_freeze(tmp_path, fingerprint(p, tmp_path))  # results of unknown origin
    assert "no fingerprint" in why and not frozen.exists() and not hidden.exists()
    assert (tmp_path / FINGERPRINT_FILE).is_file()

    freeze_something()
    assert refresh_freeze(tmp_path, fingerprint(p, tmp_path)) is None  # nothing changed: kept
    assert frozen.exists() and hidden.exists()

    (tmp_path / "analysis" / "stats.py").write_text("X = 2\n")  # the package changed
    why = refresh_freeze(tmp_path, fingerprint(p, tmp_path))
    assert why.startswith("changed: code_sha256") and not frozen.exists()

    freeze_something()
    other = collect(cohort=type("C", (), {"source": "x.csv", "sha256": "f" * 64, "synthetic": False})())
    why = refresh_freeze(tmp_path, fingerprint(other, tmp_path))  # other data
    assert why.startswith("changed: data_sha256") and "cleared _freeze/, .quarto/_freeze/" in why
    assert not frozen.exists() and not hidden.exists()


def test_the_pre_render_script_runs_as_quarto_runs_it(tmp_path):
    """Quarto runs `pre-render: analysis/build/prerender_provenance.py` as `$QUARTO_PYTHON <that script>`."""
    data = tmp_path / "extract.csv"
    data.write_bytes(SYNTHETIC_DATA.read_bytes())
    env = {"PATH": "/usr/bin:/bin", "REPORT_VERSION": "0.9.0", "REPORT_COMMIT": "abc", "SOURCE_DATE_EPOCH": "0"}
    result = subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "analysis" / "build" / "prerender_provenance.py"), "--root", str(tmp_path), "--data", str(data)],
        cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "provenance: Report 0.9.0 · built 1970-01-01" in result.stdout
    assert yaml.safe_load((tmp_path / VARIABLES_FILE).read_text())["data"]["synthetic"] == "no"
    assert (tmp_path / FINGERPRINT_FILE).is_file()
    missing = subprocess.run([sys.executable, "-m", "analysis.build.provenance", "--root", str(tmp_path), "--data",
                              str(tmp_path / "missing.csv")], capture_output=True, text=True, cwd=PROJECT_ROOT)
    assert missing.returncode == 2 and "data file not found" in missing.stderr


def test_markdown_tables_of_the_methods_page(fixed):
    p = collect()
    table = provenance_tables.software_markdown(p)
    assert "| Quarto | not known (page executed without Quarto) |" in table
    assert f"| pandas | {p.software['pandas']} |" in table
    assert f"| Input SHA-256 | `{p.data_sha256}` |" in provenance_tables.provenance_markdown(p)
    assert "| Time unit | months (days / 30.4375) |" in provenance_tables.configuration_markdown(p)
    assert prose.horizons_text((12, 60)) == "1 year and 5 years"


# --- the project wiring ------------------------------------------------------------------------------

CONFIG = yaml.safe_load((PROJECT_ROOT / "_quarto.yml").read_text(encoding="utf-8"))
NEW_PAGES = ["report/methods.qmd", "report/versions.qmd", "report/changelog.qmd"]


def test_quarto_runs_the_step_and_publishes_its_record():
    project = CONFIG["project"]
    assert project["pre-render"] == ["analysis/build/prerender_provenance.py", "analysis/build/prerender_sections.py",
                                     "analysis/build/prerender_release.py"]
    assert all((PROJECT_ROOT / script).is_file() for script in project["pre-render"])
    assert RECORD_FILE in project["resources"]
    assert TYPST_FILE in CONFIG["format"]["typst"]["include-in-header"]
    assert CONFIG["quarto-required"] == ">=1.5.0"  # pre-render may write _variables.yml from 1.5 on
    ignored = (PROJECT_ROOT / ".gitignore").read_text().splitlines()
    for generated in (VARIABLES_FILE, RECORD_FILE, TYPST_FILE):
        assert f"/{generated}" in ignored


def test_every_page_is_in_the_navigation_and_offers_its_pdf():
    render = CONFIG["project"]["render"]
    assert all(page in render for page in NEW_PAGES)
    website = CONFIG["website"]
    items = website["navbar"].get("right", [])
    sidebar = {item["href"] for section in website["sidebar"]["contents"] for item in section["contents"]}
    pages = set(render) - {"report/full-report.qmd"}  # the whole report is a PDF, linked as such
    # every page is in the sidebar, but the Versions page, which the navbar's version menu leads to: the
    # navbar and the sidebar never list the same page (tests/test_reader.py)
    menus = {entry["href"] for item in items for entry in item.get("menu", ())}
    assert pages == sidebar | menus and not sidebar & menus and "report/versions.qmd" in menus
    assert {"href": "report/full-report.pdf", "text": "Full report (PDF)", "icon": "file-pdf"} in items
    assert any(item.get("text") == "Version" and item.get("menu") for item in items)  # the switcher's place
    assert website["search"]["location"] == "navbar"
    assert ".report-provenance" in website["page-footer"]["left"]
    assert {"format": "typst", "text": "PDF", "icon": "file-pdf"} in CONFIG["format"]["html"]["format-links"]
    assert CONFIG["execute"]["freeze"] == "auto"


def test_the_ci_profile_re_executes_everything():
    ci = yaml.safe_load((PROJECT_ROOT / "_quarto-ci.yml").read_text(encoding="utf-8"))
    assert ci == {"execute": {"freeze": False}}
    tools = PROJECT_ROOT.parent / "shared" / "tools"
    if not (tools / "quarto_schema.py").exists():
        pytest.skip("../shared/tools is not beside the project")
    sys.path.insert(0, str(tools))
    try:
        from quarto_schema import QuartoLoader, validator
    finally:
        sys.path.remove(str(tools))
    check = validator(str(tools.parent / "quarto-schema" / "all-schema-definitions.json"), "project-config")
    profile = yaml.load((PROJECT_ROOT / "_quarto-ci.yml").read_text(), Loader=QuartoLoader)
    assert not list(check.iter_errors(profile))
