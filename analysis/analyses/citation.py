"""How to cite one version of the report: what the Versions page shows and its BibTeX file hold.

`CITATION.cff` (the repository's citation, Citation File Format) names the title and authors; each
build adds what identifies the version: its number, build date and time, the input's SHA-256 and,
once published, its address.  Quarto's pre-render step writes `citation.bib` (a project resource, so
every version keeps its own; `analysis.build.records`), and the Versions page shows the same entry
(`analysis.present.citation`).  The address of a version
is known only where it is served: the page shows it, and puts it into the BibTeX it offers, at view
time (`assets/report-versions.js`); with `website.site-url` set in `_quarto.yml` it is in the file too.
"""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from analysis.data.paths import PROJECT_ROOT

__all__ = ["BIBTEX_FILE", "CITATION_FILE", "bibtex", "citation_metadata", "citation_text", "site_url"]

CITATION_FILE = "CITATION.cff"
BIBTEX_FILE = "citation.bib"


def citation_metadata(root: Path = PROJECT_ROOT) -> dict:
    """Title and authors from CITATION.cff (an author is a `name`, or `given-names` and `family-names`)."""
    record = yaml.safe_load((root / CITATION_FILE).read_text(encoding="utf-8")) or {}
    authors = []
    for author in record.get("authors") or []:
        if author.get("name"):
            authors.append("{" + str(author["name"]) + "}")  # an institution: kept whole by BibTeX
        else:
            authors.append(f"{author.get('family-names', '')}, {author.get('given-names', '')}".strip(", "))
    return {"title": str(record.get("title", "Report")), "authors": authors, "version": str(record.get("version", ""))}


def site_url(root: Path = PROJECT_ROOT) -> str | None:
    """`website.site-url` of `_quarto.yml`, when set."""
    config = yaml.safe_load((root / "_quarto.yml").read_text(encoding="utf-8")) or {}
    url = (config.get("website") or {}).get("site-url")
    return str(url).rstrip("/") + "/" if url else None


def _escape(text: str) -> str:
    return re.sub(r"([{}&%$#_])", r"\\\1", text)


def bibtex(provenance, root: Path = PROJECT_ROOT) -> str:
    """The BibTeX entry of this version; its url only when the site's address is configured."""
    meta = citation_metadata(root)
    key = "allohct_report_" + re.sub(r"\W", "_", provenance.version)
    year = provenance.date[:4]
    fields = [
        ("title", "{" + _escape(meta["title"]) + "}"),
        ("author", " and ".join(meta["authors"]) or "{Anonymous}"),
        ("year", year),
        ("version", _escape(provenance.version)),
        ("note", _escape(f"Version {provenance.version}, built {provenance.date}; input SHA-256 "
                         f"{provenance.data_sha256}; synthetic data: {provenance.synthetic_text}")),
    ]
    url = site_url(root)
    if url and provenance.release:
        fields.append(("url", f"{url}v{provenance.version}/"))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@misc{{{key},\n{body}\n}}\n"


def citation_text(provenance, root: Path = PROJECT_ROOT) -> str:
    """One line to cite this version, as the Versions page shows it."""
    meta = citation_metadata(root)
    authors = "; ".join(a.strip("{}") for a in meta["authors"])
    return (f"{authors}. {meta['title']}, version {provenance.version} (built {provenance.date}; input SHA-256 "
            f"{provenance.data_sha256}).")
