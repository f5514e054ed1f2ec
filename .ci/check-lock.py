"""Check that every pin of the locks installs on the Pythons we support, on Linux x86-64.

The project runs on Python 3.11-3.13, but this machine installs it with one Python only.  For each
other version, pip is asked (without installing anything) for a wheel of every pin built for that
version and for Linux x86-64; a pin without one passes only if PyPI has its source distribution and
it builds a pure-Python wheel (`py3-none-any`), which installs on any version.

    python .ci/check-lock.py [--python 3.12 --python 3.13] [requirements.lock ...]

Exit 1, naming each pin that would not install, if any.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCKS = ("requirements.lock", "requirements-test.lock")
VERSIONS = ("3.12", "3.13")
# glibc versions of the manylinux wheels a current Linux (Debian 12, Ubuntu 24.04) installs.
PLATFORMS = ("manylinux2014_x86_64", *(f"manylinux_2_{minor}_x86_64" for minor in (5, 12, 17, 24, 28, 31, 34, 35)),
             "linux_x86_64")
PURE_WHEEL = re.compile(r"-py(2\.)?py3-none-any\.whl$|-py3-none-any\.whl$")


def pins(lock: Path) -> list[str]:
    return [line.split("#")[0].strip() for line in lock.read_text(encoding="utf-8").splitlines()
            if "==" in line.split("#")[0]]


def pip(*args: str, timeout: float | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
                          capture_output=True, text=True, timeout=timeout)


def missing_wheel(requirements: list[str], version: str, scratch: Path) -> str | None:
    """The first requirement pip finds no wheel for on Python `version`, Linux x86-64 (None: all have one)."""
    if not requirements:
        return None
    abi = "cp" + version.replace(".", "")
    platform_args = [arg for platform in PLATFORMS for arg in ("--platform", platform)]
    result = pip("install", "--dry-run", "--ignore-installed", "--no-deps", "--only-binary=:all:",
                 "--python-version", version, "--implementation", "cp", "--abi", abi, "--abi", "abi3",
                 "--abi", "none", *platform_args, "--target", str(scratch / "target"), *requirements)
    if result.returncode == 0:
        return None
    found = re.search(r"No matching distribution found for (\S+)", result.stderr)
    if found is None:
        raise SystemExit(f"pip failed for Python {version}:\n{result.stderr}")
    return next(r for r in requirements if r.lower() == found.group(1).lower())


def pure_python_sdist(requirement: str, scratch: Path) -> bool:
    """Whether PyPI has the pin's source distribution and it builds a wheel for any Python."""
    folder = scratch / re.sub(r"\W", "_", requirement)
    fetched = pip("download", "--no-deps", "--no-binary=:all:", "--dest", str(folder / "sdist"), requirement)
    if fetched.returncode != 0:
        return False
    sdists = sorted((folder / "sdist").iterdir())
    try:  # a pure-Python package builds in seconds; one that compiles is not what we are looking for
        built = pip("wheel", "--no-deps", "--wheel-dir", str(folder / "wheel"), str(sdists[0]), timeout=180)
    except subprocess.TimeoutExpired:
        return False
    return built.returncode == 0 and any(PURE_WHEEL.search(w.name) for w in (folder / "wheel").iterdir())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("locks", nargs="*", type=Path, default=[ROOT / name for name in LOCKS])
    parser.add_argument("--python", action="append", dest="versions", help="a Python version (repeat)")
    args = parser.parse_args(argv)
    requirements = [pin for lock in args.locks for pin in pins(lock)]
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        for version in args.versions or VERSIONS:
            remaining = list(requirements)
            # pip stops at the first pin without a wheel: set it aside and ask again for the rest.
            while (lacking := missing_wheel(remaining, version, scratch)) is not None:
                remaining.remove(lacking)
                if pure_python_sdist(lacking, scratch):
                    print(f"Python {version}: {lacking} has no wheel; its source builds a pure-Python wheel")
                else:
                    failures.append(f"Python {version}: {lacking} has no wheel for Linux x86-64 "
                                    "and no pure-Python source distribution")
            if not any(failure.startswith(f"Python {version}:") for failure in failures):
                print(f"Python {version}: every one of {len(requirements)} pins installs")
    for failure in failures:
        print(failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
