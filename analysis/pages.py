"""What the chapters import: the study and its cohort, loaded once per page, and one function to
compute and one to show each result.

Each Quarto page runs in its own kernel; `report/_setup.qmd` imports the names below explicitly,
loads the study and its cohort (`study()`, `cohort()`, cached per kernel) and sets the page's
display once (`use_display(settings, data)`: the small-cell rule and the cohort's size), so no
chapter passes it by hand.  Every count a chapter prints goes through the rule: a count in a
sentence through a sentence builder (`survivors_phrase`) or the set it belongs to (`flow_counts`
for the inclusion flow, `result_sizes` for the groups of a result), never as a bare number.
"""
from __future__ import annotations

from functools import lru_cache

from analysis.analyses.characteristics import missing_data
from analysis.analyses.cohort import cohort_overview, table_one
from analysis.analyses.factors import factor_comparisons
from analysis.analyses.landmark import DAY_100, landmark_analyses
from analysis.analyses.outcomes import outcomes
from analysis.analyses.prognostic import least_proportional_term, multivariable, univariable
from analysis.analyses.provenance import collect as collect_provenance
from analysis.analyses.reproduction import reproduction
from analysis.analyses.settings import load_study
from analysis.analyses.transplant import (causes_of_death, causes_of_death_available, state_counts,
                                          transplant_outcomes, transplant_sections_available)
from analysis.data.cohort import Cohort
from analysis.data.cohort_cache import cached_study_cohort
from analysis.data.schema import days_to_months
from analysis.data.study import Study
from analysis.present.citation import citation_markdown
from analysis.present.context import use_display
from analysis.present.source_data import source_data_markdown
from analysis.present.figures.curves import day_ticks, plot_curves, plot_panels, time_ticks
from analysis.present.figures.forest import forest_plots
from analysis.present.model_rows import diverged_note
from analysis.present.figures.landmark_series import landmark_series_plot
from analysis.present.figures.adjusted import plot_adjusted_comparisons
from analysis.present.figures.zph import zph_plot
from analysis.present.numbers import fmt_est_ci_text, fmt_horizon, fmt_months
from analysis.present.privacy import flow_counts, result_sizes
from analysis.present.prose import (adjusted_markdown, alpha_text, audit_sentence, chapters_markdown,
                                    covariates_phrase, cr_after_hct_markdown, data_banner,
                                    endpoint_definitions_markdown, epv_minimum_text, estimates_markdown,
                                    figure_map_markdown, figure_note, figure_reference, findings_markdown,
                                    follow_up_markdown, gvhd_markdown, horizons_text, landmark_convention_text,
                                    landmark_lacking_markdown, landmarks_markdown, landmarks_text, left_out_markdown,
                                    median_phrase, min_group_text, month_days_text, overview_markdown, panel_titles,
                                    ph_note, reproduction_intro, REPRODUCTION_PAGE, SHR_READING, state_counts_note,
                                    states_after_hct_text, transplant_intro, TRANSPLANT_PAGE,
                                    warnings_markdown)
from analysis.data.schema import lower_first
from analysis.present.figures.landmark import plot_gvhd_states, plot_landmarks
from analysis.present.tables.adjusted import adjusted_table
from analysis.present.tables.causes_of_death import causes_of_death_table
from analysis.present.tables.characteristics import characteristics_gt
from analysis.present.tables.cohort import audit_table, cohort_flow_table, endpoint_exclusion_table, missing_data_table
from analysis.present.tables.estimates import estimates_table
from analysis.present.tables.landmark_series import landmark_series_table
from analysis.present.tables.models import model_table
from analysis.present.tables.provenance import configuration_markdown, provenance_markdown, software_markdown
from analysis.present.tables.reproduction import reproduction_table
from analysis.present.tables.univariable import univariable_table


@lru_cache(maxsize=1)
def study() -> Study:
    """The study configuration: $REPORT_STUDY, else study.yml at the project root."""
    return load_study()


@lru_cache(maxsize=1)
def cohort() -> Cohort:
    """The validated extract the study names ($REPORT_DATA overrides it): validated by the first page
    a render executes, then read from the cohort cache by every other page's kernel."""
    return cached_study_cohort(study())


def left_out_pages(s: Study | None = None, c: Cohort | None = None) -> tuple[str, ...]:
    """The pages (project-relative) that do not apply to the study `s` and its cohort `c` (default: this
    page's): the reproduction, when the study names no publication; the chapter on engraftment, GVHD and
    causes of death, when the extract records none of them.  The overview lists them apart with the
    reason (`left_out_markdown`), and the pre-render step (`analysis.build.sections`) writes them as
    Quarto's `website: drafts`, so no navigation links them."""
    s = study() if s is None else s
    c = cohort() if c is None else c
    left_out = []
    if s.reproduce is None:
        left_out.append(REPRODUCTION_PAGE)
    if not transplant_sections_available(c.data):
        left_out.append(TRANSPLANT_PAGE)
    return tuple(left_out)


__all__ = [
    # the study, its cohort, the page's display, the pages it shows
    "study", "cohort", "use_display", "data_banner", "left_out_pages", "overview_markdown", "chapters_markdown",
    "left_out_markdown", "figure_reference", "figure_note", "lower_first",
    # numbers in the prose (counts only through the small-cell rule)
    "fmt_est_ci_text", "fmt_horizon", "fmt_months", "median_phrase", "days_to_months", "day_ticks", "time_ticks",
    "flow_counts", "result_sizes",
    # cohort
    "cohort_overview", "table_one", "missing_data", "cohort_flow_table", "endpoint_exclusion_table",
    "follow_up_markdown", "warnings_markdown", "missing_data_table", "characteristics_gt", "audit_sentence",
    "audit_table",
    # outcomes and factors
    "outcomes", "plot_curves", "plot_panels", "estimates_table", "factor_comparisons", "findings_markdown",
    "panel_titles", "adjusted_markdown", "adjusted_table", "plot_adjusted_comparisons", "min_group_text",
    # prognostic factors
    "univariable", "multivariable", "univariable_table", "model_table", "forest_plots", "diverged_note", "ph_note",
    "zph_plot", "least_proportional_term", "SHR_READING", "covariates_phrase", "epv_minimum_text",
    # landmark and time-dependent
    "landmark_analyses", "DAY_100", "landmarks_markdown", "landmark_lacking_markdown", "cr_after_hct_markdown",
    "states_after_hct_text", "gvhd_markdown", "landmark_series_table", "landmark_series_plot", "state_counts",
    "plot_landmarks", "plot_gvhd_states",
    # engraftment, GVHD, causes of death
    "transplant_outcomes", "causes_of_death", "causes_of_death_available", "estimates_markdown",
    "causes_of_death_table", "transplant_intro", "state_counts_note",
    # reproduction
    "reproduction", "reproduction_intro", "reproduction_table", "figure_map_markdown",
    # methods, provenance and versions
    "collect_provenance", "citation_markdown", "source_data_markdown", "provenance_markdown", "software_markdown",
    "configuration_markdown", "horizons_text", "month_days_text", "landmark_convention_text",
    "endpoint_definitions_markdown", "alpha_text", "landmarks_text",
]
