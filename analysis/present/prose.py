"""Every sentence the report writes about a result: the chapters' prose and the tables' footnotes.

Numbers are formatted here (`analysis.present.numbers`), never computed; names come from the one
label table.  Keeping every sentence builder in one module keeps their wording consistent.
"""
from __future__ import annotations

from dataclasses import dataclass

from analysis.analyses.adjusted import AdjustedGrouping, AdjustedOutcome
from analysis.analyses.characteristics import CharacteristicsTable, Count, MedianRange
from analysis.analyses.cohort import CohortOverview
from analysis.analyses.estimates import MIN_GROUP_SIZE, min_group_size
from analysis.analyses.models import EVENTS_PER_PARAMETER_MINIMUM, ModelResult
from analysis.analyses.reproduction import (ALPHA, PUBLISHED_FIGURES, PUBLISHED_SHORT, PUBLISHED_STUDIES,
                                            ReproductionRow, reproduction_summary)
from analysis.data.cohort import Cohort
from analysis.data.schema import MONTH_DAYS, column_label, level_label, lower_first
from analysis.data.study import Study
from analysis.domain.definitions import CENSORING, DEFINITIONS
from analysis.domain.endpoints import ENDPOINTS
from analysis.domain.groupings import grouping_title
from analysis.domain.states import STATES
from analysis.present.context import resolve_min_cell
from analysis.present.labels import curve_label
from analysis.present.model_rows import covariate_title, split_term
from analysis.present.context import current, resolve_min_cell
from analysis.present.numbers import (NOT_SHOWN, count_words, fmt_est_ci_text, fmt_horizon, fmt_hr_text,
                                      fmt_median_text, fmt_months, fmt_number, fmt_p_expr, fmt_test, is_missing,
                                      sentence_start, test_name)
from analysis.present.privacy import (CountSet, Shown, audit_counts, events_counts, group_sizes, is_suppressed,
                                      omitted_sizes, result_sizes, shown_count, suppress_count,
                                      suppression_note)
from analysis.stats.exact import FISHER, KRUSKAL
from analysis.stats.kaplan_meier import FollowUp
from analysis.stats.results import EndpointResult, Median


def _listed(parts: list[str], conjunction: str = "and") -> str:
    """'a', 'a and b', 'a, b and c'."""
    parts = [p for p in parts if p]
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + f" {conjunction} " + parts[-1]


def count_equals(name: str, count: Shown) -> str:
    """A count as an equation in a sentence, legend or note: 'n = 28'; under the small-cell rule 'n < 5'
    (hidden as small) or 'n \u2265 5' (hidden so that a small one cannot be worked out), never 'n = <5'."""
    if count.state == "small":
        return f"{name} < {count.min_cell}"
    if count.state == "complementary":
        return f"{name} \u2265 {count.min_cell}"
    return f"{name} = {count.text}"


def group_size_text(size: Shown) -> str:
    """'n = 28' (a group's size, as `result_sizes` or `group_sizes` decided to show it)."""
    return count_equals("n", size)


def _in_words(*counts: Shown) -> tuple[str, ...]:
    """Counts of one kind in one sentence: words below ten as journals write them, unless the rule hides one
    (then every count keeps its mark or numeral)."""
    if any(c.hidden for c in counts):
        return tuple(c.words for c in counts)
    return count_words(*(c.value for c in counts))


def omitted_groups_text(result: EndpointResult, *, min_cell: int | None = None) -> str | None:
    """Why groups have no curve: 'Relapsed/progressed (n = 1) has no curve and no test: fewer than 5
    patients, too few to estimate its course.'  None when every group is shown.  Their sizes are below
    the smallest group drawn (never less than the small-cell threshold), so under the rule they read
    'n < 5'."""
    if not result.omitted:
        return None
    min_cell = resolve_min_cell(min_cell)
    smallest = max(MIN_GROUP_SIZE, min_cell or 0)
    sizes = omitted_sizes(result, min_cell=min_cell)
    groups = _listed([f"{level_label(result.grouping, label)} ({group_size_text(size)})"
                      for (label, _), size in zip(result.omitted, sizes)])
    verb = "has" if len(result.omitted) == 1 else "have"
    return (f"{groups} {verb} no curve and no test: fewer than {smallest} patients, too few to estimate "
            f"{'its' if len(result.omitted) == 1 else 'their'} course.")


def test_phrase(result: EndpointResult) -> str:
    """The group test named by the object that computed it: 'log-rank test, P = 0.042', "Gray's test,
    P = 0.004", 'Mantel-Byar test, P > 0.9'; why there is none otherwise."""
    if result.test is None:
        if result.omitted:
            return f"no test: fewer than two groups have at least {MIN_GROUP_SIZE} patients"
        return "no test (a single group)"
    if is_missing(result.test.p):
        why = ("its variance estimate is not positive definite, as with few distinct event times"
               if result.test.statistic < 0 else "no event in the groups compared")
        return f"{test_name(result.test.name)} not estimable ({why})"
    return fmt_test(result.test)


