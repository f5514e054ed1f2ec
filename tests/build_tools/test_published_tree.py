"""Three releases published into a temporary gh-pages repository: what a reader finds in the published files
(the switcher's data and what it shows on each page, the old-version banner, latest/, the comparison of
releases, the whole-report PDF link), and `check-site --published` on that tree."""
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from analysis.build.publish import publish
from analysis.build.publish_init import init_checkout
from analysis.build.site_check import check_published, errors
from tests.build_tools.git_sandbox import git, sandbox_git
from tests.build_tools.published_sites import CHANGELOG, make_site

NODE = shutil.which("node")
PROBE = Path(__file__).with_name("versions_js_probe.js")


@pytest.fixture(autouse=True)
def git_identity(monkeypatch, tmp_path):
    sandbox_git(monkeypatch, tmp_path)


@pytest.fixture
def tree(tmp_path):
    """A fresh clone of a project whose remote has no gh-pages branch; three releases published from it."""
    origin = tmp_path / "origin.git"
    git("init", "--quiet", "--bare", str(origin), cwd=tmp_path)
    project = tmp_path / "project"
    git("clone", "--quiet", str(origin), str(project), cwd=tmp_path)
    (project / "README.md").write_text("the project\n")
    git("add", "README.md", cwd=project)
    git("commit", "--quiet", "-m", "project", cwd=project)
    git("push", "--quiet", "origin", "HEAD", cwd=project)
    changelog = tmp_path / "CHANGELOG.md"
    changelog.write_text(CHANGELOG)

    checkout = tmp_path / "gh-pages"
    init_checkout(checkout, project)
    sites = tmp_path / "sites"
    publish(make_site(sites, "0.1.0", sha="a" * 64, os_12=0.5, patients=59, code="c1"), "v0.1.0", checkout, changelog)
    git("push", "--quiet", "origin", "gh-pages", cwd=checkout)  # creates the branch on the remote
    # v0.2.0: another extract, and without the landmark page.
    publish(make_site(sites, "0.2.0", sha="b" * 64, os_12=0.55, patients=80, code="c1",
                      pages=("index.html", "report/cohort.html", "report/versions.html", "report/changelog.html")),
            "v0.2.0", checkout, changelog)
    # v0.3.0: the same extract, other code, the landmark page back.
    publish(make_site(sites, "0.3.0", sha="b" * 64, os_12=0.55, patients=80, code="c2"), "v0.3.0", checkout, changelog)
    git("push", "--quiet", "origin", "gh-pages", cwd=checkout)
    served = tmp_path / "served"  # what GitHub Pages serves: a clone of the branch
    git("clone", "--quiet", "--branch", "gh-pages", str(origin), str(served), cwd=tmp_path)
    # The project's own work tree was never switched nor stashed.
    assert git("branch", "--show-current", cwd=project).strip() in ("master", "main")
    assert git("stash", "list", cwd=project) == "" and git("status", "--porcelain", cwd=project) == ""
    return served


def test_the_switcher_data_lists_every_version_with_its_pages(tree):
    document = json.loads((tree / "versions.json").read_text())
    assert document["latest"] == "v0.3.0"
    pages = {v["tag"]: v["pages"] for v in document["versions"]}
    assert [v["tag"] for v in document["versions"]] == ["v0.3.0", "v0.2.0", "v0.1.0"]
    assert "report/landmark.html" in pages["v0.1.0"] and "report/landmark.html" not in pages["v0.2.0"]
    script = (tree / "versions.js").read_text()
    assert json.loads(re.search(r"window\.REPORT_VERSIONS = (\{.*\});", script, re.S).group(1)) == document
    assert [v["date"] for v in document["versions"]] == ["2031-01-01 10:00 UTC"] * 3  # with the time


def test_latest_leads_to_the_same_page_of_the_newest_release(tree):
    for rel in ("index.html", "report/cohort.html", "report/landmark.html"):
        redirect = (tree / "latest" / rel).read_text()
        target = re.search(r'url=([^"]+)"', redirect).group(1)
        assert (tree / "latest" / rel).parent.joinpath(target).resolve() == (tree / "v0.3.0" / rel).resolve()
    assert "release 0.3.0" in (tree / "index.html").read_text()


