"""`python -m analysis adjusted DATA --endpoint E --by COLUMN --covariates a,b [--times 12,60] ... --json`.

Adjusted (standardised) probabilities per group, as `riskRegression::ate`: survival for os/efs,
cumulative incidence for relapse/nrm, each with its influence-function SE and 95% CI, and every
pairwise difference and ratio with its CI and p. Times are months and key the JSON as given.
"""
from __future__ import annotations

import argparse
import json
import math
from typing import TYPE_CHECKING

from analysis.cli.data import add_data_arguments, check_names, cohort_and_study
from analysis.cli.estimates import parse_times
from analysis.cli.model import parse_references

if TYPE_CHECKING:
    from analysis.analyses.adjusted import AdjustedOutcome


def _number(value):
    return None if value is None or math.isnan(value) else float(value)


def _contrasts(contrasts, times) -> list[dict]:
    rows = []
    for c in contrasts:
        at = {}
        for key, t in times:
            estimate, se, lower, upper, p = c.at(t)
            at[key] = {"estimate": _number(estimate), "se": _number(se), "lower": _number(lower),
                       "upper": _number(upper), "p": _number(p)}
        rows.append({"level": c.level, "reference": c.reference, "at": at})
    return rows


def adjusted_document(outcome: "AdjustedOutcome", times: list[tuple[str, float]]) -> dict:
    """The JSON interface of the `adjusted` command."""
    result = outcome.result
    groups = {}
    for curve in result.curves:
        at = {}
        for key, t in times:
            point = curve.at(t)
            at[key] = {"estimate": _number(point.estimate), "se": _number(point.std_err),
                       "lower": _number(point.lower), "upper": _number(point.upper)}
        groups[curve.level] = {"n": curve.n, "events": curve.events, "at": at}
    return {
        "endpoint": outcome.endpoint,
        "kind": outcome.kind,
        "by": outcome.by,
        "adjusted_for": list(outcome.adjusted_for),
        "terms": list(outcome.terms),
        "references": outcome.references,
        "ties": result.ties,
        "method": "g-formula (riskRegression::ate): Cox" if outcome.kind == "survival"
                  else "g-formula (riskRegression::ate): cause-specific Cox of both causes",
        "n": result.n,
        "events": result.events,
        "competing_events": result.competing_events,
        "time_unit": "months",
        "excluded": [{"reason": reason, "n": k} for reason, k in outcome.exclusions],
        "groups": groups,
        "differences": _contrasts(result.differences, times),
        "ratios": _contrasts(result.ratios, times),
    }


def _percent(value) -> str:
    return "NA" if value is None else f"{100 * value:.1f}%"


def command(args: argparse.Namespace) -> int:
    cohort, study = cohort_and_study(args)
    covariates = [c.strip() for c in (args.covariates or "").split(",") if c.strip()]
    check_names("--by", [args.by], cohort, study)
    check_names("--covariates", covariates, cohort, study)
    from analysis.analyses.adjusted import adjusted_endpoint  # (its libraries: only when this command runs)

    outcome = adjusted_endpoint(cohort.data, args.endpoint, args.by, covariates,
                                times=[t for _, t in args.times], ties=args.ties,
                                reference=parse_references(args.reference))
    document = adjusted_document(outcome, args.times)
    if args.json:
        print(json.dumps(document, indent=2, ensure_ascii=False))
        return 0
    scale = "survival" if outcome.kind == "survival" else "cumulative incidence"
    print(f"Adjusted {scale} of {outcome.endpoint} by {outcome.by}, adjusted for "
          f"{', '.join(outcome.adjusted_for) or 'nothing'} (n = {document['n']}, events = {document['events']})")
    for level, group in document["groups"].items():
        cells = [f"{key} mo: {_percent(p['estimate'])} ({_percent(p['lower'])}-{_percent(p['upper'])})"
                 for key, p in group["at"].items()]
        print(f"  {level:<12} n={group['n']:<5} " + "; ".join(cells))
    for row in document["differences"]:
        cells = [f"{key} mo: {_percent(p['estimate'])} (p = {'NA' if p['p'] is None else format(p['p'], '.3g')})"
                 for key, p in row["at"].items()]
        print(f"  {row['level']} - {row['reference']}: " + "; ".join(cells))
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:

    add_data_arguments(parser)
    parser.add_argument("--endpoint", required=True, choices=("os", "efs", "relapse", "nrm"))
    parser.add_argument("--by", required=True, help="grouping column or derived grouping")
    parser.add_argument("--covariates", default="", help="comma-separated columns or derived groupings to adjust for")
    parser.add_argument("--times", type=parse_times, default=parse_times("12,60"),
                        help="months, comma-separated (default 12,60)")
    parser.add_argument("--ties", choices=("efron", "breslow"), default="efron")
    parser.add_argument("--reference", action="append", metavar="COLUMN=LEVEL",
                        help="reference level of a covariate, or of the grouping (its first level); "
                             "repeat it for several columns")
    parser.add_argument("--json", action="store_true", help="print the JSON document")
    parser.set_defaults(run=command)
