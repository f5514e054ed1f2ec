"""Find the Quarto CLI every rendering command uses, installing the pinned one when there is none.

`make report` and `make report-ci` call this first, so they use the same Quarto, found the same way
(publishing never calls Quarto: `make publish-init` and `make publish` work on the rendered `_site/`;
`make preview` executes the pages without Quarto):

1. `quarto` on PATH, when it is at least `MINIMUM` (with a warning when it is older than the release
   line the report is checked with, `CHECKED`);
2. else the Quarto already installed in the project's venv by an earlier run;
3. else the pinned `quarto-cli` from PyPI (`requirements-quarto.lock`) is installed into the venv.
   That package downloads the Quarto binary from GitHub while it is built; where that fails (no
   internet), the command ends with one message saying what failed and the two ways on, and the
   venv is left as it was.

    python -m analysis.build quarto [--venv .venv] [--no-install]   # prints the path of quarto to use

Exit 0 with the path on stdout; exit 1 with one message on stderr.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from analysis.data.paths import PROJECT_ROOT

MINIMUM = (1, 5, 0)  # quarto-required in _quarto.yml
CHECKED = (1, 10)  # the release line the report is rendered and reviewed with
PIN_FILE = PROJECT_ROOT / "requirements-quarto.lock"
WAYS_ON = ("Either install Quarto {checked} from https://quarto.org/docs/download/ (it then comes from PATH), "
           "or run 'make report' on a machine with internet access.")


class QuartoUnavailable(RuntimeError):
    """No usable Quarto, and the pinned one could not be installed."""


def _version_text(version: tuple[int, ...]) -> str:
    return ".".join(str(part) for part in version)


def quarto_version(executable: str | Path) -> tuple[int, ...] | None:
    """`quarto --version` as a tuple of integers, or None when it does not run or says nothing usable."""
    try:
        run = subprocess.run([str(executable), "--version"], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.match(r"\s*(\d+)\.(\d+)(?:\.(\d+))?", run.stdout) if run.returncode == 0 else None
    return tuple(int(part) for part in found.groups(default="0")) if found else None


def _venv_quarto(venv: Path) -> Path:
    return venv / "bin" / "quarto"


def pinned_requirement() -> str:
    lines = [line.split("#")[0].strip() for line in PIN_FILE.read_text(encoding="utf-8").splitlines()]
    (requirement,) = [line for line in lines if line.startswith("quarto-cli==")]
    return requirement


def _install_pinned(venv: Path) -> Path:
    """Install the pinned quarto-cli into the venv, or leave the venv as it was and raise."""
    requirement = pinned_requirement()
    python = venv / "bin" / "python"
    print(f"Quarto was not found on PATH; installing {requirement} into {venv} "
          "(it downloads the Quarto binary, about 150 MB)...", file=sys.stderr)
    # --no-deps: the package asks for the whole `jupyter` meta-package; the venv already has the
    # kernel and notebook packages Quarto's Jupyter engine uses (requirements.lock).
    run = subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                          "--no-deps", requirement], capture_output=True, text=True)
    quarto = _venv_quarto(venv)
    if run.returncode == 0 and quarto_version(quarto) is not None:
        return quarto
    # Whatever pip managed to put in place goes again, so the next attempt starts clean.
    subprocess.run([str(python), "-m", "pip", "uninstall", "--quiet", "--yes", "quarto-cli"],
                   capture_output=True, text=True)
    reason = _last_error_line(run.stdout + run.stderr) if run.returncode != 0 else "the installed quarto does not run"
    raise QuartoUnavailable(f"Installing {requirement} into {venv} failed ({reason}). "
                            + WAYS_ON.format(checked=_version_text(CHECKED)))


def _last_error_line(output: str) -> str:
    """The line of pip's output that says why: the package's own download error when there is one."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    download = [line for line in lines if line.startswith("Error downloading Quarto")]
    errors = [line for line in lines if "error" in line.lower()]
    return (download or errors or lines or ["pip failed"])[-1][:300]


def find_quarto(venv: Path, *, install: bool = True, warn=print) -> Path:
    """The quarto executable to render with (see the module docstring for the order)."""
    on_path = shutil.which("quarto")
    if on_path is not None:
        version = quarto_version(on_path)
        if version is not None and version >= MINIMUM:
            if version[:2] < CHECKED:
                warn(f"Using Quarto {_version_text(version)} from {on_path}; the report is checked with Quarto "
                     f"{_version_text(CHECKED)}, so its pages may differ in details.")
            return Path(on_path)
        described = f"Quarto {_version_text(version)}" if version else "a quarto that does not run"
        warn(f"Ignoring {described} at {on_path}: the report needs Quarto >= {_version_text(MINIMUM)}.")
    in_venv = _venv_quarto(venv)
    if in_venv.exists() and (quarto_version(in_venv) or (0,)) >= MINIMUM:
        return in_venv
    if not install:
        raise QuartoUnavailable(f"The Quarto CLI (>= {_version_text(MINIMUM)}) was not found. "
                                + WAYS_ON.format(checked=_version_text(CHECKED)))
    return _install_pinned(venv)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis.build quarto", description=__doc__.splitlines()[0])
    parser.add_argument("--venv", type=Path, default=Path(os.environ.get("VIRTUAL_ENV") or PROJECT_ROOT / ".venv"))
    parser.add_argument("--no-install", action="store_true", help="only look; never install the pinned Quarto")
    args = parser.parse_args(argv)
    try:
        quarto = find_quarto(args.venv.absolute(), install=not args.no_install,
                             warn=lambda message: print(message, file=sys.stderr))
    except QuartoUnavailable as problem:
        print(problem, file=sys.stderr)
        return 1
    print(quarto)
    return 0


if __name__ == "__main__":
    sys.exit(main())
