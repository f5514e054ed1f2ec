"""Shared test settings.

With REQUIRE_R=1 (as CI sets it), a test skipped because `Rscript` is missing
fails instead: CI must compare with R, not skip the comparison.

Tests that execute the report's pages (tests/test_chapters.py) or rerun an R
script (those skipped when `Rscript` is missing) are marked `slow`: `make test`
runs everything, `make test-fast` (pytest -m "not slow") the rest.
"""
import os

import matplotlib
import pytest

matplotlib.use("Agg")


SLOW_MODULES = {"test_chapters.py"}


def _runs_r(item) -> bool:
    return any("Rscript" in str(mark.kwargs.get("reason", "")) for mark in item.iter_markers("skipif"))


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.name in SLOW_MODULES or _runs_r(item):
            item.add_marker(pytest.mark.slow)


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
    import pandas as pd

    from analysis.data.paths import PROJECT_ROOT

    folder = tmp_path_factory.mktemp("minimal_study")
    extract = pd.read_csv(PROJECT_ROOT / "data" / "synthetic" / "ankl_cohort.csv", dtype=str, keep_default_na=False)
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
