"""Publishing releases into a gh-pages checkout keeps every version (a temporary git repository stands in)."""
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.build_tools.git_sandbox import git, sandbox_git
from analysis.build.publish import (
    PublishError, Release, changelog_summary, main, publish, replace_element_content, versions_html,
)

CHANGELOG = """# Changelog

All notable changes.

## 0.2.0 - 2031-05-01

- Competing-risk regression (Fine-Gray) for relapse and NRM, with forest plots
  and the proportional-hazards check.
- Landmark analyses.

## [0.1.0] (2031-02-03)

First release: **cohort**, outcomes and the `reproduction` of the
[published numbers](https://example.org/paper).

- Detail not in the summary.
"""

VERSIONS_PAGE = """<!DOCTYPE html><html><body><main>
<h1>Versions</h1>
<div id="report-versions" class="report-versions">
<p>The released versions are listed here when a release is published.</p>
<div class="inner"><p>nested</p></div>
</div>
<p>After the list.</p>
</main></body></html>
"""


@pytest.fixture(autouse=True)
def git_identity(monkeypatch, tmp_path):
    """Git in a sandbox: no user or system configuration, a fixed identity."""
    sandbox_git(monkeypatch, tmp_path)


def fake_site(root: Path, version: str, *, date: str, sha: str, pages=("report/cohort.html",)) -> Path:
    """What `quarto render` leaves in _site/, reduced to what publishing looks at."""
    site = root / f"site-{version}"
    (site / "report").mkdir(parents=True)
    (site / "index.html").write_text(f"<html><body>Overview of release {version}</body></html>")
    (site / "index.pdf").write_bytes(f"%PDF {version}".encode())
    for name in pages:
        (site / name).write_text(f"<html><body>{name} of release {version}</body></html>")
    (site / "report" / "versions.html").write_text(VERSIONS_PAGE)
    (site / "site_libs").mkdir()
    (site / "site_libs" / "quarto.js").write_text("// js")
    (site / "provenance.json").write_text(json.dumps({
        "report": {"version": version, "package_version": version, "date": date, "commit": "0123456789ab"},
        "data": {"source": "ankl_cohort.csv", "sha256": sha, "synthetic": True},
        "study": {"file": "study.yml"},
    }))
    return site


@pytest.fixture
def gh_pages(tmp_path):
    """A bare 'origin' whose gh-pages branch holds a first `quarto publish gh-pages`, and a checkout of it."""
    origin = tmp_path / "origin.git"
    git("init", "--quiet", "--bare", str(origin), cwd=tmp_path)
    seed = tmp_path / "seed"
    git("init", "--quiet", str(seed), cwd=tmp_path)
    git("checkout", "--quiet", "--orphan", "gh-pages", cwd=seed)
    (seed / "index.html").write_text("<html><body>first publish by hand</body></html>")
    (seed / "old-page.html").write_text("<html>a page the site no longer has</html>")
    (seed / ".nojekyll").write_text("")
    (seed / "CNAME").write_text("report.example.org\n")
    git("add", "--all", cwd=seed)
    git("commit", "--quiet", "-m", "quarto publish gh-pages", cwd=seed)
    git("push", "--quiet", str(origin), "gh-pages", cwd=seed)
    checkout = tmp_path / "gh-pages"
    git("clone", "--quiet", "--branch", "gh-pages", str(origin), str(checkout), cwd=tmp_path)
    return origin, checkout


@pytest.fixture
def changelog(tmp_path):
    path = tmp_path / "CHANGELOG.md"
    path.write_text(CHANGELOG, encoding="utf-8")
    return path


