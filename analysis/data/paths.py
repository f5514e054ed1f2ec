"""Where the project's files are: the project folder, the default study file, the synthetic cohort."""
from __future__ import annotations

from pathlib import Path

__all__ = ["DEFAULT_STUDY", "PROJECT_ROOT", "SYNTHETIC_DATA"]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_STUDY = PROJECT_ROOT / "study.yml"
SYNTHETIC_DATA = PROJECT_ROOT / "data" / "synthetic" / "ankl_cohort.csv"
