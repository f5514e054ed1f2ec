"""Execute `.qmd` chapters the way Quarto's Jupyter engine does, without Quarto.

Quarto splits a page into cells at each ```{python} chunk (the `#|` option
lines stay in the cell), runs them in one kernel started in the page's own
folder after a setup cell of its own (figure size, dpi and format of the HTML
format in `_quarto.yml`), and evaluates the inline `{python} expr` expressions
of the prose in the same kernel.  Like Quarto 1.8 and later, it names a JSON file describing the
output format in the kernel's environment (``QUARTO_EXECUTE_INFO``): HTML by default, Typst (the
PDF) with ``execute --to typst``, when tables come out as native Typst and figures use the Typst
format's size, format and resolution.  A page without code gets no kernel (Quarto
renders it with its markdown engine).  `execute_qmd` does the same and raises
on any exception, so the test suite catches a broken chapter before a user's
`quarto render` does.
`python -m analysis.build preview` writes each executed page as HTML to
`_preview/` for looking at figures and tables where Quarto is absent.
"""
from __future__ import annotations

import argparse

import json
import os
import re
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import yaml
from nbclient import NotebookClient

from analysis.data.paths import PROJECT_ROOT
from analysis.present.target import EXECUTE_INFO_VARIABLE, HTML, TYPST, execute_info

INCLUDE_RE = re.compile(r"\{\{<\s*include\s+(\S+)\s*>\}\}")
FRONT_MATTER_RE = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)
CHUNK_START_RE = re.compile(r"^```+\s*\{python[^}]*\}\s*$")
INLINE_RE = re.compile(r"`\{python\}\s+([^`]+)`")
OPTION_RE = re.compile(r"^#\|\s?(.*)$")
CONDITIONAL_DIV_RE = re.compile(r'^:::+\s*\{[^}]*\.content-(visible|hidden)\b[^}]*\bwhen-meta="([^"]+)"[^}]*\}\s*$')
DIV_OPEN_RE = re.compile(r"^:::+\s*\S")
DIV_CLOSE_RE = re.compile(r"^:::+\s*$")
INLINE_TAG = "inline-expressions"
SETUP_TAG = "quarto-setup"
# Quarto's defaults where `_quarto.yml` is silent, per output format.
FIGURE_DEFAULTS = {
    HTML: {"fig-width": 7.0, "fig-height": 5.0, "fig-format": "retina", "fig-dpi": 96},
    TYPST: {"fig-width": 5.5, "fig-height": 3.5, "fig-format": "svg", "fig-dpi": 96},
}
FORMATS = tuple(FIGURE_DEFAULTS)
# What a page kernel runs with unless the caller's environment says otherwise (`make report` gives
# Quarto's kernels the same): one OpenBLAS thread, since on shared cores BLAS threads wait for each
# other (about 10% of a render's time measured on 2 cores; benchmarks/RESULTS.md).  `import analysis`
# asks for it too, but in a kernel Quarto's setup cell has imported NumPy (with matplotlib) before.
KERNEL_ENVIRONMENT = {"OPENBLAS_NUM_THREADS": "1"}


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


def figure_options(format_name: str = HTML, project: Path = PROJECT_ROOT) -> dict:
    """fig-width, fig-height, fig-format and fig-dpi of one of the project's formats."""
    config_file = project / "_quarto.yml"
    config = yaml.safe_load(config_file.read_text(encoding="utf-8")) if config_file.exists() else {}
    options = ((config or {}).get("format") or {}).get(format_name) or {}
    return {key: options.get(key, default) for key, default in FIGURE_DEFAULTS[format_name].items()}


def html_figure_options(project: Path = PROJECT_ROOT) -> dict:
    """fig-width, fig-height, fig-format and fig-dpi of the project's HTML format."""
    return figure_options(HTML, project)


def setup_cell(options: dict) -> nbformat.NotebookNode:
    """The cell Quarto's Jupyter engine runs before a page: fresh namespace, figure size/dpi/format."""
    source = (
        "%reset -f\n"
        "import matplotlib.pyplot as plt\n"
        "from matplotlib_inline.backend_inline import set_matplotlib_formats\n"
        f"plt.rcParams['figure.figsize'] = ({options['fig-width']!r}, {options['fig-height']!r})\n"
        f"plt.rcParams['figure.dpi'] = {options['fig-dpi']!r}\n"
        f"plt.rcParams['savefig.dpi'] = {options['fig-dpi']!r}\n"
        f"set_matplotlib_formats({options['fig-format']!r})\n"
    )
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = [SETUP_TAG]
    return cell