def test_two_releases_in_a_row_stay_reachable_and_the_root_shows_the_newer(tmp_path, gh_pages, changelog):
    origin, checkout = gh_pages
    first = fake_site(tmp_path, "0.1.0", date="2031-02-03", sha="a" * 64,
                      pages=("report/cohort.html", "report/landmark.html"))
    second = fake_site(tmp_path, "0.2.0", date="2031-05-01", sha="b" * 64)

    assert main([str(first), "--tag", "v0.1.0", "--target", str(checkout), "--changelog", str(changelog)]) == 0
    git("push", "--quiet", "origin", "gh-pages", cwd=checkout)
    v1_versions_page = (checkout / "v0.1.0" / "report" / "versions.html").read_text()
    assert main([str(second), "--tag", "v0.2.0", "--target", str(checkout), "--changelog", str(changelog)]) == 0
    git("push", "--quiet", "origin", "gh-pages", cwd=checkout)

    # What GitHub Pages serves: a fresh clone of the branch.
    served = tmp_path / "served"
    git("clone", "--quiet", "--branch", "gh-pages", str(origin), str(served), cwd=tmp_path)
    assert "release 0.1.0" in (served / "v0.1.0" / "index.html").read_text()
    assert "release 0.1.0" in (served / "v0.1.0" / "report" / "landmark.html").read_text()
    assert (served / "v0.1.0" / "index.pdf").read_bytes() == b"%PDF 0.1.0"
    assert "release 0.2.0" in (served / "v0.2.0" / "index.html").read_text()
    assert "release 0.2.0" in (served / "index.html").read_text()  # the root is the newer release
    assert (served / "index.pdf").read_bytes() == b"%PDF 0.2.0"
    assert not (served / "report" / "landmark.html").exists()  # dropped from the newer release's root
    assert not (served / "old-page.html").exists()  # left over from the hand publish
    assert (served / "CNAME").read_text() == "report.example.org\n" and (served / ".nojekyll").exists()

    document = json.loads((served / "versions.json").read_text())
    assert document["latest"] == "v0.2.0"
    assert [v["tag"] for v in document["versions"]] == ["v0.2.0", "v0.1.0"]
    newest, oldest = (Release.from_dict(v) for v in document["versions"])
    assert newest == Release("v0.2.0", "0.2.0", "2031-05-01", "b" * 64, True,
                             "Competing-risk regression (Fine-Gray) for relapse and NRM, with forest plots and "
                             "the proportional-hazards check.", "v0.2.0/")
    assert oldest.summary == "First release: cohort, outcomes and the reproduction of the published numbers."
    assert oldest.path == "v0.1.0/" and oldest.date == "2031-02-03" and oldest.data_sha256 == "a" * 64

    # The Versions page at the root lists both, with links that resolve in the published tree.
    root_page = (served / "report" / "versions.html").read_text()
    for tag, sha in (("v0.2.0", "b" * 12), ("v0.1.0", "a" * 12)):
        assert f'<a href="../{tag}/index.html">{tag}</a>' in root_page and sha in root_page
        assert (served / "report" / f"../{tag}/index.html").resolve().is_file()
    assert root_page.index("v0.2.0") < root_page.index("v0.1.0") and "(latest)" in root_page
    assert "<p>After the list.</p>" in root_page and "listed here when a release" not in root_page
    assert (served / "report" / "../versions.json").resolve().is_file()
    # ... so does the short address at the root.
    short = (served / "versions.html").read_text()
    assert 'href="v0.1.0/index.html"' in short and 'url=report/versions.html' in short

    # A published version is never touched again: v0.1.0 keeps the list it was published with.
    assert (served / "v0.1.0" / "report" / "versions.html").read_text() == v1_versions_page
    assert "v0.2.0" not in v1_versions_page and '<a href="../../v0.1.0/index.html">v0.1.0</a>' in v1_versions_page
    assert '<a href="../../report/versions.html">' in v1_versions_page and "(this version)" in v1_versions_page
    new_page = (served / "v0.2.0" / "report" / "versions.html").read_text()
    assert '<a href="../../v0.1.0/index.html">' in new_page and '<a href="../../v0.2.0/index.html">' in new_page

    log = git("log", "--format=%s", cwd=served).splitlines()
    assert log == ["Publish report v0.2.0 (input SHA-256 bbbbbbbbbbbb)",
                   "Publish report v0.1.0 (input SHA-256 aaaaaaaaaaaa)", "quarto publish gh-pages"]


def test_an_older_patch_published_later_keeps_the_newer_root(tmp_path, gh_pages, changelog):
    _, checkout = gh_pages
    changelog.write_text(CHANGELOG.replace("## 0.2.0", "## 0.1.1\n\n- A fix.\n\n## 0.2.0"))
    publish(fake_site(tmp_path, "0.2.0", date="2031-05-01", sha="b" * 64), "v0.2.0", checkout, changelog)
    publish(fake_site(tmp_path, "0.1.1", date="2031-05-02", sha="c" * 64), "v0.1.1", checkout, changelog)
    assert "release 0.2.0" in (checkout / "index.html").read_text()
    assert "release 0.1.1" in (checkout / "v0.1.1" / "index.html").read_text()
    versions = json.loads((checkout / "versions.json").read_text())
    assert versions["latest"] == "v0.2.0" and [v["tag"] for v in versions["versions"]] == ["v0.2.0", "v0.1.1"]


