"""Sentences and lists of results for the chapters' prose (numbers formatted, never computed here)."""
from __future__ import annotations

from analysis.present.numbers import fmt_est_ci, fmt_horizon, fmt_p
from analysis.present.labels import curve_label
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
        groups = "; ".join(f"{curve_label(result, curve)} (n = {curve.n}) {fmt_est_ci(curve.at(at))}" for curve in result.curves)
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
    return (
        f"Of {cr.n_pif} patients transplanted with primary induction failure, {cr.n_pif_cr} reached complete "
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
