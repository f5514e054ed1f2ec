"""One place for paths and report settings."""
from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SYNTHETIC_DATA = PROJECT_ROOT / "data" / "synthetic" / "ankl_cohort.csv"
PRIVATE_DATA_DIR = PROJECT_ROOT / "data" / "private"

# Horizons of the headline estimates and the ticks of every curve (months).
HORIZONS = (12, 60)
RISK_TABLE_TIMES = (0, 12, 24, 36, 48, 60)
EFS_LANDMARK_MONTHS = 12


def data_path() -> Path:
    """The extract the report reads: $REPORT_DATA if set, else the study configuration's data."""
    from analysis.data.study import load_study  # the study file itself lives beside this module's settings

    return load_study().data
