"""Every sentence the report writes about a result: the chapters' prose and the tables' footnotes.

Numbers are formatted here (`analysis.present.numbers`), never computed; names come from the one
label table.  Keeping every sentence builder in one module keeps their wording consistent.
"""
from __future__ import annotations

from dataclasses import dataclass

from analysis.analyses.adjusted import AdjustedGrouping, AdjustedOutcome
from analysis.analyses.characteristics import CharacteristicsTable, Count, MedianRange
from analysis.analyses.cohort import CohortOverview
from analysis.analyses.reproduction import PUBLISHED_STUDIES, ReproductionRow, reproduction_summary
from analysis.data.cohort import Cohort
from analysis.data.schema import MONTH_DAYS
from analysis.data.study import Study
from analysis.analyses.models import ModelResult
from analysis.data.schema import level_label, lower_first
from analysis.domain.endpoints import ENDPOINTS
from analysis.domain.groupings import grouping_title
from analysis.domain.states import STATES
from analysis.present.labels import curve_label
from analysis.present.model_rows import covariate_title, split_term
from analysis.present.numbers import fmt_est_ci, fmt_horizon, fmt_months, fmt_p, fmt_p_expr, is_missing
from analysis.present.context import current, resolve_min_cell
from analysis.present.privacy import (CountSet, Shown, audit_counts, events_counts, group_sizes, is_suppressed,
                                      result_sizes, shown_count, suppress_count,
                                      suppression_note)
from analysis.stats.exact import FISHER, KRUSKAL
from analysis.stats.kaplan_meier import FollowUp
from analysis.stats.results import EndpointResult


def test_phrase(result: EndpointResult) -> str:
    """'log-rank P = 0.042' or "Gray's test P = 0.004"."""
    if result.test is None:
        return "no test (a single group)"
    name = "log-rank" if result.test.name == "log-rank" else "Gray's test"
    return f"{name} P = {fmt_p(result.test.p)}"


def findings_markdown(results: tuple[EndpointResult, ...], at: float) -> str:
    """One bullet per factor: each group's estimate at `at` months and the group test."""
    lines = []
    for result in results:
        groups = "; ".join(f"{curve_label(result, curve)} (n = {size.text}) {fmt_est_ci(curve.at(at))}"
                           for curve, size in zip(result.curves, result_sizes(result)))
        lines.append(f"- **{result.by}**: {groups}; {test_phrase(result)}.")
    return f"At {fmt_horizon(at)} after HCT:\n\n" + "\n".join(lines) + "\n"


def _hr_text(term) -> str:
    return f"{term.hr:.2f} (95% CI {term.lower:.2f}-{term.upper:.2f}, P = {fmt_p(term.p)})"


def cr_after_hct_markdown(cr) -> str:
    """The CR-after-HCT comparison in words, or why it is not made."""
    if cr is None:
        return ("This extract does not record status at HCT, primary induction failure and the date of a CR "
                "reached after HCT for both groups, so the comparison of patients in CR/PR at HCT with patients "
                "who reached CR only after HCT is not made.")
    n_pif, n_pif_cr = group_sizes([cr.n_pif, cr.n_pif_cr], nested=True)  # as the Simon-Makuch legend shows them
    return (
        f"Of {n_pif.text} patients transplanted with primary induction failure, {n_pif_cr.text} reached complete "
        "remission after HCT. Counted from their remission date (delayed entry), their overall survival was "
        f"compared with that of patients in CR or PR at HCT (@fig-cr-after; {test_phrase(cr.versus_crpr)}; "
        f"hazard ratio {_hr_text(cr.versus_crpr_cox.terms[0])} in a Cox model on the same rows). Among patients "
        "with primary induction failure, reaching remission after HCT, as a time-dependent state, had a hazard "
        f"ratio of {_hr_text(cr.within_pif_cox.terms[0])} (@fig-cr-within; {test_phrase(cr.within_pif)})."
    )