def findings_markdown(results: tuple[EndpointResult, ...], at: float, *, min_cell: int | None = None) -> str:
    """One bullet per factor: each group's estimate at `at` months with its 95% CI, and the group test."""
    lines = []
    for result in results:
        groups = "; ".join(f"{curve_label(result, curve)} ({group_size_text(size)}), "
                           f"{fmt_est_ci_text(curve.at(at))}"
                           for curve, size in zip(result.curves, result_sizes(result, min_cell=min_cell)))
        line = f"- **{result.by}**: {groups}; {test_phrase(result)}."
        omitted = omitted_groups_text(result, min_cell=min_cell)
        lines.append(line + (f" {omitted}" if omitted else ""))
    return f"At {fmt_horizon(at)} after HCT:\n\n" + "\n".join(lines) + "\n"


def _hr_text(term) -> str:
    return fmt_hr_text(term.hr, term.lower, term.upper, term.p)


def median_phrase(median) -> str:
    """'was 8.1 months (95% CI 6.6-9.8)' or 'was not reached' (never 'not reached months')."""
    return f"was {fmt_median_text(median)}"


def cr_after_hct_markdown(cr, *, min_cell: int | None = None) -> str:
    """The CR-after-HCT comparison in words, or why it is not made."""
    if cr is None:
        return ("This extract does not record status at HCT, primary induction failure and the date of a CR "
                "reached after HCT for both groups, so the comparison of patients in CR/PR at HCT with patients "
                "who reached CR only after HCT is not made.")
    # as the Simon-Makuch legend shows them: the PIF patients hold those who reached CR
    pif, pif_cr = _in_words(*group_sizes([cr.n_pif, cr.n_pif_cr], nested=True, min_cell=min_cell))
    opening = (f"Of {pif} patients transplanted with primary induction failure (PIF), {pif_cr} reached complete "
               "remission (CR) after HCT.")
    if not cr.compared:
        return (f"{opening} Fewer than {cr.min_group} patients in one of the groups are too few for survival curves "
                "or a test, so their survival is not compared with that of patients in CR or PR at HCT.")
    return (
        f"{opening} Counted from their remission date (delayed entry), their overall survival was compared with "
        f"that of patients in CR or PR at HCT (@fig-cr-after; {test_phrase(cr.versus_crpr)}); in a Cox model on "
        f"the same rows, the hazard ratio of PIF with CR after HCT was {_hr_text(cr.versus_crpr_cox.terms[0])}. "
        "Among patients with primary induction failure, reaching remission after HCT, as a time-dependent state "
        f"in a second Cox model, had a hazard ratio of {_hr_text(cr.within_pif_cox.terms[0])}; the Simon-Makuch "
        f"curves of @fig-cr-within compare the time before and after remission ({test_phrase(cr.within_pif)})."
    )


def state_counts_note(counts, *, where: str) -> str:
    """Why a GVHD state counts differently here and there, in one sentence; '' when the counts agree.

    `where` is "incidence" (the GVHD chapter's cumulative incidence) or "time-dependent" (the landmark
    chapter's Simon-Makuch curves and Cox models).
    """
    if counts is None or not counts.differ:
        return ""
    # one set: those recorded are those counted and those whose GVHD began after relapse
    shown = CountSet(resolve_min_cell(None))
    keys = [shown.count(counts.recorded), shown.count(counts.after_relapse), shown.count(counts.counted)]
    if counts.recorded == counts.after_relapse + counts.counted:
        shown.sums_to(keys[0], keys[1:])
    recorded, after, counted = _in_words(*(shown.state(k) for k in keys))
    title = lower_first(counts.title)
    if where == "incidence":
        return (f"The cumulative incidence counts {counted} events of {title}: it was recorded in {recorded} "
                f"patients, but in {after} of them it began after a relapse or progression, which the cumulative "
                "incidence counts as the competing event (the missing-data table and the time-dependent analyses "
                f"of the landmark chapter count all {recorded}).")
    return (f"The {title} group counts every patient in whom it began ({recorded}), {after} of them after a relapse "
            f"or progression; the cumulative incidence in the GVHD chapter, where relapse competes, counts {counted}.")