def test_the_versions_and_changelog_pages_compare_each_release_with_the_previous(tree):
    root_page = (tree / "report" / "versions.html").read_text()
    assert "v0.3.0 compared with" in root_page and "v0.2.0 compared with" in root_page
    assert "This build is not published" not in root_page and "Once published" not in root_page
    tables = re.findall(r'<table class="table table-sm report-changes-table" data-release="(v[\d.]+)">(.*?)</table>',
                        root_page, re.S)
    by_release = dict(tables)
    assert set(by_release) == {"v0.2.0", "v0.3.0"}
    # v0.2.0 against v0.1.0: more patients, OS at 1 year 50.0% -> 55.0%
    assert "<td>Patients analysed</td><td>59</td><td>80</td><td>+21</td>" in by_release["v0.2.0"]
    assert "<td>Overall survival at 1 year</td><td>50.0%</td><td>55.0%</td><td>+5.0 pp</td>" in by_release["v0.2.0"]
    assert "<td>Overall survival at 1 year</td><td>55.0%</td><td>55.0%</td><td>+0.0 pp</td>" in by_release["v0.3.0"]
    summaries = re.findall(r'<p class="report-change-summary">([^<]*)</p>', root_page)
    assert summaries == ["Changed: code. Unchanged: input, study settings.",
                         "Changed: input. Unchanged: study settings, code."]
    assert root_page.index("v0.3.0 compared with") < root_page.index("v0.2.0 compared with")
    changelog = (tree / "report" / "changelog.html").read_text()
    assert 'data-release="v0.3.0"' in changelog and "<h2>0.1.0</h2>" in changelog
    # An old version keeps what it was published with: v0.1.0 compares nothing, v0.2.0 only itself.
    assert "nothing to compare yet" in (tree / "v0.1.0" / "report" / "versions.html").read_text()
    v2 = (tree / "v0.2.0" / "report" / "versions.html").read_text()
    assert 'data-release="v0.2.0"' in v2 and 'data-release="v0.3.0"' not in v2


def test_every_page_of_every_version_links_its_own_whole_report_pdf(tree):
    for folder in (tree, tree / "v0.1.0", tree / "v0.2.0", tree / "v0.3.0"):
        for page in folder.glob("**/*.html"):
            rel = page.relative_to(folder).as_posix()
            if rel.startswith(("v0.", "latest/")) or rel == "versions.html":
                continue
            link = re.search(r'href="([^"]*full-report\.pdf)"', page.read_text()).group(1)
            assert (page.parent / link).resolve() == (folder / "report" / "full-report.pdf").resolve(), page
    assert (tree / "v0.1.0" / "report" / "full-report.pdf").read_bytes() != (tree / "report" / "full-report.pdf").read_bytes()


def test_check_site_published_passes_and_finds_a_broken_link_planted_in_an_old_version(tree):
    problems = check_published(tree)
    assert not errors(problems), "\n".join(map(str, problems))
    page = tree / "v0.1.0" / "report" / "cohort.html"
    page.write_text(page.read_text().replace("</main>", '<a href="../report/missing.html">gone</a></main>'))
    found = [str(p) for p in errors(check_published(tree))]
    assert found == ["v0.1.0/report/cohort.html: line 11: <a> link '../report/missing.html' does not resolve to a "
                     "file of the site"]


def test_check_site_published_finds_wrong_lists_and_redirects(tree):
    (tree / "latest" / "report" / "cohort.html").unlink()
    document = json.loads((tree / "versions.json").read_text())
    document["versions"][0]["pages"].append("report/nowhere.html")
    (tree / "versions.json").write_text(json.dumps(document))
    found = "\n".join(map(str, errors(check_published(tree))))
    assert "latest/report/cohort.html: missing" in found
    assert "versions.js does not hold the list of versions.json" in found
    assert "v0.3.0/: the pages versions.json lists" in found


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_what_a_reader_sees_on_each_page(tree):
    """The switcher's links, the banner and the version's address, computed by assets/report-versions.js."""
    data = json.loads((tree / "versions.json").read_text())
    bibtex = "@misc{report,\n  title = {{Report}},\n  year = {2031}\n}\n"
    cases = [
        {"pageURL": (tree / "v0.1.0" / "report" / "landmark.html").as_uri(), "offset": "../", "data": data,
         "bibtex": bibtex},
        {"pageURL": (tree / "v0.2.0" / "report" / "cohort.html").as_uri() + "#results", "offset": "../", "data": data},
        {"pageURL": (tree / "report" / "cohort.html").as_uri(), "offset": "../", "data": data},
        {"pageURL": "https://example.org/report/v0.1.0/", "offset": "./", "data": data},
    ]
    run = subprocess.run([NODE, str(PROBE)], input=json.dumps(cases), capture_output=True, text=True, check=True)
    old_landmark, old_cohort, root_cohort, served_home = json.loads(run.stdout)

    # An old version's page: the banner leads to the same page of the latest release ...
    assert old_landmark["version"] == "v0.1.0"
    assert old_landmark["banner"] == {"tag": "v0.3.0", "current": "v0.1.0", "href": "../../v0.3.0/report/landmark.html"}
    # ... and the switcher to every version's same page, or its home where it has no such page.
    hrefs = {e["tag"]: e["href"] for e in old_landmark["entries"]}
    assert hrefs == {"v0.3.0": "../../v0.3.0/report/landmark.html", "v0.2.0": "../../v0.2.0/index.html",
                     "v0.1.0": "../../v0.1.0/report/landmark.html"}
    page = tree / "v0.1.0" / "report" / "landmark.html"
    assert all((page.parent / href).resolve().is_file() for href in hrefs.values())
    assert [e["tag"] for e in old_landmark["entries"] if e["current"]] == ["v0.1.0"]
    assert old_landmark["url"] == (tree / "v0.1.0").as_uri() + "/"
    assert old_landmark["bibtex"] == ("@misc{report,\n  title = {{Report}},\n  year = {2031},\n"
                                      f"  url = {{{old_landmark['url']}}}\n}}\n")
    # An old version lists the releases made after it (read at view time from the root's versions.js).
    assert old_cohort["banner"]["href"] == "../../v0.3.0/report/cohort.html"
    assert {e["tag"] for e in old_cohort["entries"]} == {"v0.1.0", "v0.2.0", "v0.3.0"}
    # The root is the latest release: no banner; its links go into the version folders.
    assert root_cohort["version"] == "v0.3.0" and root_cohort["banner"] is None
    assert {e["tag"]: e["href"] for e in root_cohort["entries"]}["v0.1.0"] == "../v0.1.0/report/cohort.html"
    assert root_cohort["url"] == (tree / "v0.3.0").as_uri() + "/"
    # Served from a sub-path (GitHub project pages), a version's folder address ending in "/".
    assert served_home["where"]["pagePath"] == "index.html" and served_home["where"]["releaseTag"] == "v0.1.0"
    assert served_home["where"]["publishedRoot"] == "https://example.org/report/"
    assert served_home["banner"]["href"] == "../v0.3.0/index.html"


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_an_unpublished_site_shows_no_banner():
    cases = [{"pageURL": "file:///home/me/project/_site/report/cohort.html", "offset": "../",
              "data": {"latest": None, "versions": []}}]
    run = subprocess.run([NODE, str(PROBE)], input=json.dumps(cases), capture_output=True, text=True, check=True)
    (seen,) = json.loads(run.stdout)
    assert seen["banner"] is None and seen["entries"] == [] and seen["url"] is None