def gvhd_markdown(gvhd) -> str:
    """Acute and chronic GVHD as time-dependent states for OS, in words."""
    if gvhd is None:
        return "This extract does not record both acute and chronic GVHD with their onset, so this section is empty."
    return (
        f"As time-dependent covariates of a Cox model for overall survival, {gvhd.acute_title[0].lower()}"
        f"{gvhd.acute_title[1:]} had a hazard ratio of {_hr_text(gvhd.acute_cox.terms[0])} and chronic GVHD "
        f"{_hr_text(gvhd.chronic_cox.terms[0])}; @fig-gvhd shows the Simon-Makuch curves. From a day-100 "
        f"landmark, patients with {gvhd.acute_title[0].lower()}{gvhd.acute_title[1:]} by day 100 were compared "
        f"with those without (@fig-agvhd-day100; {test_phrase(gvhd.acute_day100)})."
    )


def estimates_markdown(results, outcomes, default_horizons) -> str:
    """One bullet per endpoint with its estimates at its own horizons (`outcomes.horizons`, in months)."""
    lines = []
    for result in results:
        horizons = outcomes.horizons(result, default_horizons)
        parts = ", ".join(f"{fmt_est_ci(result.overall.at(t))} at {fmt_horizon(t).lower()}" for t in horizons)
        lines.append(f"- {result.title}: {parts}.")
    return "\n".join(lines) + "\n" if lines else "Not recorded in this extract.\n"


# --------------------------------------------------------------------------- models


def _endpoint_kind(model: ModelResult) -> str:
    spec = ENDPOINTS.get(model.endpoint)
    return spec.kind if spec is not None else "survival"


def _ties(model: ModelResult) -> str:
    return {"efron": "Efron", "breslow": "Breslow"}.get(model.ties or "", model.ties or "Efron")


def method_note(model: ModelResult) -> str:
    """What the model is, in one sentence (a table footnote)."""
    if model.method == "finegray":
        text = "Fine-Gray model: subdistribution hazard ratio, robust standard errors and 95% CI as cmprsk::crr."
    elif _endpoint_kind(model) == "incidence":
        text = f"Cause-specific Cox model (competing events censored): {_ties(model)} ties, Wald 95% CI."
    else:
        text = f"Cox proportional-hazards model: {_ties(model)} ties, Wald 95% CI."
    if model.landmark is not None:
        text += (f" Landmark analysis: patients still followed at {model.landmark:g} months after HCT, "
                 "time measured from the landmark.")
    if model.time_dependent:
        title = STATES[model.time_dependent].title if model.time_dependent in STATES else model.time_dependent
        if model.landmark is not None:
            text += f" {title}: whether it began by the landmark."
        else:
            text += f" {title}: a time-dependent covariate (counting-process form)."
    return text


def _model_counts(model: ModelResult, min_cell: int) -> tuple[Shown, Shown, list[tuple[str, Shown]]]:
    """A model's patients, events and exclusions under the small-cell rule: the patients and the
    exclusions add up to the cohort, the events and the patients without one to the patients."""
    counts = CountSet(min_cell)
    n, events = counts.count(model.n), counts.count(model.events)
    counts.partition(n, [events])
    excluded = [(reason, counts.count(k)) for reason, k in model.exclusions if k]
    cohort_n = current().cohort_n
    total = model.n + sum(k for _, k in model.exclusions)
    counts.sums_to(counts.count(cohort_n if cohort_n == total else total, may_hide=False),
                   [n, *(key for _, key in excluded)])
    return counts.state(n), counts.state(events), [(reason, counts.state(key)) for reason, key in excluded]


def count_text(model: ModelResult, min_cell: int = 0) -> str:
    """'n = 120, events = 45' under the small-cell rule (table footnotes and forest plots)."""
    n, events, _ = _model_counts(model, min_cell)
    return f"n = {n.text}, events = {events.text}"


def count_note(model: ModelResult, min_cell: int = 0) -> str:
    n, events, excluded = _model_counts(model, min_cell)
    text = f"n = {n.text}, events = {events.text}"
    if excluded:
        text += "; excluded: " + ", ".join(f"{reason} ({count.text})" for reason, count in excluded)
    return text


def _term_title(term: str) -> str:
    column, level = split_term(term)
    if column in STATES:
        return STATES[column].title
    title = covariate_title(column)
    return f"{title} {level_label(column, level)}" if level is not None else title


