"""Publish a rendered release into a checkout of the `gh-pages` branch, keeping every earlier version.

`quarto publish gh-pages` replaces whatever the branch held, so earlier releases of the report would
vanish.  This script (run by `.github/workflows/publish.yml` on a `vX.Y.Z` tag, or by hand):

1. copies the rendered site to `<checkout>/vX.Y.Z/`, where it is never touched again;
2. replaces the site at the root of the checkout with the same copy (the latest release), keeping
   the `vX.Y.Z/` folders, `versions.json`, `CNAME` and `.nojekyll`;
3. records the release in `versions.json` (version, date, input SHA-256, synthetic, one-line
   summary from the version's CHANGELOG entry) and writes the list of versions into the Versions
   page at the root and in the new version's folder (older folders keep the list they were
   published with), and a short `versions.html` at the root that lists them and leads there;
4. commits.  Pushing is left to the caller (`git -C CHECKOUT push origin gh-pages`).

    python -m analysis.publish _site --tag v0.2.0 --target ../gh-pages [--changelog CHANGELOG.md]
"""
from __future__ import annotations

import argparse
import html
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from analysis.data.paths import PROJECT_ROOT

TAG = re.compile(r"^v(\d+)\.(\d+)\.(\d+)$")
VERSIONS_JSON = "versions.json"
VERSIONS_PAGE = "report/versions.html"  # the Versions page of the site (report/versions.qmd)
VERSIONS_REDIRECT = "versions.html"  # a short address at the root: <site>/versions.html
VERSIONS_ELEMENT = "report-versions"  # id of the element of the Versions page that receives the list
RECORD_FILE = "provenance.json"
KEEP_AT_ROOT = {".git", ".nojekyll", "CNAME", VERSIONS_JSON}
SUMMARY_LENGTH = 160


class PublishError(RuntimeError):
    """The release cannot be published as asked; nothing was committed."""


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


def versions_document(releases: list[Release]) -> dict:
    ordered = sorted(releases, key=lambda r: tag_key(r.tag), reverse=True)
    return {"latest": ordered[0].tag if ordered else None, "versions": [asdict(r) for r in ordered]}


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


def _fill_versions_page(page: Path, releases: list[Release], prefix: str, note: str = "",
                        marked: tuple[str, str] | None = None) -> bool:
    if not page.is_file():
        return False
    filled = replace_element_content(page.read_text(encoding="utf-8"), VERSIONS_ELEMENT,
                                     versions_html(releases, prefix, note, marked))
    if filled is None:
        return False
    page.write_text(filled, encoding="utf-8")
    return True


def redirect_page(releases: list[Release]) -> str:
    """`<root>/versions.html`: the list itself, and the way to the site's Versions page."""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f'<meta http-equiv="refresh" content="0; url={VERSIONS_PAGE}">\n'
        "<title>Versions of the report</title>\n</head>\n<body>\n<h1>Versions of the report</h1>\n"
        f'<p>See the <a href="{VERSIONS_PAGE}">Versions page</a> of the latest release.</p>\n'
        f"{versions_html(releases, '')}</body>\n</html>\n"
    )


# --- publishing ---------------------------------------------------------------------------------------

