"""The build tools' command line (`python -m analysis.build COMMAND ...`; see `__main__.py`)."""
from __future__ import annotations

import argparse
import sys

from analysis.build import (deliveries, full_report, provenance, publish, publish_init, qmd, quarto, records,
                            registry_synthetic, release, screenshots, sections, site_check, synthetic)


def _check_site(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m analysis.build check-site",
                                     description="check a rendered site: links, footer, PDF, cross-references, "
                                                 "no patient-level data; exit 1 on problems")
    site_check.add_arguments(parser)
    args = parser.parse_args(argv)
    return args.run(args)


COMMANDS = {
    "provenance": provenance.main,
    "sections": sections.main,
    "execute": lambda argv: qmd.main(["execute", *argv]),
    "preview": lambda argv: qmd.main(["preview", *argv]),
    "check-site": _check_site,
    "publish": publish.main,
    "publish-init": publish_init.main,
    "release-study": release.main,
    "full-report": full_report.main,
    "records": records.main,
    "quarto": quarto.main,
    "data": synthetic.main,
    "registry": registry_synthetic.main,
    "screenshots": screenshots.main,
    "deliveries": deliveries.main,
}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(f"usage: python -m analysis.build {{{','.join(COMMANDS)}}} ...", file=sys.stderr)
        return 2
    return COMMANDS[argv[0]](argv[1:])