def execute_qmd(path: Path, timeout: int = 600, to: str = HTML, hooks: dict | None = None,
                notebook: nbformat.NotebookNode | None = None, tcp: bool = False) -> nbformat.NotebookNode:
    """Run every cell in a kernel started in the page's folder, for output format `to` ("html" or
    "typst"); raise on any error.  `hooks` are nbclient's (`on_notebook_start`, `on_cell_executed`,
    ...), for timing a page (benchmarks/page_benchmark.py); `notebook` the page's cells when the
    caller has already split it (`qmd_to_notebook(path)` otherwise); `tcp`: the kernel on TCP ports,
    as Quarto starts it (for timing), not on ipc sockets (`_kernel_manager`)."""
    if to not in FORMATS:
        raise ValueError(f"cannot execute for {to!r}: the formats are {', '.join(FORMATS)}")
    path = Path(path).resolve()
    notebook = qmd_to_notebook(path) if notebook is None else notebook
    if not any(cell.cell_type == "code" for cell in notebook.cells):
        return notebook
    options = figure_options(to)
    notebook.cells.insert(0, setup_cell(options))
    with tempfile.TemporaryDirectory(prefix="execute-info-") as folder:
        # The kernel is stopped at once when the page is done: nothing is left in it to wind down.
        client = NotebookClient(notebook, timeout=timeout, kernel_name="python3", allow_errors=False,
                                shutdown_kernel="immediate", resources={"metadata": {"path": str(path.parent)}},
                                km=None if tcp else _kernel_manager(Path(folder)), **(hooks or {}))
        info = Path(folder) / "execute-info.json"
        info.write_text(json.dumps(execute_info(to, path, options)), encoding="utf-8")
        client.execute(env={**KERNEL_ENVIRONMENT, **os.environ, EXECUTE_INFO_VARIABLE: str(info)})
    notebook.cells.pop(0)
    return notebook


def _kernel_manager(folder: Path):
    """The page kernel's manager: on POSIX systems its sockets are files in `folder` (ZeroMQ's ipc
    transport), not TCP ports.  A TCP port is chosen free and then bound by the kernel: another
    process starting a kernel meanwhile (pages executed side by side, test processes) may take it, and
    the kernel dies before it answers ("Address already in use").  Elsewhere nbclient's own (TCP)."""
    if os.name != "posix":
        return None
    from jupyter_client import KernelManager

    return KernelManager(kernel_name="python3", transport="ipc", ip=str(folder / "kernel"))


def execute_pages(pages: list[Path], jobs: int = 1, to: str = HTML):
    """Execute pages for format `to`, `jobs` at a time (each in its own kernel, as Quarto does);
    yield each in order."""
    if jobs <= 1:
        yield from ((page, execute_qmd(page, to=to)) for page in pages)
        return
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        yield from zip(pages, pool.map(lambda page: execute_qmd(page, to=to), pages))


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


def drop_hidden_content(notebook: nbformat.NotebookNode, metadata: dict) -> None:
    """Remove what Quarto's `.content-visible` / `.content-hidden` `when-meta="KEY"` blocks hide
    under `metadata` (prose lines and whole code cells), and those blocks' own fences.

    Quarto executes hidden cells all the same; this only shapes what a page shows.
    """
    open_divs: list[tuple[bool, bool]] = []  # (is a condition, hides its content) of each open `:::` div
    kept = []
    for cell in notebook.cells:
        if cell.cell_type != "markdown":
            if not any(hides for _, hides in open_divs):
                kept.append(cell)
            continue
        lines = []
        for line in cell.source.splitlines():
            condition = CONDITIONAL_DIV_RE.match(line)
            if condition:
                shown = bool(metadata.get(condition.group(2)))
                open_divs.append((True, shown != (condition.group(1) == "visible")))
                continue
            if DIV_CLOSE_RE.match(line) and open_divs:
                is_condition, _ = open_divs.pop()
                if is_condition or any(hides for _, hides in open_divs):
                    continue
            elif DIV_OPEN_RE.match(line):
                open_divs.append((False, False))
            if not any(hides for _, hides in open_divs):
                lines.append(line)
        if "".join(lines).strip():
            kept.append(nbformat.v4.new_markdown_cell("\n".join(lines)))
    notebook.cells = kept


_TABLE_ROW_RE = re.compile(r"<tr\b.*?</tr>", re.S)
_TABLE_CELL_RE = re.compile(r"<t[dh]\b[^>]*>(.*?)</t[dh]>", re.S)
_CAPTION_RE = re.compile(r"<caption\b.*?</caption>", re.S)
_TAG_RE = re.compile(r"<[^>]+>")
_SVG_TEXT_RE = re.compile(r"<!-- (.*?) -->", re.S)