def test_a_published_version_is_not_replaced(tmp_path, gh_pages, changelog):
    _, checkout = gh_pages
    site = fake_site(tmp_path, "0.1.0", date="2031-02-03", sha="a" * 64)
    publish(site, "v0.1.0", checkout, changelog)
    rendered_again = fake_site(tmp_path / "again", "0.1.0", date="2031-02-04", sha="a" * 64)
    with pytest.raises(PublishError, match="v0.1.0 is already published"):
        publish(rendered_again, "v0.1.0", checkout, changelog)
    (rendered_again / "provenance.json").write_bytes((site / "provenance.json").read_bytes())
    (rendered_again / "index.html").write_text("<html><body>changed</body></html>")
    with pytest.raises(PublishError, match="v0.1.0 is already published"):
        publish(rendered_again, "v0.1.0", checkout, changelog)
    before = head(checkout)
    assert publish(site, "v0.1.0", checkout, changelog).commit is None  # the same site again: nothing to do
    assert head(checkout) == before
    publish(rendered_again, "v0.1.0", checkout, changelog, force=True)  # on purpose only
    assert "changed" in (checkout / "v0.1.0" / "index.html").read_text() and head(checkout) != before


def test_the_site_must_be_built_as_the_tagged_version(tmp_path, gh_pages, changelog):
    _, checkout = gh_pages
    site = fake_site(tmp_path, "0.1.0", date="2031-02-03", sha="a" * 64)
    with pytest.raises(PublishError, match="built as version '0.1.0', not '0.2.0'"):
        publish(site, "v0.2.0", checkout, changelog)
    record = json.loads((site / "provenance.json").read_text())
    record["report"]["package_version"] = "0.0.9"
    (site / "provenance.json").write_text(json.dumps(record))
    with pytest.raises(PublishError, match="does not match the package version 0.0.9"):
        publish(site, "v0.1.0", checkout, changelog)
    (site / "provenance.json").unlink()
    with pytest.raises(PublishError, match="provenance.json is missing"):
        publish(site, "v0.1.0", checkout, changelog)
    assert not (checkout / "v0.1.0").exists()


def test_tags_and_changelog_entries_are_required(tmp_path, gh_pages, changelog):
    _, checkout = gh_pages
    site = fake_site(tmp_path, "0.3.0", date="2031-06-01", sha="a" * 64)
    with pytest.raises(PublishError, match="not a release tag"):
        publish(site, "0.3.0", checkout, changelog)
    with pytest.raises(PublishError, match="no entry for 0.3.0"):
        publish(site, "v0.3.0", checkout, changelog)
    assert main([str(site), "--tag", "v0.3.0", "--target", str(checkout), "--changelog", str(changelog)]) == 1
    assert not (checkout / "v0.3.0").exists()


def test_changelog_summary():
    assert changelog_summary(CHANGELOG, "0.1.0").startswith("First release: cohort, outcomes")
    assert changelog_summary("## v1.2.3\n\n* One thing.\n* Another.\n", "1.2.3") == "One thing."
    assert changelog_summary("## 1.0.0 (unreleased)\n\n- Everything.\n", "1.0.0") == "Everything."
    long = "## 2.0.0\n\n- " + "word " * 60 + "\n"
    summary = changelog_summary(long, "2.0.0")
    assert len(summary) <= 161 and summary.endswith("…")
    with pytest.raises(PublishError):
        changelog_summary("## 1.0.10\n\n- Not 1.0.1.\n", "1.0.1")


def test_versions_list_replaces_only_the_list():
    page = replace_element_content(VERSIONS_PAGE, "report-versions", "LIST")
    assert '<div id="report-versions" class="report-versions">LIST</div>\n<p>After the list.</p>' in page
    assert replace_element_content("<p>no list</p>", "report-versions", "LIST") is None
    html = versions_html([Release("v1.0.0", "1.0.0", "2031-01-01", "f" * 64, False, "A <b> & c", "v1.0.0/")], "../")
    assert "A &lt;b&gt; &amp; c" in html and "registry extract" in html and 'href="../versions.json"' in html


