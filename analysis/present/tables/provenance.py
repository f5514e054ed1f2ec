"""The Methods page's tables of the build, its software and its configuration (Markdown)."""
from __future__ import annotations

from analysis.analyses.provenance import Provenance

__all__ = ["configuration_markdown", "provenance_markdown", "software_markdown"]


def _markdown_table(header: tuple[str, str], rows: list[tuple[str, str]], caption: str) -> str:
    def cell(text: str) -> str:
        return str(text).replace("|", "\\|")

    lines = [f"| {header[0]} | {header[1]} |", "|:--|:--|"]
    lines += [f"| {cell(a)} | {cell(b)} |" for a, b in rows]
    return "\n".join(lines) + f"\n\n: {caption}\n"


def provenance_markdown(p: Provenance) -> str:
    """The build and its input, as a Markdown table."""
    rows = [
        ("Report version", p.version + ("" if p.release else " (not a release)")),
        ("Package version", p.package_version),
        ("Git commit when computed", f"`{p.commit}`" if p.commit else "not known"),
        ("Computed on", p.date),
        ("Input file", f"`{p.data_source}`"),
        ("Input SHA-256", f"`{p.data_sha256}`"),
        ("Synthetic data", p.synthetic_text),
    ]
    return _markdown_table(("Item", "Value"), rows, "The build and its input.")


def software_markdown(p: Provenance) -> str:
    """Software versions, Quarto last ("not known" when the page was executed without it)."""
    rows = [(name, version) for name, version in p.software.items() if name != "Quarto"]
    rows.append(("Quarto", p.quarto or "not known (page executed without Quarto)"))
    return _markdown_table(("Software", "Version"), rows, "Software that computed and drew this report.")


def configuration_markdown(p: Provenance) -> str:
    rows = [(name, f"`{value}`" if name == "Input file" else value) for name, value in p.configuration.items()]
    return _markdown_table(("Setting", "Value"), rows, "Configuration of this build.")
