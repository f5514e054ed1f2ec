"""Publishing releases into a gh-pages checkout keeps every version (a temporary git repository stands in)."""
import json
import subprocess
from pathlib import Path

import pytest

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
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for who in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{who}_NAME", "Test Publisher")
        monkeypatch.setenv(f"GIT_{who}_EMAIL", "publisher@example.org")


def git(*args, cwd):
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


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
        "report": {"version": version, "package_version": version, "date": date},
        "data": {"source": "ankl_cohort.csv", "sha256": sha, "synthetic": True},
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
    with pytest.raises(PublishError, match="v0.1.0 is already published"):
        publish(site, "v0.1.0", checkout, changelog)
    publish(site, "v0.1.0", checkout, changelog, force=True)  # on purpose only


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