# --- nothing destroyed, nothing it does not own altered -----------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
KILL_AFTER_WRITES = Path(__file__).resolve().parent / "kill_after_writes.py"


def snapshot(folder: Path) -> dict:
    """Every file, link and folder under `folder` except `.git`: what a user would lose or find changed."""
    state = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if rel.parts[0] == ".git":
            continue
        if path.is_symlink():
            state[rel.as_posix()] = ("link", os.readlink(path))
        elif path.is_dir():
            state[rel.as_posix()] = ("dir",)
        else:
            state[rel.as_posix()] = ("file", path.read_bytes(), path.stat().st_mode & 0o777)
    return state


def head(checkout: Path) -> str:
    return git("rev-parse", "HEAD", cwd=checkout).strip()


def status(checkout: Path) -> str:
    return git("status", "--porcelain", "--untracked-files=all", "--ignored", cwd=checkout)


def publish_args(site, tag, checkout, changelog):
    return [str(site), "--tag", tag, "--target", str(checkout), "--changelog", str(changelog)]


@pytest.fixture
def released(tmp_path, gh_pages, changelog):
    """A gh-pages checkout holding release v0.1.0, and the site of the next release, v0.2.0."""
    _, checkout = gh_pages
    publish(fake_site(tmp_path, "0.1.0", date="2031-02-03", sha="a" * 64), "v0.1.0", checkout, changelog)
    return checkout, fake_site(tmp_path, "0.2.0", date="2031-05-01", sha="b" * 64)


def test_a_plain_folder_is_refused_before_anything_is_written(tmp_path, changelog, capsys):
    folder = tmp_path / "thesis-work"
    (folder / "docs").mkdir(parents=True)
    (folder / "docs" / "chapter1.md").write_text("years of work")
    (folder / "thesis").mkdir()
    (folder / "thesis" / "main.tex").write_text("\\documentclass{book}")
    (folder / "README").write_text("my notes")
    before = snapshot(folder)
    site = fake_site(tmp_path, "0.2.0", date="2031-05-01", sha="b" * 64)
    assert main(publish_args(site, "v0.2.0", folder, changelog)) == 1
    assert "is not a git work tree" in capsys.readouterr().err
    assert snapshot(folder) == before


def test_a_folder_inside_another_repository_is_refused(tmp_path, changelog, capsys):
    project = tmp_path / "project"
    (project / "notes").mkdir(parents=True)
    (project / "notes" / "todo.txt").write_text("keep me")
    git("init", "--quiet", "--initial-branch", "gh-pages", str(project), cwd=tmp_path)
    git("add", "--all", cwd=project)
    git("commit", "--quiet", "-m", "notes", cwd=project)
    before, commit = snapshot(project), head(project)
    site = fake_site(tmp_path, "0.2.0", date="2031-05-01", sha="b" * 64)
    assert main(publish_args(site, "v0.2.0", project / "notes", changelog)) == 1
    assert "not the top of a checkout" in capsys.readouterr().err
    assert snapshot(project) == before and head(project) == commit


def test_a_clone_of_the_project_on_main_is_refused_and_left_untouched(tmp_path, changelog, capsys):
    clone = tmp_path / "project"
    (clone / "analysis").mkdir(parents=True)
    (clone / "analysis" / "__init__.py").write_text('__version__ = "0.2.0"\n')
    (clone / ".gitignore").write_text("data/private/\n")
    git("init", "--quiet", "--initial-branch", "main", str(clone), cwd=tmp_path)
    git("add", "--all", cwd=clone)
    git("commit", "--quiet", "-m", "the project", cwd=clone)
    (clone / "data" / "private").mkdir(parents=True)
    (clone / "data" / "private" / "extract.csv").write_text("patient_id,hct_date\nPT-0042,2010-03-05\n")
    before, commit = snapshot(clone), head(clone)
    site = fake_site(tmp_path, "0.2.0", date="2031-05-01", sha="b" * 64)
    assert main(publish_args(site, "v0.2.0", clone, changelog)) == 1
    assert "is on branch 'main', not 'gh-pages'" in capsys.readouterr().err
    assert snapshot(clone) == before and head(clone) == commit
    assert git("log", "--format=%s", cwd=clone).splitlines() == ["the project"]


def test_a_detached_checkout_is_refused(released, changelog):
    checkout, site = released
    git("checkout", "--quiet", "--detach", cwd=checkout)
    with pytest.raises(PublishError, match="not on a branch"):
        publish(site, "v0.2.0", checkout, changelog)


