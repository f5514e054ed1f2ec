"""Execute `.qmd` chapters the way Quarto's Jupyter engine does, without Quarto.

Quarto splits a page into cells at each ```{python} chunk (the `#|` option
lines stay in the cell), runs them in one kernel started in the page's own
folder, and evaluates the inline `{python} expr` expressions of the prose in
the same kernel.  `execute_qmd` does the same and raises on any exception, so
the test suite catches a broken chapter before a user's `quarto render` does.
`python -m analysis.qmd preview` writes each executed page as HTML to
`_preview/` for looking at figures and tables where Quarto is absent.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import nbformat
import yaml
from nbclient import NotebookClient

from .config import PROJECT_ROOT

INCLUDE_RE = re.compile(r"\{\{<\s*include\s+(\S+)\s*>\}\}")
FRONT_MATTER_RE = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)
CHUNK_START_RE = re.compile(r"^```+\s*\{python[^}]*\}\s*$")
INLINE_RE = re.compile(r"`\{python\}\s+([^`]+)`")
OPTION_RE = re.compile(r"^#\|\s?(.*)$")
INLINE_TAG = "inline-expressions"


def resolve_includes(text: str, folder: Path) -> str:
    """Replace Quarto `{{< include file >}}` shortcodes with the file's text, recursively."""

    def replace(match: re.Match) -> str:
        included = (folder / match.group(1)).resolve()
        body = FRONT_MATTER_RE.sub("", included.read_text(encoding="utf-8"), count=1)
        return resolve_includes(body, included.parent)

    return INCLUDE_RE.sub(replace, text)


def cell_options(source: str) -> dict:
    """The `#|` YAML options at the top of a code cell."""
    lines = []
    for line in source.splitlines():
        match = OPTION_RE.match(line)
        if not match:
            break
        lines.append(match.group(1))
    return yaml.safe_load("\n".join(lines)) or {} if lines else {}


def _markdown_cells(text: str) -> list:
    """A prose block, followed by a cell evaluating its inline expressions (if any)."""
    cells = [nbformat.v4.new_markdown_cell(text)]
    expressions = INLINE_RE.findall(text)
    if expressions:
        code = "import json as _json\nprint(_json.dumps([str(_x) for _x in [\n"
        code += "".join(f"    {e.strip()},\n" for e in expressions) + "]]))"
        cell = nbformat.v4.new_code_cell(code)
        cell.metadata["tags"] = [INLINE_TAG]
        cells.append(cell)
    return cells


def qmd_to_notebook(path: Path) -> nbformat.NotebookNode:
    """Split a page into markdown and code cells as Quarto's Jupyter engine does."""
    text = path.read_text(encoding="utf-8")
    front = FRONT_MATTER_RE.match(text)
    metadata = yaml.safe_load(front.group(1)) if front else {}
    body = resolve_includes(text[front.end():] if front else text, path.parent)
    cells, prose, code, in_chunk = [], [], [], False
    for line in body.splitlines():
        if not in_chunk and CHUNK_START_RE.match(line):
            if "".join(prose).strip():
                cells += _markdown_cells("\n".join(prose))
            prose, code, in_chunk = [], [], True
        elif in_chunk and re.match(r"^```+\s*$", line):
            cells.append(nbformat.v4.new_code_cell("\n".join(code)))
            in_chunk = False
        elif in_chunk:
            code.append(line)
        else:
            prose.append(line)
    if in_chunk:
        raise ValueError(f"{path}: unterminated ```{{python}} chunk")
    if "".join(prose).strip():
        cells += _markdown_cells("\n".join(prose))
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["title"] = (metadata or {}).get("title", path.stem)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return notebook


def execute_qmd(path: Path, timeout: int = 600) -> nbformat.NotebookNode:
    """Run every cell in a kernel started in the page's folder; raise on any error."""
    path = Path(path).resolve()
    notebook = qmd_to_notebook(path)
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3", allow_errors=False,
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    return notebook


def _fill_inline_values(notebook: nbformat.NotebookNode) -> None:
    """Put the values of inline expressions into the prose, as Quarto does, and drop the helper cells."""
    kept = []
    for cell in notebook.cells:
        if cell.cell_type == "code" and INLINE_TAG in cell.metadata.get("tags", []):
            values = iter(json.loads("".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")))
            kept[-1].source = INLINE_RE.sub(lambda _m: next(values), kept[-1].source)
            continue
        if cell.cell_type == "code" and cell_options(cell.source).get("output") == "asis":
            text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
            kept.append(nbformat.v4.new_markdown_cell(text))
            continue
        kept.append(cell)
    notebook.cells = kept


def chapters() -> list[Path]:
    """The pages `_quarto.yml` renders, in order."""
    config = yaml.safe_load((PROJECT_ROOT / "_quarto.yml").read_text(encoding="utf-8"))
    return [PROJECT_ROOT / page for page in config["project"]["render"]]


def preview(output_dir: Path) -> list[Path]:
    """Execute every chapter and write it as HTML (code hidden) for looking at."""
    from nbconvert import HTMLExporter

    output_dir.mkdir(parents=True, exist_ok=True)
    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    written = []
    for page in chapters():
        notebook = execute_qmd(page)
        _fill_inline_values(notebook)
        html, _ = exporter.from_notebook_node(notebook)
        target = output_dir / (page.relative_to(PROJECT_ROOT).with_suffix(".html").as_posix().replace("/", "_"))
        target.write_text(html, encoding="utf-8")
        written.append(target)
    return written


def main(argv: list[str]) -> int:
    if argv[:1] == ["preview"]:
        output = Path(argv[1]) if len(argv) > 1 else PROJECT_ROOT / "_preview"
        for path in preview(output):
            print(f"wrote {path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path}")
        return 0
    if argv[:1] == ["execute"]:
        for page in (Path(a) for a in argv[1:]) if len(argv) > 1 else chapters():
            execute_qmd(page)
            print(f"executed {page}")
        return 0
    print("usage: python -m analysis.qmd preview [DIR] | execute [PAGE.qmd ...]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