def gvhd_markdown(gvhd, counts=None, *, min_cell: int | None = None) -> str:
    """Acute and chronic GVHD as time-dependent states for OS, each from its own Cox model, in words.

    `counts` maps "agvhd"/"cgvhd" to their `StateCounts` (why the chronic GVHD group is larger than the
    GVHD chapter's count of events)."""
    if gvhd is None:
        return "This extract records neither acute nor chronic GVHD with its onset, so this section is left out."
    counts = counts or {}
    sentences = []
    estimated = gvhd.states
    if estimated:
        effects = [f"{lower_first(state.title)} {_hr_text(state.cox.terms[0])}" for state in estimated]
        models = "a Cox model" if len(estimated) == 1 else "separate Cox models"
        sentences.append(
            f"With each state as a time-dependent covariate of {models} for overall survival, the hazard "
            f"ratio{'s were' if len(estimated) > 1 else ' was'} {_listed(effects)}; @fig-gvhd shows the "
            "Simon-Makuch curves with the Mantel-Byar "
            + ("tests." if len(estimated) > 1 else "test."))
    for state in (gvhd.acute, gvhd.chronic):
        if state is not None and not state.estimated:
            sentences.append(f"{state.title} began in {suppress_count(state.n_state, resolve_min_cell(min_cell))} "
                             f"patients, fewer than {state.min_group}: too few to estimate its effect.")
    for state in estimated:
        note = state_counts_note(counts.get(state.state), where="time-dependent")
        if note:
            sentences.append(note)
    missing = [name for name, state in (("acute GVHD", gvhd.acute), ("chronic GVHD", gvhd.chronic)) if state is None]
    if missing:
        sentences.append(f"This extract does not record {_listed(missing, 'or')} with its onset, so "
                         f"{'it is' if len(missing) == 1 else 'they are'} not analysed here.")
    if gvhd.acute_day100 is not None:
        acute = lower_first(gvhd.acute.title)
        sentence = (f"From a day-100 landmark, patients with {acute} by day 100 were compared with those without "
                    f"(@fig-agvhd-day100; {test_phrase(gvhd.acute_day100)}).")
        omitted = omitted_groups_text(gvhd.acute_day100, min_cell=min_cell)
        sentences.append(sentence + (f" {omitted}" if omitted else ""))
    return " ".join(sentences)


def landmark_markdown(result: EndpointResult, at: float, horizon: float, *, min_cell: int | None = None) -> str:
    """The event-free landmark in words: how many were alive and event-free at it, their overall survival at
    `horizon` months after HCT, and the comparison with those who had relapsed (or why there is none)."""
    min_cell = resolve_min_cell(min_cell)
    event_free = next((c for c in result.curves if c.label == "Event-free"), None)
    if event_free is None and not result.omitted:
        return (f"No patient was followed beyond the {at:g}-month landmark, so no one can be compared from it.")
    sentences = []
    sizes = dict(zip((c.label for c in result.curves), result_sizes(result, min_cell=min_cell)))
    if event_free is not None:
        n = sizes[event_free.label].words
        survival = fmt_est_ci_text(event_free.at(horizon - at))
        sentences.append(f"Of the patients alive and followed {at:g} months after HCT, {n} were alive and event-free; "
                         f"their overall survival at {fmt_horizon(horizon)} after HCT was {survival}.")
    relapsed = next((c for c in result.curves if c.label != "Event-free"), None)
    if relapsed is not None:
        sentences.append(f"Their overall survival from the landmark was compared with that of the "
                         f"{sizes[relapsed.label].words} patients who had relapsed or progressed by then "
                         f"(@fig-efs-landmark; {test_phrase(result)}).")
    elif event_free is not None:
        sentences.append("@fig-efs-landmark shows their overall survival from the landmark.")
    omitted = omitted_groups_text(result, min_cell=min_cell)
    if omitted:
        sentences.append(omitted)
    return " ".join(sentences)


def landmarks_markdown(lm, horizon: float, *, min_cell: int | None = None) -> str:
    """Each landmark of the study in words (`landmark_markdown`), one paragraph per landmark."""
    return "\n\n".join(landmark_markdown(result, at, horizon, min_cell=min_cell) for at, result in lm.shown) + "\n"


def landmark_convention_text(s: Study) -> str:
    """Who is at risk at a landmark s, as the study chose: 'T > s' (still followed after it) or 'T ≥ s'."""
    if s.on_landmark:
        return ("patients followed up to the landmark day (T \u2265 s: an event or censoring on that day included, "
                "at time 0 from the landmark)")
    return ("patients still followed after the landmark (T > s: a patient whose event or censoring falls on the "
            "landmark day is not at risk beyond it)")


def states_after_hct_text(lm) -> str:
    """The states after transplant this study's landmark chapter analyses, for its opening sentence:
    'a state after transplant (relapse or progression, remission, GVHD)', naming only those with a
    section on the page."""
    states = [name for name, shown in (("relapse or progression", bool(lm.shown)),
                                        ("remission", lm.cr_after_hct is not None),
                                        ("GVHD", lm.gvhd is not None)) if shown]
    return "a state after transplant" + (f" ({', '.join(states)})" if states else "")


def landmark_lacking_markdown(lm, *, min_cell: int | None = None) -> str:
    """What the landmark chapter leaves out for this study, and why, in as few sentences as there are
    reasons ('' when it makes every analysis): the study's choice (no landmark), what the extract does
    not record (one sentence), a comparison too small to make."""
    sentences = []
    if not lm.landmarks:
        sentences.append("The study lists no landmark time (`landmarks: []`), so no group is compared from a "
                         "landmark.")
    elif not lm.shown:
        sentences.append("No patient is followed beyond the study's landmarks, so no group is compared from them.")
    lacking, left_out = [], []
    if lm.cr_after_hct is None:
        lacking.append("status at HCT, primary induction failure and the date of a CR reached after HCT")
        left_out.append("the comparison of patients in CR/PR at HCT with patients who reached CR only after HCT")
    if lm.gvhd is None:
        lacking.append("acute or chronic GVHD with its onset")
        left_out.append("the effect of GVHD on survival")
    elif lm.series is None:
        lacking.append("chronic GVHD with its onset")
        left_out.append("the landmark series of chronic GVHD")
    if lacking:
        sentences.append(f"This extract does not record {_listed(lacking, 'or')}, so {_listed(left_out)} "
                         f"{'is' if len(left_out) == 1 else 'are'} left out.")
    cr = lm.cr_after_hct
    if cr is not None and not cr.compared:
        few = min(cr.n_pif_cr, cr.n_crpr)
        sentences.append(f"Only {suppress_count(few, resolve_min_cell(min_cell))} patients are in the smaller group "
                         "of the comparison of CR/PR at HCT with CR reached after HCT, fewer than "
                         f"{cr.min_group}, so it is not made.")
    return " ".join(sentences)


