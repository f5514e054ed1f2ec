"""`python -m analysis model DATA --endpoint E --method cox|finegray --covariates a,b ... --json`."""
from __future__ import annotations

import argparse
import json
import math

from .cli_data import add_data_arguments, cohort_from_args
from .models import TIME_DEPENDENT, ModelResult, fit_model


def _number(value):
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _test(test):
    if test is None:
        return None
    return {"name": test.name, "statistic": _number(test.statistic), "df": int(test.df), "p": _number(test.p)}


def model_document(result: ModelResult) -> dict:
    """The stable JSON interface of SPEC's `model` command."""
    return {
        "endpoint": result.endpoint,
        "method": result.method,
        "n": result.n,
        "events": result.events,
        "ties": result.ties,
        "time_dependent": result.time_dependent,
        "landmark": result.landmark,
        "references": result.references,
        "excluded": [{"reason": reason, "n": k} for reason, k in result.exclusions],
        "terms": [
            {"term": t.term, "coef": _number(t.coef), "se": _number(t.se), "hr": _number(t.hr),
             "lower": _number(t.lower), "upper": _number(t.upper), "p": _number(t.p)}
            for t in result.terms
        ],
        "tests": {name: _test(test) for name, test in result.tests.items()},
    }


def _references(values: list[str]) -> dict:
    pairs = {}
    for text in values or []:
        column, sep, level = text.partition("=")
        if not sep or not column or not level:
            raise argparse.ArgumentTypeError(f"--reference takes column=level, got {text!r}")
        pairs[column] = level
    return pairs


def command_model(args: argparse.Namespace) -> int:
    cohort = cohort_from_args(args)
    covariates = [c.strip() for c in (args.covariates or "").split(",") if c.strip()]
    result = fit_model(cohort.data, args.endpoint, args.method, covariates, time_dependent=args.time_dependent,
                       landmark=args.landmark, ties=args.ties, reference=_references(args.reference))
    document = model_document(result)
    if args.json:
        print(json.dumps(document, indent=2, ensure_ascii=False))
        return 0
    label = "Cox" if result.method == "cox" else "Fine-Gray"
    print(f"{label} model of {result.endpoint}: n = {result.n}, events = {result.events}")
    print(f"  {'term':<28} {'HR':>7} {'95% CI':>17} {'p':>8}")
    for t in result.terms:
        print(f"  {t.term:<28} {t.hr:7.3f} {t.lower:8.3f}-{t.upper:<8.3f} {t.p:8.4f}")
    for name, test in result.tests.items():
        if test is not None:
            print(f"  {test.name} test: chi2 = {test.statistic:.3f}, df = {test.df}, p = {test.p:.4g}")
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_data_arguments(parser)
    parser.add_argument("--endpoint", required=True, help="os, efs, relapse, nrm, ...")
    parser.add_argument("--method", choices=("cox", "finegray"), default="cox")
    parser.add_argument("--covariates", default="", help="comma-separated columns or derived groupings")
    parser.add_argument("--time-dependent", choices=tuple(TIME_DEPENDENT), help="a state entering at its onset")
    parser.add_argument("--landmark", type=float, help="months after HCT; time is measured from it")
    parser.add_argument("--ties", choices=("efron", "breslow"), default="efron")
    parser.add_argument("--reference", action="append", metavar="COLUMN=LEVEL", help="reference level override")
    parser.add_argument("--json", action="store_true", help="print the JSON document")
    parser.set_defaults(run=command_model)


parse_references = _references  # public: the `adjusted` command reads --reference alike
