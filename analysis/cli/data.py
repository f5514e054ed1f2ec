"""The command line's data options and `python -m analysis validate`.

`validate [DATA] [--study study.yml] [--sheet NAME] [--encoding ENC]` reads the extract
(DATA, else the study's `data`), applies the study's record changes and mapping, prints every
problem as a table (line, patient_id, column, value, severity, problem; a warning repeated on many
records as one line with its count and first patients) and, when the file is valid, the inclusion
flow of the study's criteria.  It exits 1 on errors, 0 otherwise; it never writes anything.
The table shows patient ids and values: it is for the data manager's terminal, not for a report.
"""
from __future__ import annotations

import argparse
import sys
import unicodedata
from pathlib import Path

from analysis.analyses.settings import load_study, unusable
from analysis.data.cohort import Cohort, load_cohort
from analysis.data.inclusion import apply_inclusion
from analysis.data.mapping import Mapping
from analysis.data.paths import shown_path
from analysis.data.problems import Problem, RepeatedWarning, summarise_warnings
from analysis.data.study import Study, StudyConfigError, require_data_file
from analysis.data.study_file import locate
from analysis.data.validate import read_and_validate
from analysis.domain.groupings import grouping_problem


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """DATA (optional with --study), --study, --sheet, --encoding."""
    parser.add_argument("data", nargs="?", help="the extract (default: the study's data)")
    parser.add_argument("--study", help="a study configuration (study.yml): its mapping, time unit, record "
                                        "exclusions and corrections, encoding, sheet and inclusion criteria apply")
    parser.add_argument("--sheet", help="worksheet of an .xlsx file, by name or number (default: the first)")
    parser.add_argument("--encoding", help="CSV encoding (default: UTF-8 with or without BOM, then CP932)")


def _study(args: argparse.Namespace) -> Study | None:
    return load_study(args.study) if getattr(args, "study", None) else None


def data_options(args: argparse.Namespace, study: Study | None = None) -> tuple[Path, dict]:
    """The data path and the keywords of `load_cohort` the arguments give.

    Explicit --encoding / --sheet override the study's.
    """
    study = study if study is not None else _study(args)
    if args.data:
        path = Path(args.data)
        if path.is_dir():
            raise ValueError(f"DATA: {path} is a folder, not an extract file")
    elif study is not None:
        require_data_file(study)
        path = study.data
    else:
        raise ValueError("give the data file (or --study with a `data:` setting)")
    options = {
        "encoding": args.encoding or (study.encoding if study else None),
        "sheet": _sheet(args.sheet) if args.sheet is not None else (study.sheet if study else None),
        "mapping": study.mapping if study else None,
        "include": study.include if study else (),
        "changes": study.changes if study else None,
        "extract_date": study.extract_date if study else None,
    }
    if study is not None and study.synthetic is not None:
        options["synthetic"] = study.synthetic
    return path, options


def _sheet(text: str) -> str | int:
    return int(text) if text.isdigit() else text


def cohort_and_study(args: argparse.Namespace) -> tuple[Cohort, Study | None]:
    """`load_cohort` with the command line's data options, and the study they came from.

    What the delivery cannot tell (a status column's follow-up ending at the first event) is said
    on stderr, so that a script reading the JSON on stdout is not misled silently."""
    study = _study(args)
    path, options = data_options(args, study)
    cohort = load_cohort(path, **options)
    from analysis.present.prose import follow_up_caveat  # (the presentation layer: only for this note)

    caveat = follow_up_caveat(cohort.follow_up_ends_at_first_event)
    if caveat:
        print(f"note: {caveat}", file=sys.stderr)
    return cohort, study


def cohort_from_args(args: argparse.Namespace) -> Cohort:
    """`load_cohort` with the command line's data options (for `estimates`, `model`...)."""
    return cohort_and_study(args)[0]


