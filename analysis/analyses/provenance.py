"""Where the report's numbers come from: version, build date, input hash, software, configuration.

`collect` gathers the record that the Methods and Versions pages show and that Quarto's pre-render
step (`analysis.build.provenance`) writes into every page's footer.  The report version is
`$REPORT_VERSION`, else the `vX.Y.Z` tag on the checked-out commit, else `<package version>+dev`.
"""
from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
import platform
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from analysis import __version__
from analysis.analyses.reproduction import PUBLISHED_SHORT
from analysis.analyses.settings import load_study
from analysis.domain.groupings import grouping_title
from analysis.data.cohort import file_sha256
from analysis.data.paths import PROJECT_ROOT
from analysis.data.schema import MONTH_DAYS

__all__ = ["Provenance", "SHORT_HASH", "build_date", "collect", "configuration", "git_commit", "is_synthetic",
           "quarto_version", "report_version", "software_versions"]

SHORT_HASH = 12  # the short SHA-256 shown on every page (as in the data banner)

# The packages that compute, read or draw what the report shows (not those that only test it), in the
# order shown.
SOFTWARE = ("pandas", "numpy", "scipy", "pyarrow", "matplotlib", "great-tables", "font-source-sans-pro")


@dataclass(frozen=True)
class Provenance:
    """Everything a reader needs to say which report, from which data, made with what."""

    version: str  # the report version: "0.2.0" for a release, "0.2.0+dev" otherwise
    package_version: str  # analysis.__version__
    release: bool  # built from a release tag (or REPORT_VERSION)
    commit: str | None  # short git commit ("-dirty" when the work tree had changes)
    date: str  # build date and time, "YYYY-MM-DD HH:MM UTC" (SOURCE_DATE_EPOCH when set)
    data_source: str  # input file name
    data_sha256: str
    synthetic: bool
    software: dict[str, str] = field(default_factory=dict)
    configuration: dict[str, str] = field(default_factory=dict)
    study: str = "study.yml"  # the study file rendered, project-relative (what a release must name)

    @property
    def data_sha256_short(self) -> str:
        return self.data_sha256[:SHORT_HASH]

    @property
    def quarto(self) -> str | None:
        return self.software.get("Quarto")

    @property
    def synthetic_text(self) -> str:
        return "yes" if self.synthetic else "no"

    @property
    def footer(self) -> str:
        """The one-line provenance every page shows."""
        return (f"Report {self.version} · built {self.date} · input SHA-256 {self.data_sha256_short} · "
                f"synthetic data: {self.synthetic_text}")

    def variables(self) -> dict:
        """The `{{< var >}}` values (strings only: Quarto prints them as they are)."""
        return {
            "report": {
                "version": self.version,
                "package_version": self.package_version,
                "release": "yes" if self.release else "no",
                "commit": self.commit or "unknown",
                "date": self.date,
            },
            "data": {
                "source": self.data_source,
                "sha256": self.data_sha256,
                "sha256_short": self.data_sha256_short,
                "synthetic": self.synthetic_text,
            },
            "quarto": {"version": self.quarto or "unknown"},
        }

    def as_dict(self) -> dict:
        """The machine-readable record (`provenance.json`)."""
        record = self.variables()
        record["report"]["release"] = self.release
        record["report"]["commit"] = self.commit
        record["data"]["synthetic"] = self.synthetic
        record["quarto"]["version"] = self.quarto
        record["software"] = dict(self.software)
        record["configuration"] = dict(self.configuration)
        record["study"] = {"file": self.study}
        return record


def _git(root: Path, *args: str) -> str | None:
    """Output of a read-only git command in `root`, or None without git or outside a repository."""
    if shutil.which("git") is None or not (root / ".git").exists():
        return None
    try:
        result = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def report_version(root: Path = PROJECT_ROOT) -> tuple[str, bool]:
    """(version, is_release): $REPORT_VERSION, else a `vX.Y.Z` tag on HEAD, else `<package>+dev`."""
    chosen = os.environ.get("REPORT_VERSION", "").strip()
    if chosen:
        return chosen.removeprefix("v"), True
    tag = _git(root, "describe", "--tags", "--exact-match", "--match", "v[0-9]*", "HEAD")
    if tag:
        return tag.removeprefix("v"), True
    return f"{__version__}+dev", False


def git_commit(root: Path = PROJECT_ROOT) -> str | None:
    """$REPORT_COMMIT, else the short HEAD commit, with "-dirty" when tracked files have changes."""
    chosen = os.environ.get("REPORT_COMMIT", "").strip()
    if chosen:
        return chosen[:12]
    commit = _git(root, "rev-parse", "--short=12", "HEAD")
    if commit is None:
        return None
    dirty = _git(root, "status", "--porcelain", "--untracked-files=no")
    return f"{commit}-dirty" if dirty else commit


