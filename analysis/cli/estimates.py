"""`python -m analysis estimates DATA [--by COLUMN] [--times 12,60] --json`."""
from __future__ import annotations

import argparse
import json
import math

from analysis.cli.data import add_data_arguments, check_names, cohort_and_study
from analysis.domain.endpoints import ENDPOINTS


def parse_times(text: str) -> list[tuple[str, float]]:
    """'12,60' -> [('12', 12.0), ('60', 60.0)]: months after HCT, each a finite number >= 0."""
    keys = [t.strip() for t in text.split(",") if t.strip()]
    try:
        times = [(key, float(key)) for key in keys]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--times must be numbers in months separated by commas, got {text!r}")
    if not times:
        raise argparse.ArgumentTypeError("--times needs at least one time in months")
    wrong = [key for key, t in times if not math.isfinite(t) or t < 0]
    if wrong:
        raise argparse.ArgumentTypeError(f"--times must be months after HCT (finite, 0 or more), got {', '.join(wrong)}")
    return times


def _number(value, text: str) -> str:
    return "NA" if value is None else format(value, text)


def command_estimates(args: argparse.Namespace) -> int:
    cohort, study = cohort_and_study(args)
    if args.by:
        check_names("--by", [args.by], cohort, study)
    from analysis.cli.documents import estimates_document  # (the estimators: only when this command runs)

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
            test = result["test"]  # statistic and p are null when the test is undefined (e.g. no events)
            print(f"  {test['name']}: chi2 = {_number(test['statistic'], '.3f')}, df = {test['df']}, "
                  f"p = {_number(test['p'], '.4g')}")
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_data_arguments(parser)
    parser.add_argument("--by", help="grouping column, a column of the study (mapping.extra), or graft_cb_vs_other, "
                                     "status_crpr_vs_nr, age_group; not an id, date or day column, at most 20 levels")
    parser.add_argument("--times", type=parse_times, default=parse_times("12,60"),
                        help="months, comma-separated (default 12,60)")
    parser.add_argument("--json", action="store_true", help="print the JSON document")
    parser.set_defaults(run=command_estimates)