def estimates_markdown(results, outcomes, default_horizons) -> str:
    """One bullet per endpoint with its estimates (95% CI) at its own horizons (`outcomes.horizons`, in months)."""
    lines = []
    for result in results:
        horizons = outcomes.horizons(result, default_horizons)
        parts = ", ".join(f"{fmt_est_ci_text(result.overall.at(t))} at {_horizon_in_text(t)}" for t in horizons)
        lines.append(f"- {result.title}: {parts}.")
    return "\n".join(lines) + "\n" if lines else "Not recorded in this extract.\n"


def _horizon_in_text(months: float) -> str:
    """'1 year', '6 months', 'day 100' (a horizon inside a sentence)."""
    text = fmt_horizon(months)
    return "day" + text[3:] if text.startswith("Day ") else text


def transplant_intro(t, causes_available: bool) -> str:
    """What the chapter's endpoints are, for the sections this extract fills, and one sentence naming what
    it does not record (the sections it leaves out leave no other trace)."""
    sentences = []
    if t.engraftment:
        sentences.append("Engraftment is a cumulative incidence, with death before engraftment as the competing event.")
    gvhd = [name for name, shown in (("acute", t.acute_gvhd), ("chronic", [r for r in t.chronic
                                                                           if r.kind == "incidence"])) if shown]
    if gvhd:
        kind = "is a cumulative incidence" if len(gvhd) == 1 else "are cumulative incidences"
        sentences.append(f"{sentence_start(_listed(gvhd))} GVHD {kind}, with relapse or death before GVHD as the "
                         "competing event.")
    if any(r.endpoint == "grfs" for r in t.chronic):
        sentences.append("GVHD-free relapse-free survival (GRFS) is a Kaplan-Meier estimate whose events are grade "
                         "III-IV acute GVHD, extensive chronic GVHD, relapse and death.")
    lacking = [name for name, shown in (("engraftment", t.engraftment), ("acute GVHD", t.acute_gvhd),
                                        ("chronic GVHD", t.chronic), ("causes of death", causes_available))
               if not shown]
    if lacking:
        sentences.append(f"This extract does not record {_listed(lacking, 'or')}, so "
                         f"{'that section is' if len(lacking) == 1 else 'those sections are'} left out.")
    return " ".join(sentences)


# --------------------------------------------------------------------------- models


def _endpoint_kind(model: ModelResult) -> str:
    spec = ENDPOINTS.get(model.endpoint)
    return spec.kind if spec is not None else "survival"


def _ties(model: ModelResult) -> str:
    return {"efron": "Efron", "breslow": "Breslow"}.get(model.ties or "", model.ties or "Efron")


#: How to read a subdistribution hazard ratio, in one sentence (beside every Fine-Gray result).
SHR_READING = ("An sHR (subdistribution hazard ratio, Fine-Gray) above 1 means a higher cumulative incidence of the "
               "event in that group; it is not the hazard among patients still free of both events, because "
               "patients who had the competing event stay in its risk set.")


def method_note(model: ModelResult) -> str:
    """What the model is, in one sentence (a table footnote)."""
    if model.method == "finegray":
        text = "Fine-Gray model: sHR, robust standard errors and 95% CI as cmprsk::crr."
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


def events_per_parameter_text(model: ModelResult, events: Shown | None = None) -> str:
    """'8.6 events per parameter' (5 parameters), flagged below 10: '1.6 events per parameter (below 10:
    estimates may be unstable)'.  When the small-cell rule hides the events (`events`), the ratio would
    give them back: only its bound is said ('fewer than 2.5 events per parameter', below 10)."""
    if not model.parameters:
        return "no parameter"
    if events is not None and events.hidden:
        bound = fmt_number(events.min_cell / model.parameters, 1)
        if events.state == "small":
            return (f"fewer than {bound} events per parameter" + (f" (below {EVENTS_PER_PARAMETER_MINIMUM}: "
                    "estimates may be unstable)" if events.min_cell / model.parameters <= EVENTS_PER_PARAMETER_MINIMUM
                    else ""))
        return f"at least {bound} events per parameter"
    text = f"{fmt_number(model.events_per_parameter, 1)} events per parameter"
    if model.few_events:
        text += f" (below {EVENTS_PER_PARAMETER_MINIMUM}: estimates may be unstable)"
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


