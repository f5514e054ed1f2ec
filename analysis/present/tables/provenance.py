"""The Methods page's tables of the build, its software and its configuration.

Each is a two-column `TableModel`, printed by the page as Markdown: a pipe table for the website,
a raw Typst block holding a native Typst table for the PDF (`markdown_or_typst`).
"""
from __future__ import annotations

from analysis.analyses.provenance import Provenance
from analysis.present.tables.display import markdown_or_typst
from analysis.present.tables.model import Column, Row, TableModel

__all__ = ["configuration_markdown", "provenance_markdown", "software_markdown"]


def _two_columns(header: tuple[str, str], rows: list[tuple[str, str, bool]], caption: str) -> str:
    """Rows of (item, value, value in monospace?) under `header`, with `caption`."""
    model = TableModel(
        columns=(Column("item", header[0], align="left", wraps=True),
                 Column("value", header[1], align="left", wraps=True)),
        rows=tuple(Row(None, (item, value), monospace=("value",) if code else ()) for item, value, code in rows),
        title=caption,
    )
    return markdown_or_typst(model)


def provenance_markdown(p: Provenance) -> str:
    """The build and its input, as a table."""
    rows = [
        ("Report version", p.version + ("" if p.release else " (not a release)"), False),
        ("Package version", p.package_version, False),
        ("Git commit when computed", p.commit or "not known", bool(p.commit)),
        ("Computed on", p.date, False),
        ("Input file", p.data_source, True),
        ("Input SHA-256", p.data_sha256, True),
        ("Synthetic data", p.synthetic_text, False),
    ]
    return _two_columns(("Item", "Value"), rows, "The build and its input.")


def software_markdown(p: Provenance) -> str:
    """Software versions, Quarto last ("not known" when the page was executed without it)."""
    rows = [(name, version, False) for name, version in p.software.items() if name != "Quarto"]
    rows.append(("Quarto", p.quarto or "not known (page executed without Quarto)", False))
    return _two_columns(("Software", "Version"), rows, "Software that computed and drew this report.")


def configuration_markdown(p: Provenance) -> str:
    rows = [(name, value, name == "Input file") for name, value in p.configuration.items()]
    return _two_columns(("Setting", "Value"), rows, "Configuration of this build.")
