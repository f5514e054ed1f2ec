"""Where the project's files are: the project folder, the default study file, the synthetic cohort, the
page kernels' cache."""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["COHORT_CACHE", "DEFAULT_STUDY", "PROJECT_ROOT", "SYNTHETIC_DATA", "shown_path"]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_STUDY = PROJECT_ROOT / "study.yml"
SYNTHETIC_DATA = PROJECT_ROOT / "data" / "synthetic" / "ankl_cohort.csv"
#: What page kernels keep for the render's other kernels (git-ignored: patient data): the validated
#: cohort (`cohort_cache`) and, in `results/`, the chapters' results (`results_cache`).
COHORT_CACHE = PROJECT_ROOT / ".cohort-cache"


def shown_path(path: str | Path) -> str:
    """A path as a message shows it: resolved, relative to the working folder when inside it
    ('data/private/x.csv', never 'studies/../data/private/x.csv'), else absolute."""
    resolved = Path(os.path.abspath(path))
    try:
        return str(resolved.relative_to(Path.cwd()))
    except ValueError:
        return str(resolved)
