"""Command line: `python -m analysis validate DATA`, `python -m analysis estimates DATA ...`,
`python -m analysis model DATA ...`, `python -m analysis adjusted DATA ...` (the build tools have their own: `python -m analysis.build`)."""
from __future__ import annotations

import argparse
import os
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


#: The exit status of a command whose reader stopped reading (`| head`), as a shell reports a program
#: ended by SIGPIPE (128 + 13).
BROKEN_PIPE = 141


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        status = args.run(args)
        sys.stdout.flush()  # inside the try: a closed pipe shows here, not at the interpreter's exit
        return status
    except BrokenPipeError:
        # The reader (`head`, a pager) has all it wanted: end quietly, with nothing left to flush.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return BROKEN_PIPE
    except DataValidationError as error:
        print(error, file=sys.stderr)
        return 1
    except (FileNotFoundError, KeyError, ValueError) as error:
        print(f"error: {error.args[0] if isinstance(error, KeyError) and error.args else error}", file=sys.stderr)
        return 2
    except OSError as error:  # a folder, a file without permission, a device
        where = f": {error.filename}" if error.filename else ""
        print(f"error: cannot read{where}: {error.strerror or error}", file=sys.stderr)
        return 2