def _violations(model: ModelResult, alpha: float) -> list[str]:
    return [f"{lower_first(_term_title(row.term))} ({fmt_p_expr(row.p)})"
            for row in model.ph_test.table[:-1] if not is_missing(row.p) and row.p < alpha]


@dataclass(frozen=True)
class _PhWording:
    """How a text words the proportional-hazards check of a model (see `_ph_check`)."""

    finegray: str  # a Fine-Gray model: not assessed
    untested: str  # a Cox model without a cox.zph test (time-dependent covariate): not assessed
    tested: str  # the global cox.zph test; "{p}" stands for its p-value ("p = 0.27")
    none_below: str  # after it, when no covariate has p < alpha; "{alpha:g}" stands for alpha


#: The proportional-hazards sentence of a model table's footnote.
_FOOTNOTE_WORDING = _PhWording(
    finegray="Proportional subdistribution hazards: not assessed by cox.zph.",
    untested="Proportional hazards: not assessed by cox.zph (time-dependent covariate in counting-process form).",
    tested="Proportional hazards (scaled Schoenfeld residuals, cox.zph): global {p}",
    none_below="no covariate with p < {alpha:g}.",
)

#: The proportional-hazards sentence of the chapter prose (Markdown), after "<model label>: ".
_PROSE_WORDING = _PhWording(
    finegray="proportional subdistribution hazards were not assessed by `cox.zph`.",
    untested=("proportional hazards were not assessed by `cox.zph` "
              "(time-dependent covariate in counting-process form)."),
    tested="the global test of proportional hazards (scaled Schoenfeld residuals, `cox.zph`) gave {p}",
    none_below="no covariate had p < {alpha:g}.",
)


def _ph_check(model: ModelResult, alpha: float, wording: _PhWording) -> str:
    """The proportional-hazards check of `model` in `wording`.

    Fine-Gray models and Cox models without a ``cox.zph`` test: not assessed;
    other Cox models: the global test, then the covariates with p < `alpha`.
    """
    if model.method == "finegray":
        return wording.finegray
    if model.ph_test is None:
        return wording.untested
    text = wording.tested.format(p=fmt_p_expr(model.ph_test.global_test.p))
    violations = _violations(model, alpha)
    if violations:
        return text + f"; p < {alpha:g} for " + ", ".join(violations) + "."
    return text + "; " + wording.none_below.format(alpha=alpha)


def model_label(model: ModelResult) -> str:
    """'Overall survival, Cox model', 'Relapse/progression, Fine-Gray model', ..."""
    spec = ENDPOINTS.get(model.endpoint)
    endpoint = spec.title if spec is not None else model.endpoint
    if model.method == "finegray":
        method = "Fine-Gray model"
    elif _endpoint_kind(model) == "incidence":
        method = "cause-specific Cox model"
    else:
        method = "Cox model"
    return f"{endpoint}, {method}"


def ph_note(model: ModelResult, *, label: str | None = None, alpha: float = 0.05) -> str:
    """The proportional-hazards check of a model as one Markdown sentence for the chapter prose.

    Cox models: the global test of ``cox.zph`` (scaled Schoenfeld residuals)
    and the covariates with p < `alpha`; Fine-Gray models and Cox models
    with a time-dependent covariate: not assessed by ``cox.zph``.  The
    sentence starts with `label` (default e.g. "Overall survival, Cox model").

    Examples
    --------
    >>> ph_note(models.os_cox)                                # doctest: +SKIP
    'Overall survival, Cox model: the global test of proportional hazards (scaled Schoenfeld
    residuals, `cox.zph`) gave p = 0.27; no covariate had p < 0.05.'
    """
    label = model_label(model) if label is None else label
    return f"{label}: {_ph_check(model, alpha, _PROSE_WORDING)}"




def ph_footnote(model: ModelResult, alpha: float = 0.05) -> str:
    """The proportional-hazards check of a model as a table footnote's sentence."""
    return _ph_check(model, alpha, _FOOTNOTE_WORDING)


# --------------------------------------------------------------------------- chapters