def count_text(model: ModelResult, min_cell: int = 0, *, short: bool = False) -> str:
    """'n = 120, events = 45, 9.0 events per parameter' under the small-cell rule (table footnotes); `short`
    for the line above a forest plot: 'n = 59, events = 8, 1.6 per parameter (<10)'."""
    n, events, _ = _model_counts(model, min_cell)
    counts = f"{count_equals('n', n)}, {count_equals('events', events)}"
    if not short or events.hidden:
        return f"{counts}, {events_per_parameter_text(model, events)}"
    flag = f" (<{EVENTS_PER_PARAMETER_MINIMUM})" if model.few_events else ""
    return f"{counts}, {fmt_number(model.events_per_parameter, 1)} per parameter{flag}"


def exclusion_reason(reason: str) -> str:
    """A reason of the data layer for a reader: a column's name becomes its label ('agvhd_grade missing' ->
    'acute GVHD, maximum grade not recorded')."""
    column, _, rest = reason.partition(" ")
    if rest == "missing" and column_label(column) != column:
        return f"{lower_first(column_label(column))} not recorded"
    return reason


def count_note(model: ModelResult, min_cell: int = 0) -> str:
    """`count_text` and the patients left out of the model, with why (a missing covariate: complete cases)."""
    _, _, excluded = _model_counts(model, min_cell)
    text = count_text(model, min_cell)
    if excluded:
        text += "; left out: " + ", ".join(f"{exclusion_reason(reason)} ({count.text})" for reason, count in excluded)
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
    none_below="no covariate with P < {alpha:g}.",
)

#: The proportional-hazards sentence of the chapter prose (Markdown), after "<model label>: ".
_PROSE_WORDING = _PhWording(
    finegray="proportional subdistribution hazards were not assessed by `cox.zph`.",
    untested=("proportional hazards were not assessed by `cox.zph` "
              "(time-dependent covariate in counting-process form)."),
    tested="the global test of proportional hazards (scaled Schoenfeld residuals, `cox.zph`) gave {p}",
    none_below="no covariate had P < {alpha:g}.",
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
        return text + f"; P < {alpha:g} for " + ", ".join(violations) + "."
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
    residuals, `cox.zph`) gave P = 0.27; no covariate had P < 0.05.'
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


def data_banner(c: Cohort, s: Study | None = None) -> str:
    """A Markdown callout saying where the numbers come from (synthetic or a real extract), and what
    the delivery cannot tell."""
    caveat = follow_up_caveat(getattr(c, "follow_up_ends_at_first_event", False))
    caveat = f"\n\n{caveat}" if caveat else ""
    if c.synthetic:
        resembles = (f" made to resemble the study of {PUBLISHED_SHORT[s.reproduce]}"
                     if s is not None and s.reproduce in PUBLISHED_SHORT else "")
        return (
            "::: {.callout-warning}\n## Synthetic data\n"
            f"These results come from a **synthetic cohort** of {shown_count(c.n)} simulated patients{resembles}. "
            f"They describe no real patient.{caveat}\n:::\n"
        )
    return (
        "::: {.callout-note}\n## Registry extract\n"
        f"Results from the extract `{c.source}` ({shown_count(c.n)} patients, SHA-256 `{c.sha256[:12]}`).{caveat}\n:::\n"
    )


def audit_sentence(c: Cohort, *, min_cell: int | None = None) -> str:
    """What the study file changed before validation, in one sentence (the audit table's lead)."""
    _, excluded, corrected = audit_counts(c, min_cell=min_cell)

    def records(k: Shown, noun: str) -> str:
        return f"{k.words} {noun}{'s' if k.value != 1 or k.hidden else ''}"

    parts = []
    if excluded is not None:
        parts.append(f"excluded {records(excluded, 'record')}")
    if corrected is not None:
        parts.append(f"corrected {records(corrected, 'value')}")
    if not parts:
        return "The study file changed no record of the extract."
    changes = [k for k in (excluded, corrected) if k is not None]
    one = len(changes) == 1 and changes[0].value == 1 and not changes[0].hidden
    return (f"Before validation the study file {' and '.join(parts)}, {'with its' if one else 'each with its'} "
            "reason; the extract itself was not changed.")


def audit_note() -> str:
    """The footnote of the audit table."""
    return ("Listed in the study file (exclude:, corrections:) and applied when the extract is read; the file "
            "itself is never edited. Excluded records are counted in the inclusion flow.")


def panel_titles(results: tuple[EndpointResult, ...]) -> list[str]:
    """'By graft source (CB vs others)' for each grouped result; an ungrouped one's title."""
    return [f"By {r.by[0].lower()}{r.by[1:]}" if r.by else r.title for r in results]


def overview_markdown(s: Study) -> str:
    """The overview's opening: what the report is, for this study, and (when it reproduces a publication)
    whose analysis plan it follows."""
    text = ("This report turns one registry extract of first allogeneic haematopoietic cell transplants (allo-HCT) "
            "into the survival, competing-risk and landmark results of a transplant outcomes paper, for the study "
            f"*{s.title}*.")
    if s.reproduce in PUBLISHED_STUDIES:
        text += (f" Its analysis plan follows {PUBLISHED_STUDIES[s.reproduce]}, and the "
                 "[reproduction chapter](report/reproduction.qmd) sets the published numbers beside this report's.")
    return text + (" Every estimate is computed so that it equals what R's `survival` and `cmprsk` packages give "
                   "on the same data.")


