"""Transplant-outcomes analysis: loading, endpoints, estimators matched to R, and presentation.

The package is layered; each layer imports only the ones before it:

- `analysis.data`: the extract format and its one label table, readers, mapping, validation,
  inclusion, the cohort and the study file;
- `analysis.domain`: endpoints, states reached after HCT, groupings;
- `analysis.stats`: estimators matched to R, returning frozen results;
- `analysis.analyses`: what each chapter computes;
- `analysis.present`: figures, tables and sentences, with the page's display settings;
- `analysis.pages`: what the chapters import; `analysis.cli`: ``python -m analysis``.

`analysis.build` holds the build and release tools, outside the layers.  The names below are the
entry points for a script or a notebook.
"""

__version__ = "0.1.0"

import importlib
import os

# One OpenBLAS thread, unless the user chose otherwise, when NumPy is first imported after this
# package (as in every page kernel, command and benchmark). The estimators' products are tall and thin
# (10^6 rows by a few columns): there a second BLAS thread saves nothing and, on cores shared with
# other work, its threads wait for each other (the report's computations at 10^6 took 6 s more CPU
# and up to 1.4 times the wall time with two). With one thread the rounding of those products does not
# depend on the machine's number of cores either.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def _keep_freed_memory() -> None:
    """Let C's allocator (glibc) keep freed memory for the next array instead of returning it at once.

    At 10^6 patients every step makes and drops arrays of a few to tens of megabytes; by default
    glibc hands such memory back to the system as soon as it is freed, and the next array of that
    size is faulted in again page by page (on a virtual machine about 2 s of a 10 s command).  Kept
    up to 1 GiB, it is reused.  A user who set glibc's own variables (MALLOC_TRIM_THRESHOLD_, ...)
    (or GLIBC_TUNABLES) keeps them; other C libraries are left alone."""
    if any(name.startswith("MALLOC_") for name in os.environ) or "glibc.malloc." in os.environ.get("GLIBC_TUNABLES", ""):
        return
    try:
        os.confstr("CS_GNU_LIBC_VERSION")  # glibc only: mallopt's options are glibc's
    except (AttributeError, ValueError, OSError):
        return
    import ctypes

    trim_threshold, top_pad, mmap_threshold, arena_max = -1, -2, -3, -8  # glibc's M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD, M_ARENA_MAX
    mallopt = ctypes.CDLL(None).mallopt
    mallopt(trim_threshold, 1 << 30)  # free memory at the heap's top kept up to 1 GiB
    mallopt(top_pad, 64 << 20)  # the heap grown 64 MiB at a time
    mallopt(mmap_threshold, 32 << 20)  # blocks up to 32 MiB (glibc's largest) from the heap, not mapped one by one
    mallopt(arena_max, 1)  # threads share the one heap, so that what one freed another reuses


_keep_freed_memory()

# Each entry point's module, imported when the name is first used (PEP 562): `import analysis` (as
# every page kernel and every command does) then costs nothing, and a command that only reads and
# validates never imports the estimators' and the figures' libraries.
_ENTRY_POINTS = {
    "estimate_endpoint": "analysis.analyses.estimates",
    "fit_model": "analysis.analyses.models",
    "compute_report": "analysis.analyses.report",
    "load_study": "analysis.analyses.settings",
    "load_cohort": "analysis.data.cohort",
    "study_cohort": "analysis.data.study",
    "ENDPOINTS": "analysis.domain.endpoints",
    "endpoint_data": "analysis.domain.endpoints",
    "cumulative_incidence": "analysis.stats.aalen_johansen",
    "cox_model": "analysis.stats.cox",
    "fine_gray": "analysis.stats.finegray",
    "gray_test": "analysis.stats.gray",
    "kaplan_meier": "analysis.stats.kaplan_meier",
    "logrank_test": "analysis.stats.logrank",
}


def __getattr__(name: str):
    if name not in _ENTRY_POINTS:
        raise AttributeError(f"module 'analysis' has no attribute {name!r}")
    value = getattr(importlib.import_module(_ENTRY_POINTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "ENDPOINTS", "__version__", "compute_report", "cox_model", "cumulative_incidence", "endpoint_data",
    "estimate_endpoint", "fine_gray", "fit_model", "gray_test", "kaplan_meier", "load_cohort", "load_study",
    "logrank_test", "study_cohort",
]