def test_a_hand_edit_to_a_published_release_is_refused_not_committed(released, changelog):
    checkout, site = released
    edited = checkout / "v0.1.0" / "index.html"
    edited.write_text("<html><body>corrected by hand</body></html>")
    before, commit = snapshot(checkout), head(checkout)
    with pytest.raises(PublishError, match=r"files of published releases differ from the commit: v0\.1\.0/index\.html"):
        publish(site, "v0.2.0", checkout, changelog)
    assert snapshot(checkout) == before and head(checkout) == commit
    # Hidden from `git status` on purpose or by accident, the edit is still found: the bytes are compared.
    git("update-index", "--assume-unchanged", "v0.1.0/index.html", cwd=checkout)
    assert "v0.1.0" not in status(checkout)
    with pytest.raises(PublishError, match=r"v0\.1\.0/index\.html"):
        publish(site, "v0.2.0", checkout, changelog)
    assert snapshot(checkout) == before and head(checkout) == commit


def test_untracked_and_ignored_files_are_refused_and_kept(released, changelog):
    checkout, site = released
    (checkout / "notes-for-team.txt").write_text("remember the meeting")
    with pytest.raises(PublishError, match="files git does not track: notes-for-team.txt"):
        publish(site, "v0.2.0", checkout, changelog)
    (checkout / "notes-for-team.txt").unlink()
    (checkout / ".git" / "info" / "exclude").write_text("*.private\n")
    (checkout / "report" / "draft.private").write_text("mine")
    before, commit = snapshot(checkout), head(checkout)
    with pytest.raises(PublishError, match=r"files git ignores: report/draft\.private"):
        publish(site, "v0.2.0", checkout, changelog)
    assert snapshot(checkout) == before and head(checkout) == commit


def test_an_untracked_file_in_an_earlier_release_is_neither_committed_nor_deleted(released, changelog):
    checkout, site = released
    (checkout / "v0.1.0" / "notes.txt").write_text("not part of the release")
    with pytest.raises(PublishError, match=r"v0\.1\.0/notes\.txt"):
        publish(site, "v0.2.0", checkout, changelog)
    assert (checkout / "v0.1.0" / "notes.txt").read_text() == "not part of the release"
    assert "notes.txt" not in git("ls-tree", "-r", "--name-only", "HEAD", cwd=checkout)


def test_a_staged_change_is_refused(released, changelog):
    checkout, site = released
    (checkout / "CNAME").write_text("other.example.org\n")
    git("add", "CNAME", cwd=checkout)
    with pytest.raises(PublishError, match="uncommitted changes: CNAME"):
        publish(site, "v0.2.0", checkout, changelog)
    assert (checkout / "CNAME").read_text() == "other.example.org\n"


def test_only_the_release_the_root_and_the_versions_list_change(released, changelog):
    checkout, site = released
    before = head(checkout)
    publish(site, "v0.2.0", checkout, changelog)
    changed = git("diff", "--name-only", before, "HEAD", cwd=checkout).split()
    site_paths = {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()}
    generated = {"versions.json", "versions.js", "versions.html"} | {f"latest/{p}" for p in site_paths if p.endswith(".html")}
    allowed = site_paths | {f"v0.2.0/{p}" for p in site_paths} | generated
    assert changed and set(changed) <= allowed | {"report/landmark.html"}
    assert not [p for p in changed if p.startswith("v0.1.0/")]
    assert status(checkout) == ""  # the files of the checkout are those of the new commit


def test_links_and_special_files_in_the_site_are_refused_with_their_path(tmp_path, released, changelog):
    checkout, site = released
    private = tmp_path / "data" / "private"
    private.mkdir(parents=True)
    (private / "planted.csv").write_text("patient_id\nPT-0042\n")
    (site / "report" / "attachment").symlink_to(Path("..") / ".." / "data" / "private" / "planted.csv")
    assert (site / "report" / "attachment").read_text().startswith("patient_id")  # the link resolves
    before, commit = snapshot(checkout), head(checkout)
    link = r"report/attachment \(a symbolic link to \.\./\.\./data/private/planted\.csv\)"
    with pytest.raises(PublishError, match=link):
        publish(site, "v0.2.0", checkout, changelog)
    (site / "report" / "attachment").unlink()
    os.mkfifo(site / "site_libs" / "pipe")
    with pytest.raises(PublishError, match=r"site_libs/pipe \(a named pipe\)"):
        publish(site, "v0.2.0", checkout, changelog)
    assert snapshot(checkout) == before and head(checkout) == commit
    assert "planted" not in git("log", "--all", "--stat", cwd=checkout)


