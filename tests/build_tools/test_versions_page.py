"""The Versions page: its PDF says where the list is instead of a placeholder; the citation block; CITATION.cff."""
import re

import yaml

from analysis import __version__
from analysis.analyses.citation import bibtex, citation_metadata
from analysis.analyses.provenance import Provenance
from analysis.data.paths import PROJECT_ROOT
from analysis.present.citation import citation_markdown

PAGE = (PROJECT_ROOT / "report" / "versions.qmd").read_text(encoding="utf-8")
RECORD = Provenance(version="0.2.0", package_version="0.2.0", release=True, commit="0123456789ab",
                    date="2031-05-01 14:03 UTC", data_source="x.csv", data_sha256="c" * 64, synthetic=False)


def blocks(text: str, condition: str) -> list[str]:
    """The text of each `::: {.content-visible CONDITION}` block (nested divs included)."""
    found = []
    for match in re.finditer(r"^::: \{\.content-visible " + re.escape(condition) + r"\}\n", text, re.M):
        depth, lines = 1, []
        for line in text[match.end():].splitlines():
            if re.match(r"^:::+\s*\{", line):
                depth += 1
            elif re.match(r"^:::+\s*$", line):
                depth -= 1
                if depth == 0:
                    break
            lines.append(line)
        found.append("\n".join(lines))
    return found


def test_the_pdf_of_the_versions_page_shows_no_placeholder():
    """The published list and the comparison are filled into the HTML only; the PDF says where they are."""
    html_only = "\n".join(blocks(PAGE, 'when-format="html"'))
    other_formats = "\n".join(blocks(PAGE, 'unless-format="html"'))
    assert "{#report-versions" in html_only and "{#report-changes" in html_only
    assert "This build is not published" in html_only and "This build is not published" not in other_formats
    assert "listed here when a release is published" not in PAGE
    assert "versions.html" in other_formats and "versions.json" in other_formats
    changelog = (PROJECT_ROOT / "report" / "changelog.qmd").read_text(encoding="utf-8")
    assert "{#report-changes" in "\n".join(blocks(changelog, 'when-format="html"'))


def test_the_citation_block_names_version_date_hash_and_offers_bibtex():
    block = citation_markdown(RECORD)
    assert "version 0.2.0 (built 2031-05-01 14:03 UTC; input SHA-256 " + "c" * 64 in block
    assert "{.report-version-url}" in block and "```{.bibtex .report-bibtex}" in block
    assert "[Download the BibTeX entry](../citation.bib){.report-bibtex-download}" in block
    entry = bibtex(RECORD)
    assert entry.startswith("@misc{allohct_report_0_2_0,\n") and "version = {0.2.0}" in entry
    assert "year = {2031}" in entry and "c" * 64 in entry and "synthetic data: no" in entry


def test_citation_cff_names_the_package_version():
    record = yaml.safe_load((PROJECT_ROOT / "CITATION.cff").read_text(encoding="utf-8"))
    assert record["cff-version"] == "1.2.0" and record["version"] == __version__
    assert citation_metadata()["authors"] and record["title"]
