"""Which study a release renders, and whether this checkout holds its data.

A release tag must be reproducible: rendering the tag again must give the same report.  A study
whose extract is private (git-ignored, e.g. `studies/bmt.yml` reading `data/private/...`) cannot be
rendered from the tag alone, so the study a release renders is recorded in the repository, in
`pyproject.toml`:

    [tool.report]
    release-study = "study.yml"

`make report-ci` renders that study (unless $REPORT_STUDY names another), every site records the
study it rendered (`provenance.json`, `study.file`), `make publish` refuses a site rendered from
another study, and the release workflow runs `python -m analysis.build release-study --check` first:
it refuses, with a message, a release whose study data this checkout does not hold (such a release
is published from the analyst's machine, README "Publishing").

    python -m analysis.build release-study            # prints the study file, e.g. study.yml
    python -m analysis.build release-study --check    # exit 1 with a message when its data are absent
"""
from __future__ import annotations

import argparse
import os
import sys
import tomllib
from pathlib import Path

from analysis.data.paths import PROJECT_ROOT

DEFAULT = "study.yml"


class ReleaseStudyError(RuntimeError):
    """The study a release renders cannot be rendered here; the message says why and what to do."""


def release_study(root: Path = PROJECT_ROOT) -> str:
    """The project-relative study file releases render (`[tool.report] release-study`, else study.yml)."""
    try:
        config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ReleaseStudyError(f"{root / 'pyproject.toml'} cannot be read ({error})") from error
    value = config.get("tool", {}).get("report", {}).get("release-study", DEFAULT)
    if not isinstance(value, str) or not value.strip():
        raise ReleaseStudyError(f"{root / 'pyproject.toml'}: [tool.report] release-study must name a study file, "
                                f"got {value!r}")
    return value.strip()


def check_release_data(root: Path = PROJECT_ROOT) -> str:
    """The release study, if its file and its extract are in this checkout; else ReleaseStudyError."""
    from analysis.data.study import StudyConfigError, read_study

    name = release_study(root)
    path = root / name
    if not path.is_file():
        raise ReleaseStudyError(f"the release study {name} (pyproject.toml, [tool.report] release-study) is not "
                                "in this checkout")
    try:
        study = read_study(path)
    except StudyConfigError as error:
        raise ReleaseStudyError(f"the release study {name} cannot be read: {error}") from error
    if not study.data.is_file():
        data = Path(os.path.normpath(study.data.absolute()))
        shown = data.relative_to(root.absolute()) if data.is_relative_to(root.absolute()) else data
        raise ReleaseStudyError(
            f"this release renders the study {name}, whose data {shown} are not in this checkout (private "
            "extracts never enter git). It cannot be published from here: publish it from the machine that "
            "holds the data, as the README says (Publishing, releases from private data)")
    return name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis.build release-study", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when this checkout lacks the study's data")
    parser.add_argument("--root", type=Path, default=PROJECT_ROOT, help="project folder (default: this project)")
    args = parser.parse_args(argv)
    try:
        name = check_release_data(args.root) if args.check else release_study(args.root)
    except ReleaseStudyError as error:
        print(f"release-study: {error}", file=sys.stderr)
        return 1
    print(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