@dataclass(frozen=True)
class Chapter:
    """A page of the report as the overview lists it: its file (project-relative), title and contents."""

    page: str
    title: str
    contents: str


#: Every page of the report but the overview, in the order of the site, with what it holds.
CHAPTERS = (
    Chapter("report/cohort.qmd", "Cohort and data quality",
            "inclusion flow, exclusions per endpoint, questionable records, follow-up, missing data and patient "
            "characteristics"),
    Chapter("report/outcomes.qmd", "Outcomes",
            "overall and event-free survival, relapse and non-relapse mortality, with numbers at risk"),
    Chapter("report/factors.qmd", "Outcomes by patient group",
            "the outcomes compared across patient groups, unadjusted and adjusted for the study's covariates"),
    Chapter("report/prognostic.qmd", "Prognostic factors",
            "univariable comparisons, multivariable Cox and Fine-Gray models, proportional hazards"),
    Chapter("report/landmark.qmd", "Landmark and time-dependent analyses",
            "comparisons of states reached after HCT (event-free status, remission, GVHD) without immortal-time "
            "bias"),
    Chapter("report/transplant.qmd", "Engraftment, GVHD, GRFS and causes of death",
            "engraftment, acute and chronic GVHD, GVHD-free relapse-free survival and causes of death, as the "
            "extract records them"),
    Chapter("report/reproduction.qmd", "Reproduction of the published results",
            "the publication's headline numbers beside this report's, each with a verdict"),
    Chapter("report/methods.qmd", "Methods and provenance",
            "statistical methods, endpoint definitions, software, input and configuration"),
    Chapter("report/versions.qmd", "Versions", "every published release of this report"),
    Chapter("report/changelog.qmd", "Changelog", "what changed in the results and the report, release by release"),
)


#: The page of the reproduction of a publication: left out when the study names none.
REPRODUCTION_PAGE = "report/reproduction.qmd"
#: The page of engraftment, GVHD and causes of death: left out when the extract records none of them.
TRANSPLANT_PAGE = "report/transplant.qmd"
#: Why a page may be left out of a study's site.
LEFT_OUT_BECAUSE = {
    REPRODUCTION_PAGE: "this study names no publication to reproduce",
    TRANSPLANT_PAGE: "this extract records no engraftment, GVHD or cause of death",
}


def chapters_markdown(left_out=()) -> str:
    """The overview's list of every page the site shows (those `left_out` for this study excepted)."""
    return "\n".join(f"- [{c.title}]({c.page}): {c.contents}." for c in CHAPTERS if c.page not in left_out) + "\n"


def left_out_markdown(left_out=()) -> str:
    """One sentence per page left out of this study's site, with the reason; '' when none is."""
    titles = {c.page: c.title for c in CHAPTERS}
    return "".join(f"The chapter *{titles[page]}* is left out: {LEFT_OUT_BECAUSE[page]}.\n" for page in left_out)


def figure_reference(s: Study, label: str, *, inside: bool = False) -> str:
    """' (cf. Fujimoto et al. 2021, Fig. 2)' after a reference to figure `label` ('; cf. ...' `inside` the
    parentheses that hold the reference) when the study reproduces a publication with a counterpart of that
    figure; '' otherwise."""
    figure = PUBLISHED_FIGURES.get(s.reproduce or "", {}).get(label)
    if not figure:
        return ""
    cited = f"cf. {PUBLISHED_SHORT[s.reproduce]}, {figure[0]}"
    return f"; {cited}" if inside else f" ({cited})"


def _verdict_counts(rows) -> str:
    summary = reproduction_summary(rows)
    agree, compared = count_words(summary.n_agree, summary.n_compared)
    return f"Of the {compared} published numbers, {agree} agree with this report"


def reproduction_intro(rows: tuple[ReproductionRow, ...], c: Cohort, s: Study) -> str:
    """The paragraphs that introduce the reproduction table: what is compared, how agreement is judged,
    the verdicts, and whether agreement could have been built in (synthetic data calibrated to the paper)."""
    if not rows:
        return ("This study's configuration names no publication to reproduce (`reproduce:` in the study file), "
                "so no published numbers are compared.")
    summary = reproduction_summary(rows)
    alpha = fmt_number(ALPHA, 2)
    text = (
        f"@tbl-reproduction sets each headline number of {PUBLISHED_STUDIES[s.reproduce]} beside the value this "
        f"report computes from `{c.source}`. A count agrees when it is equal; a percentage when the published "
        "value lies inside this report's 95% confidence interval; a P value when both fall on the same side of "
        f"{alpha}. {_verdict_counts(rows)}; the largest difference between percentages is "
        f"{fmt_number(summary.max_percent_difference, 1)} percentage points."
    )
    text += (
        "\n\nThe publication's P = 0.95 for patients in CR/PR at HCT against patients with primary induction "
        "failure who reached CR after HCT is a time-dependent comparison: the Mantel-Byar test, with the second "
        "group entering at its CR date (see the landmark chapter). The naive log-rank test from HCT, which credits "
        "that group with the time before its CR, is listed below it for contrast only."
    )
    if c.synthetic:
        text += (
            "\n\n**The agreement here is built in.** The data are a synthetic cohort generated to match these "
            "published figures (each clinical course was assigned so that the published survival and incidence "
            "estimates come out; see `data/README.md`). That the numbers agree shows that the calculations "
            "reproduce the calibration, not that the published findings were replicated in other patients."
        )
    return text


