"""Small synthetic extracts shaped as registries deliver them, for the example studies and the tests.

Registries do not deliver the SPEC format.  The three shapes here are the ones real public
transplant data sets come in, each read by a study file alone (`studies/*.yml`), never converted:

- `months_pairs`: times in fractional months (two decimals) with one (time, indicator) pair per
  endpoint (`timedeath` + `death`, `intxrel` + `rel`, `timegvhd` + `gvhd`, `tc` + `dc`), the
  registry's own codes (`m`/`f`, `BM+PB`) and columns (`Phase` CR1/CR2/CR3/Relapse, `donor_age`);
- `status_column`: one competing-risks status column (`Status` 0 = censored, 1 = relapse,
  2 = death without relapse) with one time column in months, and no id column (as R's bmtcrr);
- `days_known_bad`: whole days after HCT with (time, indicator) pairs and numeric codes, no id
  column (as KMsurv's bmt), and one known-bad record: chronic GVHD recorded after death.

**No row describes a real patient.**  Every draw comes from one `numpy.random.default_rng(seed)`
and every cell is formatted here, so a seed gives the same bytes on every machine
(`python -m analysis.build deliveries data/synthetic/deliveries` rewrites the committed files).
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.data.schema import MONTH_DAYS

__all__ = ["SHAPES", "days_known_bad", "delivery_csv_text", "months_pairs", "status_column", "write_deliveries"]

DEFAULT_DIRECTORY = Path("data/synthetic/deliveries")
PHASES = ("CR1", "CR2", "CR3", "Relapse")


@dataclass(frozen=True)
class _Course:
    """Each patient's observed course, in months after HCT (inf: did not happen)."""

    age: np.ndarray
    male: np.ndarray
    phase: np.ndarray       # index into PHASES
    relapse: np.ndarray     # months to relapse, inf without
    death: np.ndarray       # months to death, inf alive at last contact
    last: np.ndarray        # months to last contact (death when dead)
    acute: np.ndarray       # months to acute GVHD onset, inf without
    chronic: np.ndarray     # months to chronic GVHD onset, inf without


def _course(rng: np.random.Generator, n: int) -> _Course:
    """Relapse and non-relapse death competing, death after relapse, censoring, GVHD: vectorised draws."""
    age = np.clip(rng.normal(40, 13, n), 16, 70).round()
    male = rng.random(n) < 0.55
    phase = rng.choice(len(PHASES), n, p=(0.45, 0.25, 0.05, 0.25))
    relapse_risk = 0.22 + 0.10 * (phase == 1) + 0.15 * (phase == 2) + 0.30 * (phase == 3)
    relapse = np.where(rng.random(n) < relapse_risk, rng.gamma(1.5, 5.0, n), np.inf)
    nrm_risk = np.clip(0.12 + 0.004 * (age - 40), 0.03, 0.4)
    nrm = np.where(rng.random(n) < nrm_risk, rng.gamma(1.2, 4.0, n), np.inf)
    censor = rng.uniform(6, 120, n)
    relapse = np.where((relapse < nrm) & (relapse < censor), relapse, np.inf)
    after_relapse = np.where(rng.random(n) < 0.8, rng.gamma(1.5, 6.0, n), np.inf)
    death = np.where(np.isfinite(relapse), relapse + after_relapse, nrm)
    death = np.where(death <= censor, death, np.inf)
    last = np.minimum(death, censor)
    acute = np.where(rng.random(n) < 0.35, rng.uniform(10, 100, n) / MONTH_DAYS, np.inf)
    acute = np.where(acute <= last, acute, np.inf)
    chronic = np.where(rng.random(n) < 0.35, rng.uniform(100, 700, n) / MONTH_DAYS, np.inf)
    chronic = np.where(chronic <= last, chronic, np.inf)
    return _Course(age, male, phase, relapse, death, last, acute, chronic)


def _months(values: np.ndarray) -> np.ndarray:
    """Months with two decimals, as registries print them (never 0: the day of HCT is 0.03)."""
    return np.maximum(np.round(values, 2), 0.03)


def _text(values) -> list[str]:
    """Each cell formatted here: '' for missing, whole numbers without '.0', two decimals kept as written."""
    out = []
    for v in values:
        if v is None or (isinstance(v, float) and not np.isfinite(v)):
            out.append("")
        elif isinstance(v, (float, np.floating)):
            out.append(f"{v:.2f}".rstrip("0").rstrip(".") if not float(v).is_integer() else str(int(v)))
        else:
            out.append(str(v))
    return out


def months_pairs(seed: int = 2101, n: int = 160) -> pd.DataFrame:
    """Fractional months with (time, indicator) pairs, the registry's codes and its own columns."""
    rng = np.random.default_rng(seed)
    c = _course(rng, n)
    last = _months(c.last)
    # rounding to two decimals keeps every event on or before the last contact (rounding is monotone)
    relapsed = np.isfinite(c.relapse)
    acute, chronic = np.isfinite(c.acute), np.isfinite(c.chronic)
    source = rng.choice(["BM", "PB", "CB", "BM+PB"], n, p=(0.3, 0.4, 0.2, 0.1))
    donor_age = np.where(source == "CB", np.nan, np.clip(rng.normal(38, 11, n), 18, 70).round())
    donor_age[rng.random(n) < 0.04] = np.nan  # a few not recorded
    frame = {
        "id": [f"K{k:03d}" for k in range(1, n + 1)],
        "age": c.age,
        "sex": np.where(c.male, "m", "f"),
        "Phase": np.array(PHASES)[c.phase],
        "Source": source,
        "donor_age": donor_age,
        "timedeath": last,
        "death": np.isfinite(c.death).astype(int),
        "intxrel": np.where(relapsed, _months(c.relapse), last),
        "rel": relapsed.astype(int),
        "timegvhd": np.where(acute, _months(c.acute), last),
        "gvhd": acute.astype(int),
        "tc": np.where(chronic, _months(c.chronic), last),
        "dc": chronic.astype(int),
    }
    return pd.DataFrame({k: _text(v) for k, v in frame.items()})


