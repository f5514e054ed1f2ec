"""Where the report's numbers come from: version, build date, input hash, software, configuration.

Quarto runs this module before every render (`pre-render: analysis/provenance.py` in
`_quarto.yml`; Quarto runs a `.py` entry with its own Python, `$QUARTO_PYTHON`, from the
project folder).  It writes three generated, git-ignored files at the project root:

- `_variables.yml`: the values of the `{{< var ... >}}` shortcodes in every page's footer
  (report version, build date, input SHA-256, synthetic yes/no);
- `provenance.json`: the whole record, copied into the site as a project resource, where
  `python -m analysis check-site` and `python -m analysis.publish` read it;
- `_provenance.typ`: the same line as a running header of every Typst PDF page.

Quarto's `freeze` re-executes a page only when its own `.qmd` changes.  A new input file,
a change to the `analysis` package, to the pinned packages or to the report version would
leave stale numbers in `_freeze/`; so this step also keeps a fingerprint of those in
`_freeze/provenance-fingerprint.json` and, when it differs, clears `_freeze/` (and Quarto's
hidden `.quarto/_freeze/`) so that every page re-executes.

`python -m analysis.provenance [--root DIR] [--data FILE]` runs the same step by hand.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from analysis import __version__
from analysis.data.paths import PROJECT_ROOT
from analysis.data.cohort import file_sha256
from analysis.data.schema import MONTH_DAYS

VARIABLES_FILE = "_variables.yml"
RECORD_FILE = "provenance.json"
TYPST_FILE = "_provenance.typ"
FREEZE_DIRS = ("_freeze", ".quarto/_freeze")
FINGERPRINT_FILE = "_freeze/provenance-fingerprint.json"
SHORT_HASH = 12  # the short SHA-256 shown on every page (as in the data banner)

# The packages whose versions change the numbers or their display, in the order shown.
SOFTWARE = ("pandas", "numpy", "scipy", "lifelines", "matplotlib", "great-tables")

# What the fingerprint of the frozen results covers besides data and versions: the code that computes
# (the package, the shared page setup that `{{< include >}}` pulls in, which Quarto's freeze hash does not
# see) and the pinned environment.
CODE_GLOBS = ("analysis/**/*.py", "report/_*.qmd", "_*.qmd", "requirements.lock", "pyproject.toml")


@dataclass(frozen=True)
class Provenance:
    """Everything a reader needs to say which report, from which data, made with what."""

    version: str  # the report version: "0.2.0" for a release, "0.2.0+dev" otherwise
    package_version: str  # analysis.__version__
    release: bool  # built from a release tag (or REPORT_VERSION)
    commit: str | None  # short git commit ("-dirty" when the work tree had changes)
    date: str  # build date, ISO (SOURCE_DATE_EPOCH when set)
    data_source: str  # input file name
    data_sha256: str
    synthetic: bool
    software: dict[str, str] = field(default_factory=dict)
    configuration: dict[str, str] = field(default_factory=dict)

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
        return record


# --- collecting -------------------------------------------------------------------------------------

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
    """Today (UTC), or the date of $SOURCE_DATE_EPOCH for a reproducible build."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch:
        return dt.datetime.fromtimestamp(int(epoch), tz=dt.timezone.utc).date().isoformat()
    return dt.datetime.now(tz=dt.timezone.utc).date().isoformat()


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
    from analysis.analyses.settings import load_study

    study = study or load_study()
    mapping = study.mapping
    mapped = len(mapping.columns) + len(mapping.codes) + len(mapping.constants)
    return {
        "Study configuration": _shown_path(study.source) if study.source else "built-in defaults",
        "Input file": _shown_path(path),
        "Chosen by": "$REPORT_DATA" if os.environ.get("REPORT_DATA") else "the study configuration",
        "Time unit": f"months (days / {MONTH_DAYS:g})",
        "Horizons of the estimates": ", ".join(f"{h:g} months" for h in study.horizons),
        "Landmarks": ", ".join(f"{t:g} months" for t in study.landmarks),
        "Groupings compared": ", ".join(study.groupings) or "none",
        "Model covariates": ", ".join(study.covariates) or "none",
        "Inclusion criteria": "; ".join(c.describe() for c in study.include) or "none",
        "Column/code mapping": f"{mapped} rule(s)" if mapped else "none",
        "Small-cell rule": f"counts below {study.min_cell} shown as <{study.min_cell}" if study.min_cell else "off",
        "Published study reproduced": study.reproduce or "none",
        "Confidence intervals": "95%, log(-log) transform",
    }


def collect(data: Path | str | None = None, *, cohort=None, root: Path = PROJECT_ROOT) -> Provenance:
    """The provenance of a build from `data` (default: the configured input).

    Pass the page's loaded `cohort` to reuse its hash and synthetic flag.
    """
    from analysis.analyses.settings import load_study

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
    )


# --- what the pages show ----------------------------------------------------------------------------

def month_days_text() -> str:
    """The days in a month of the time scale, as the methods text shows it: '30.4375'."""
    return f"{MONTH_DAYS:g}"


def horizons_text() -> str:
    """The horizons of the headline estimates in words: '1 year and 5 years'."""
    from analysis.present.numbers import fmt_horizon
    from analysis.analyses.settings import load_study

    words = [fmt_horizon(h) for h in load_study().horizons]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _markdown_table(header: tuple[str, str], rows: list[tuple[str, str]], caption: str) -> str:
    def cell(text: str) -> str:
        return str(text).replace("|", "\\|")

    lines = [f"| {header[0]} | {header[1]} |", "|:--|:--|"]
    lines += [f"| {cell(a)} | {cell(b)} |" for a, b in rows]
    return "\n".join(lines) + f"\n\n: {caption}\n"