def warnings_markdown(overview: CohortOverview, *, min_cell: int | None = None) -> str:
    """Questionable records kept in the analysis: how many records (not kinds of warning), then each kind
    with its column's label and number of records (never patient-level values).  One text, so the count and
    the list cannot contradict each other."""
    min_cell = resolve_min_cell(min_cell)
    records = [w for w in overview.warnings if not w.about_file]
    about_file = [w for w in overview.warnings if w.about_file]
    if not overview.questionable_records:
        text = "Validation found no questionable record."
    else:
        n = overview.questionable_records
        shown = suppress_count(n, min_cell)
        noun = "record" if n == 1 and not is_suppressed(n, min_cell) else "records"
        verb = "was" if noun == "record" else "were"
        text = (f"Validation found {shown} questionable {noun}; {'it' if noun == 'record' else 'they'} {verb} kept in "
                "the analysis:\n\n")

        def count(k: int) -> str:
            return f"{suppress_count(k, min_cell)} record{'s' if k != 1 or is_suppressed(k, min_cell) else ''}"

        text += "\n".join(f"- {column_label(w.column) if w.column else 'The file'}: {w.message} ({count(w.count)})"
                          for w in records)
    if about_file:
        text += "\n\nAbout the file itself: " + "; ".join(
            f"{'`' + w.column + '`: ' if w.column else ''}{w.message}" for w in about_file) + "."
    return text + "\n"


def endpoint_definitions_markdown(data) -> str:
    """The endpoints this extract supports, each defined in the CIBMTR/EBMT wording, as a Markdown list."""
    from analysis.domain.endpoints import available_endpoints

    lines = [f"- *{ENDPOINTS[name].title}*: {DEFINITIONS[name]}" for name in available_endpoints(data)
             if name in DEFINITIONS]
    return "\n".join(lines) + "\n\n" + CENSORING + "\n"


def covariates_phrase(covariates) -> str:
    """'disease status at HCT, graft source and age at HCT': a study's covariates by their labels."""
    return _listed([lower_first(grouping_title(c)) for c in covariates]) or "no covariate"


def figure_map_markdown(s: Study) -> str:
    """Which figure of this report corresponds to which figure of the reproduced publication ('' when none)."""
    figures = PUBLISHED_FIGURES.get(s.reproduce or "")
    if not figures:
        return ""
    chapters: dict[str, list[str]] = {}
    for published, chapter in figures.values():
        chapters.setdefault(published, [])
        if chapter not in chapters[published]:
            chapters[published].append(chapter)
    lines = [f"- {published}: *{_listed(names)}*" for published, names in sorted(chapters.items())]
    return (f"The figures of {PUBLISHED_SHORT[s.reproduce]} have their counterparts here (each figure's text "
            "names the published one):\n\n" + "\n".join(lines) + "\n")


def follow_up_markdown(follow_up, *, min_cell: int | None = None) -> str:
    """The median follow-up of survivors (reverse Kaplan-Meier) with its 95% CI, and the survivors
    (`survivors_phrase`: their range, or only their number under the small-cell rule)."""
    if not follow_up.n_survivors:
        return "No patient was alive at last contact, so follow-up of survivors cannot be estimated."
    median = median_phrase(Median(follow_up.median, follow_up.lower, follow_up.upper))
    return (f"The median follow-up of surviving patients, estimated by the reverse Kaplan-Meier method, {median}; "
            f"{survivors_phrase(follow_up, min_cell=min_cell)}.")


def alpha_text() -> str:
    """The significance level of every test: '0.05'."""
    return fmt_number(ALPHA, 2)


def min_group_text(s: Study) -> str:
    """The fewest patients a group needs for a curve and a test in this study: '5'."""
    return str(min_group_size(s.min_cell))


def epv_minimum_text() -> str:
    """The fewest events per parameter for a model to be read without a warning: '10'."""
    return str(EVENTS_PER_PARAMETER_MINIMUM)


def landmarks_text(s: Study) -> str:
    """The landmarks the report uses: the study's ('12 months') and day 100 for acute GVHD."""
    return _listed([f"{at:g} months" for at in s.landmarks] + ["day 100 for acute GVHD"])


