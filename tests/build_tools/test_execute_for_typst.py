"""`python -m analysis.build execute --to typst`: pages executed as Quarto executes them for the PDF."""
import json

import pytest

from analysis.build import qmd


def test_a_page_is_told_its_output_format_and_gets_that_formats_figure_settings(tmp_path):
    page = tmp_path / "page.qmd"
    page.write_text(
        "```{python}\nimport json, os\nimport matplotlib.pyplot as plt\nfrom analysis.present.target import output_format\n"
        "info = json.load(open(os.environ['QUARTO_EXECUTE_INFO']))\n"
        "print(json.dumps([output_format(), info['document-path'], plt.rcParams['savefig.dpi']]))\n```\n",
        encoding="utf-8")
    seen = {}
    for to in ("html", "typst"):
        cell = qmd.execute_qmd(page, to=to).cells[0]
        seen[to] = json.loads("".join(o.get("text", "") for o in cell.outputs))
    assert seen["html"] == ["html", str(page), qmd.figure_options("html")["fig-dpi"]]
    assert seen["typst"] == ["typst", str(page), 300]


def test_an_unknown_format_is_refused(tmp_path, capsys):
    assert qmd.main(["execute", "--to", "pdf", str(tmp_path / "page.qmd")]) == 2
    assert "--to: invalid choice: 'pdf' (choose from" in capsys.readouterr().err
    with pytest.raises(ValueError, match="cannot execute for 'docx'"):
        qmd.execute_qmd(tmp_path / "page.qmd", to="docx")


def test_the_executors_command_line_explains_itself_and_names_a_bad_page(tmp_path, capsys):
    """`execute --help` took "--help" for a page and ended in a traceback."""
    assert qmd.main(["execute", "--help"]) == 0
    assert "usage: python -m analysis.build execute" in capsys.readouterr().out
    assert qmd.main(["execute", str(tmp_path / "absent.qmd")]) == 2
    assert f"not a page of the report (a .qmd file): {tmp_path / 'absent.qmd'}" in capsys.readouterr().err
    assert qmd.main(["execute", "--jobs", "0"]) == 2
    assert "'0' is not a number of pages at a time" in capsys.readouterr().err
    assert qmd.main(["preview", str(tmp_path / "out"), "--page", str(tmp_path / "absent.qmd")]) == 2
    assert "not a page of the report" in capsys.readouterr().err and not (tmp_path / "out").exists()
