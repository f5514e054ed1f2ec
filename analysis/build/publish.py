"""Publish a rendered release into a checkout of the `gh-pages` branch, keeping every earlier version.

`quarto publish gh-pages` replaces whatever the branch held, so earlier releases of the report would
vanish.  This script (run by `make publish`, which `.github/workflows/publish.yml` runs on a `vX.Y.Z`
tag, or by hand):

1. checks, before writing anything, that the site holds only plain files and folders, records a
   clean commit and the study releases render, that the target is the top of a git work tree on
   branch `gh-pages` holding exactly its commit (nothing modified, staged, untracked or ignored;
   every published release byte-identical to it), and that the tag is new (`--force --confirm TAG`
   replaces one on purpose);
2. assembles the new commit inside the checkout's git folder: the site as `vX.Y.Z/`, where it is
   never touched again, and as the root (the latest release; the `vX.Y.Z/` folders, `CNAME` and
   `.nojekyll` stay), `versions.json` (version, date and time, input SHA-256, synthetic, one-line
   summary from the version's CHANGELOG entry, the version's pages) and the same list as
   `versions.js` (read at view time by every page's version switcher, `assets/report-versions.js`),
   `latest/` (one redirect per page of the latest release), the list of versions and the comparison
   of each release with the previous one (`analysis.build.results`) in the Versions and Changelog
   pages at the root and in the new version's folder (older folders keep what they were published
   with), and a short `versions.html` at the root that lists them and leads there;
3. moves the branch to that commit in one step, then updates the files of the work tree that
   differ, each written whole.  Killed before that step, the checkout is as it was; killed after
   it, the next run finishes the update.  Pushing is left to the caller
   (`git -C CHECKOUT push origin gh-pages`).

    python -m analysis.build publish _site --tag v0.2.0 --target ../gh-pages [--changelog CHANGELOG.md]
"""
from __future__ import annotations

import argparse
import hashlib
import html
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from analysis.data.paths import PROJECT_ROOT

TAG = re.compile(r"^v(\d+)\.(\d+)\.(\d+)$")
VERSIONS_JSON = "versions.json"
VERSIONS_SCRIPT = "versions.js"  # the same list as a script: pages read it at view time, from file:// too
VERSIONS_PAGE = "report/versions.html"  # the Versions page of the site (report/versions.qmd)
CHANGELOG_PAGE = "report/changelog.html"  # the Changelog page (report/changelog.qmd)
VERSIONS_REDIRECT = "versions.html"  # a short address at the root: <site>/versions.html
VERSIONS_ELEMENT = "report-versions"  # id of the element of the Versions page that receives the list
CHANGES_ELEMENT = "report-changes"  # id of the element (Versions and Changelog pages) that receives the diff
FILLED_PAGES = (VERSIONS_PAGE, CHANGELOG_PAGE)  # pages whose lists publishing fills in
LATEST = "latest"  # <site>/latest/...: redirects to the same page of the latest release
RECORD_FILE = "provenance.json"
RESULTS_FILE = "results.json"
KEEP_AT_ROOT = {".git", ".nojekyll", "CNAME", VERSIONS_JSON, VERSIONS_SCRIPT}
GENERATED_AT_ROOT = {VERSIONS_JSON, VERSIONS_SCRIPT, VERSIONS_REDIRECT, LATEST}  # rewritten by every publication
LIB_DIRS = ("site_libs",)
SUMMARY_LENGTH = 160
PUBLISH_BRANCH = "gh-pages"
STAGING_NAME = "report-publish"  # a folder of the checkout's git folder: never part of its work tree
JOURNAL_FILE = "journal.json"  # in the staging folder once the commit exists: {tag, old, new}
REGULAR, EXECUTABLE, GITLINK = "100644", "100755", "160000"  # git's file modes
LISTED_PATHS = 8  # how many offending paths a message names


class PublishError(RuntimeError):
    """The release cannot be published as asked; the message says why and what was left as it was."""


@dataclass(frozen=True)
class Release:
    """One published version, as `versions.json` lists it."""

    tag: str  # "v0.2.0"
    version: str  # "0.2.0"
    date: str  # build date of the release's site
    data_sha256: str
    synthetic: bool
    summary: str
    path: str  # "v0.2.0/", relative to the root of the published site

    @classmethod
    def from_dict(cls, record: dict) -> "Release":
        return cls(**{key: record[key] for key in cls.__dataclass_fields__})


def _is_page(rel: str) -> bool:
    *folders, name = rel.split("/")
    return name.endswith(".html") and not any(part in LIB_DIRS or part.startswith(".") for part in folders)


def tag_key(tag: str) -> tuple[int, int, int]:
    match = TAG.match(tag)
    if not match:
        raise PublishError(f"{tag!r} is not a release tag of the form vX.Y.Z")
    return tuple(int(x) for x in match.groups())  # type: ignore[return-value]


# --- CHANGELOG ----------------------------------------------------------------------------------------

def _plain(markdown: str) -> str:
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", markdown)  # links -> their text
    text = re.sub(r"[`*_]{1,2}([^`*_]+)[`*_]{1,2}", r"\1", text)  # code, emphasis
    return " ".join(text.split())


def changelog_entry(text: str, version: str) -> str | None:
    """The body of the `## X.Y.Z` (or `## [X.Y.Z]`, `## vX.Y.Z`) section of a CHANGELOG, or None."""
    heading = re.compile(r"^##\s+\[?v?" + re.escape(version) + r"\]?(?![\w.\-+])[^\n]*$", re.M)
    match = heading.search(text)
    if not match:
        return None
    following = re.search(r"^#{1,2}\s", text[match.end():], re.M)
    end = match.end() + following.start() if following else len(text)
    return text[match.end():end].strip()