def figure_note(s: Study, label: str) -> str:
    """'Compare Fujimoto et al. 2021, Fig. 3.' under a figure with a published counterpart; '' otherwise."""
    figure = PUBLISHED_FIGURES.get(s.reproduce or "", {}).get(label)
    return f"Compare {PUBLISHED_SHORT[s.reproduce]}, {figure[0]}." if figure else ""


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
    shown = counts.state(survivors).words if counts.hidden(survivors) else count_words(follow_up.n_survivors)[0]
    if not follow_up.n_survivors:
        return "no patient was alive at last contact"
    if min_cell > 1:
        verb = "was" if shown == "one" else "were"
        return f"{shown} patient{'' if shown == 'one' else 's'} {verb} alive at last contact"
    one = follow_up.n_survivors == 1
    return (f"the {shown} survivor{' was' if one else 's were'} followed for {fmt_months(follow_up.minimum)} to "
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
            notes.append("P: " + "; ".join(names) + ".")
        others = [r for r in table.rows if r.test is not None and r.test.name not in (FISHER, KRUSKAL)]
        for name in dict.fromkeys(r.test.name for r in others):
            labels = ", ".join(r.label for r in others if r.test.name == name)
            notes.append(
                f"P for {labels}: {name}; the table is too large for exact enumeration."
            )
        if any(is_missing(t.p) for t in tests):
            notes.append(f"{NOT_SHOWN}: no test, as fewer than two groups or values have data.")
    if table.n_missing_by:
        what = lower_first(table.by_label or table.by or "group")
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


#: What the adjusted table's estimates are (its header's footnote).
ADJUSTED_NOTE = ("Adjusted probability: direct standardisation over the cohort's covariates, from a Cox model (overall "
                 "survival) or cause-specific Cox models of both causes (relapse/progression, non-relapse mortality), "
                 "with 95% confidence interval from the influence function.")


def adjusted_for_phrase(outcome: AdjustedOutcome) -> str:
    """'disease status at HCT and age at HCT': the adjustment set as a clause."""
    names = [lower_first(grouping_title(c)) for c in outcome.adjusted_for]
    if not names:
        return "nothing"
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]


# Why adjusted probabilities could not be estimated, in a reader's words: the estimator's message (written for
# the analyst, naming model columns and solver diagnostics) by the phrase that identifies its kind.
_ADJUSTED_FAILURES = (
    ("does not estimate finite effects", "a group or a covariate category has too few events for the model to "
                                         "give finite estimates"),
    ("too few events", "a group or a covariate category has too few events for the model"),
    ("have no patients", "a group has no patient with every covariate recorded (complete cases)"),
    ("is collinear with", "two covariates (or a covariate and the grouping) restate each other, so the model "
                          "cannot separate their effects"),
    ("no overlap", "a covariate takes a single value within a group, so the groups cannot be compared at the same "
                   "covariate values"),
    ("take a single value", "a covariate takes a single value among the patients analysed"),
)


def adjusted_failure_reason(reason: str | None) -> str:
    """Why an adjusted comparison is missing, for a reader: 'a group or a covariate category has too few
    events for the model to give finite estimates' (no solver diagnostics, no model column names)."""
    text = reason or "the model could not be fitted"
    for phrase, words in _ADJUSTED_FAILURES:
        if phrase in text:
            return words
    return text.rstrip(".")


def adjusted_sentence(outcome: AdjustedOutcome, horizon: float, *, min_cell: int | None = None) -> str:
    """The registry papers' wording, e.g. 'Adjusted for disease status at HCT and age at HCT, the probability of overall
    survival at 5 years was 40.7% (95% CI 23.3-58.0) for CB (n = 29) and 16.1% (...) for PB (n = 18).'

    Groups below the small-cell rule are named with their size suppressed ("<5").
    """
    if not outcome.estimated:
        return (f"Adjusted {lower_first(outcome.title)} by {lower_first(outcome.by_title)} could not be estimated: "
                f"{adjusted_failure_reason(outcome.reason)}.")
    several = len(outcome.result.curves) > 1
    if outcome.kind == "survival":
        what = ("probabilities" if several else "probability") + " of " + outcome.title.lower()
        verb = "were" if several else "was"
    else:
        what, verb = "cumulative incidence of " + outcome.title.lower(), "was"
    parts = []
    sizes = group_sizes([c.n for c in outcome.result.curves], min_cell=min_cell)
    for curve, size in zip(outcome.result.curves, sizes):
        parts.append(f"{fmt_est_ci_text(curve.at(horizon))} for {level_label(outcome.by, curve.level)} "
                     f"({group_size_text(size)})")
    return f"Adjusted for {adjusted_for_phrase(outcome)}, the {what} at {fmt_horizon(horizon)} {verb} {_listed(parts)}."


def _difference_phrase(outcome: AdjustedOutcome, horizon: float) -> str:
    """'PB minus CB −24.6 percentage points (95% CI −45.1 to −4.1; P = 0.019)' for each pair of levels."""
    parts = []
    for contrast in outcome.result.differences:
        estimate, _, lower, upper, p = contrast.at(horizon)
        parts.append(f"{level_label(outcome.by, contrast.level)} minus {level_label(outcome.by, contrast.reference)} "
                     f"{fmt_number(100 * estimate, 1)} percentage points (95% CI {fmt_number(100 * lower, 1)} to "
                     f"{fmt_number(100 * upper, 1)}; {fmt_p_expr(p)})")
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
