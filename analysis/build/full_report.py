"""The whole report as one PDF: every chapter in one Typst document, written before every render.

Quarto renders each page to its own PDF, so figures and tables are numbered page by page and there
is no document a reader can print or cite whole.  Quarto's pre-render step runs this module
(`analysis/build/prerender_release.py`), which writes two generated, git-ignored files:

- `report/full-report.qmd`: the chapters of `_quarto.yml`'s render list (the Versions and
  Changelog pages aside), in order, each under its title as a level-1 heading (`{#sec-<page>}`),
  with its `{{< include >}}` files inlined (the shared `_setup.qmd` once: one kernel runs the
  whole document; the pages' source-data downloads left out), links between chapters turned into links to those headings, rendered to Typst
  only (its front matter says `format: typst`).  Quarto executes it like any page and numbers its
  figures and tables through the whole document; `_provenance.typ` (the project's Typst
  `include-in-header`) puts the provenance line on every page.  Quarto 1.5 and later list files
  written by a pre-render step among the files to render, so it is built as `report/full-report.pdf`
  beside the other pages, and every version published keeps its own.
- `report/_full-report-title.typ`: its title page (title, version, build date and time, input
  SHA-256, synthetic or not) and table of contents, included before the body.

    python -m analysis.build full-report [--root DIR]   # writes both, as the pre-render step does
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import yaml

from analysis.build.qmd import FRONT_MATTER_RE, GENERATED_PAGES, INCLUDE_RE
from analysis.build.sections import PAGES_FILE
from analysis.data.paths import PROJECT_ROOT
from analysis.present.tables.render_typst import typst_string

SOURCE = Path(GENERATED_PAGES[0])  # report/full-report.qmd
TITLE_PAGE = Path("report") / "_full-report-title.typ"
OUTPUT = "report/full-report.pdf"  # in the site: what every page links to
NOT_CHAPTERS = ("report/versions.qmd", "report/changelog.qmd", SOURCE.as_posix())
# Parts of a page that belong to the web page only: the source-data downloads sit beside each page.
PAGE_ONLY_INCLUDES = ("_source-data.qmd",)
LABEL_RE = re.compile(r"^#\|\s*label:\s*(\S+)\s*$", re.M)
LINK_RE = re.compile(r"\]\(([^)\s#]+\.qmd)(#[^)\s]*)?\)")


class FullReportError(RuntimeError):
    """The chapters cannot be put in one document as they are (e.g. two use the same label)."""


def left_out(root: Path = PROJECT_ROOT) -> set[str]:
    """The pages this study leaves out of its site (`website: drafts` in `_pages.yml`, which the sections
    pre-render step writes before this one): they are left out of the whole report too."""
    pages = root / PAGES_FILE
    if not pages.exists():
        return set()
    return set(((yaml.safe_load(pages.read_text(encoding="utf-8")) or {}).get("website") or {}).get("drafts") or ())


def chapters(root: Path = PROJECT_ROOT) -> list[Path]:
    """The pages of the whole report, in the order of `_quarto.yml`'s render list (not those the study leaves
    out)."""
    config = yaml.safe_load((root / "_quarto.yml").read_text(encoding="utf-8"))
    skipped = set(NOT_CHAPTERS) | left_out(root)
    return [root / page for page in config["project"]["render"] if page not in skipped]


def section_id(page: Path, root: Path = PROJECT_ROOT) -> str:
    """The id of a chapter's heading in the whole report: sec-<page name>, e.g. sec-cohort."""
    stem = page.relative_to(root).with_suffix("").as_posix().replace("/", "-").removeprefix("report-")
    return "sec-" + ("overview" if stem == "index" else stem)


def _inline_includes(text: str, folder: Path, seen: set[Path]) -> str:
    """`{{< include >}}` replaced by the file's body, each file once (the shared setup runs once)."""

    def replace(match: re.Match) -> str:
        included = (folder / match.group(1)).resolve()
        if included in seen or included.name in PAGE_ONLY_INCLUDES:
            return ""
        seen.add(included)
        body = FRONT_MATTER_RE.sub("", included.read_text(encoding="utf-8"), count=1)
        return _inline_includes(body, included.parent, seen)

    return INCLUDE_RE.sub(replace, text)