def changelog_summary(text: str, version: str) -> str:
    """One line for the Versions page: the entry's first paragraph or first bullet, plain text."""
    entry = changelog_entry(text, version)
    if entry is None:
        raise PublishError(f"the CHANGELOG has no entry for {version} (a section '## {version}'): "
                           "write one before tagging the release")
    first: list[str] = []
    for line in entry.splitlines():
        if not line.strip():
            if first:
                break
            continue
        if first and re.match(r"^\s*([-*+]|\d+\.)\s", line):
            break  # the next bullet
        first.append(re.sub(r"^\s*([-*+]|\d+\.)\s+", "", line) if not first else line)
    summary = _plain(" ".join(first))
    if not summary:
        raise PublishError(f"the CHANGELOG entry for {version} is empty")
    if len(summary) > SUMMARY_LENGTH:
        summary = summary[:SUMMARY_LENGTH].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return summary


# --- versions.json and the Versions page --------------------------------------------------------------

def load_versions(target: Path) -> list[Release]:
    path = target / VERSIONS_JSON
    if not path.exists():
        return []
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        return [Release.from_dict(r) for r in document["versions"]]
    except (ValueError, KeyError, TypeError) as error:
        raise PublishError(f"{path} is not a versions list ({error}); fix or remove it") from error


def versions_document(releases: list[Release], pages: dict[str, list[str]] | None = None) -> dict:
    """versions.json: the releases, newest first; with `pages`, the HTML pages of each (site-relative),
    so that the version switcher lands on the same page where a version has it."""
    ordered = sorted(releases, key=lambda r: tag_key(r.tag), reverse=True)
    versions = []
    for release in ordered:
        record = asdict(release)
        if pages is not None:
            record["pages"] = pages.get(release.tag, [])
        versions.append(record)
    return {"latest": ordered[0].tag if ordered else None, "versions": versions}


def versions_script(document: dict) -> str:
    """versions.js: the versions list as a script, for pages opened without a server (fetch() fails on file://)."""
    return ("// Written by analysis/build/publish.py: the same list as versions.json, read by assets/report-versions.js.\n"
            f"window.REPORT_VERSIONS = {json.dumps(document, indent=1, ensure_ascii=False)};\n")


def latest_redirect(depth: int, target: str) -> str:
    """A page of `latest/` that leads to `target` (relative to the published root)."""
    url = html.escape("../" * (depth + 1) + target)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f'<meta http-equiv="refresh" content="0; url={url}">\n<link rel="canonical" href="{url}">\n'
        "<title>Latest version of the report</title>\n</head>\n<body>\n"
        f'<p>This address always shows the latest release: <a href="{url}">{html.escape(target)}</a>.</p>\n'
        "</body>\n</html>\n"
    )


def versions_html(releases: list[Release], prefix: str, note: str = "", marked: tuple[str, str] | None = None) -> str:
    """The list of versions as HTML; `prefix` leads from the page to the root of the published site.

    `marked` = (tag, label) labels one row; by default the newest is labelled "latest".
    """
    ordered = sorted(releases, key=lambda r: tag_key(r.tag), reverse=True)
    if marked is None and ordered:
        marked = (ordered[0].tag, "latest")
    rows = []
    for r in ordered:
        latest = f" ({marked[1]})" if marked and r.tag == marked[0] else ""
        rows.append(
            "<tr>"
            f'<td><a href="{html.escape(prefix + r.path)}index.html">{html.escape(r.tag)}</a>{latest}</td>'
            f"<td>{html.escape(r.date)}</td>"
            f'<td><code title="{html.escape(r.data_sha256)}">{html.escape(r.data_sha256[:12])}</code></td>'
            f"<td>{'synthetic' if r.synthetic else 'registry extract'}</td>"
            f"<td>{html.escape(r.summary)}</td>"
            "</tr>"
        )
    body = "\n".join(rows) or '<tr><td colspan="5">No version published yet.</td></tr>'
    return (
        '\n<table class="table table-sm report-versions-table">\n'
        "<thead><tr><th>Version</th><th>Date</th><th>Input SHA-256</th><th>Data</th><th>Summary</th></tr></thead>\n"
        f"<tbody>\n{body}\n</tbody>\n</table>\n"
        f'<p>Every version stays at its own address (<code>vX.Y.Z/</code>); the same list, machine-readable: '
        f'<a href="{html.escape(prefix)}{VERSIONS_JSON}">{VERSIONS_JSON}</a>.{note}</p>\n'
    )


_DIV_TAG = re.compile(r"<(/?)div\b[^>]*>", re.I)


def replace_element_content(page: str, element_id: str, content: str) -> str | None:
    """`page` with the inside of `<div id=element_id>` replaced, or None if there is no such div."""
    start = re.search(r"<div\b[^>]*\bid=([\"'])" + re.escape(element_id) + r"\1[^>]*>", page, re.I)
    if not start:
        return None
    depth = 1
    for tag in _DIV_TAG.finditer(page, start.end()):
        depth += -1 if tag.group(1) else 1
        if depth == 0:
            return page[:start.end()] + content + page[tag.start():]
    return None


def _fill_page(page: Path, contents: dict[str, str]) -> bool:
    """Replace the inside of each element id -> content that the page holds; True if any was."""
    if not page.is_file():
        return False
    text = page.read_text(encoding="utf-8")
    filled_any = False
    for element_id, content in contents.items():
        filled = replace_element_content(text, element_id, content)
        if filled is not None:
            text, filled_any = filled, True
    if filled_any:
        page.write_text(text, encoding="utf-8")
    return filled_any


def redirect_page(releases: list[Release]) -> str:
    """`<root>/versions.html`: the list itself, and the way to the site's Versions page."""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f'<meta http-equiv="refresh" content="0; url={VERSIONS_PAGE}">\n'
        "<title>Versions of the report</title>\n</head>\n<body>\n<h1>Versions of the report</h1>\n"
        f'<p>See the <a href="{VERSIONS_PAGE}">Versions page</a> of the latest release.</p>\n'
        f"{versions_html(releases, '')}</body>\n</html>\n"
    )


