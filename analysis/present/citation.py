"""The "Cite this version" block of the Versions page: the reference, the address and the BibTeX entry.

The address of a published version is filled in where the page is read (`assets/report-versions.js`
finds the elements by their classes: `report-version-url`, `report-bibtex`, `report-bibtex-download`);
the PDF and an unpublished build say where to find it instead.
"""
from __future__ import annotations

from analysis.analyses.citation import BIBTEX_FILE, bibtex, citation_text, site_url

__all__ = ["citation_markdown"]


def citation_markdown(provenance, bibtex_link: str = f"../{BIBTEX_FILE}") -> str:
    """Markdown of the citation block; `bibtex_link` leads from the page to the site's citation.bib."""
    url = site_url()
    address = (f"{url}v{provenance.version}/" if url and provenance.release
               else "the address of this version on the report's website")
    return (
        "::: {.report-citation}\n"
        f"{citation_text(provenance)} Available at [{address}]{{.report-version-url}}.\n\n"
        "```{.bibtex .report-bibtex}\n"
        f"{bibtex(provenance).rstrip()}\n"
        "```\n\n"
        f"[Download the BibTeX entry]({bibtex_link}){{.report-bibtex-download}}\n"
        ":::\n"
    )
