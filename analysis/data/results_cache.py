"""A chapter's computed results, kept between the page kernels of a render.

Quarto executes every page twice (HTML, then Typst for the PDF), each time in a fresh kernel, and
two pages may ask for the same analysis (the home page and the outcomes chapter); at registry
scale each computation takes seconds to a minute.  `cached_result` computes a result the first
time and keeps it (pickled) under `RESULTS_CACHE` (`.cohort-cache/results/`, git-ignored, next to
the validated cohort it was computed from); every later kernel of the render reads it back.

A result is used only when everything it depends on is unchanged: the cohort's cache entry (itself
keyed by the extract's and the study file's SHA-256, the package's version and the day, see
`cohort_cache`), the call (function and arguments), the SHA-256 of the package's code (every module
but the build tools and the command line) and the versions of Python, NumPy, SciPy and pandas.
Anything else is a different key and the result is computed again; an unreadable or foreign entry
is computed again too, never trusted.  Entries of a cohort entry the cohort cache has replaced are
removed with it (`forget_cohort`); entries of older code are removed when a newer one is written.
"""
from __future__ import annotations

import pickle
import shutil
import sys
from collections.abc import Callable
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import TypeVar

from analysis.data.cache_files import key_name, replace_atomically, sources_digest
from analysis.data.paths import COHORT_CACHE

__all__ = ["RESULTS_CACHE", "RESULTS_FOLDER", "cached_result", "code_sha256", "forget_cohort"]

#: Inside the cohort cache's folder (cohort_cache.COHORT_CACHE), so that both go together.
RESULTS_FOLDER = "results"
RESULTS_CACHE = COHORT_CACHE / RESULTS_FOLDER
_PACKAGE = Path(__file__).resolve().parents[1]
# Outside what a result depends on: the build tools and the command line compute no chapter.
_NOT_RESULTS = ("build", "cli")
_LIBRARIES = ("numpy", "scipy", "pandas")

Result = TypeVar("Result")


@lru_cache(maxsize=1)
def code_sha256() -> str:
    """The SHA-256 of the code results come from, with the versions of Python and the numerical libraries."""
    digest = sources_digest(_PACKAGE, _NOT_RESULTS)
    digest.update(sys.version.encode())
    for library in _LIBRARIES:
        digest.update(f"{library} {metadata.version(library)}".encode())
    return digest.hexdigest()


def _key(cohort_entry: str, call: str) -> dict:
    import analysis

    return {"cohort": cohort_entry, "call": call, "version": analysis.__version__, "code_sha256": code_sha256()}


def _path(folder: Path, key: dict) -> Path:
    return folder / key["cohort"] / f"{key['code_sha256'][:16]}-{key_name(key)}.pickle"


def _read(path: Path, key: dict) -> tuple[bool, object]:
    try:
        with open(path, "rb") as handle:
            stored_key, value = pickle.load(handle)
    except FileNotFoundError:
        return False, None
    except Exception:  # (any unreadable entry, whatever unpickling raised: computed again, never trusted)
        return False, None
    return (True, value) if stored_key == key else (False, None)


def _write(path: Path, key: dict, value: object) -> None:
    """Keep `value` atomically (a kernel reading meanwhile sees the whole entry or none) and drop the
    entries of older code for the same cohort.  A result that cannot be pickled is not kept."""
    try:
        payload = pickle.dumps((key, value), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # (pickling raises whatever the object's reduction raises)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    prefix = key["code_sha256"][:16]
    for old in path.parent.glob("*.pickle"):
        if not old.name.startswith(prefix):
            old.unlink(missing_ok=True)
    replace_atomically(path, lambda temporary: Path(temporary).write_bytes(payload))


def cached_result(cohort_entry: str, call: str, compute: Callable[[], Result],
                  folder: Path = RESULTS_CACHE) -> Result:
    """`compute()`, the result of `call` on the cohort kept as `cohort_entry`: computed once, then read
    back while nothing it depends on changed (see the module's docstring)."""
    key = _key(cohort_entry, call)
    path = _path(folder, key)
    found, value = _read(path, key)
    if found:
        return value
    value = compute()
    _write(path, key, value)
    return value


def forget_cohort(cohort_entry: str, folder: Path = RESULTS_CACHE) -> None:
    """Remove the results computed from a cohort entry the cohort cache no longer keeps."""
    if cohort_entry and (folder / cohort_entry).is_dir():
        shutil.rmtree(folder / cohort_entry, ignore_errors=True)