def follow_up_caveat(ends_at_first_event: bool) -> str:
    """What a status-column delivery cannot tell: survival after a relapse ('' when it can).
    `ends_at_first_event`: `Cohort.follow_up_ends_at_first_event`."""
    if not ends_at_first_event:
        return ""
    return ("The extract gives one competing-risks status column: it records the first event only "
            "(relapse, or death without relapse). A relapsed patient's later death is not recorded, so "
            "overall survival and every analysis of it count relapsed patients as followed up to their "
            "relapse only; relapse, non-relapse mortality and event-free survival are complete.")


def data_banner(c: Cohort) -> str:
    """A Markdown callout saying where the numbers come from (synthetic or a real extract), and what
    the delivery cannot tell."""
    caveat = follow_up_caveat(getattr(c, "follow_up_ends_at_first_event", False))
    caveat = f"\n\n{caveat}" if caveat else ""
    if c.synthetic:
        return (
            "::: {.callout-warning}\n## Synthetic data\n"
            f"These results come from a **synthetic cohort** of {shown_count(c.n)} simulated patients made to resemble "
            f"the published study. They describe no real patient.{caveat}\n:::\n"
        )
    return (
        "::: {.callout-note}\n## Registry extract\n"
        f"Results from the extract `{c.source}` ({shown_count(c.n)} patients, SHA-256 `{c.sha256[:12]}`).{caveat}\n:::\n"
    )


def audit_sentence(c: Cohort, *, min_cell: int | None = None) -> str:
    """What the study file changed before validation, in one sentence (the audit table's lead)."""
    _, excluded, corrected = audit_counts(c, min_cell=min_cell)

    def records(k: Shown, noun: str) -> str:
        return f"{k.text} {noun}{'s' if k.value != 1 or k.hidden else ''}"

    parts = []
    if excluded is not None:
        parts.append(f"excluded {records(excluded, 'record')}")
    if corrected is not None:
        parts.append(f"corrected {records(corrected, 'value')}")
    if not parts:
        return "The study file changed no record of the extract."
    return (f"Before validation the study file {' and '.join(parts)}, each with its reason; the extract itself "
            "was not changed.")


def audit_note() -> str:
    """The footnote of the audit table."""
    return ("Listed in the study file (exclude:, corrections:) and applied when the extract is read; the file "
            "itself is never edited. Excluded records are counted in the inclusion flow.")


def panel_titles(results: tuple[EndpointResult, ...]) -> list[str]:
    """'By graft source (CB vs others)' for each grouped result; an ungrouped one's title."""
    return [f"By {r.by[0].lower()}{r.by[1:]}" if r.by else r.title for r in results]


def reproduction_intro(rows: tuple[ReproductionRow, ...], c: Cohort, s: Study) -> str:
    """The paragraph that introduces the reproduction table, with its largest difference."""
    if not rows:
        return ("This study's configuration names no publication to reproduce (`reproduce:` in the study "
                "file), so @tbl-reproduction is empty.")
    summary = reproduction_summary(rows)
    return (
        f"@tbl-reproduction sets each headline number of {PUBLISHED_STUDIES[s.reproduce]} beside the value this "
        f"report computes from `{c.source}`. Of the {summary.n_percent} percentages, the largest absolute "
        f"difference is {summary.max_percent_difference:.1f} percentage points. Percentages are Kaplan-Meier "
        "(survival) or Aalen-Johansen (incidence) estimates; P values are log-rank tests unless named. Patients "
        "in CR/PR at HCT are compared with patients who had primary induction failure and reached CR after HCT "
        "twice: by naive Kaplan-Meier curves from HCT (which credit the second group with the time before its "
        "CR) and by the Mantel-Byar test with that group entering at its CR date (see the landmark chapter)."
    )


def warnings_markdown(overview: CohortOverview, *, min_cell: int | None = None) -> str:
    """Questionable records kept in the analysis, as a Markdown list (never patient-level values)."""
    min_cell = resolve_min_cell(min_cell)
    if not overview.warnings:
        return "No questionable records were found."

    def count(k: int) -> str:
        return f"{suppress_count(k, min_cell)} record{'s' if k != 1 or is_suppressed(k, min_cell) else ''}"

    items = "\n".join(f"- `{w.column}`: {w.message} ({count(w.count)})" for w in overview.warnings)
    return f"Questionable records kept in the analysis:\n\n{items}\n"