def check_names(option: str, names, cohort: Cohort, study: Study | None) -> None:
    """Refuse a --by or --covariates name the data cannot serve, saying why (declared unavailable,
    not a column, a derived grouping's column missing)."""
    for name in names:
        why = unusable(name, study, columns=cohort.data.columns)
        if why is not None:
            raise ValueError(f"{option} {name}: {why}")


def _width(text: str) -> int:
    """Terminal columns of `text`: East Asian wide characters (漢字, かな) take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def _row(p: Problem | RepeatedWarning) -> tuple[str, ...]:
    if isinstance(p, RepeatedWarning):
        more = ", ..." if p.count > len(p.first) else ""
        return ("", ", ".join(p.first) + more, p.column, "", "warning", f"{p.message} ({p.count} records)")
    return (str(p.line or ""), p.patient_id or "", p.column_label, (p.value or "").replace("\n", "\\n"),
            p.severity, p.message)


def _table(problems) -> list[str]:
    header = ("line", "patient_id", "column", "value", "severity", "problem")
    rows = [_row(p) for p in problems]
    widths = [max(_width(h), *(_width(r[i]) for r in rows)) for i, h in enumerate(header)]
    out = ["  ".join(_pad(h, w) for h, w in zip(header, widths)).rstrip()]
    out += ["  ".join(_pad(v, w) for v, w in zip(row, widths)).rstrip() for row in rows]
    return out


def command_validate(args: argparse.Namespace) -> int:
    study = _study(args)
    path, options = data_options(args, study)
    frame, problems, n_records = read_and_validate(path, encoding=options["encoding"], sheet=options["sheet"],
                                                   mapping=options["mapping"], changes=options["changes"],
                                                   extract_date=options["extract_date"])
    errors = [p for p in problems if p.severity == "error"]
    flow = []
    if not errors and options["include"]:
        keep, exclusions, inclusion_problems = apply_inclusion(frame, options["include"])
        problems = inclusion_problems + problems
        errors = inclusion_problems
        if not errors:
            flow = [f"  excluded, {reason}: {k}" for reason, k in exclusions] + [f"  analysed: {int(keep.sum())}"]
    if options["changes"] and not errors:
        excluded = [f"  excluded by the study file, {reason}: {k}" for reason, k in options["changes"].exclusion_counts()]
        flow = excluded + (flow or [f"  analysed: {len(frame)}"])
    if not errors and study is not None:
        # The study's groupings and covariates on these data: a column they need may be missing from the
        # extract (a study file's problem, named with its line, as when the study is loaded).
        missing = [f"{key}: {reason} ({shown_path(path)})"
                   for key, names in (("groupings", study.groupings), ("covariates", study.covariates))
                   for name in names if (reason := unusable(name, study, columns=frame.columns)) is not None]
        if missing:
            raise StudyConfigError(f"{shown_path(study.source) if study.source else 'study'}:\n"
                                   + "\n".join(f"  {locate(problem, study.lines)}" for problem in missing))
        # a free-text column may hold more levels than a grouping can
        grouping_errors = [Problem(None, None, by, None, f"groupings: cannot group patients by {by}: {reason}")
                           for by in study.groupings if (reason := grouping_problem(frame, by)) is not None]
        problems, errors = grouping_errors + problems, grouping_errors
    shown = shown_path(path)
    if problems:
        print("\n".join(_table(summarise_warnings(problems))))
        print(f"{shown}: {n_records} records, {len(errors)} error(s), {len(problems) - len(errors)} warning(s)")
    else:
        print(f"{shown}: {n_records} records, no problems found")
    if flow:
        print("\n".join(flow))
    if not errors and getattr(options["mapping"], "follow_up_ends_at_first_event", False):
        from analysis.present.prose import follow_up_caveat

        print(f"note: {follow_up_caveat(True)}")
    return 1 if errors else 0


__all__ = ["Mapping", "add_data_arguments", "check_names", "cohort_and_study", "cohort_from_args", "command_validate",
           "data_options"]