def provenance_markdown(p: Provenance) -> str:
    """The build and its input, as a Markdown table."""
    rows = [
        ("Report version", p.version + ("" if p.release else " (not a release)")),
        ("Package version", p.package_version),
        ("Git commit when computed", f"`{p.commit}`" if p.commit else "not known"),
        ("Computed on", p.date),
        ("Input file", f"`{p.data_source}`"),
        ("Input SHA-256", f"`{p.data_sha256}`"),
        ("Synthetic data", p.synthetic_text),
    ]
    return _markdown_table(("Item", "Value"), rows, "The build and its input.")


def software_markdown(p: Provenance) -> str:
    """Software versions, Quarto last ("not known" when the page was executed without it)."""
    rows = [(name, version) for name, version in p.software.items() if name != "Quarto"]
    rows.append(("Quarto", p.quarto or "not known (page executed without Quarto)"))
    return _markdown_table(("Software", "Version"), rows, "Software that computed and drew this report.")


def configuration_markdown(p: Provenance) -> str:
    rows = [(name, f"`{value}`" if name == "Input file" else value) for name, value in p.configuration.items()]
    return _markdown_table(("Setting", "Value"), rows, "Configuration of this build.")


# --- the pre-render step ----------------------------------------------------------------------------

def _typst_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def typst_header(p: Provenance) -> str:
    """A running header for every PDF page (`include-in-header` of the Typst format)."""
    return (
        "// Written by analysis/provenance.py before each render: do not edit.\n"
        f"#set page(header: align(right, text(size: 7.5pt, fill: luma(110), {_typst_string(p.footer)})))\n"
    )


def variables_yaml(p: Provenance) -> str:
    lines = ["# Written by analysis/provenance.py (Quarto's pre-render step) before each render.",
             "# Generated: do not edit, do not commit."]
    for group, values in p.variables().items():
        lines.append(f"{group}:")
        lines += [f"  {key}: {json.dumps(value, ensure_ascii=False)}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def write_if_changed(path: Path, text: str) -> bool:
    """Write only on change: `quarto preview` re-renders when `_variables.yml` changes."""
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return False
    path.write_text(text, encoding="utf-8")
    return True


def code_digest(root: Path = PROJECT_ROOT) -> str:
    """SHA-256 over the files that compute the numbers (see CODE_GLOBS)."""
    digest = hashlib.sha256()
    files = sorted({p for pattern in CODE_GLOBS for p in root.glob(pattern) if p.is_file()})
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    return digest.hexdigest()


def fingerprint(p: Provenance, root: Path = PROJECT_ROOT) -> dict:
    """What frozen results depend on beyond their own page: if any of it changes, re-execute all."""
    return {
        "data_sha256": p.data_sha256,
        "report_version": p.version,
        "code_sha256": code_digest(root),
        "software": {k: v for k, v in p.software.items()},
    }


def refresh_freeze(root: Path, current: dict) -> str | None:
    """Clear the frozen results when their fingerprint changed; return why, or None if kept."""
    record = root / FINGERPRINT_FILE
    try:
        previous = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        previous = None
    if previous == current:
        return None
    if previous is None:
        reason = "no fingerprint of the frozen results"
    else:
        changed = [key for key in current if previous.get(key) != current[key]]
        reason = "changed: " + ", ".join(changed or ["format"])
    cleared = [d for d in FREEZE_DIRS if (root / d).exists()]
    for folder in cleared:
        shutil.rmtree(root / folder)
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    if cleared:
        return f"{reason}; cleared {', '.join(d + '/' for d in cleared)} so every page re-executes"
    return reason


def write_outputs(p: Provenance, root: Path = PROJECT_ROOT) -> list[Path]:
    """Write `_variables.yml`, `provenance.json` and `_provenance.typ`; return those that changed."""
    outputs = {
        root / VARIABLES_FILE: variables_yaml(p),
        root / RECORD_FILE: json.dumps(p.as_dict(), indent=2, ensure_ascii=False) + "\n",
        root / TYPST_FILE: typst_header(p),
    }
    return [path for path, text in outputs.items() if write_if_changed(path, text)]


def pre_render(root: Path = PROJECT_ROOT, data: Path | str | None = None) -> Provenance:
    """The whole step: collect, write the generated files, keep `_freeze/` honest."""
    p = collect(data, root=root)
    write_outputs(p, root)
    why = refresh_freeze(root, fingerprint(p, root))
    print(f"provenance: {p.footer}")
    if why:
        print(f"provenance: frozen results: {why}")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis.provenance", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=PROJECT_ROOT, help="project folder (default: this project)")
    parser.add_argument("--data", help="input file (default: $REPORT_DATA, else the synthetic cohort)")
    args = parser.parse_args(argv)
    try:
        pre_render(args.root.resolve(), args.data)
    except FileNotFoundError as error:
        print(f"provenance: error: {error}", file=sys.stderr)
        return 2
    return 0


__all__ = [
    "Provenance", "collect", "configuration_markdown", "horizons_text", "month_days_text", "pre_render",
    "provenance_markdown", "software_markdown",
]

if __name__ == "__main__":
    sys.exit(main())