def _html_table_text(html_text: str) -> str:
    """An HTML table as text: one line per row, cells joined by " | " (what a reader reads of it)."""
    import html

    html_text = re.sub(r"<style\b.*?</style>", "", html_text, flags=re.S)
    lines = []
    for part in _CAPTION_RE.findall(html_text) + _TABLE_ROW_RE.findall(html_text):
        cells = _TABLE_CELL_RE.findall(part) or [part]
        lines.append(" | ".join(html.unescape(" ".join(_TAG_RE.sub("", c).split())) for c in cells))
    return "\n".join(lines)


def _figure_text(svg: str) -> str:
    """The words of a matplotlib SVG figure: it draws text as glyph paths, each after a comment holding it."""
    import html

    return " ¦ ".join(html.unescape(t) for t in _SVG_TEXT_RE.findall(svg))


def reader_text(notebook: nbformat.NotebookNode, metadata: dict) -> str:
    """What a reader of the executed page reads: its prose with inline values filled in and the blocks
    `metadata` hides left out, tables as text rows and the words of every figure.

    Tests read the report through this, as a physician or a reviewer would (`[table]` and `[figure]`
    mark where a table's rows or a figure's words begin).
    """
    notebook = nbformat.from_dict(json.loads(json.dumps(notebook)))  # a copy: the caller's stays as executed
    _fill_inline_values(notebook)
    drop_hidden_content(notebook, metadata)
    parts = []
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            parts.append(cell.source)
            continue
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "image/svg+xml" in data:
                parts.append("[figure] " + _figure_text(data["image/svg+xml"]))
            elif "text/html" in data:
                parts.append("[table]\n" + _html_table_text(data["text/html"]))
            elif "text/markdown" in data:
                parts.append(data["text/markdown"])
            elif output.get("output_type") == "stream":
                parts.append(output.get("text", ""))
            elif "text/plain" in data:
                parts.append(data["text/plain"])
    return "\n\n".join(part.strip("\n") for part in parts)


# Rendered by Quarto but written by the pre-render step (analysis/build/full_report.py): the whole report
# as one PDF, made of the chapters themselves, so neither previewed nor executed a second time here.
GENERATED_PAGES = ("report/full-report.qmd",)


def chapters() -> list[Path]:
    """The pages `_quarto.yml` renders, in order (not the generated whole report)."""
    config = yaml.safe_load((PROJECT_ROOT / "_quarto.yml").read_text(encoding="utf-8"))
    return [PROJECT_ROOT / page for page in config["project"]["render"] if page not in GENERATED_PAGES]


def preview(output_dir: Path, pages: list[Path] | None = None) -> list[Path]:
    """Execute every chapter (or `pages`) and write it as HTML (code hidden) for looking at."""
    from nbconvert import HTMLExporter

    from analysis.build.sections import study_section_flags

    output_dir.mkdir(parents=True, exist_ok=True)
    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    sections = study_section_flags()
    written = []
    for page in [path.resolve() for path in pages] if pages else chapters():
        notebook = execute_qmd(page)
        _fill_inline_values(notebook)
        drop_hidden_content(notebook, sections)
        html, _ = exporter.from_notebook_node(notebook)
        target = output_dir / (page.relative_to(PROJECT_ROOT).with_suffix(".html").as_posix().replace("/", "_"))
        target.write_text(html, encoding="utf-8")
        written.append(target)
    return written


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of pages at a time (1, 2, ...)")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analysis.build",
                                     description="execute the report's pages as Quarto's Jupyter engine does")
    commands = parser.add_subparsers(dest="command", required=True)
    execute = commands.add_parser("execute", help="execute pages (default: every page _quarto.yml renders)")
    execute.add_argument("--jobs", type=_positive, default=1, help="pages executed at a time (default 1, as Quarto)")
    execute.add_argument("--to", choices=FORMATS, default=HTML, help="the output format the pages are told")
    execute.add_argument("pages", nargs="*", type=Path, metavar="PAGE.qmd")
    preview_command = commands.add_parser("preview", help="execute every page and write it as HTML (code hidden)")
    preview_command.add_argument("directory", nargs="?", type=Path, default=PROJECT_ROOT / "_preview")
    preview_command.add_argument("--page", dest="pages", action="append", type=Path, default=[], metavar="PAGE.qmd",
                                 help="only this page (repeat for more; default every page)")
    return parser


def main(argv: list[str]) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as stop:  # --help, or a usage error argparse has already explained
        return int(stop.code or 0)
    missing = [page for page in args.pages if not page.is_file() or page.suffix != ".qmd"]
    if missing:
        print(f"not a page of the report (a .qmd file): {', '.join(map(str, missing))}", file=sys.stderr)
        return 2
    if args.command == "preview":
        for path in preview(args.directory, args.pages):
            print(f"wrote {path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path}")
        return 0
    for page, _ in execute_pages(args.pages or chapters(), args.jobs, args.to):
        print(f"executed {page}" + ("" if args.to == HTML else f" for {args.to}"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
