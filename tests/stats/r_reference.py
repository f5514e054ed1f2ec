"""Checks shared by the tests that compare with R's stored reference outputs (tests/reference/).

Each `<name>_reference.R` script writes `<name>_reference.json` (and, for some,
CSV files in `<name>/`); the tests compare this package with those stored
files, and a test per script reruns it to show the stored files are current.

Imported by the tests of `tests/stats/` as a plain module (pytest puts their folder on sys.path):
``from r_reference import assert_reference_is_current``.
"""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

ROOT = Path(__file__).resolve().parents[2]
REF_DIR = ROOT / "tests" / "reference"
COHORT = ROOT / "data" / "synthetic" / "ankl_cohort.csv"


def arr(values) -> np.ndarray:
    """A JSON list (or scalar) as a float array, null as NaN."""
    values = values if isinstance(values, list) else [values]
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def read_reference_csv(path: Path) -> pd.DataFrame:
    # round_trip: the R script wrote %.17g, so we read back R's exact doubles
    return pd.read_csv(path, float_precision="round_trip")


# ---------------------------------------------------------------- JSON documents


def _assert_json_tree(new, old, check_leaf, path: str) -> None:
    """`new` has the keys and list lengths of `old`, and `check_leaf(new, old, path)` passes on every leaf."""
    if isinstance(old, dict):
        assert isinstance(new, dict) and new.keys() == old.keys(), f"{path}: keys differ"
        for key in old:
            _assert_json_tree(new[key], old[key], check_leaf, f"{path}.{key}")
    elif isinstance(old, list):
        assert isinstance(new, list) and len(new) == len(old), f"{path}: lengths differ"
        for i, (a, b) in enumerate(zip(new, old)):
            _assert_json_tree(a, b, check_leaf, f"{path}[{i}]")
    else:
        check_leaf(new, old, path)


def _close_leaf(new, old, path: str) -> None:
    if isinstance(old, float) or isinstance(new, float):
        assert new is not None and old is not None, f"{path}: {new} vs {old}"
        assert new == pytest.approx(old, rel=1e-10, abs=1e-10), f"{path}: {new} vs {old}"
    else:
        assert new == old, f"{path}: {new!r} vs {old!r}"


def _same_leaf(fresh, stored, path: str) -> None:
    assert type(fresh) is type(stored) or {type(fresh), type(stored)} <= {int, float}, path
    if isinstance(stored, (int, float)) and not isinstance(stored, bool):
        assert_allclose(fresh, stored, rtol=0, atol=1e-10, err_msg=path)
    else:
        assert fresh == stored, path


def assert_json_close(new, old, path: str = "$") -> None:
    """The same JSON document: same keys and lengths, a float within rel 1e-10 or abs 1e-10
    (never None against a number), every other value equal."""
    _assert_json_tree(new, old, _close_leaf, path)


def assert_json_same(fresh, stored, path: str = "$") -> None:
    """The same JSON document, types included (an int may stand for a float): same keys and
    lengths, numbers within abs 1e-10, every other value equal."""
    _assert_json_tree(fresh, stored, _same_leaf, path)


# ---------------------------------------------------------------- rerunning the R scripts


def assert_reference_is_current(tmp_path: Path, name: str) -> None:
    """Rerun `<name>_reference.R`: its JSON has no new case and matches the stored one
    (`assert_json_close`), and it writes the stored `<name>/*.csv` files, no more, no fewer,
    with the same values (within rel and abs 1e-10)."""
    script = REF_DIR / f"{name}_reference.R"
    out = tmp_path / f"{name}_reference.json"
    run = subprocess.run(["Rscript", str(script), str(out)], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    new, old = json.loads(out.read_text()), json.loads((REF_DIR / f"{name}_reference.json").read_text())
    added = set(new["cases"]) - set(old["cases"])
    assert not added, (f"cases {sorted(added)} are new (e.g. {COHORT.name} appeared): regenerate with "
                       f"`Rscript {script.relative_to(ROOT)}`")
    assert_json_close(new, old)
    for csv in sorted((REF_DIR / name).glob("*.csv")):
        fresh = read_reference_csv(tmp_path / name / csv.name)
        pd.testing.assert_frame_equal(fresh, read_reference_csv(csv), check_exact=False, rtol=1e-10, atol=1e-10)
    assert sorted(p.name for p in (tmp_path / name).glob("*.csv")) == \
        sorted(p.name for p in (REF_DIR / name).glob("*.csv"))


def assert_stored_json_is_current(tmp_path: Path, name: str,
                                  provenance: tuple[str, ...] = ("r_version", "survival_version")) -> None:
    """Rerun `<name>_reference.R`: its JSON is the stored one (`assert_json_same`), apart from the
    `provenance` keys (versions may differ while results agree)."""
    out = tmp_path / "fresh.json"
    subprocess.run(["Rscript", str(REF_DIR / f"{name}_reference.R"), str(out)], cwd=ROOT, check=True,
                   capture_output=True)
    fresh = json.loads(out.read_text(encoding="utf-8"))
    stored = json.loads((REF_DIR / f"{name}_reference.json").read_text(encoding="utf-8"))
    assert_json_same({k: v for k, v in fresh.items() if k not in provenance},
                     {k: v for k, v in stored.items() if k not in provenance})