# --- the rendered site --------------------------------------------------------------------------------

def read_site_record(site: Path) -> dict:
    try:
        record = json.loads((site / RECORD_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise PublishError(f"{site / RECORD_FILE} is missing: render the site with Quarto first "
                           "(its pre-render step writes the provenance record)") from error
    except ValueError as error:
        raise PublishError(f"{site / RECORD_FILE} is not valid JSON: {error}") from error
    if not isinstance(record, dict):
        raise PublishError(f"{site / RECORD_FILE} is not a provenance record (not a JSON object)")
    return record


def _listed(paths: list[str]) -> str:
    shown = ", ".join(paths[:LISTED_PATHS])
    return shown + (f" and {len(paths) - LISTED_PATHS} more" if len(paths) > LISTED_PATHS else "")


def _kind_of(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISCHR, "a character device")):
        if test(mode):
            return name
    return "not a regular file"


def site_files(site: Path) -> list[str]:
    """The site-relative paths of the files of a rendered site, sorted.

    Only plain files and folders are published: a symbolic link would publish whatever it points to
    (a private extract, say), and a named pipe or device has no content to publish, so either is
    refused with its path.  So is a `.git` entry (git cannot track one) and a name git's plumbing
    cannot carry (a line break in it).
    """
    files: list[str] = []
    refused: list[str] = []

    def walk(folder: Path, prefix: str) -> None:
        with os.scandir(folder) as scan:
            entries = sorted(scan, key=lambda e: e.name)
        for entry in entries:
            rel = prefix + entry.name
            if entry.is_symlink():
                refused.append(f"{rel} (a symbolic link to {os.readlink(entry.path)})")
            elif entry.name == ".git":
                refused.append(f"{rel} (a git folder)")
            elif "\n" in entry.name or "\r" in entry.name:
                refused.append(f"{rel!r} (a line break in the name)")
            elif entry.is_dir(follow_symlinks=False):
                walk(Path(entry.path), rel + "/")
            elif entry.is_file(follow_symlinks=False):
                files.append(rel)
            else:
                refused.append(f"{rel} ({_kind_of(entry.stat(follow_symlinks=False).st_mode)})")

    walk(site, "")
    if refused:
        raise PublishError(f"{site} holds entries that are not plain files or folders, which are never "
                           f"published: {_listed(refused)}. Replace each by the file itself if it belongs in the "
                           "site, or remove it, then publish again")
    return files


def _copy_file(source: Path, destination: Path) -> bool:
    """Copy one file of the site without following a link; True if it is executable."""
    # O_NOFOLLOW and the fstat below: an entry replaced by a link or a pipe after `site_files`
    # looked at it is refused rather than followed (O_NONBLOCK keeps a pipe from blocking).
    try:
        handle = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        raise PublishError(f"{source} cannot be read ({error.strerror}); nothing was changed") from error
    with os.fdopen(handle, "rb") as reader:
        mode = os.fstat(reader.fileno()).st_mode
        if not stat.S_ISREG(mode):
            raise PublishError(f"{source} is {_kind_of(mode)}, not a file: it is never published")
        destination.parent.mkdir(parents=True, exist_ok=True)
        with open(destination, "wb") as writer:
            shutil.copyfileobj(reader, writer, 1 << 20)
    return bool(mode & stat.S_IXUSR)


# --- the gh-pages checkout ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Entry:
    """One file of a commit, as `git ls-tree -r` lists it."""

    mode: str  # "100644", "100755", "120000" (symbolic link) or "160000" (submodule)
    oid: str


Tree = dict  # path in the commit -> Entry


@dataclass(frozen=True)
class Checkout:
    """A git work tree checked out on the publishing branch, and where this module keeps its work."""

    root: Path
    head: str | None  # None on a branch without commits yet
    index: Path  # git's index file of this work tree
    staging: Path  # inside the git folder: the release is assembled here, never in the work tree
    hash_name: str  # "sha1" or "sha256": how git names objects in this repository


@dataclass(frozen=True)
class Publication:
    """What `publish` did."""

    releases: list[Release]  # every published version, newest first
    commit: str | None  # the new commit of the branch, None if the checkout already held exactly this
    completed: str | None = None  # tag of an interrupted earlier run that was finished first


# Variables that would point git at another repository, work tree or index than the checkout's own.
GIT_LOCATION_VARIABLES = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
                           "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_COMMON_DIR", "GIT_NAMESPACE", "GIT_PREFIX")


def _run_git(cwd: Path, *args: str, input: bytes | None = None, index: Path | None = None
             ) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in GIT_LOCATION_VARIABLES}
    if index is not None:
        env["GIT_INDEX_FILE"] = str(index)
    try:
        return subprocess.run(["git", "-C", str(cwd), *args], input=input, capture_output=True, env=env)
    except FileNotFoundError as error:
        raise PublishError("git was not found on PATH: it is needed to publish") from error


