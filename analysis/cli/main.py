"""Command line: `python -m analysis validate DATA`, `python -m analysis estimates DATA ...`,
`python -m analysis model DATA ...`, `python -m analysis adjusted DATA ...` (the build tools have their own: `python -m analysis.build`)."""
from __future__ import annotations

import argparse
import sys

from analysis.cli.adjusted import add_arguments as add_adjusted_arguments
from analysis.cli.data import add_data_arguments, command_validate
from analysis.cli.estimates import add_arguments as add_estimates_arguments
from analysis.cli.model import add_arguments as add_model_arguments
from analysis.data.problems import DataValidationError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analysis", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser("validate", help="report every problem in a data file; exit 1 on errors")
    add_data_arguments(check)
    check.set_defaults(run=command_validate)

    add_estimates_arguments(commands.add_parser("estimates", help="estimates of every endpoint the data support"))

    add_model_arguments(commands.add_parser("model", help="Cox or Fine-Gray regression of one endpoint"))

    add_adjusted_arguments(commands.add_parser("adjusted", help="adjusted (standardised) probabilities by group"))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except DataValidationError as error:
        print(error, file=sys.stderr)
        return 1
    except KeyError as error:  # str() of a KeyError is its repr: 'agvhd_day' with quotes, no sentence
        print(f"error: {error.args[0] if error.args else error}", file=sys.stderr)
        return 2
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