def _relink(text: str, page: Path, targets: dict[Path, str]) -> str:
    """Links to other chapters lead to their heading; links to pages outside the PDF keep their text."""

    def replace(match: re.Match) -> str:
        target = (page.parent / match.group(1)).resolve()
        if target in targets:
            return f"](#{targets[target]})"
        return "](" + match.group(1)[:-len(".qmd")] + ".html" + (match.group(2) or "") + ")"

    return LINK_RE.sub(replace, text)


def full_report_source(root: Path = PROJECT_ROOT, title: str = "Allo-HCT outcomes report") -> str:
    """The text of `report/full-report.qmd`."""
    pages = chapters(root)
    targets = {page.resolve(): section_id(page, root) for page in pages}
    seen: set[Path] = set()
    labels: dict[str, str] = {}
    parts = []
    for page in pages:
        text = page.read_text(encoding="utf-8")
        front = FRONT_MATTER_RE.match(text)
        meta = (yaml.safe_load(front.group(1)) if front else None) or {}
        heading = meta.get("title") or meta.get("pagetitle") or page.stem
        body = _inline_includes(text[front.end():] if front else text, page.parent, seen)
        for label in LABEL_RE.findall(body):
            if label in labels:
                raise FullReportError(f"{page.relative_to(root)} and {labels[label]} both use the label {label}: "
                                      "labels must be unique for the whole report to number them")
            labels[label] = page.relative_to(root).as_posix()
        body = _relink(body, page, targets)
        parts.append(f"# {heading} {{#{section_id(page, root)}}}\n\n{body.strip()}\n")
    front_matter = {
        "pagetitle": f"{title}: the whole report",
        "format": {"typst": {"toc": False, "include-before-body": TITLE_PAGE.name}},
    }
    return ("---\n# Written by analysis/build/full_report.py before every render (git-ignored): every chapter\n"
            "# in one document, so that figures and tables are numbered through the whole report.\n"
            + yaml.safe_dump(front_matter, sort_keys=False, allow_unicode=True) + "---\n\n"
            + "\n\n".join(parts))


def title_page(provenance, title: str, study_title: str) -> str:
    """The Typst title page and table of contents of the whole report."""
    rows = [("Version", provenance.version), ("Built", provenance.date),
            ("Input SHA-256", provenance.data_sha256),
            ("Data", "synthetic" if provenance.synthetic else "registry extract")]
    cells = ",\n    ".join(f"[*{name}*], text(size: {'8pt' if name == 'Input SHA-256' else '11pt'}, "
                           f"{typst_string(value)})" for name, value in rows)
    return (
        "// Written by analysis/build/full_report.py before each render: do not edit.\n"
        "#page(header: none, numbering: none)[\n"
        "  #v(22%)\n"
        f"  #text(size: 24pt, weight: \"bold\", {typst_string(title)})\n"
        "  #v(0.4em)\n"
        f"  #text(size: 15pt, {typst_string(study_title)})\n"
        "  #v(2.5em)\n"
        "  #table(columns: 2, stroke: none, inset: (x: 0pt, y: 5pt), column-gutter: 1.5em,\n"
        f"    {cells})\n"
        "]\n"
        "#outline(title: [Contents], depth: 2)\n"
        "#pagebreak()\n"
    )


def write_full_report(provenance, study_title: str, root: Path = PROJECT_ROOT) -> list[Path]:
    """Write the document and its title page; return those that changed."""
    from analysis.build.provenance import write_if_changed

    config = yaml.safe_load((root / "_quarto.yml").read_text(encoding="utf-8"))
    title = (config.get("website") or {}).get("title") or "Report"
    outputs = {root / SOURCE: full_report_source(root, title),
               root / TITLE_PAGE: title_page(provenance, title, study_title)}
    return [path for path, text in outputs.items() if write_if_changed(path, text)]


def main(argv: list[str] | None = None) -> int:
    from analysis.analyses.provenance import collect
    from analysis.analyses.settings import load_study

    parser = argparse.ArgumentParser(prog="python -m analysis.build full-report", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=PROJECT_ROOT, help="project folder (default: this project)")
    args = parser.parse_args(argv)
    try:
        written = write_full_report(collect(root=args.root), load_study().title, args.root)
    except (FullReportError, FileNotFoundError) as error:
        print(f"full-report: error: {error}", file=sys.stderr)
        return 2
    for path in written:
        print(f"full-report: wrote {path.relative_to(args.root) if path.is_relative_to(args.root) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
