"""The results cache: a page kernel reuses a chapter's result an earlier kernel of the render computed,
only while nothing it depends on changed (the extract, the study file, the code), and writes nowhere
but the cache folder."""
from __future__ import annotations

import functools
import pickle

import pytest

from analysis import pages
from analysis.data import cohort_cache, results_cache
from analysis.data.paths import SYNTHETIC_DATA
from analysis.data.results_cache import cached_result


def counting(value):
    """A computation returning `value` that counts its calls."""
    calls = []

    def compute():
        calls.append(1)
        return value
    return compute, calls


def test_a_result_is_computed_once_then_read_back(tmp_path):
    compute, calls = counting({"os": [1.0, 0.5]})
    first = cached_result("entry", "outcomes(cohort)", compute, folder=tmp_path)
    second = cached_result("entry", "outcomes(cohort)", compute, folder=tmp_path)
    assert len(calls) == 1
    assert second == first and second is not first  # (read back, not the same object)


def test_another_cohort_or_call_is_computed_again(tmp_path):
    compute, calls = counting(1)
    cached_result("entry", "outcomes(cohort)", compute, folder=tmp_path)
    cached_result("other entry", "outcomes(cohort)", compute, folder=tmp_path)
    cached_result("entry", "table_one(cohort, study)", compute, folder=tmp_path)
    assert len(calls) == 3


def test_changed_code_is_computed_again_and_the_old_result_dropped(tmp_path, monkeypatch):
    compute, calls = counting(1)
    cached_result("entry", "outcomes(cohort)", compute, folder=tmp_path)
    (old,) = (tmp_path / "entry").glob("*.pickle")
    monkeypatch.setattr(results_cache, "code_sha256", lambda: "f" * 64)
    cached_result("entry", "outcomes(cohort)", compute, folder=tmp_path)
    assert len(calls) == 2
    assert not old.exists()
    assert [p.name[:16] for p in (tmp_path / "entry").glob("*.pickle")] == ["f" * 16]


def test_the_code_hash_follows_the_estimators_source(tmp_path, monkeypatch):
    """An edited estimator, analysis or presentation module is another key; the build tools are not."""
    package = tmp_path / "analysis"
    for folder in ("stats", "build"):
        (package / folder).mkdir(parents=True)
        (package / folder / "module.py").write_text("x = 1\n", encoding="utf-8")
    monkeypatch.setattr(results_cache, "_PACKAGE", package)

    def sha():
        results_cache.code_sha256.cache_clear()
        return results_cache.code_sha256()
    try:
        before = sha()
        (package / "build" / "module.py").write_text("x = 2\n", encoding="utf-8")
        assert sha() == before
        (package / "stats" / "module.py").write_text("x = 2\n", encoding="utf-8")
        assert sha() != before
    finally:
        results_cache.code_sha256.cache_clear()


@pytest.mark.parametrize("damage", ["truncated", "foreign key", "not a pickle"])
def test_an_unreadable_or_foreign_entry_is_computed_again(tmp_path, damage):
    compute, calls = counting(1)
    cached_result("entry", "outcomes(cohort)", compute, folder=tmp_path)
    (path,) = (tmp_path / "entry").glob("*.pickle")
    if damage == "truncated":
        path.write_bytes(path.read_bytes()[:10])
    elif damage == "foreign key":  # (another call's result under this name)
        key, _ = pickle.loads(path.read_bytes())
        path.write_bytes(pickle.dumps(({**key, "call": "another"}, 2)))
    else:
        path.write_text("not a pickle", encoding="utf-8")
    assert cached_result("entry", "outcomes(cohort)", compute, folder=tmp_path) == 1
    assert len(calls) == 2


@pytest.fixture
def page_project(tmp_path, monkeypatch):
    """Pages pointed at a study of their own (REPORT_STUDY), with their caches in `tmp_path/cache`."""
    (tmp_path / "extract.csv").write_bytes(SYNTHETIC_DATA.read_bytes())
    (tmp_path / "study.yml").write_text("data: extract.csv\nsynthetic: true\n", encoding="utf-8")
    folder = tmp_path / "cache"
    monkeypatch.setenv("REPORT_STUDY", str(tmp_path / "study.yml"))
    monkeypatch.delenv("REPORT_DATA", raising=False)
    monkeypatch.setattr(pages, "cached_study_cohort_entry",
                        functools.partial(cohort_cache.cached_study_cohort_entry, folder=folder))
    monkeypatch.setattr(pages, "cached_result", functools.partial(cached_result, folder=folder / "results"))

    def new_kernel():
        pages.study.cache_clear()
        pages.cohort.cache_clear()
    new_kernel()
    yield tmp_path, new_kernel
    new_kernel()


def computations(monkeypatch) -> list:
    """Each time a page's outcomes are computed (not read back), in order."""
    calls = []
    real = pages.outcomes.__wrapped__

    def counted(c):
        calls.append(c.sha256)
        return real(c)
    monkeypatch.setattr(pages, "outcomes", pages._kept(counted))
    return calls


def test_a_second_kernel_reads_the_pages_results(page_project, monkeypatch):
    _, new_kernel = page_project
    calls = computations(monkeypatch)
    first = pages.outcomes(pages.cohort())
    new_kernel()
    second = pages.outcomes(pages.cohort())
    assert len(calls) == 1
    assert pickle.dumps(second) == pickle.dumps(first)


def test_a_changed_extract_or_study_is_computed_again(page_project, monkeypatch):
    project, new_kernel = page_project
    calls = computations(monkeypatch)
    pages.outcomes(pages.cohort())
    new_kernel()
    extract = project / "extract.csv"
    extract.write_bytes(extract.read_bytes() + b"\n")  # (same records, another file)
    pages.outcomes(pages.cohort())
    new_kernel()
    (project / "study.yml").write_text("data: extract.csv\nsynthetic: true\nprivacy:\n  min_cell: 3\n", encoding="utf-8")
    pages.outcomes(pages.cohort())
    new_kernel()
    pages.outcomes(pages.cohort())
    assert len(calls) == 3
    # the results of the replaced cohort entries went with them
    assert len(list((project / "cache" / "results").iterdir())) == 1


def test_a_cohort_other_than_the_pages_is_never_kept(page_project, monkeypatch):
    calls = computations(monkeypatch)
    page_cohort = pages.cohort()
    other = cohort_cache.study_cohort(pages.study())  # (equal content, but not the page's cohort)
    pages.outcomes(other)
    pages.outcomes(other)
    assert len(calls) == 2
    assert not (page_project[0] / "cache" / "results").exists()
    pages.outcomes(page_cohort)
    assert (page_project[0] / "cache" / "results").exists()
