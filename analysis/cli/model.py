"""`python -m analysis model DATA --endpoint E --method cox|finegray --covariates a,b ... --json`."""
from __future__ import annotations

import argparse
import json
import math

from analysis.cli.data import add_data_arguments, check_names, cohort_and_study
from analysis.domain.states import STATES


def parse_references(values: list[str]) -> dict:
    pairs = {}
    for text in values or []:
        column, sep, level = text.partition("=")
        if not sep or not column or not level:
            raise argparse.ArgumentTypeError(f"--reference takes column=level, got {text!r}")
        pairs[column] = level
    return pairs


def parse_landmark(text: str) -> float:
    """--landmark: months after HCT, a finite number >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--landmark must be a number of months, got {text!r}")
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"--landmark must be months after HCT (finite, 0 or more), got {text}")
    return value


def command_model(args: argparse.Namespace) -> int:
    cohort, study = cohort_and_study(args)
    covariates = [c.strip() for c in (args.covariates or "").split(",") if c.strip()]
    check_names("--covariates", covariates, cohort, study)
    from analysis.analyses.models import fit_model  # (its libraries: only when this command runs)
    from analysis.cli.documents import model_document

    result = fit_model(cohort.data, args.endpoint, args.method, covariates, time_dependent=args.time_dependent,
                       landmark=args.landmark, ties=args.ties, reference=parse_references(args.reference))
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
    parser.add_argument("--covariates", default="", help="comma-separated columns (SPEC or the study's own, "
                                                           "mapping.extra) or derived groupings")
    parser.add_argument("--time-dependent", choices=tuple(STATES), help="a state entering at its onset")
    parser.add_argument("--landmark", type=parse_landmark, help="months after HCT; time is measured from it")
    parser.add_argument("--ties", choices=("efron", "breslow"), default="efron")
    parser.add_argument("--reference", action="append", metavar="COLUMN=LEVEL",
                        help="reference level of a categorical covariate; repeat it for several columns "
                             "(--reference graft_source=PB --reference sex=F)")
    parser.add_argument("--json", action="store_true", help="print the JSON document")
    parser.set_defaults(run=command_model)

