"""The output format a page is being executed for: HTML (the website) or Typst (the PDF).

Quarto (1.8 and later) writes, for every page it executes, a JSON file describing the document
and its format, and names it in the environment variable ``QUARTO_EXECUTE_INFO``; the format's
``identifier`` holds ``base-format`` ("html", "typst", ...) and ``target-format``.  Tables read it
when they are displayed to choose their renderer (great_tables HTML, or a native Typst table), and
figures to fit the PDF's text width.  `python -m analysis.build execute --to typst` writes the same
file, so the tests execute pages for Typst without Quarto.

Without the variable (plain Jupyter, or a Quarto older than 1.8) the page is taken to be HTML, as
before: tables then reach a PDF through Quarto's conversion of their HTML.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["EXECUTE_INFO_VARIABLE", "HTML", "TYPST", "execute_info", "output_format", "renders_typst"]

#: The environment variable naming Quarto's execution-information file.
EXECUTE_INFO_VARIABLE = "QUARTO_EXECUTE_INFO"
HTML = "html"
TYPST = "typst"


def execute_info(format_name: str, document: Path, execute: dict | None = None) -> dict:
    """The execution information Quarto writes for `document` rendered to `format_name`
    (the fields this package reads, in Quarto's structure)."""
    return {
        "document-path": str(document),
        "format": {
            "identifier": {"base-format": format_name, "target-format": format_name,
                           "display-name": "Typst" if format_name == TYPST else format_name.upper()},
            "execute": dict(execute or {}),
        },
    }


def output_format() -> str:
    """The base format of the page being executed ("html", "typst", ...); "html" without Quarto's file.

    The file is read at every call: a kernel Quarto keeps alive may execute the same page for
    another format next.  A file that is named but cannot be read or parsed is an error, never
    a silent guess.
    """
    named = os.environ.get(EXECUTE_INFO_VARIABLE)
    if not named:
        return HTML
    try:
        info = json.loads(Path(named).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise RuntimeError(f"{EXECUTE_INFO_VARIABLE} names {named}, which cannot be read as JSON: {error}") from None
    identifier = (info.get("format") or {}).get("identifier") or {} if isinstance(info, dict) else {}
    name = identifier.get("base-format") or identifier.get("target-format")
    if not isinstance(name, str) or not name:
        raise RuntimeError(f"{EXECUTE_INFO_VARIABLE} names {named}, whose format.identifier gives no "
                           "base-format or target-format")
    return name.split("+", 1)[0]  # a target-format may carry pandoc extensions ("typst+raw_typst")


def renders_typst() -> bool:
    """True when the page is executed for Typst (the PDF)."""
    return output_format() == TYPST