def status_column(seed: int = 2102, n: int = 177) -> pd.DataFrame:
    """One competing-risks status column with one time column in months, no id column."""
    rng = np.random.default_rng(seed)
    c = _course(rng, n)
    relapsed = np.isfinite(c.relapse)
    died_first = ~relapsed & np.isfinite(c.death)
    status = np.where(relapsed, 1, np.where(died_first, 2, 0))
    first = np.where(relapsed, c.relapse, c.last)
    frame = {
        "Sex": np.where(c.male, "M", "F"),
        "D": rng.choice(["ALL", "AML"], n, p=(0.35, 0.65)),
        "Phase": np.array(PHASES)[c.phase],
        "Age": c.age,
        "Status": status,
        "Source": rng.choice(["BM+PB", "PB"], n, p=(0.25, 0.75)),
        "ftime": _months(first),
    }
    return pd.DataFrame({k: _text(v) for k, v in frame.items()})


def days_known_bad(seed: int = 2103, n: int = 137) -> pd.DataFrame:
    """Whole days with (time, indicator) pairs and numeric codes, no id column; record 127 has chronic
    GVHD after death (the registry's query is open), which a study excludes rather than edits."""
    rng = np.random.default_rng(seed)
    c = _course(rng, n)

    def days(months: np.ndarray) -> np.ndarray:
        return np.maximum(np.round(months * MONTH_DAYS), 1)

    last = days(c.last)
    relapsed, acute, chronic = np.isfinite(c.relapse), np.isfinite(c.acute), np.isfinite(c.chronic)
    relapse_day = np.minimum(np.where(relapsed, days(c.relapse), last), last)
    acute_day = np.minimum(np.where(acute, days(c.acute), last), last)
    chronic_day = np.minimum(np.where(chronic, days(c.chronic), last), last)
    platelets = rng.random(n) < 0.85
    platelet_day = np.minimum(np.where(platelets, rng.integers(12, 60, n), last), last)
    platelets &= platelet_day < last
    platelet_day = np.where(platelets, platelet_day, last)
    dead = np.isfinite(c.death)
    bad = n - 11  # record 127 of 137
    dead[bad], chronic[bad] = True, True
    last[bad], chronic_day[bad] = 168, 200  # chronic GVHD on day 200 after death on day 168
    relapsed[bad], acute[bad], platelets[bad] = False, False, True
    relapse_day[bad], acute_day[bad], platelet_day[bad] = 168, 168, 20
    frame = {
        "group": c.phase.clip(0, 2) + 1,  # 1 ALL, 2 AML low risk, 3 AML high risk
        "t1": last,
        "d1": dead.astype(int),
        "t2": relapse_day,
        "d2": relapsed.astype(int),
        "ta": acute_day,
        "da": acute.astype(int),
        "tc": chronic_day,
        "dc": chronic.astype(int),
        "tp": platelet_day,
        "dp": platelets.astype(int),
        "z1": c.age,
        "z3": c.male.astype(int),
    }
    return pd.DataFrame({k: _text(v) for k, v in frame.items()})


SHAPES = {"months_pairs": months_pairs, "status_column": status_column, "days_known_bad": days_known_bad}


def delivery_csv_text(frame: pd.DataFrame) -> str:
    """UTF-8 text, `\\n` line endings, cells exactly as formatted (no quoting is ever needed)."""
    return "\n".join([",".join(frame.columns), *(",".join(row) for row in frame.itertuples(index=False))]) + "\n"


def write_deliveries(directory: Path = DEFAULT_DIRECTORY, shapes=tuple(SHAPES)) -> list[Path]:
    """Write each shape as `<directory>/<shape>.csv`; the same bytes on every run."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for shape in shapes:
        path = directory / f"{shape}.csv"
        path.write_bytes(delivery_csv_text(SHAPES[shape]()).encode("utf-8"))
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis.build deliveries",
                                     description="write the synthetic registry deliveries of the example studies")
    parser.add_argument("directory", nargs="?", type=Path, default=DEFAULT_DIRECTORY)
    parser.add_argument("--shapes", default=",".join(SHAPES), help=f"comma-separated, of {', '.join(SHAPES)}")
    args = parser.parse_args(argv)
    shapes = [s for s in args.shapes.split(",") if s]
    unknown = [s for s in shapes if s not in SHAPES]
    if unknown:
        print(f"deliveries: unknown shape(s) {', '.join(unknown)}; choose {', '.join(SHAPES)}", file=sys.stderr)
        return 2
    for path in write_deliveries(args.directory, shapes):
        print(f"deliveries: wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
