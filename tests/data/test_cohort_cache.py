"""The cohort cache: a page kernel reuses the cohort an earlier kernel validated, only while nothing
it depends on changed, and writes nowhere but the cache folder."""
from __future__ import annotations

import json

import pandas as pd
import pytest

import analysis
from analysis.analyses.settings import load_study
from analysis.data import cohort_cache
from analysis.data.cohort_cache import cached_study_cohort
from analysis.data.paths import SYNTHETIC_DATA
from analysis.data.problems import DataValidationError


@pytest.fixture
def project(tmp_path):
    """A study folder of its own: the extract (a copy of the synthetic cohort) and its study file."""
    (tmp_path / "extract.csv").write_bytes(SYNTHETIC_DATA.read_bytes())
    (tmp_path / "study.yml").write_text("data: extract.csv\nsynthetic: true\n", encoding="utf-8")
    return tmp_path


def study_of(project):
    return load_study(project / "study.yml")


def validations(monkeypatch) -> list:
    """Each time the cohort is validated (not read from the cache), the path it was validated from."""
    calls = []
    real = cohort_cache.study_cohort

    def counted(study):
        calls.append(study.data)
        return real(study)
    monkeypatch.setattr(cohort_cache, "study_cohort", counted)
    return calls


def assert_same_cohort(cached, fresh):
    pd.testing.assert_frame_equal(cached.data, fresh.data)
    for name in ("source", "sha256", "synthetic", "n_records", "warnings", "exclusions", "criteria", "audit",
                 "follow_up_ends_at_first_event"):
        assert getattr(cached, name) == getattr(fresh, name), name


def test_the_second_kernel_reads_the_cohort_the_first_validated(project, monkeypatch):
    folder = project / "cache"
    calls = validations(monkeypatch)
    first = cached_study_cohort(study_of(project), folder)
    second = cached_study_cohort(study_of(project), folder)
    assert len(calls) == 1
    assert_same_cohort(second, first)
    assert second.data is not first.data  # (read back from the cache, not the same object)


def test_a_changed_extract_is_validated_again(project, monkeypatch):
    folder = project / "cache"
    calls = validations(monkeypatch)
    before = cached_study_cohort(study_of(project), folder)
    text = (project / "extract.csv").read_text(encoding="utf-8")
    (project / "extract.csv").write_text(text.replace("SYN001,", "SYN999,", 1), encoding="utf-8")
    after = cached_study_cohort(study_of(project), folder)
    assert len(calls) == 2
    assert after.data["patient_id"].iloc[0] == "SYN999" and before.data["patient_id"].iloc[0] == "SYN001"
    assert len(list(folder.glob("*.json"))) == 1  # the stale entry of that extract is gone


def test_a_changed_study_file_is_validated_again(project, monkeypatch):
    folder = project / "cache"
    calls = validations(monkeypatch)
    cached_study_cohort(study_of(project), folder)
    (project / "study.yml").write_text("data: extract.csv\nsynthetic: true\ninclude:\n  age: '>= 40'\n",
                                       encoding="utf-8")
    changed = cached_study_cohort(study_of(project), folder)
    assert len(calls) == 2 and changed.n < changed.n_records


def test_another_package_version_is_validated_again(project, monkeypatch):
    folder = project / "cache"
    calls = validations(monkeypatch)
    cached_study_cohort(study_of(project), folder)
    monkeypatch.setattr(analysis, "__version__", analysis.__version__ + ".post1")
    cached_study_cohort(study_of(project), folder)
    assert len(calls) == 2


def test_another_extract_is_never_served_an_entry(project, monkeypatch):
    """Two extracts, two entries; an entry whose key names another extract is refused."""
    folder = project / "cache"
    calls = validations(monkeypatch)
    other = project / "other.csv"
    other.write_text(SYNTHETIC_DATA.read_text(encoding="utf-8").replace("SYN002,", "OTHER2,", 1), encoding="utf-8")
    cached_study_cohort(study_of(project), folder)
    monkeypatch.setenv("REPORT_DATA", str(other))
    served = cached_study_cohort(study_of(project), folder)
    assert len(calls) == 2 and served.data["patient_id"].iloc[1] == "OTHER2"
    for meta in folder.glob("*.json"):  # each entry now claims the other extract
        entry = json.loads(meta.read_text(encoding="utf-8"))
        entry["key"]["data_sha256"] = "0" * 64
        meta.write_text(json.dumps(entry), encoding="utf-8")
    served = cached_study_cohort(study_of(project), folder)
    assert len(calls) == 3 and served.data["patient_id"].iloc[1] == "OTHER2"


def test_an_invalid_extract_is_never_cached_and_nothing_else_is_written(project, monkeypatch):
    folder = project / "cache"
    text = (project / "extract.csv").read_text(encoding="utf-8")
    (project / "extract.csv").write_text(text.replace(",CB,", ",XX,", 1), encoding="utf-8")
    before = {p: p.read_bytes() for p in project.iterdir()}
    with pytest.raises(DataValidationError):
        cached_study_cohort(study_of(project), folder)
    assert not folder.exists() or not any(folder.iterdir())
    (project / "extract.csv").write_text(text, encoding="utf-8")
    before["extract.csv"] = (project / "extract.csv").read_bytes()
    cached_study_cohort(study_of(project), folder)
    assert {p.name for p in project.iterdir()} == {"extract.csv", "study.yml", "cache"}
    assert (project / "extract.csv").read_text(encoding="utf-8") == text
    assert all(p.suffix in (".json", ".arrow") for p in folder.iterdir())
