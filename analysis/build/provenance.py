"""Quarto's pre-render step: the provenance of the build written where every page reads it.

Quarto runs it before every render (`pre-render: analysis/build/prerender_provenance.py` in
`_quarto.yml`, with its own Python, `$QUARTO_PYTHON`, from the project folder).  The record itself
(version, date, input hash, software, configuration) is `analysis.analyses.provenance.collect`.
It writes three generated, git-ignored files at the project root:

- `_variables.yml`: the values of the `{{< var ... >}}` shortcodes in every page's footer
  (report version, build date, input SHA-256, synthetic yes/no);
- `provenance.json`: the whole record (with the SHA-256 of the code that computes, `code_sha256`),
  copied into the site as a project resource, where `python -m analysis.build check-site` and
  `python -m analysis.build publish` read it;
- `_provenance.typ`: the same line as a running header of every Typst PDF page.

Quarto's `freeze` re-executes a page only when its own `.qmd` changes.  A new input file,
a change to the `analysis` package, to the pinned packages or to the report version would
leave stale numbers in `_freeze/`; so this step also keeps a fingerprint of those in
`_freeze/provenance-fingerprint.json` and, when it differs, clears `_freeze/` (and Quarto's
hidden `.quarto/_freeze/`) so that every page re-executes.

`python -m analysis.build provenance [--root DIR] [--data FILE]` runs the same step by hand.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path

from analysis.analyses.provenance import Provenance, collect
from analysis.data.paths import PROJECT_ROOT
from analysis.present.tables.render_typst import typst_string

VARIABLES_FILE = "_variables.yml"
RECORD_FILE = "provenance.json"
TYPST_FILE = "_provenance.typ"
FREEZE_DIRS = ("_freeze", ".quarto/_freeze")
# The figures' and tables' CSV files the pages wrote (analysis.present.source_data): numbers of the data
# the pages were executed with, cleared with the frozen results.
SOURCE_DATA_DIRS = ("source-data", "report/source-data")
FINGERPRINT_FILE = "_freeze/provenance-fingerprint.json"

# What the fingerprint of the frozen results covers besides data and versions: the code that computes
# (the package, the shared page setup that `{{< include >}}` pulls in, which Quarto's freeze hash does not
# see) and the pinned environment.
CODE_GLOBS = ("analysis/**/*.py", "report/_*.qmd", "_*.qmd", "requirements.lock", "pyproject.toml")


# --- the pre-render step ----------------------------------------------------------------------------

def typst_header(p: Provenance) -> str:
    """A running header for every PDF page (`include-in-header` of the Typst format)."""
    return (
        "// Written by analysis/build/provenance.py before each render: do not edit.\n"
        f"#set page(header: align(right, text(size: 7.5pt, fill: luma(110), {typst_string(p.footer)})))\n"
    )


def variables_yaml(p: Provenance) -> str:
    lines = ["# Written by analysis/build/provenance.py (Quarto's pre-render step) before each render.",
             "# Generated: do not edit, do not commit."]
    for group, values in p.variables().items():
        lines.append(f"{group}:")
        lines += [f"  {key}: {json.dumps(value, ensure_ascii=False)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def write_if_changed(path: Path, text: str) -> bool:
    """Write only on change: `quarto preview` re-renders when `_variables.yml` changes."""
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True


def code_digest(root: Path = PROJECT_ROOT) -> str:
    """SHA-256 over the files that compute the numbers (see CODE_GLOBS)."""
    digest = hashlib.sha256()
    files = sorted({p for pattern in CODE_GLOBS for p in root.glob(pattern) if p.is_file()})
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    return digest.hexdigest()


def fingerprint(p: Provenance, root: Path = PROJECT_ROOT) -> dict:
    """What frozen results depend on beyond their own page: if any of it changes, re-execute all."""
    return {
        "data_sha256": p.data_sha256,
        "report_version": p.version,
        "code_sha256": code_digest(root),
        "software": {k: v for k, v in p.software.items()},
    }


def refresh_freeze(root: Path, current: dict) -> str | None:
    """Clear the frozen results when their fingerprint changed; return why, or None if kept."""
    record = root / FINGERPRINT_FILE
    try:
        previous = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        previous = None
    if previous == current:
        return None
    if previous is None:
        reason = "no fingerprint of the frozen results"
    else:
        changed = [key for key in current if previous.get(key) != current[key]]
        reason = "changed: " + ", ".join(changed or ["format"])
    cleared = [d for d in FREEZE_DIRS + SOURCE_DATA_DIRS if (root / d).exists()]
    for folder in cleared:
        shutil.rmtree(root / folder)
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    if cleared:
        return f"{reason}; cleared {', '.join(d + '/' for d in cleared)} so every page re-executes"
    return reason


def write_outputs(p: Provenance, root: Path = PROJECT_ROOT) -> list[Path]:
    """Write `_variables.yml`, `provenance.json` and `_provenance.typ`; return those that changed."""
    record = p.as_dict()
    # What `publish` compares between releases to say whether the code changed.
    record["code_sha256"] = code_digest(root)
    outputs = {
        root / VARIABLES_FILE: variables_yaml(p),
        root / RECORD_FILE: json.dumps(record, indent=2, ensure_ascii=False) + "\n",
        root / TYPST_FILE: typst_header(p),
    }
    return [path for path, text in outputs.items() if write_if_changed(path, text)]


def pre_render(root: Path = PROJECT_ROOT, data: Path | str | None = None) -> Provenance:
    """The whole step: collect, write the generated files, keep `_freeze/` honest."""
    p = collect(data, root=root)
    write_outputs(p, root)
    why = refresh_freeze(root, fingerprint(p, root))
    print(f"provenance: {p.footer}")
    if why:
        print(f"provenance: frozen results: {why}")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis.build provenance", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=PROJECT_ROOT, help="project folder (default: this project)")
    parser.add_argument("--data", help="input file (default: $REPORT_DATA, else the synthetic cohort)")
    args = parser.parse_args(argv)
    try:
        pre_render(args.root.resolve(), args.data)
    except FileNotFoundError as error:
        print(f"provenance: error: {error}", file=sys.stderr)
        return 2
    return 0


__all__ = ["fingerprint", "pre_render", "refresh_freeze", "write_if_changed", "write_outputs"]

if __name__ == "__main__":
    sys.exit(main())