def test_git_variables_of_the_caller_do_not_redirect_publishing(released, changelog, monkeypatch, tmp_path):
    checkout, site = released
    other = tmp_path / "other"
    git("init", "--quiet", "--initial-branch", "gh-pages", str(other), cwd=tmp_path)
    (other / "keep.txt").write_text("other repository")
    git("add", "keep.txt", cwd=other)
    git("commit", "--quiet", "-m", "other", cwd=other)
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(other))
    publish(site, "v0.2.0", checkout, changelog)
    monkeypatch.delenv("GIT_DIR")
    monkeypatch.delenv("GIT_WORK_TREE")
    assert git("log", "--format=%s", cwd=other).splitlines() == ["other"] and status(other) == ""
    assert git("log", "-1", "--format=%s", cwd=checkout).startswith("Publish report v0.2.0")


# --- a run killed at any moment -----------------------------------------------------------------------

def run_killed(at: int, args: list[str], *, under: Path | None = None, count_file: Path | None = None):
    env = {**os.environ, "KILL_WRITES_UNDER": str(under) if under else "", "KILL_COUNT_FILE": str(count_file or "")}
    return subprocess.run([sys.executable, str(KILL_AFTER_WRITES), str(at), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True)


def test_the_kill_helper_counts_and_kills(released, changelog, tmp_path):
    checkout, site = released
    count = tmp_path / "count"
    done = run_killed(0, publish_args(site, "v0.2.0", checkout, changelog), count_file=count)
    assert done.returncode == 0, done.stderr
    assert int(count.read_text()) > 10
    changelog.write_text(CHANGELOG + "\n## 0.3.0\n\n- The next one.\n", encoding="utf-8")
    killed = run_killed(1, publish_args(fake_site(tmp_path / "x", "0.3.0", date="2031-06-01", sha="c" * 64),
                                        "v0.3.0", checkout, changelog))
    assert killed.returncode == -signal.SIGKILL


@pytest.fixture(scope="module")
def kill_scenario(tmp_path_factory):
    """An origin holding v0.1.0, the v0.2.0 site, and what an uninterrupted publication of it gives."""
    root = tmp_path_factory.mktemp("kill")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GIT_CONFIG_GLOBAL", str(root / "gitconfig"))
        patch.setenv("GIT_CONFIG_NOSYSTEM", "1")
        for who in ("AUTHOR", "COMMITTER"):
            patch.setenv(f"GIT_{who}_NAME", "Test Publisher")
            patch.setenv(f"GIT_{who}_EMAIL", "publisher@example.org")
        origin = root / "origin.git"
        git("init", "--quiet", "--bare", "--initial-branch", "gh-pages", str(origin), cwd=root)
        first = root / "first"
        git("clone", "--quiet", str(origin), str(first), cwd=root)
        git("checkout", "--quiet", "--orphan", "gh-pages", cwd=first)
        (first / "index.html").write_text("<html>first publish by hand</html>")
        (first / "CNAME").write_text("report.example.org\n")
        git("add", "--all", cwd=first)
        git("commit", "--quiet", "-m", "quarto publish gh-pages", cwd=first)
        changelog = root / "CHANGELOG.md"
        changelog.write_text(CHANGELOG + "\n## 0.3.0\n\n- The next one.\n", encoding="utf-8")
        publish(fake_site(root, "0.1.0", date="2031-02-03", sha="a" * 64,
                          pages=("report/cohort.html", "report/landmark.html")), "v0.1.0", first, changelog)
        git("push", "--quiet", "origin", "gh-pages", cwd=first)
        site = fake_site(root, "0.2.0", date="2031-05-01", sha="b" * 64,
                         pages=("report/cohort.html", "report/outcomes.html", "report/factors.html"))
        reference = root / "reference"
        git("clone", "--quiet", "--branch", "gh-pages", str(origin), str(reference), cwd=root)
        count = root / "count"
        done = run_killed(0, publish_args(site, "v0.2.0", reference, changelog), count_file=count)
        assert done.returncode == 0, done.stderr
        total = int(count.read_text())
        under = root / "under"
        git("clone", "--quiet", "--branch", "gh-pages", str(origin), str(under), cwd=root)
        done = run_killed(0, publish_args(site, "v0.2.0", under, changelog), under=under, count_file=count)
        assert done.returncode == 0, done.stderr
        yield {"root": root, "origin": origin, "site": site, "changelog": changelog, "total": total,
               "in_checkout": int(count.read_text()), "tree": git("rev-parse", "HEAD^{tree}", cwd=reference),
               "files": snapshot(reference)}


def fresh_checkout(scenario, name: str) -> Path:
    checkout = scenario["root"] / name
    git("clone", "--quiet", "--branch", "gh-pages", str(scenario["origin"]), str(checkout), cwd=scenario["root"])
    return checkout


@pytest.mark.slow  # eight publications killed and rerun: make test, not make test-fast
@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.25, 0.4, 0.55, 0.7, 0.85, 1.0])
def test_a_kill_at_any_moment_leaves_the_checkout_as_it_was_and_a_rerun_succeeds(kill_scenario, fraction):
    scenario = kill_scenario
    checkout = fresh_checkout(scenario, f"killed-{fraction}")
    before, commit = snapshot(checkout), head(checkout)
    at = max(1, round(fraction * scenario["total"]))
    args = publish_args(scenario["site"], "v0.2.0", checkout, scenario["changelog"])
    killed = run_killed(at, args)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    if head(checkout) == commit:  # killed before the release was committed: nothing happened
        assert snapshot(checkout) == before and status(checkout) == ""
    else:  # committed: exactly the release, whose files the next run finishes updating
        assert git("rev-parse", "HEAD^{tree}", cwd=checkout) == scenario["tree"]
    rerun = subprocess.run([sys.executable, "-m", "analysis.build", "publish", *args], cwd=ROOT, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert git("rev-parse", "HEAD^{tree}", cwd=checkout) == scenario["tree"]
    assert snapshot(checkout) == scenario["files"] and status(checkout) == ""
    assert git("rev-list", "--count", f"{commit}..HEAD", cwd=checkout).strip() == "1"


@pytest.mark.parametrize("fraction", [0.3, 0.6])
def test_killed_while_updating_the_root_the_next_release_still_has_a_complete_root(kill_scenario, fraction):
    scenario = kill_scenario
    checkout = fresh_checkout(scenario, f"root-{fraction}")
    at = max(1, round(fraction * scenario["in_checkout"]))
    killed = run_killed(at, publish_args(scenario["site"], "v0.2.0", checkout, scenario["changelog"]), under=checkout)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    next_site = fake_site(scenario["root"] / f"next-{fraction}", "0.3.0", date="2031-06-01", sha="c" * 64)
    assert main(publish_args(next_site, "v0.3.0", checkout, scenario["changelog"])) == 0
    assert "release 0.3.0" in (checkout / "index.html").read_text()
    served = git("ls-tree", "-r", "--name-only", "HEAD", cwd=checkout).split()
    assert {"index.html", "v0.2.0/index.html", "v0.2.0/report/factors.html", "v0.3.0/index.html"} <= set(served)
    document = json.loads((checkout / "versions.json").read_text())
    assert [v["tag"] for v in document["versions"]] == ["v0.3.0", "v0.2.0", "v0.1.0"]
    assert status(checkout) == ""


# --- one code path ------------------------------------------------------------------------------------

def make_target(name: str) -> list[str]:
    lines = (ROOT / "Makefile").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{name}:"))
    body = []
    for line in lines[start + 1:]:
        if not line.startswith("\t"):
            break
        body.append(line.strip())
    return body


def test_the_workflow_publishes_with_the_same_command_as_by_hand():
    import yaml

    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "publish.yml").read_text())
    commands = [step.get("run", "") for step in workflow["jobs"]["publish"]["steps"]]
    assert not [c for c in commands if "analysis.build" in c or "check-site" in c]  # only through make
    assert any(re.search(r'^make publish TAG="\$TAG" GH_PAGES=gh-pages$', c, re.M) for c in commands)
    recipe = make_target("publish")
    assert any("-m analysis.build check-site _site" in line for line in recipe)
    assert any('-m analysis.build publish _site --tag "$(TAG)" --target "$(GH_PAGES)"' in line for line in recipe)


