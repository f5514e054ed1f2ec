"""study.yml checked, not trusted: strict YAML, unknown keys with the nearest known one, the line of
every problem, and the property that a study `validate` accepts builds every chapter (issue 11)."""
from __future__ import annotations

import ast
import contextlib
import io
import math
import os
import subprocess
import sys
import textwrap
import time

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings as hypothesis_settings, strategies as st
from matplotlib.figure import Figure

from analysis import pages
from analysis.analyses.report import compute_report
from analysis.analyses.settings import collinear_covariates, load_study
from analysis.build.qmd import chapters, qmd_to_notebook
from analysis.cli.main import main
from analysis.data.paths import PROJECT_ROOT, SYNTHETIC_DATA
from analysis.data.schema import BY_NAME
from analysis.data.study import StudyConfigError, study_cohort
from analysis.domain.groupings import DERIVED
from analysis.present.context import use_display


def write(tmp_path, text: str, name: str = "study.yml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems_of(path) -> str:
    with pytest.raises(StudyConfigError) as caught:
        load_study(path)
    return str(caught.value)


# --------------------------------------------------------------------------- the file, strictly


def test_a_misspelt_key_at_any_level_is_an_error_naming_the_nearest_key(tmp_path):
    """Issue 11: `privacy: {min_cels: 5}` was accepted and the rule was off."""
    path = write(tmp_path, f"""\
        data: {SYNTHETIC_DATA}
        privacy:
          min_cels: 5
        horizon: [12]
        mapping:
          colums: {{}}
        include:
          agee_min: 18
        groupings: [graft_sorce]
        """)
    text = problems_of(path)
    assert "line 3: privacy.min_cels: unknown setting; did you mean min_cell?" in text
    assert "line 4: horizon: unknown setting; did you mean horizons?" in text
    assert "line 6: mapping.colums: unknown key; did you mean columns?" in text
    assert "line 8: include.agee_min: not a column a study can select on" in text and "did you mean age_min?" in text
    assert "line 9: groupings: 'graft_sorce' is not a SPEC column" in text and "did you mean graft_source?" in text


def test_a_key_given_twice_is_an_error(tmp_path):
    """Issue 11: a second `privacy:` silently replaced the first."""
    path = write(tmp_path, f"""\
        data: {SYNTHETIC_DATA}
        privacy: {{min_cell: 5}}
        privacy: {{min_cell: 0}}
        """)
    assert problems_of(path).endswith("line 3: privacy: given twice (first on line 2); give each setting once")
    nested = write(tmp_path, f"data: {SYNTHETIC_DATA}\nmapping:\n  codes:\n    sex: {{m: M, m: F}}\n", "nested.yml")
    assert "line 4: mapping.codes.sex.m: given twice" in problems_of(nested)


@pytest.mark.parametrize("text, expected", [
    ("data: [a.csv\n", "line 1: while parsing a flow sequence: expected ',' or ']'"),
    ("data: x.csv\n  indented: 1\n", "line 2: mapping values are not allowed here"),
    ("data: !!python/object/apply:os.system [echo hi]\n",
     "line 1: the tag !!python/object/apply:os.system is not allowed in a study file"),
    ("data: !custom x.csv\n", "line 1: the tag !custom is not allowed"),
    ("data: 5\n", "line 1: data: expected the path of the extract file, got 5"),
    ("data: [a.csv, b.csv]\n", "line 1: data: expected the path of the extract file, got ['a.csv', 'b.csv']"),
    ("data: x.csv\nencoding: [utf-8]\n", "line 2: encoding: expected text, got ['utf-8']"),
    ("data: x.csv\nencoding: rot13\n", "line 2: encoding: 'rot13' is not a text encoding"),
    ("data: x.csv\nencoding: klingon\n", "line 2: encoding: 'klingon' is not a text encoding"),
    ("data: x.csv\nencoding: \"\\0\"\n", "line 2: encoding: '\\x00' is not a text encoding"),  # a NUL byte: ValueError, not LookupError
    ("data: x.csv\ntitle: [1, 2]\n", "line 2: title: expected text, got [1, 2]"),
    # a derived grouping beside the coded column it merges: the model's information matrix is singular
    ("data: x.csv\ncovariates: [status_at_hct, status_crpr_vs_nr]\n",
     "line 2: covariates: 'status_crpr_vs_nr' merges the levels of 'status_at_hct', also a covariate"),
    ("data: x.csv\nhorizons: [.inf]\n", "line 2: horizons: every value must be a number of months above 0"),
    ("data: x.csv\nhorizons: [60, 12]\n", "line 2: horizons: give the months once each, in increasing order"),
    ("data: x.csv\nhorizons: [12, 24]\nlandmarks: [24]\n", "line 3: landmarks: 24 not before the last horizon"),
    ("data: x.csv\ncovariates: []\n", "line 2: covariates: expected a list of one or more names, got []"),
    ("data: x.csv\ngroupings: [sex, sex]\n", "line 2: groupings: sex given twice"),
    ("data: x.csv\ngroupings: [age]\n", "line 2: groupings: 'age' is a measurement, not a grouping; did you mean "
                                        "age_group?"),
    ("data: x.csv\ngroupings: [patient_id]\n", "line 2: groupings: 'patient_id' is an identifier"),
    ("data: x.csv\ncovariates: [hct_date]\n", "line 2: covariates: 'hct_date' is a date, not a covariate"),
    ("data: x.csv\nreproduce: smith2030\n", "line 2: reproduce: unknown publication 'smith2030'"),
    ("data: x.csv\nsheet: -1\n", "line 2: sheet: expected a sheet name or number"),
    ("data: x.csv\nprivacy: 5\n", "line 2: privacy: expected min_cell: N, got 5"),
    ("- data: x.csv\n", "expected settings as `key: value` lines, got list"),
])
def test_each_problem_is_one_line_with_the_setting_and_its_line(tmp_path, text, expected):
    path = write(tmp_path, text)
    message = problems_of(path)
    assert expected in message, message
    assert "Traceback" not in message and all(line.startswith((str(path), "  line ", "  ")) for line in
                                              message.splitlines())


@pytest.mark.parametrize("data, expected", [("folder", "is a folder, not an extract file"),
                                            ("missing.csv", "does not exist")])
def test_data_naming_a_folder_or_a_missing_file(tmp_path, data, expected, monkeypatch, capsys):
    monkeypatch.delenv("REPORT_DATA", raising=False)
    (tmp_path / "folder").mkdir()
    path = write(tmp_path, f"title: T\ndata: {data}\n")
    with pytest.raises(StudyConfigError, match=f"line 2: data: .*{data} {expected}"):
        study_cohort(load_study(path))
    assert main(["validate", "--study", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"line 2: data: {tmp_path / data} {expected}" in err and "Traceback" not in err


def test_validate_refuses_a_grouping_with_more_levels_than_a_grouping_can_have(tmp_path, capsys):
    lines = SYNTHETIC_DATA.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    rows = [line.split(",") for line in lines[1:]]
    for i, row in enumerate(rows):
        row[header.index("disease")] = f"D{i % 25}"  # free text with 25 values
    data = tmp_path / "extract.csv"
    data.write_text("\n".join([lines[0], *(",".join(r) for r in rows)]) + "\n", encoding="utf-8")
    path = write(tmp_path, f"data: {data}\ngroupings: [disease]\n")
    assert main(["validate", "--study", str(path)]) == 1
    assert "groupings: cannot group patients by disease: 25 distinct values; a grouping has at most 20" in \
        capsys.readouterr().out


BILLION_LAUGHS = """\
a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
data: x.csv
horizons: *i
"""


def test_an_alias_bomb_is_refused_at_once(tmp_path):
    """Issue 11: billion laughs from `horizons` took 2 min 43 s and 8.35 GB before a MemoryError."""
    path = write(tmp_path, BILLION_LAUGHS)
    # in a child process first, so that a regression cannot take this machine's memory with it
    result = subprocess.run([sys.executable, "-m", "analysis", "validate", "--study", str(path)], cwd=PROJECT_ROOT,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "line 1: YAML anchors (&a) are not allowed in a study file" in result.stderr
    started = time.perf_counter()
    with pytest.raises(StudyConfigError, match="anchors"):
        load_study(path)
    assert time.perf_counter() - started < 1.0
    alias_only = write(tmp_path, "data: x.csv\nhorizons: *a\n", "alias.yml")
    assert "line 2: YAML aliases (*a) are not allowed" in problems_of(alias_only)


# --------------------------------------------------------------------------- validate passes -> chapters build

NAMES = sorted(set(BY_NAME) | set(DERIVED) | {"shoe_size", "relapse_day", ""})
GROUPINGS = ["sex", "status_at_hct", "graft_source", "donor_type", "conditioning", "ps", "hct_year", "disease", "pif",
             *DERIVED]
COVARIATES = ["age", "sex", "status_at_hct", "graft_source", "donor_type", "conditioning", "ps", "hct_year", *DERIVED]
ANYTHING = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**6), st.floats(allow_nan=True),
                     st.text(max_size=12), st.lists(st.integers(0, 3), max_size=3),
                     st.dictionaries(st.text(max_size=5), st.integers(), max_size=2))


def mostly(valid, invalid):
    """Valid three times in four: a study with one wrong setting is refused, so most settings must be right
    for the chapters to be reached at all."""
    return st.one_of(valid, valid, valid, invalid)


MONTHS = st.lists(st.one_of(st.integers(1, 600), st.floats(0.1, 600)), min_size=1, max_size=4, unique=True).map(sorted)
BAD_MONTHS = st.one_of(st.lists(st.one_of(st.integers(-12, 700), st.floats(-1, 1e4),
                                          st.sampled_from([math.nan, math.inf])), max_size=4), ANYTHING)
SETTINGS = st.fixed_dictionaries({}, optional={
    "title": mostly(st.text(min_size=1, max_size=30).filter(str.strip), ANYTHING),
    "encoding": mostly(st.sampled_from(["utf-8", "utf-8-sig", "cp932"]),
                       st.one_of(st.sampled_from(["rot13", "base64", "nope"]), ANYTHING)),
    "sheet": mostly(st.sampled_from([0, "Sheet1"]), ANYTHING),
    "synthetic": mostly(st.booleans(), ANYTHING),
    "horizons": mostly(MONTHS, BAD_MONTHS),
    "landmarks": mostly(st.lists(st.integers(1, 36), min_size=1, max_size=3, unique=True).map(sorted), BAD_MONTHS),
    "groupings": mostly(st.lists(st.sampled_from(GROUPINGS), min_size=1, max_size=4, unique=True),
                        st.one_of(st.lists(st.sampled_from(NAMES), max_size=4), ANYTHING)),
    "covariates": mostly(st.lists(st.sampled_from(COVARIATES), min_size=1, max_size=4, unique=True),
                         st.one_of(st.lists(st.sampled_from(NAMES), max_size=4), ANYTHING)),
    "reproduce": mostly(st.sampled_from(["fujimoto2021", "none"]), st.one_of(st.just("smith2030"), ANYTHING)),
    "privacy": mostly(st.fixed_dictionaries({"min_cell": st.integers(0, 80)}),
                      st.one_of(st.fixed_dictionaries({"min_cell": ANYTHING}),
                                st.dictionaries(st.sampled_from(["min_cels", "k"]), st.integers(0, 20), min_size=1),
                                ANYTHING)),
    "include": mostly(st.fixed_dictionaries({}, optional={"age_min": st.integers(0, 40),
                                                          "hct_year_min": st.integers(1990, 2008),
                                                          "disease": st.just(["ANKL"])}),
                      st.one_of(st.fixed_dictionaries({"weight_max": st.integers()}), ANYTHING)),
})


def validate_study(path) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["validate", "--study", str(path)])
    return status, out.getvalue() + err.getvalue()


def chapter_setup(path, monkeypatch):
    """What every page does first (report/_setup.qmd), with the study at `path`."""
    monkeypatch.setenv("REPORT_STUDY", str(path))
    monkeypatch.delenv("REPORT_DATA", raising=False)
    pages.study.cache_clear()
    pages.cohort.cache_clear()
    setup = next(c for c in qmd_to_notebook(PROJECT_ROOT / "report" / "_setup.qmd").cells if c.cell_type == "code")
    namespace: dict = {}
    exec(compile(setup.source, "_setup.qmd", "exec"), namespace)
    return namespace


@pytest.mark.slow  # in `make test`; left out of `make test-fast` (under a minute)
@hypothesis_settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(settings=SETTINGS)
def test_a_study_validate_accepts_computes_every_chapter(settings, tmp_path_factory, monkeypatch):
    """Either `validate --study` refuses the settings with a message naming them, or every chapter's
    computations (the pages' setup and `compute_report`) succeed with them."""
    path = tmp_path_factory.mktemp("study") / "study.yml"
    document = {"data": str(SYNTHETIC_DATA), **settings}
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    status, message = validate_study(path)
    assert "Traceback" not in message
    if status != 0:
        assert status == 2 and "line " in message, message
        event("refused by validate")
        return
    event("accepted by validate")
    try:
        namespace = chapter_setup(path, monkeypatch)
        compute_report(namespace["data"], namespace["settings"])
    finally:
        pages.study.cache_clear()
        pages.cohort.cache_clear()
        use_display(None)


# --------------------------------------------------------------------------- every page, for a few edge cases


def execute_in_process(page) -> str:
    """Run a page's cells in this process as its kernel would, drawing each figure and rendering each
    table the cell shows; returns the text the page prints (its prose and inline values)."""
    notebook = qmd_to_notebook(page)
    namespace: dict = {}
    printed = io.StringIO()
    previous = os.getcwd()
    os.chdir(page.parent)
    try:
        for cell in notebook.cells:
            if cell.cell_type != "code":
                printed.write(cell.source + "\n")
                continue
            tree = ast.parse(cell.source)
            last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
            with contextlib.redirect_stdout(printed):
                exec(compile(tree, str(page), "exec"), namespace)
                shown = eval(compile(ast.Expression(last.value), str(page), "eval"), namespace) if last else None
            if isinstance(shown, Figure):
                shown.draw_without_rendering()  # every text laid out, as saving would (without the pixels)
            elif hasattr(shown, "as_raw_html"):
                printed.write(shown.as_raw_html())
    finally:
        os.chdir(previous)
    return printed.getvalue()


EDGE_CASES = {
    "one horizon, a late landmark, one covariate": "horizons: [36]\nlandmarks: [30]\ncovariates: [age]\n",
    "fractional horizons, many groupings": "horizons: [0.5, 6.5, 18.25]\nlandmarks: [3]\n"
                                           "groupings: [age_group, sex, status_crpr_vs_nr, hct_year]\n",
    "small-cell rule at 11, nothing to reproduce": "privacy: {min_cell: 11}\nreproduce: none\n",
    "small-cell rule above the cohort": "privacy: {min_cell: 100}\n",
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(EDGE_CASES))
def test_every_page_builds_for_settings_validate_accepts(case, tmp_path, monkeypatch):
    path = tmp_path / "study.yml"
    path.write_text(f"title: {case}\ndata: {SYNTHETIC_DATA}\n{EDGE_CASES[case]}", encoding="utf-8")
    assert validate_study(path)[0] == 0
    monkeypatch.setenv("REPORT_STUDY", str(path))
    monkeypatch.delenv("REPORT_DATA", raising=False)
    try:
        for page in chapters():
            pages.study.cache_clear()
            pages.cohort.cache_clear()
            text = execute_in_process(page)
            if "min_cell" in EDGE_CASES[case]:
                assert "(n = 7)" not in text and "survivors were followed for" not in text, page.name
    finally:
        pages.study.cache_clear()
        pages.cohort.cache_clear()
        use_display(None)


def test_a_derived_grouping_of_a_measurement_beside_it_is_a_valid_pair_of_covariates():
    """age_group beside age is estimable (a step function beside a line): only merged codes are refused."""
    assert collinear_covariates(("age", "age_group", "graft_source")) == []
    assert collinear_covariates(("graft_source", "graft_cb_vs_other")) != []


def test_validate_names_the_study_line_of_a_grouping_the_extract_lacks(tmp_path):
    """A SPEC column the study groups by but the extract does not hold (agvhd_any where the registry
    records grades): validate passed and every page then failed with "unknown grouping"."""
    path = tmp_path / "study.yml"
    path.write_text(f"data: {SYNTHETIC_DATA}\ngroupings: [graft_source, agvhd_any]\n", encoding="utf-8")
    status, message = validate_study(path)
    assert status == 2
    assert "line 2: groupings: 'agvhd_any' is not in the data (" in message and "Traceback" not in message
