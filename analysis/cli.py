"""Command line: `python -m analysis validate DATA`, `python -m analysis estimates DATA ...`,
`python -m analysis check-site SITE_DIR`."""
from __future__ import annotations

import argparse
import json
import math
import sys

from .endpoints import ENDPOINTS, available_endpoints
from .estimates import estimate_endpoint
from .cli_data import add_data_arguments, cohort_from_args, command_validate
from .loading import DataValidationError
from .cli_model import add_arguments as add_model_arguments
from .cli_adjusted import add_arguments as add_adjusted_arguments
from .site_check import add_arguments as add_check_site_arguments


def _number(value: float) -> float | None:
    """JSON has no NaN: undefined estimates (beyond follow-up) become null."""
    return None if value is None or math.isnan(value) else float(value)


def _parse_times(text: str) -> list[tuple[str, float]]:
    keys = [t.strip() for t in text.split(",") if t.strip()]
    try:
        return [(key, float(key)) for key in keys]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--times must be numbers in months separated by commas, got {text!r}")


parse_times = _parse_times  # public: the `adjusted` command reads --times alike


def estimates_document(data, by: str | None, times: list[tuple[str, float]]) -> dict:
    """The stable JSON interface of SPEC's `estimates` command."""
    endpoints = {}
    for name in available_endpoints(data):
        overall = estimate_endpoint(data, name)
        grouped = estimate_endpoint(data, name, by=by) if by else None
        curves = list(overall.curves) + (list(grouped.curves) if grouped else [])
        groups = {}
        for curve in curves:
            at = {}
            for key, t in times:
                point = curve.at(t)
                at[key] = {"estimate": _number(point.estimate), "lower": _number(point.lower),
                           "upper": _number(point.upper)}
            groups[curve.label] = {"n": curve.n, "events": curve.events, "at": at}
        test = grouped.test if grouped else None
        endpoints[name] = {
            "kind": overall.kind,
            "groups": groups,
            "test": None if test is None else {"name": test.name, "statistic": _number(test.statistic),
                                               "df": test.df, "p": _number(test.p)},
        }
    return {"n": len(data), "time_unit": "months", "endpoints": endpoints}


def command_estimates(args: argparse.Namespace) -> int:
    cohort = cohort_from_args(args)
    document = estimates_document(cohort.data, args.by, args.times)
    if args.json:
        print(json.dumps(document, indent=2, ensure_ascii=False))
        return 0
    for name, result in document["endpoints"].items():
        print(f"{ENDPOINTS[name].title} ({result['kind']})")
        for label, group in result["groups"].items():
            cells = []
            for key, point in group["at"].items():
                if point["estimate"] is None:
                    cells.append(f"{key} mo: NA")
                else:
                    cells.append(f"{key} mo: {100 * point['estimate']:.1f}% "
                                 f"({100 * (point['lower'] or 0):.1f}-{100 * (point['upper'] or 0):.1f})")
            print(f"  {label:<12} n={group['n']:<5} events={group['events']:<5} " + "; ".join(cells))
        if result["test"]:
            test = result["test"]
            print(f"  {test['name']}: chi2 = {test['statistic']:.3f}, df = {test['df']}, p = {test['p']:.4g}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analysis", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser("validate", help="report every problem in a data file; exit 1 on errors")
    add_data_arguments(check)
    check.set_defaults(run=command_validate)

    estimates = commands.add_parser("estimates", help="estimates of every endpoint the data support")
    add_data_arguments(estimates)
    estimates.add_argument("--by", help="grouping column (or graft_cb_vs_other, status_crpr_vs_nr, age_group)")
    estimates.add_argument("--times", type=_parse_times, default=_parse_times("12,60"),
                           help="months, comma-separated (default 12,60)")
    estimates.add_argument("--json", action="store_true", help="print the JSON document")
    estimates.set_defaults(run=command_estimates)

    add_model_arguments(commands.add_parser("model", help="Cox or Fine-Gray regression of one endpoint"))
    add_adjusted_arguments(commands.add_parser("adjusted", help="adjusted (standardised) probabilities by group"))

    site = commands.add_parser("check-site", help="check a rendered site: links, footer, PDF, cross-references, "
                                                  "no patient-level data; exit 1 on problems")
    add_check_site_arguments(site)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except DataValidationError as error:
        print(error, file=sys.stderr)
        return 1
    except (FileNotFoundError, KeyError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