def build_date() -> str:
    """Now (UTC) to the minute, or the time of $SOURCE_DATE_EPOCH for a reproducible build.

    The time is part of it: two releases made on one day must not look alike.
    """
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    moment = (dt.datetime.fromtimestamp(int(epoch), tz=dt.timezone.utc) if epoch
              else dt.datetime.now(tz=dt.timezone.utc))
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def quarto_version() -> str | None:
    """The Quarto that runs this build, when known.

    Quarto's launcher exports QUARTO_SHARE_PATH (whose `version` file names the release) to the
    processes it starts: the pre-render step and the Jupyter kernels.  Otherwise ask a `quarto`
    on PATH; without one (tests, `make preview`) the version is not known.
    """
    share = os.environ.get("QUARTO_SHARE_PATH")
    if share and (Path(share) / "version").is_file():
        return (Path(share) / "version").read_text(encoding="utf-8").strip() or None
    candidates = []
    if os.environ.get("QUARTO_BIN_PATH"):
        candidates.append(Path(os.environ["QUARTO_BIN_PATH"]) / "quarto")
    on_path = shutil.which("quarto")
    if on_path:
        candidates.append(Path(on_path))
    for binary in candidates:
        try:
            result = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.SubprocessError):
            continue
        if result.returncode == 0 and result.stdout.strip():
            return result.stdout.strip().splitlines()[0]
    return None


def software_versions() -> dict[str, str]:
    """Python and the packages that compute and draw the report, then Quarto when known."""
    versions = {"Python": platform.python_version()}
    for name in SOFTWARE:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    quarto = quarto_version()
    if quarto:
        versions["Quarto"] = quarto
    return versions


def is_synthetic(path: Path) -> bool:
    """The rule `load_cohort` applies: a file under a `synthetic` folder is the synthetic cohort."""
    return "synthetic" in Path(path).resolve().parts


def _shown_path(path: Path) -> str:
    """A data path as the configuration shows it: project-relative, else the file name only."""
    path = Path(path).resolve()
    return path.relative_to(PROJECT_ROOT).as_posix() if path.is_relative_to(PROJECT_ROOT) else path.name


def configuration(path: Path, study=None) -> dict[str, str]:
    """The settings that decide what the report computes (from the study configuration)."""
    study = study or load_study()
    mapping = study.mapping
    mapped = (len(mapping.columns) + len(mapping.codes) + len(mapping.constants) + len(mapping.events)
              + (mapping.status is not None) + len(mapping.levels) + len(mapping.extra) + (mapping.ids is not None))
    changes = study.changes
    return {
        "Study configuration": _shown_path(study.source) if study.source else "built-in defaults",
        "Input file": _shown_path(path),
        "Chosen by": "$REPORT_DATA" if os.environ.get("REPORT_DATA") else "the study configuration",
        "Time unit": f"months (days / {MONTH_DAYS:g})",
        "Time unit of the extract's durations": mapping.time_unit,
        "Horizons of the estimates": ", ".join(f"{h:g} months" for h in study.horizons),
        "Landmarks": ", ".join(f"{t:g} months" for t in study.landmarks) or "none",
        "At risk at a landmark s": "T \u2265 s" if study.on_landmark else "T > s",
        "Groupings compared": "; ".join(f"{grouping_title(g)} (`{g}`)" for g in study.groupings) or "none",
        "Model covariates": "; ".join(f"{grouping_title(c)} (`{c}`)" for c in study.covariates) or "none",
        "Inclusion criteria": "; ".join(c.describe() for c in study.include) or "none",
        "Column/code mapping": f"{mapped} rule{'' if mapped == 1 else 's'}" if mapped else "none",
        "Records excluded or corrected by the study file":
            "listed in the cohort chapter (audit trail)" if changes else "none",
        "Small-cell rule": f"counts below {study.min_cell} shown as <{study.min_cell}" if study.min_cell else "off",
        "Published study reproduced": (f"{PUBLISHED_SHORT[study.reproduce]} (`{study.reproduce}`)"
                                       if study.reproduce in PUBLISHED_SHORT else "none"),
        "Confidence intervals": "95%, log(-log) transform",
    }


def collect(data: Path | str | None = None, *, cohort=None, root: Path = PROJECT_ROOT) -> Provenance:
    """The provenance of a build from `data` (default: the configured input).

    Pass the page's loaded `cohort` to reuse its hash and synthetic flag.
    """
    study = load_study()
    path = Path(data) if data is not None else study.data
    if cohort is not None:
        source, sha256, synthetic = cohort.source, cohort.sha256, cohort.synthetic
    else:
        if not path.exists():
            raise FileNotFoundError(f"data file not found: {path}")
        declared = study.synthetic if data is None else None
        source, sha256 = path.name, file_sha256(path)
        synthetic = declared if declared is not None else is_synthetic(path)
    version, release = report_version(root)
    return Provenance(
        version=version,
        package_version=__version__,
        release=release,
        commit=git_commit(root),
        date=build_date(),
        data_source=source,
        data_sha256=sha256,
        synthetic=synthetic,
        software=software_versions(),
        configuration=configuration(path, study),
        study=_shown_path(study.source) if study.source else "built-in defaults",
    )