def survivors_phrase(follow_up: FollowUp, *, min_cell: int | None = None) -> str:
    """The survivors and their follow-up: 'the 15 survivors were followed for 3.2 to 194.9 months'.

    Under the small-cell rule the shortest and longest follow-up (two patients' exact times) are
    not given, and the survivors are counted as the overall-survival table counts its patients
    without the event: '15 patients were alive at last contact'.
    """
    min_cell = resolve_min_cell(min_cell)
    n_shown, deaths = events_counts([(follow_up.n, follow_up.n - follow_up.n_survivors)], min_cell=min_cell)[0]
    counts = CountSet(min_cell)
    survivors = counts.count(follow_up.n_survivors)
    counts.sums_to(counts.shown(n_shown), [counts.shown(deaths), survivors])
    shown = counts.text(survivors)
    if not follow_up.n_survivors:
        return "no patient was alive at last contact"
    if min_cell > 1:
        verb = "was" if shown == "1" else "were"
        return f"{shown} patient{'' if shown == '1' else 's'} {verb} alive at last contact"
    return (f"the {shown} survivors were followed for {fmt_months(follow_up.minimum)} to "
            f"{fmt_months(follow_up.maximum)} months")


def month_days_text() -> str:
    """The days in a month of the time scale, as the methods text shows it: '30.4375'."""
    return f"{MONTH_DAYS:g}"


def horizons_text(horizons) -> str:
    """The horizons of the headline estimates in words: '1 year and 5 years'."""
    words = [fmt_horizon(h) for h in horizons]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


# --------------------------------------------------------------------------- table notes


def estimates_note(results) -> str:
    """The footnote of an estimates table: which estimator gave the numbers."""
    kinds = {r.kind for r in results}
    if kinds == {"survival"}:
        return "Kaplan-Meier estimate with 95% confidence interval."
    if kinds == {"incidence"}:
        return "Cumulative incidence with competing risks (Aalen-Johansen) with 95% confidence interval."
    return ("Survival endpoints: Kaplan-Meier estimate; incidence endpoints: cumulative incidence with "
            "competing risks (Aalen-Johansen); with 95% confidence intervals.")


def characteristics_notes(table: CharacteristicsTable, min_cell: int = 0, *, missing_by: str | None = None,
                          pooled: bool = False, percent_hidden: bool = False) -> list[str]:
    """The notes under Table 1: what the numbers are, which tests gave the p-values, what is left out.

    Under the small-cell rule (`min_cell` > 1) continuous variables are summarised by median (IQR);
    `missing_by` is how the rule shows the patients without a group, `pooled` says rare levels were
    pooled and `percent_hidden` that some percentages are left out.
    """
    ruled = min_cell > 1
    kinds = []
    if any(isinstance(r.overall, Count) for r in table.rows):
        kinds.append("n (%)")
    if any(isinstance(r.overall, MedianRange) for r in table.rows):
        kinds.append("median (IQR)" if ruled else "median (range)")
    notes = []
    if kinds:
        note = "; ".join(kinds)
        if "n (%)" in kinds:
            note += ". Percentages are of the patients with a known value"
        if any(r.row_type == "missing" for r in table.rows):
            note += "; Missing: number of patients without a value"
        notes.append(note + ".")
    tests = [r.test for r in table.rows if r.test is not None]
    if tests:
        names = []
        for wanted in (FISHER, KRUSKAL):
            if any(t.name == wanted for t in tests):
                names.append(wanted)
        if names:
            notes.append("p-value: " + "; ".join(names) + ".")
        others = [r for r in table.rows if r.test is not None and r.test.name not in (FISHER, KRUSKAL)]
        for name in dict.fromkeys(r.test.name for r in others):
            labels = ", ".join(r.label for r in others if r.test.name == name)
            notes.append(
                f"p-value for {labels}: {name}; the table is too large for exact enumeration."
            )
        if any(is_missing(t.p) for t in tests):
            notes.append("NA: no test, as fewer than two groups or values have data.")
    if table.n_missing_by:
        what = (table.by_label or table.by or "group").lower()
        shown = missing_by if missing_by is not None else suppress_count(table.n_missing_by, min_cell)
        s = "s" if table.n_missing_by != 1 or not shown.isdigit() else ""
        notes.append(f"{shown} patient{s} with unknown {what} not included.")
    rule = suppression_note(min_cell)
    if rule:
        notes.append(rule[:-1] + f"; nor is the median of fewer than {min_cell} values.")
    if pooled:
        notes.append(f"Other: levels held by fewer than {min_cell} patients each, pooled (small-cell rule).")
    if percent_hidden:
        notes.append("Where a column's size or its missing values are hidden, its percentages are not shown "
                     "(they would reveal them).")
    return notes


