"""Fixtures of the presentation tests: every table and figure of the report for a study, built once."""
import pytest

from report_outputs import report_outputs

from analysis.present.tables.display import ReportTable


@pytest.fixture(scope="session")
def synthetic_outputs(tmp_path_factory):
    """Every table, printed table and figure of the report for the synthetic study (study.yml)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        return report_outputs(tmp_path_factory.mktemp("synthetic_outputs"), monkeypatch)


@pytest.fixture(scope="session")
def report_tables(synthetic_outputs):
    """(output, ReportTable) of every table of the synthetic study's report."""
    tables = [(o, o.value) for o in synthetic_outputs if isinstance(o.value, ReportTable)]
    assert len(tables) >= 10
    return tables