def read_site_record(site: Path) -> dict:
    try:
        return json.loads((site / RECORD_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise PublishError(f"{site / RECORD_FILE} is missing: render the site with Quarto first "
                           "(its pre-render step writes the provenance record)") from error
    except ValueError as error:
        raise PublishError(f"{site / RECORD_FILE} is not valid JSON: {error}") from error


def _git(target: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(target), *args], capture_output=True, text=True)


def _copy_into(site: Path, destination: Path) -> None:
    destination.mkdir(parents=True, exist_ok=True)
    for entry in site.iterdir():
        if entry.name == ".git":
            continue
        if entry.is_dir():
            shutil.copytree(entry, destination / entry.name, dirs_exist_ok=True)
        else:
            shutil.copy2(entry, destination / entry.name)


def _clear_root(target: Path) -> None:
    """Remove the previous latest release from the root, keeping every version folder."""
    for entry in target.iterdir():
        if entry.name in KEEP_AT_ROOT or (entry.is_dir() and TAG.match(entry.name)):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def publish(site: str | Path, tag: str, target: str | Path, changelog: str | Path | None = None, *,
            force: bool = False, commit: bool = True, message: str | None = None) -> list[Release]:
    """Publish `site` as release `tag` into the gh-pages checkout `target`; return every version."""
    site, target = Path(site).resolve(), Path(target).resolve()
    tag_key(tag)
    version = tag[1:]
    if not (site / "index.html").is_file():
        raise PublishError(f"{site} is not a rendered site (no index.html)")
    if not target.is_dir():
        raise PublishError(f"{target}: no such folder (check out the gh-pages branch there)")
    if target == site or site.is_relative_to(target) or target.is_relative_to(site):
        raise PublishError("the site and the gh-pages checkout must be separate folders")
    clashes = [e.name for e in site.iterdir() if TAG.match(e.name) or e.name == VERSIONS_JSON]
    if clashes:
        raise PublishError(f"the site holds {', '.join(clashes)}, names reserved for published versions")

    record = read_site_record(site)
    built = str(record.get("report", {}).get("version", ""))
    if built != version:
        raise PublishError(f"the site was built as version {built!r}, not {version!r}: render it from the "
                           f"tag {tag} (or with REPORT_VERSION={tag})")
    package = str(record.get("report", {}).get("package_version", version))
    if package != version:
        raise PublishError(f"the tag {tag} does not match the package version {package} "
                           "(analysis.__version__): bump the version before tagging")

    changelog = Path(changelog) if changelog else PROJECT_ROOT / "CHANGELOG.md"
    if not changelog.is_file():
        raise PublishError(f"{changelog}: no such CHANGELOG")
    release = Release(
        tag=tag, version=version, date=str(record["report"].get("date", "")),
        data_sha256=str(record.get("data", {}).get("sha256", "")),
        synthetic=bool(record.get("data", {}).get("synthetic", False)),
        summary=changelog_summary(changelog.read_text(encoding="utf-8"), version),
        path=f"{tag}/",
    )

    releases = [r for r in load_versions(target) if r.tag != tag]
    version_dir = target / tag
    if version_dir.exists():
        if not force:
            raise PublishError(f"{tag} is already published ({version_dir}); a published version is not "
                               "changed (use --force to replace it)")
        shutil.rmtree(version_dir)
    releases.append(release)

    # 1. the version's own folder: the list as it stands at this release, then never touched again
    shutil.copytree(site, version_dir, ignore=shutil.ignore_patterns(".git"))
    note = (' Later versions, if any, are listed on the <a href="../../report/versions.html">Versions page '
            "of the latest release</a>.")
    _fill_versions_page(version_dir / VERSIONS_PAGE, [r for r in releases if tag_key(r.tag) <= tag_key(tag)],
                        "../../", note, marked=(tag, "this version"))

    # 2. the root: the latest release (the highest tag; publishing an older patch keeps the newer root)
    latest = max(releases, key=lambda r: tag_key(r.tag))
    if latest.tag == tag:
        _clear_root(target)
        _copy_into(site, target)
    _fill_versions_page(target / VERSIONS_PAGE, releases, "../")
    (target / VERSIONS_REDIRECT).write_text(redirect_page(releases), encoding="utf-8")
    (target / ".nojekyll").touch()

    # 3. the machine-readable list
    (target / VERSIONS_JSON).write_text(json.dumps(versions_document(releases), indent=2, ensure_ascii=False)
                                        + "\n", encoding="utf-8")

    # 4. commit
    if commit:
        if _git(target, "rev-parse", "--is-inside-work-tree").returncode != 0:
            raise PublishError(f"{target} is not a git work tree (check out the gh-pages branch there)")
        _git(target, "add", "--all", ".")
        if _git(target, "diff", "--cached", "--quiet").returncode != 0:
            identity = []
            if not _git(target, "config", "user.email").stdout.strip() and not os.environ.get("GIT_COMMITTER_EMAIL"):
                identity = ["-c", "user.name=report publisher", "-c", "user.email=report-publisher@localhost"]
            text = message or f"Publish report {tag} (input SHA-256 {release.data_sha256[:12]})"
            result = subprocess.run(["git", *identity, "-C", str(target), "commit", "--quiet", "-m", text],
                                    capture_output=True, text=True)
            if result.returncode != 0:
                raise PublishError(f"git commit failed in {target}: {result.stderr.strip()}")
    return sorted(releases, key=lambda r: tag_key(r.tag), reverse=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis.publish", description=__doc__.splitlines()[0])
    parser.add_argument("site", help="the rendered site, e.g. _site")
    parser.add_argument("--tag", required=True, help="the release tag, vX.Y.Z")
    parser.add_argument("--target", required=True, help="a checkout of the gh-pages branch")
    parser.add_argument("--changelog", help="CHANGELOG.md to take the summary from (default: the project's)")
    parser.add_argument("--force", action="store_true", help="replace a version that is already published")
    parser.add_argument("--no-commit", action="store_true", help="change the files, do not commit")
    args = parser.parse_args(argv)
    try:
        releases = publish(args.site, args.tag, args.target, args.changelog, force=args.force,
                           commit=not args.no_commit)
    except PublishError as error:
        print(f"publish: error: {error}", file=sys.stderr)
        return 1
    print(f"published {args.tag} into {args.target}; versions: {', '.join(r.tag for r in releases)}")
    if not args.no_commit:
        print(f"push it with: git -C {args.target} push origin HEAD")
    return 0


if __name__ == "__main__":
    sys.exit(main())