# --- a release is reproducible from its tag -------------------------------------------------------------

def test_a_site_rendered_from_uncommitted_changes_is_refused(tmp_path, gh_pages, changelog):
    _, checkout = gh_pages
    site = fake_site(tmp_path, "0.1.0", date="2031-02-03 09:30 UTC", sha="a" * 64)
    for commit, why in (("0123456789ab-dirty", r"rendered from commit 0123456789ab-dirty: the work tree had uncommitted"),
                        (None, "does not record the commit")):
        record = json.loads((site / "provenance.json").read_text())
        record["report"]["commit"] = commit
        (site / "provenance.json").write_text(json.dumps(record))
        with pytest.raises(PublishError, match=why):
            publish(site, "v0.1.0", checkout, changelog)
    assert not (checkout / "v0.1.0").exists()


def test_a_site_rendered_from_another_study_than_releases_render_is_refused(tmp_path, gh_pages, changelog):
    _, checkout = gh_pages
    site = fake_site(tmp_path, "0.1.0", date="2031-02-03 09:30 UTC", sha="a" * 64)
    with pytest.raises(PublishError, match=r"rendered from the study study\.yml, but releases render studies/bmt\.yml"):
        publish(site, "v0.1.0", checkout, changelog, release_study="studies/bmt.yml")
    assert publish(site, "v0.1.0", checkout, changelog, release_study="study.yml").commit