def readme_publishing_commands() -> list[str]:
    """The commands of README's "Publishing" steps 1 and 3, as written."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Publishing"):readme.index("**Releases from private data.**")]
    first = re.search(r"\*\*Once per clone:\*\* `([^`]+)`", section).group(1)
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    return [first] + [line.strip() for line in block.splitlines() if line.strip()]


@pytest.mark.slow  # in `make test`; left out of `make test-fast` (under a minute)
def test_the_readme_publishing_steps_work_as_written_on_a_fresh_clone(tmp_path):
    import sys

    from analysis import __version__
    from analysis.data.cohort import file_sha256
    from analysis.data.paths import SYNTHETIC_DATA

    commands = readme_publishing_commands()
    assert commands == ["make publish-init GH_PAGES=../gh-pages", "make report-ci",
                        "make publish TAG=vX.Y.Z GH_PAGES=../gh-pages", "git -C ../gh-pages push origin gh-pages"]
    origin = tmp_path / "origin.git"
    git("init", "--quiet", "--bare", str(origin), cwd=tmp_path)
    project = tmp_path / "project"
    git("clone", "--quiet", str(origin), str(project), cwd=tmp_path)
    root = Path(__file__).resolve().parents[2]
    shutil.copy(root / "Makefile", project / "Makefile")
    git("add", "Makefile", cwd=project)
    git("commit", "--quiet", "-m", "the project", cwd=project)
    git("push", "--quiet", "origin", "HEAD", cwd=project)
    # The project's venv, as `make` made it: its Python is this one.
    (project / "pyproject.toml").write_text("")
    (project / "requirements.lock").write_text("")
    (project / ".venv" / "bin").mkdir(parents=True)
    (project / ".venv" / "bin" / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    (project / ".venv" / "bin" / "python").chmod(0o755)
    (project / ".venv" / ".installed").touch()
    # What `make report-ci` renders (Quarto is not installed here): a site of this version.
    make_site(tmp_path, __version__, sha=file_sha256(SYNTHETIC_DATA)).rename(project / "_site")

    env = {k: v for k, v in os.environ.items() if k not in ("REPORT_STUDY", "REPORT_DATA", "MAKEFLAGS")}
    for command in commands:
        if command == "make report-ci":
            continue
        command = command.replace("vX.Y.Z", f"v{__version__}")
        run = subprocess.run(command, shell=True, cwd=project, env=env, capture_output=True, text=True)
        assert run.returncode == 0, f"{command}\n{run.stdout}\n{run.stderr}"
    served = tmp_path / "served"
    git("clone", "--quiet", "--branch", "gh-pages", str(origin), str(served), cwd=tmp_path)
    assert json.loads((served / "versions.json").read_text())["latest"] == f"v{__version__}"
    assert not errors(check_published(served, SYNTHETIC_DATA))
    assert git("branch", "--show-current", cwd=project).strip() != "gh-pages" and git("stash", "list", cwd=project) == ""