# ---------------------------------------------------------------- adjusted probabilities


def adjusted_for_phrase(outcome: AdjustedOutcome) -> str:
    """'disease status at HCT and age at HCT': the adjustment set as a clause."""
    names = [lower_first(grouping_title(c)) for c in outcome.adjusted_for]
    if not names:
        return "nothing"
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]


def _lower_first(title: str) -> str:
    """'Status at HCT' -> 'status at HCT'; acronyms ('CR/PR', 'HCT year') keep their capitals."""
    return title if title[1:2].isupper() else title[:1].lower() + title[1:]


def adjusted_sentence(outcome: AdjustedOutcome, horizon: float, *, min_cell: int | None = None) -> str:
    """The registry papers' wording, e.g. 'Adjusted for disease status at HCT and age at HCT, the probability of overall
    survival at 5 years was 40.7% (95% CI 23.3-58.0) for CB (n = 29) and 16.1% (...) for PB (n = 18).'

    Groups below the small-cell rule are named with their size suppressed ("<5").
    """
    if not outcome.estimated:
        return f"Adjusted {outcome.title.lower()} by {lower_first(outcome.by_title)} could not be estimated: {outcome.reason}"
    several = len(outcome.result.curves) > 1
    if outcome.kind == "survival":
        what = ("probabilities" if several else "probability") + " of " + outcome.title.lower()
        verb = "were" if several else "was"
    else:
        what, verb = "cumulative incidence of " + outcome.title.lower(), "was"
    parts = []
    for curve, size in zip(outcome.result.curves, group_sizes([c.n for c in outcome.result.curves], min_cell=min_cell)):
        shown = fmt_est_ci(curve.at(horizon)).replace(" (", " (95% CI ", 1)
        parts.append(f"{shown} for {curve.level} (n = {size.text})")
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"Adjusted for {adjusted_for_phrase(outcome)}, the {what} at {fmt_horizon(horizon)} {verb} {listed}."


def _difference_phrase(outcome: AdjustedOutcome, horizon: float) -> str:
    """'PB minus CB -24.6 percentage points (95% CI -45.1 to -4.1), P = 0.019' for each pair of levels."""
    parts = []
    for contrast in outcome.result.differences:
        estimate, _, lower, upper, p = contrast.at(horizon)
        parts.append(f"{contrast.level} minus {contrast.reference} {100 * estimate:.1f} percentage points "
                     f"(95% CI {100 * lower:.1f} to {100 * upper:.1f}), {fmt_p_expr(p, 'P')}")
    return "; ".join(parts)


def adjusted_markdown(adjusted: tuple[AdjustedGrouping, ...], endpoint: str, at: float, *,
                      min_cell: int | None = None) -> str:
    """One bullet per grouping: the adjusted probabilities at `at` in the registry papers' wording, and
    each difference between levels with its 95% CI and P; or why the grouping could not be adjusted."""
    lines = []
    for grouping in adjusted:
        outcome = grouping.outcome(endpoint)
        sentence = adjusted_sentence(outcome, at, min_cell=min_cell)
        if outcome.estimated:
            sentence += f" Difference at {fmt_horizon(at)}: {_difference_phrase(outcome, at)}."
        lines.append(f"- **{grouping.title}**: {sentence}")
    return "\n".join(lines) + "\n"
