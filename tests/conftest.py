"""Shared test settings.

With REQUIRE_R=1 (as CI sets it), a test skipped because `Rscript` is missing
fails instead: CI must compare with R, not skip the comparison.

Tests that execute the report's pages (tests/test_chapters.py, tests/test_reader.py, users of the
synthetic report's outputs) or rerun an R script (those skipped when `Rscript` is missing) are marked
`slow`: `make test` runs everything, `make test-fast` (pytest -m "not slow") the rest.
"""
import os

import matplotlib
import pytest

matplotlib.use("Agg")

from registry_exports import synthetic_text_table  # noqa: E402  (after the backend is chosen)


SLOW_MODULES = {"test_chapters.py", "test_reader.py"}


#: Session fixtures that run an R script (they skip without Rscript).
R_FIXTURES = {"bmt_extract"}


def _runs_r(item) -> bool:
    return (any("Rscript" in str(mark.kwargs.get("reason", "")) for mark in item.iter_markers("skipif"))
            or bool(R_FIXTURES & set(getattr(item, "fixturenames", ()))))


#: The synthetic report's outputs: every page executed in the test process (tests/present/conftest.py),
#: which the two processes of `make test` cannot share, so their users run in one (`--dist loadgroup`).
#: The executed pages of each study are shared on disk instead (`study_pages.shared_study_pages`).
SYNTHETIC_OUTPUTS = {"synthetic_outputs", "report_tables"}


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own hook, which reads the groups into the test ids
def pytest_collection_modifyitems(config, items):
    for item in items:
        executes_pages = bool(SYNTHETIC_OUTPUTS & set(getattr(item, "fixturenames", ())))
        if item.path.name in SLOW_MODULES or _runs_r(item) or executes_pages:
            item.add_marker(pytest.mark.slow)
        if executes_pages:
            item.add_marker(pytest.mark.xdist_group("synthetic_outputs"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("REQUIRE_R") == "1" and report.skipped and isinstance(report.longrepr, tuple):
        reason = str(report.longrepr[2])
        if "Rscript" in reason:
            report.outcome = "failed"
            report.longrepr = f"REQUIRE_R=1 but the test was skipped: {reason}"


# Columns a registry may not hold at all (marked `unavailable` in its study.yml): every chapter must
# still execute, saying which sections the extract cannot fill.
OPTIONAL_COLUMNS = ["cgvhd", "cgvhd_date", "agvhd_grade", "agvhd_date", "platelet_engraftment",
                    "platelet_engraftment_date", "neutrophil_engraftment", "neutrophil_engraftment_date", "pif",
                    "cr_after_hct_date", "cause_of_death", "ps", "disease"]


@pytest.fixture(scope="session")
def minimal_study(tmp_path_factory):
    """A study whose extract is the synthetic cohort without any optional column."""
    folder = tmp_path_factory.mktemp("minimal_study")
    extract = synthetic_text_table()
    extract.drop(columns=OPTIONAL_COLUMNS).to_csv(folder / "minimal.csv", index=False)
    study = folder / "study.yml"
    study.write_text(
        "title: A registry extract without optional columns\ndata: minimal.csv\nsynthetic: true\n"
        "horizons: [12, 60]\nlandmarks: [12]\ngroupings: [graft_source]\n"
        "covariates: [status_at_hct, graft_source, age]\nreproduce: none\n"
        f"mapping:\n  unavailable: [{', '.join(OPTIONAL_COLUMNS)}]\n",
        encoding="utf-8",
    )
    return study


def _write_study(folder, extract, settings: str):
    """A study folder: `extract.csv` (the synthetic cohort, changed) and its `study.yml`."""
    extract.to_csv(folder / "extract.csv", index=False)
    study = folder / "study.yml"
    study.write_text("data: extract.csv\nsynthetic: true\nhorizons: [12, 60]\n" + settings, encoding="utf-8")
    return study


@pytest.fixture(scope="session")
def acute_gvhd_only_study(tmp_path_factory):
    """An extract that records acute GVHD with its onset but not chronic GVHD (as some public registry
    data sets): the acute GVHD analyses must still be made."""
    folder = tmp_path_factory.mktemp("acute_gvhd_only")
    extract = synthetic_text_table().drop(columns=["cgvhd", "cgvhd_date"])
    return _write_study(folder, extract, "title: Acute GVHD recorded, chronic GVHD not\nlandmarks: [12]\n"
                        "groupings: [graft_source]\nreproduce: none\nmapping:\n  unavailable: [cgvhd, cgvhd_date]\n")


def follow_up_ends_at_relapse(extract):
    """Follow-up stops at relapse (a relapsed patient is censored, alive, on the relapse date), as in
    public competing-risks data sets that record only the first event."""
    extract = extract.copy()
    relapsed = extract["relapse"] == "1"
    extract.loc[relapsed, "last_contact_date"] = extract.loc[relapsed, "relapse_date"]
    extract.loc[relapsed, "vital_status"] = "alive"
    extract.loc[relapsed, "cause_of_death"] = ""
    return extract


@pytest.fixture(scope="session")
def relapse_ends_follow_up_study(tmp_path_factory):
    """A study in which no relapsed patient is followed past the relapse, so none is alive and followed
    at the 12-month landmark."""
    folder = tmp_path_factory.mktemp("relapse_ends_follow_up")
    extract = follow_up_ends_at_relapse(synthetic_text_table())
    # events after the new end of follow-up are not known: the study records none of them
    optional = ["cgvhd", "cgvhd_date", "agvhd_grade", "agvhd_date", "platelet_engraftment",
                "platelet_engraftment_date", "neutrophil_engraftment", "neutrophil_engraftment_date", "pif",
                "cr_after_hct_date", "cause_of_death"]
    extract = extract.drop(columns=optional)
    return _write_study(folder, extract, "title: Follow-up ends at relapse\nlandmarks: [12]\n"
                        "groupings: [graft_source]\nreproduce: none\n"
                        f"mapping:\n  unavailable: [{', '.join(optional)}]\n")


@pytest.fixture(scope="session")
def questionable_study(tmp_path_factory):
    """Seven questionable records (deaths without a cause: one kind of warning, shown as one line with
    its count) and a column the format does not know: the cohort chapter counts records, not lines or
    kinds. (A last contact in the future, once a second kind of warning, is now an error.)"""
    folder = tmp_path_factory.mktemp("questionable")
    extract = synthetic_text_table()
    dead = extract.index[extract["vital_status"] == "dead"][:7]
    extract.loc[dead, "cause_of_death"] = ""
    extract["agvhd_ani"] = ""
    return _write_study(folder, extract, "title: Questionable records\nlandmarks: [12]\n"
                        "groupings: [graft_source]\nreproduce: none\n")


BMT_STUDY_NAME = "studies/bmt.yml"


@pytest.fixture(scope="session")
def bmt_extract(tmp_path_factory):
    """R's public bmt data written unchanged by data/export_bmt.R, once a session, into the session's own
    folder (tests running side by side never write the same file; studies/bmt.yml reads it through
    $REPORT_DATA)."""
    import shutil
    import subprocess

    from analysis.data.paths import PROJECT_ROOT

    if shutil.which("Rscript") is None:
        pytest.skip("Rscript is not installed (needed to write KMsurv's bmt data)")
    extract = tmp_path_factory.mktemp("bmt") / "bmt.csv"
    subprocess.run(["Rscript", str(PROJECT_ROOT / "data" / "export_bmt.R"), str(extract)], cwd=PROJECT_ROOT,
                   check=True, capture_output=True, timeout=300)
    return extract


@pytest.fixture(scope="session")
def example_jp_extract(tmp_path_factory):
    """The synthetic cohort exported as studies/example_jp.yml's CP932 registry file."""
    from analysis.analyses.settings import load_study
    from analysis.data.paths import PROJECT_ROOT
    from registry_exports import japanese_extract

    study = load_study(PROJECT_ROOT / "studies" / "example_jp.yml")
    path = tmp_path_factory.mktemp("example_jp") / "registry_export.csv"
    path.write_bytes(japanese_extract(synthetic_text_table(), study.mapping)
                     .to_csv(index=False, lineterminator="\n").encode("cp932"))
    return path


# --------------------------------------------------------------------------- executed pages, once a session


@pytest.fixture(scope="session")
def ankl_pages(tmp_path_factory):
    from analysis.data.paths import PROJECT_ROOT
    from study_pages import execute_study, shared_study_pages

    return shared_study_pages(tmp_path_factory, "ankl", lambda: execute_study("ankl", PROJECT_ROOT / "study.yml"))


@pytest.fixture(scope="session")
def minimal_pages(tmp_path_factory, minimal_study):
    from study_pages import execute_study, shared_study_pages

    return shared_study_pages(tmp_path_factory, "minimal", lambda: execute_study("minimal", minimal_study))


@pytest.fixture(scope="session")
def bmt_pages(tmp_path_factory, bmt_extract):
    from analysis.data.paths import PROJECT_ROOT
    from study_pages import execute_study, shared_study_pages

    return shared_study_pages(tmp_path_factory, "bmt",
                              lambda: execute_study("bmt", PROJECT_ROOT / BMT_STUDY_NAME, data=bmt_extract))


@pytest.fixture(scope="session")
def example_jp_pages(tmp_path_factory, example_jp_extract):
    from analysis.data.paths import PROJECT_ROOT
    from study_pages import execute_study, shared_study_pages

    return shared_study_pages(tmp_path_factory, "example_jp", lambda: execute_study(
        "example_jp", PROJECT_ROOT / "studies" / "example_jp.yml", data=example_jp_extract))


def _delivery_pages(tmp_path_factory, shape: str):
    from study_pages import delivery_study_file, execute_study, shared_study_pages

    return shared_study_pages(tmp_path_factory, shape, lambda: execute_study(
        shape, delivery_study_file(tmp_path_factory.mktemp(shape), shape)))


@pytest.fixture(scope="session")
def months_pairs_pages(tmp_path_factory):
    return _delivery_pages(tmp_path_factory, "months_pairs")


@pytest.fixture(scope="session")
def status_column_pages(tmp_path_factory):
    return _delivery_pages(tmp_path_factory, "status_column")


@pytest.fixture(scope="session")
def days_known_bad_pages(tmp_path_factory):
    return _delivery_pages(tmp_path_factory, "days_known_bad")


#: Every study configuration of the repository (study.yml, studies/*.yml) and an extract without optional columns.
READER_STUDIES = ["ankl", "bmt", "example_jp", "months_pairs", "status_column", "days_known_bad", "minimal"]


@pytest.fixture(scope="session", params=READER_STUDIES)
def study_pages(request):
    """Each study configuration of the repository, and an extract without optional columns, executed."""
    return request.getfixturevalue(f"{request.param}_pages")
@pytest.fixture
def study_problems():
    """The text of the StudyConfigError a study file raises when loaded (every problem, one per line)."""
    from analysis.analyses.settings import load_study
    from analysis.data.study import StudyConfigError

    def problems(path) -> str:
        with pytest.raises(StudyConfigError) as caught:
            load_study(path)
        return str(caught.value)
    return problems


@pytest.fixture(autouse=True)
def _no_study_columns_from_another_test():
    """A study's own columns and levels join the label table when its cohort is loaded (one study per
    page or command); a test that loaded one must not leave them to the next."""
    yield
    from analysis.data.schema import use_study_columns

    use_study_columns(())