def _git(cwd: Path, *args: str, input: bytes | None = None, index: Path | None = None) -> bytes:
    result = _run_git(cwd, *args, input=input, index=index)
    if result.returncode != 0:
        command = next(a for a in args if not a.startswith("-") and "=" not in a)
        raise PublishError(f"git {command} failed in {cwd}: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout


def _git_path(root: Path, name: str) -> Path:
    path = Path(os.fsdecode(_git(root, "rev-parse", "--git-path", name).rstrip(b"\n")))
    return path if path.is_absolute() else root / path


def open_checkout(target: Path) -> Checkout:
    """The checkout at `target`, if it is the top of a git work tree on the publishing branch.

    Only reads: nothing is written before every check has passed.
    """
    if not target.exists():
        raise PublishError(f"{target}: no such folder (check out the {PUBLISH_BRANCH} branch there)")
    if not target.is_dir():
        raise PublishError(f"{target} is not a folder (check out the {PUBLISH_BRANCH} branch there)")
    inside = _run_git(target, "rev-parse", "--is-inside-work-tree")
    if inside.returncode != 0 or inside.stdout.strip() != b"true":
        why = inside.stderr.decode(errors="replace").strip().splitlines()
        detail = f" ({why[0]})" if why and "not a git repository" not in why[0] else ""
        raise PublishError(f"{target} is not a git work tree{detail}: publish into a checkout of the "
                           f"{PUBLISH_BRANCH} branch (git clone --branch {PUBLISH_BRANCH} URL DIR); "
                           "nothing was changed")
    top = Path(os.fsdecode(_git(target, "rev-parse", "--show-toplevel").rstrip(b"\n")))
    if top.resolve() != target.resolve():
        raise PublishError(f"{target} is a folder inside the git work tree {top}, not the top of a checkout "
                           f"of the {PUBLISH_BRANCH} branch; nothing was changed")
    branch = _run_git(target, "symbolic-ref", "--quiet", "--short", "HEAD")
    if branch.returncode != 0:
        raise PublishError(f"{target} is not on a branch (detached HEAD): switch it to {PUBLISH_BRANCH} "
                           f"(git -C {target} switch {PUBLISH_BRANCH}); nothing was changed")
    name = branch.stdout.decode(errors="replace").strip()
    if name != PUBLISH_BRANCH:
        raise PublishError(f"{target} is on branch {name!r}, not {PUBLISH_BRANCH!r}: publishing replaces the "
                           f"files at the top of the checkout, so it works only in a checkout of "
                           f"{PUBLISH_BRANCH} (git clone --branch {PUBLISH_BRANCH} URL DIR); nothing was changed")
    head = _run_git(target, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
    return Checkout(
        root=target,
        head=head.stdout.decode().strip() if head.returncode == 0 else None,
        index=_git_path(target, "index"),
        staging=_git_path(target, STAGING_NAME),
        hash_name=_git(target, "rev-parse", "--show-object-format").decode().strip() or "sha1",
    )


def tree_of(checkout: Checkout, commit: str | None) -> Tree:
    """Every file of `commit` (path -> Entry); {} for a branch without commits."""
    if commit is None:
        return {}
    entries: Tree = {}
    for record in _git(checkout.root, "ls-tree", "-r", "-z", "--full-tree", commit).split(b"\0"):
        if record:
            info, path = record.split(b"\t", 1)
            mode, _, oid = info.split()
            entries[os.fsdecode(path)] = Entry(mode.decode(), oid.decode())
    return entries


def blob_id(path: Path, hash_name: str) -> str | None:
    """The object id git gives the file at `path` as it is on disk, byte for byte (no filters).

    None if there is nothing at `path`, "" if it is a folder or a special file.
    """
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    digest = hashlib.new(hash_name)
    if stat.S_ISLNK(info.st_mode):
        target = os.fsencode(os.readlink(path))
        digest.update(b"blob %d\0" % len(target) + target)
        return digest.hexdigest()
    if not stat.S_ISREG(info.st_mode):
        return ""
    digest.update(b"blob %d\0" % info.st_size)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _status(checkout: Checkout, index: Path | None = None) -> list[tuple[str, str]]:
    """(XY, path) of every path `git status` reports, untracked and ignored files one by one."""
    # --no-optional-locks: looking must not write git's index either.
    output = _git(checkout.root, "--no-optional-locks", "status", "--porcelain=v1", "-z", "--no-renames",
                  "--untracked-files=all", "--ignored=matching", index=index)
    return [(record[:2].decode(), os.fsdecode(record[3:])) for record in output.split(b"\0") if record]


def _changed_files(checkout: Checkout, tree: Tree) -> list[str]:
    """Tracked files whose bytes on disk differ from the commit, however git was told to look.

    `git status` trusts `update-index --assume-unchanged`/`--skip-worktree` and the stat cache; the
    bytes are compared here so that an edit hidden from it is found too.
    """
    return [path for path, entry in sorted(tree.items())
            if entry.mode != GITLINK and blob_id(checkout.root / path, checkout.hash_name) != entry.oid]


def _release_folder(path: str) -> str | None:
    first, _, rest = path.partition("/")
    return first if rest and TAG.match(first) else None


def check_clean(checkout: Checkout, tree: Tree) -> None:
    """Refuse a checkout that holds anything but the commit it is on: nothing of it may be lost."""
    reported = _status(checkout)
    untracked = [p for xy, p in reported if xy == "??"]
    ignored = [p for xy, p in reported if xy == "!!"]
    changed = sorted({p for xy, p in reported if xy not in ("??", "!!")} | set(_changed_files(checkout, tree)))
    submodules = sorted(p for p, e in tree.items() if e.mode == GITLINK)
    published = [p for p in changed if _release_folder(p)]
    others = [p for p in changed if not _release_folder(p)]
    reasons = []
    if published:
        reasons.append(f"files of published releases differ from the commit: {_listed(published)}. A published "
                       f"version is never changed: restore them (git -C {checkout.root} checkout -- PATH) or "
                       "commit the change on purpose")
    if others:
        reasons.append(f"uncommitted changes: {_listed(others)}; commit or undo them")
    if untracked:
        reasons.append(f"files git does not track: {_listed(untracked)}; move them out of the checkout "
                       "(or commit them)")
    if ignored:
        reasons.append(f"files git ignores: {_listed(ignored)}; move them out of the checkout")
    if submodules:
        reasons.append(f"submodules ({_listed(submodules)}), which publishing cannot replace safely")
    if reasons:
        raise PublishError(f"{checkout.root} is not a clean checkout of {PUBLISH_BRANCH}, so publishing could "
                           "lose or commit what is not its own; nothing was changed:\n  - " + "\n  - ".join(reasons))


# --- writing: assembled in the git folder, committed, then the work tree follows ------------------------

def _write_atomically(path: Path, data: bytes) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    os.replace(partial, path)


def _hash_objects(checkout: Checkout, files: list[Path]) -> list[str]:
    """Store each file as a git object (unreferenced until the commit); their ids in order."""
    if not files:
        return []
    listing = b"".join(os.fsencode(f) + b"\n" for f in files)
    return _git(checkout.root, "hash-object", "-w", "--no-filters", "--stdin-paths", input=listing).decode().split()


def _write_tree(checkout: Checkout, tree: Tree) -> str:
    index = checkout.staging / "index.build"
    if index.exists():
        index.unlink()
    listing = b"".join(f"{entry.mode} {entry.oid}\t".encode() + os.fsencode(path) + b"\0"
                       for path, entry in sorted(tree.items()))
    _git(checkout.root, "update-index", "-z", "--index-info", input=listing, index=index)
    return _git(checkout.root, "write-tree", index=index).decode().strip()


def _commit(checkout: Checkout, tree_id: str, message: str) -> str:
    identity = []
    if (not _run_git(checkout.root, "config", "user.email").stdout.strip()
            and not os.environ.get("GIT_COMMITTER_EMAIL")):
        identity = ["-c", "user.name=report publisher", "-c", "user.email=report-publisher@localhost"]
    parents = ["-p", checkout.head] if checkout.head else []
    return _git(checkout.root, *identity, "commit-tree", tree_id, *parents, "-m", message).decode().strip()


def _journal_path(checkout: Checkout) -> Path:
    return checkout.staging / JOURNAL_FILE


def _blob_reader(checkout: Checkout):
    """A function oid -> bytes reading git objects through one `git cat-file --batch`."""
    env = {k: v for k, v in os.environ.items() if k not in GIT_LOCATION_VARIABLES}
    process = subprocess.Popen(["git", "-C", str(checkout.root), "cat-file", "--batch"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, env=env)

    def read(oid: str) -> bytes:
        process.stdin.write(oid.encode() + b"\n")
        process.stdin.flush()
        header = process.stdout.readline().split()
        if len(header) != 3 or header[1] != b"blob":
            raise PublishError(f"git has no file {oid} in {checkout.root}")
        data = process.stdout.read(int(header[2]))
        process.stdout.read(1)  # the line break after each object
        return data

    return read, process


def _remove_emptied_folders(root: Path, folder: Path) -> None:
    while folder != root and folder.is_relative_to(root):
        try:
            folder.rmdir()  # only if empty: a folder that still holds anything is left as it is
        except OSError:
            return
        folder = folder.parent


def sync_work_tree(checkout: Checkout, old: Tree, new: Tree, commit: str) -> None:
    """Make the files of the work tree those of `new`, from those of `old`, then git's index.

    Only paths that differ between the two commits are touched; every file is written beside its
    place in the git folder and moved in whole, so an interrupted run leaves each path either as in
    `old` or as in `new`, and running this again finishes the job.
    """
    root = checkout.root
    for path in sorted(p for p in old if p not in new):
        place = root / path
        if place.is_symlink() or (place.exists() and not place.is_dir()):
            place.unlink()
        _remove_emptied_folders(root, place.parent)
    incoming = checkout.staging / "incoming"
    read, process = _blob_reader(checkout)
    try:
        for path in sorted(p for p, e in new.items() if old.get(p) != e):
            entry = new[path]
            place = root / path
            if blob_id(place, checkout.hash_name) == entry.oid:
                continue  # written by the interrupted run already
            incoming.write_bytes(read(entry.oid))
            if entry.mode == EXECUTABLE:
                mode = os.stat(incoming).st_mode
                os.chmod(incoming, mode | (mode & 0o444) >> 2)  # executable by whoever may read it
            place.parent.mkdir(parents=True, exist_ok=True)
            os.replace(incoming, place)
    finally:
        process.stdin.close()
        process.wait()
        process.stdout.close()
    # A fresh index of the new commit, moved over git's own in one step: git status is clean again.
    index = checkout.staging / "index.final"
    if index.exists():
        index.unlink()
    _git(root, "read-tree", commit, index=index)
    _run_git(root, "update-index", "-q", "--refresh", index=index)
    os.replace(index, checkout.index)


def _finish(checkout: Checkout, tag: str, old: Tree, new: Tree, commit: str) -> None:
    """The work tree follows the commit that published `tag`; then the staging folder goes."""
    try:
        sync_work_tree(checkout, old, new, commit)
    except OSError as error:
        raise PublishError(f"{tag} is committed, but updating the files of {checkout.root} failed ({error}): "
                           "fix that and publish again to finish") from error
    _clear_staging(checkout)


def _clear_staging(checkout: Checkout) -> None:
    journal = _journal_path(checkout)
    if journal.exists():
        journal.unlink()  # first: a staging folder without a journal is known to be a leftover
    if checkout.staging.exists():
        shutil.rmtree(checkout.staging)


def recover_interrupted(checkout: Checkout) -> tuple[Checkout, str | None]:
    """Finish or drop what a killed run left in the git folder; the tag it completed, if any.

    A run killed before it moved the branch left only its staging folder: it is removed and the
    checkout is as it was.  A run killed after moving the branch has committed the release but
    may have updated only part of the work tree: every path it could have touched must be as in
    the old or the new commit (nothing else changed since), and the update is finished.
    """
    if not checkout.staging.exists():
        return checkout, None
    journal_path = _journal_path(checkout)
    if not journal_path.exists():
        shutil.rmtree(checkout.staging)  # killed while assembling: the work tree was not touched
        return checkout, None
    try:
        journal = json.loads(journal_path.read_text(encoding="utf-8"))
        tag, old_commit, new_commit = journal["tag"], journal["old"], journal["new"]
    except (ValueError, KeyError, TypeError) as error:
        raise PublishError(f"{journal_path} is damaged ({error}): an earlier publication was interrupted; "
                           "check the checkout and remove that folder, then publish again") from error
    if checkout.head == old_commit:
        _clear_staging(checkout)  # killed before the commit was made the branch's: nothing happened
        return checkout, None
    if checkout.head != new_commit:
        raise PublishError(f"an interrupted publication of {tag} left {checkout.staging}, and the branch has "
                           f"moved since (it was to become {new_commit[:12]}, it is {str(checkout.head)[:12]}): "
                           f"check the checkout, remove {checkout.staging}, then publish again")
    old, new = tree_of(checkout, old_commit), tree_of(checkout, new_commit)
    touched = {p for p in old if p not in new} | {p for p, e in new.items() if old.get(p) != e}
    foreign = []
    with tempfile.TemporaryDirectory(dir=checkout.staging) as scratch:
        expected = Path(scratch) / "index"
        _git(checkout.root, "read-tree", new_commit, index=expected)
        for xy, path in _status(checkout, index=expected):
            if path not in touched:
                foreign.append(path)
            elif blob_id(checkout.root / path, checkout.hash_name) != (old[path].oid if path in old else None):
                foreign.append(path)
    if foreign:
        raise PublishError(f"{tag} was committed by an interrupted publication, but the checkout has changed since "
                           f"in {_listed(sorted(set(foreign)))}: move those changes out of the checkout, then "
                           "publish again to finish updating its files")
    _finish(checkout, tag, old, new, new_commit)
    return replace(checkout, head=new_commit), tag


def _holds_release(checkout: Checkout, tree: Tree, site: Path, files: list[str], release: Release,
                   listed: list[Release]) -> bool:
    """Whether the commit holds `release` published from this very site (its Versions and Changelog
    pages aside, which publishing fills in), so that publishing it again would change nothing."""
    if release not in listed:
        return False
    prefix = release.path
    published = {p[len(prefix):]: e.oid for p, e in tree.items() if p.startswith(prefix)}
    return set(published) == set(files) and all(
        rel in FILLED_PAGES or blob_id(site / rel, checkout.hash_name) == published[rel] for rel in files)


def _reserve_staging(checkout: Checkout) -> None:
    try:
        checkout.staging.mkdir()
    except OSError as error:
        raise PublishError(f"cannot create {checkout.staging} ({error.strerror})") from error
    if os.stat(checkout.staging).st_dev != os.stat(checkout.root).st_dev:
        shutil.rmtree(checkout.staging)
        raise PublishError(f"the git folder of {checkout.root} is on another file system than its files, so "
                           "a release cannot be moved in whole: use a checkout whose .git is inside it")


def tagged_commit(repository: Path, tag: str) -> str | None:
    """The commit `tag` names in the git repository `repository` (12 hex digits, as a site records its
    commit), or None when the repository has no such tag (or is none)."""
    if not (repository / ".git").exists():
        return None
    result = _run_git(repository, "rev-parse", "--verify", "--quiet", "--short=12", f"refs/tags/{tag}^{{commit}}")
    return result.stdout.decode().strip() or None if result.returncode == 0 else None


def release_of(site: Path, tag: str, changelog: Path, release_study: str | None = None,
               repository: Path | None = None) -> tuple[list[str], Release]:
    """The files of the rendered `site` and its entry in the versions list, if it may be published as `tag`.

    `release_study`, when given, is the study file releases must render (`analysis.build.release`);
    `repository`, when it holds `tag`, the project whose tagged commit the site must record.
    """
    version = tag[1:]
    if not (site / "index.html").is_file():
        raise PublishError(f"{site} is not a rendered site (no index.html)")
    files = site_files(site)
    reserved = {VERSIONS_JSON, VERSIONS_SCRIPT, LATEST}
    clashes = sorted({f.split("/", 1)[0] for f in files
                      if TAG.match(f.split("/", 1)[0]) or f.split("/", 1)[0] in reserved})
    if clashes:
        raise PublishError(f"the site holds {', '.join(clashes)}, names reserved for published versions")
    record = read_site_record(site)
    report = record.get("report") if isinstance(record.get("report"), dict) else {}
    data = record.get("data") if isinstance(record.get("data"), dict) else {}
    built = str(report.get("version", ""))
    if built != version:
        raise PublishError(f"the site was built as version {built!r}, not {version!r}: render it from the "
                           f"tag {tag} (or with REPORT_VERSION={tag})")
    package = str(report.get("package_version", version))
    if package != version:
        raise PublishError(f"the tag {tag} does not match the package version {package} "
                           "(analysis.__version__): bump the version before tagging")
    commit = report.get("commit")
    if not commit or not isinstance(commit, str):
        raise PublishError("the site does not record the commit it was rendered from (no git work tree?): a "
                           "release must be rendered from its tagged commit in a clone of the repository")
    if commit.endswith("-dirty"):
        raise PublishError(f"the site was rendered from commit {commit}: the work tree had uncommitted changes, "
                           "so the release could not be rendered again from its tag. Commit or undo the changes "
                           "(git status), render again (make report-ci) and publish")
    tagged = tagged_commit(repository, tag) if repository is not None else None
    if tagged is not None and commit[:12] != tagged[:12]:
        raise PublishError(f"the site was rendered from commit {commit}, but the tag {tag} is commit {tagged}: "
                           f"a release is rendered from its tag (git checkout {tag}, make report-ci) and then published")
    if release_study is not None:
        study = record.get("study", {}).get("file") if isinstance(record.get("study"), dict) else None
        if study != release_study:
            raise PublishError(
                f"the site was rendered from the study {study or 'of an unknown file'}, but releases render "
                f"{release_study} (pyproject.toml, [tool.report] release-study): render it with make report-ci, or "
                "name the study there (and commit it) if this release is to render it")
    if not changelog.is_file():
        raise PublishError(f"{changelog}: no such CHANGELOG")
    return files, Release(
        tag=tag, version=version, date=str(report.get("date", "")), data_sha256=str(data.get("sha256", "")),
        synthetic=bool(data.get("synthetic", False)),
        summary=changelog_summary(changelog.read_text(encoding="utf-8"), version), path=f"{tag}/",
    )


def _read_record(path: Path) -> dict | None:
    """A release's JSON record (results.json, provenance.json), or None if it has none or it is unreadable."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _change_entries(releases: list[Release], records: dict[str, Path]) -> list[dict]:
    """The releases oldest first with their results and provenance records, for `changes_html`;
    `records` maps a tag to the folder holding its records."""
    entries = []
    for release in sorted(releases, key=lambda r: tag_key(r.tag)):
        folder = records.get(release.tag)
        entries.append({"tag": release.tag, "path": release.path,
                        "results": _read_record(folder / RESULTS_FILE) if folder else None,
                        "provenance": _read_record(folder / RECORD_FILE) if folder else None})
    return entries


def _assemble(checkout: Checkout, site: Path, files: list[str], release: Release, releases: list[Release],
              old: Tree) -> Tree:
    """Every file of the new commit: the release copied and its generated pages written into the
    staging folder, stored as git objects.  The work tree is not touched."""
    from analysis.build.results import changes_html

    tag = release.tag
    staging = checkout.staging
    assembled = staging / "site"
    executable = {rel: _copy_file(site / rel, assembled / rel) for rel in files}
    newest = max(releases, key=lambda r: tag_key(r.tag))
    is_latest = newest.tag == tag

    # Each release's pages (for the switcher) and records (for the comparison), from the new tree.
    pages = {r.tag: sorted(p[len(r.path):] for p in old if p.startswith(r.path) and _is_page(p[len(r.path):]))
             for r in releases if r.tag != tag}
    pages[tag] = [rel for rel in files if _is_page(rel)]
    records = {r.tag: checkout.root / r.tag for r in releases if r.tag != tag}
    records[tag] = assembled
    earlier = [r for r in releases if tag_key(r.tag) <= tag_key(tag)]

    note = (' Later versions, if any, are listed on the <a href="../../report/versions.html">Versions page '
            "of the latest release</a>.")
    release_contents = {VERSIONS_ELEMENT: versions_html(earlier, "../../", note, marked=(tag, "this version")),
                        CHANGES_ELEMENT: changes_html(_change_entries(earlier, records), "../../")}
    root_contents = {VERSIONS_ELEMENT: versions_html(releases, "../"),
                     CHANGES_ELEMENT: changes_html(_change_entries(releases, records), "../")}
    filled: dict[str, Path] = {}  # path in the commit -> filled page in the staging folder
    for number, page in enumerate(FILLED_PAGES):
        if (assembled / page).is_file():
            copy = staging / f"release-{number}.html"
            shutil.copyfile(assembled / page, copy)
            if _fill_page(copy, release_contents):
                filled[f"{tag}/{page}"] = copy
        # The root's page: the new site's if this release becomes the latest, else the one there.
        source = assembled / page if is_latest else checkout.root / page
        if (is_latest or page in old) and source.is_file():
            copy = staging / f"root-{number}.html"
            shutil.copyfile(source, copy)
            if _fill_page(copy, root_contents) or is_latest:
                filled[page] = copy

    document = versions_document(releases, pages)
    generated: dict[str, str] = {
        VERSIONS_REDIRECT: redirect_page(releases),
        VERSIONS_JSON: json.dumps(document, indent=2, ensure_ascii=False) + "\n",
        VERSIONS_SCRIPT: versions_script(document),
    }
    for page in pages[newest.tag]:  # <site>/latest/PAGE leads to PAGE of the latest release
        generated[f"{LATEST}/{page}"] = latest_redirect(page.count("/"), newest.path + page)
    for number, (path, text) in enumerate(sorted(generated.items())):
        written = staging / f"generated-{number}"
        written.write_text(text, encoding="utf-8")
        filled[path] = written
    (staging / ".nojekyll").write_bytes(b"")

    sources: dict[str, tuple[Path, bool]] = {}  # path in the commit -> (assembled file, executable)
    for rel in files:
        sources[f"{tag}/{rel}"] = (filled.get(f"{tag}/{rel}", assembled / rel), executable[rel])
        if is_latest:
            sources[rel] = (filled.get(rel, assembled / rel), executable[rel])
    for path, page in filled.items():
        sources.setdefault(path, (page, False))
    if ".nojekyll" not in old and ".nojekyll" not in sources:
        sources[".nojekyll"] = (staging / ".nojekyll", False)

    new: Tree = {}
    for path, entry in old.items():
        top = path.split("/", 1)[0]
        if _release_folder(path) == tag:
            continue  # replaced on purpose (--force)
        if top in GENERATED_AT_ROOT and not _release_folder(path):
            continue  # written afresh below
        if is_latest and not _release_folder(path) and top not in KEEP_AT_ROOT:
            continue  # the previous latest release at the root, replaced by this one
        new[path] = entry
    paths = sorted(sources)
    for path, oid in zip(paths, _hash_objects(checkout, [sources[p][0] for p in paths])):
        new[path] = Entry(EXECUTABLE if sources[path][1] else REGULAR, oid)
    return new


def publish(site: str | Path, tag: str, target: str | Path, changelog: str | Path | None = None, *,
            force: bool = False, message: str | None = None, release_study: str | None = None,
            repository: Path | None = None) -> Publication:
    """Publish `site` as release `tag` into the gh-pages checkout `target`, and commit it.

    Every check comes before the first write.  The release is assembled and committed inside the
    checkout's git folder; only then are the changed files of the work tree moved in, one by one,
    each whole.  A run killed before the commit leaves the checkout as it was; one killed after it
    is finished by the next run.  The commit changes only `tag/`, the root copy of the latest
    release, the versions list (`versions.json`, `versions.js`, `versions.html`, the Versions and
    Changelog pages at the root) and the `latest/` redirects (and adds `.nojekyll`).
    `release_study`: the study file the site must have been rendered from (None: not checked);
    `repository`: the project repository (the command line passes this project), whose commit of `tag`
    (when it has the tag) the site must record; None: not checked.
    """
    site, target = Path(site).resolve(), Path(target).absolute()
    tag_key(tag)
    if target.resolve() == site or site.is_relative_to(target.resolve()) or target.resolve().is_relative_to(site):
        raise PublishError("the site and the gh-pages checkout must be separate folders")
    files, release = release_of(site, tag, Path(changelog) if changelog else PROJECT_ROOT / "CHANGELOG.md",
                                release_study, repository)

    checkout = open_checkout(target)
    checkout, completed = recover_interrupted(checkout)
    old = tree_of(checkout, checkout.head)
    check_clean(checkout, old)
    listed = load_versions(checkout.root)

    def newest_first(releases: list[Release]) -> list[Release]:
        return sorted(releases, key=lambda r: tag_key(r.tag), reverse=True)

    if completed == tag:  # the interrupted run was this very publication, and it is now finished
        return Publication(newest_first(listed), checkout.head, completed)
    if (any(r.tag == tag for r in listed) or any(_release_folder(p) == tag for p in old)) and not force:
        if _holds_release(checkout, old, site, files, release, listed):
            # Publishing the same site again changes nothing: a rerun after a run killed when it had
            # finished, or a retried workflow, succeeds.
            return Publication(newest_first(listed), None, completed)
        raise PublishError(f"{tag} is already published ({checkout.root / tag}); a published version is not "
                           f"changed: readers and citations of {tag} rely on it. To replace it all the same, "
                           f"publish with --force --confirm {tag} (make publish ... REPLACE={tag})")
    releases = [r for r in listed if r.tag != tag] + [release]

    _reserve_staging(checkout)
    try:
        new = _assemble(checkout, site, files, release, releases, old)
        tree_id = _write_tree(checkout, new)
        if checkout.head and tree_id == _git(checkout.root, "rev-parse", f"{checkout.head}^{{tree}}").decode().strip():
            _clear_staging(checkout)  # --force with the same files: nothing to commit
            return Publication(newest_first(releases), None, completed)
        text = message or f"Publish report {tag} (input SHA-256 {release.data_sha256[:12]})"
        commit = _commit(checkout, tree_id, text)
    except BaseException:
        _clear_staging(checkout)  # nothing was committed: the checkout is as it was
        raise

    # The one step that publishes: the branch moves to the new commit only if it is still where it
    # was checked.  The journal, written first, lets a killed run be finished by the next one.
    _write_atomically(_journal_path(checkout), json.dumps({"tag": tag, "old": checkout.head, "new": commit}).encode())
    moved = _run_git(checkout.root, "update-ref", "-m", f"publish {tag}", f"refs/heads/{PUBLISH_BRANCH}", commit,
                     checkout.head or "0" * len(commit))
    if moved.returncode != 0:
        _clear_staging(checkout)
        raise PublishError(f"the {PUBLISH_BRANCH} branch of {checkout.root} changed while publishing "
                           f"({moved.stderr.decode(errors='replace').strip()}); nothing was changed: publish again")
    _finish(checkout, tag, old, new, commit)
    return Publication(newest_first(releases), commit, completed)


def confirm_replacement(tag: str, confirmation: str | None, ask=input, interactive: bool | None = None) -> None:
    """A published version is replaced only when the caller names it again: `--confirm TAG`, or typed
    at the prompt when the command runs in a terminal."""
    if confirmation is not None:
        if confirmation != tag:
            raise PublishError(f"--confirm {confirmation} does not name the version to replace ({tag}); nothing was changed")
        return
    if interactive is None:
        interactive = sys.stdin.isatty()
    if not interactive:
        raise PublishError(f"--force replaces the published {tag}, which readers and citations rely on: confirm it "
                           f"with --confirm {tag} (make publish ... REPLACE={tag}); nothing was changed")
    answer = ask(f"Replace the published {tag}? Readers and citations of {tag} will see the new files. "
                 f"Type {tag} to confirm: ").strip()
    if answer != tag:
        raise PublishError(f"not confirmed; {tag} was left as it is")


def main(argv: list[str] | None = None) -> int:
    from analysis.build.release import ReleaseStudyError, release_study

    parser = argparse.ArgumentParser(prog="python -m analysis.build publish", description=__doc__.splitlines()[0])
    parser.add_argument("site", help="the rendered site, e.g. _site")
    parser.add_argument("--tag", required=True, help="the release tag, vX.Y.Z")
    parser.add_argument("--target", required=True, help=f"a checkout of the {PUBLISH_BRANCH} branch")
    parser.add_argument("--changelog", help="CHANGELOG.md to take the summary from (default: the project's)")
    parser.add_argument("--force", action="store_true", help="replace a version that is already published "
                                                             "(asks to confirm, or needs --confirm TAG)")
    parser.add_argument("--confirm", metavar="TAG", help="with --force: the version to replace, named again")
    args = parser.parse_args(argv)
    try:
        if args.confirm and not args.force:
            raise PublishError("--confirm goes with --force (replacing a published version)")
        if args.force:
            confirm_replacement(args.tag, args.confirm)
        study = release_study()
        done = publish(args.site, args.tag, args.target, args.changelog, force=args.force, release_study=study,
                       repository=PROJECT_ROOT)
    except (PublishError, ReleaseStudyError, OSError) as error:
        print(f"publish: error: {error}", file=sys.stderr)
        return 1
    if done.completed:
        print(f"finished the publication of {done.completed}, which was interrupted earlier")
    versions = ", ".join(r.tag for r in done.releases)
    if done.commit is None:
        print(f"{args.tag} is already published in {args.target} from this very site: nothing to do")
    else:
        print(f"published {args.tag} into {args.target}; versions: {versions}")
    print(f"push it with: git -C {args.target} push origin {PUBLISH_BRANCH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