def test_replacing_a_published_version_needs_it_named_again(released, changelog, capsys):
    checkout, _ = released
    site = fake_site(Path(str(checkout) + "-again"), "0.1.0", date="2031-02-04 08:00 UTC", sha="a" * 64)
    before = head(checkout)
    assert main(publish_args(site, "v0.1.0", checkout, changelog)) == 1
    assert "REPLACE=v0.1.0" in capsys.readouterr().err
    assert main([*publish_args(site, "v0.1.0", checkout, changelog), "--force"]) == 1  # not a terminal: no prompt
    assert "confirm it with --confirm v0.1.0" in capsys.readouterr().err
    assert main([*publish_args(site, "v0.1.0", checkout, changelog), "--force", "--confirm", "v0.2.0"]) == 1
    assert head(checkout) == before
    assert main([*publish_args(site, "v0.1.0", checkout, changelog), "--force", "--confirm", "v0.1.0"]) == 0
    assert head(checkout) != before


def test_the_confirmation_prompt_in_a_terminal():
    from analysis.build.publish import confirm_replacement

    confirm_replacement("v0.1.0", None, ask=lambda prompt: "v0.1.0", interactive=True)
    with pytest.raises(PublishError, match="not confirmed"):
        confirm_replacement("v0.1.0", None, ask=lambda prompt: "yes", interactive=True)


def test_make_publish_passes_a_replacement_only_when_named():
    recipe = " ".join(make_target("publish"))
    assert '$(if $(REPLACE), --force --confirm "$(REPLACE)")' in recipe
    assert "check-site --published" in recipe


def test_a_site_not_rendered_from_its_tag_is_refused(tmp_path, gh_pages, changelog):
    """The project repository names the commit of the tag: a site rendered from another commit (a later
    one, or before the tag moved) would publish numbers its tag cannot reproduce."""
    _, checkout = gh_pages
    repository = tmp_path / "project"
    repository.mkdir()
    for command in (["init", "-q"], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "x"],
                    ["tag", "v0.1.0"]):
        subprocess.run(["git", *command], cwd=repository, check=True, capture_output=True)
    tagged = subprocess.run(["git", "rev-parse", "--short=12", "v0.1.0"], cwd=repository, check=True,
                            capture_output=True, text=True).stdout.strip()
    site = fake_site(tmp_path, "0.1.0", date="2031-02-03 09:30 UTC", sha="a" * 64)
    record = json.loads((site / "provenance.json").read_text())
    record["report"]["commit"] = "0123456789ab"
    (site / "provenance.json").write_text(json.dumps(record))
    with pytest.raises(PublishError, match=f"rendered from commit 0123456789ab, but the tag v0.1.0 is commit {tagged}"):
        publish(site, "v0.1.0", checkout, changelog, repository=repository)
    assert not (checkout / "v0.1.0").exists()
    record["report"]["commit"] = tagged
    (site / "provenance.json").write_text(json.dumps(record))
    assert publish(site, "v0.1.0", checkout, changelog, repository=repository).commit
