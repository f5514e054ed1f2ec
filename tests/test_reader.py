"""The report as a transplant physician and a journal's statistical reviewer read it (issue 13).

Every test reads the executed chapters' text (prose with its inline values, tables as rows, the words of
every figure: `analysis.build.qmd.reader_text`), for every study configuration in the repository
(`study.yml` and every `studies/*.yml`: bmt, the Japanese-registry example and the three registry deliveries) and
for an extract without optional columns,
plus studies made to break what the issue found broken (acute GVHD without chronic GVHD, follow-up that
ends at relapse, no landmarks, questionable records).  The pages are executed once per study and session
(`tests/conftest.py`, `tests/study_pages.py`).
"""
from __future__ import annotations

import re

import pytest
import yaml

from analysis.build.qmd import chapters
from analysis.data.paths import PROJECT_ROOT
from analysis.data.schema import BY_NAME, DATE_COLUMNS, day_column
from analysis.domain.groupings import DERIVED
from study_pages import execute_study, page_name

ALL_PAGES = [page_name(p) for p in chapters()]

# --------------------------------------------------------------------------- helpers


def markdown_only(text: str) -> str:
    """The prose of a page's text: tables and figures left out."""
    return "\n\n".join(part for part in text.split("\n\n") if not part.startswith(("[table]", "[figure]")))


def without_code(text: str) -> str:
    """The text with its `code spans` left out (file names, R calls, settings as the user writes them)."""
    return re.sub(r"`[^`\n]*`", "", text)


def without_callouts(text: str) -> str:
    return re.sub(r"::: \{\.callout.*?\n:::", "", text, flags=re.S)


def figure_texts(text: str) -> list[str]:
    return [part for part in text.split("\n\n") if part.startswith("[figure]")]


def table_texts(text: str) -> list[str]:
    return [part for part in text.split("\n\n") if part.startswith("[table]")]


def all_shown(pages) -> list[tuple[str, str]]:
    return sorted(pages.shown().items())


# Names of the data format a reader must never see as words (outside code spans): every SPEC column with an
# underscore, its day form, the derived groupings, and the short codes that are column names.
RAW_NAMES = sorted({name for name in BY_NAME if "_" in name}
                   | {day_column(name) for name in DATE_COLUMNS}
                   | set(DERIVED) | {"pif", "ps", "cgvhd", "agvhd_grade", "cgvhd_any", "agvhd_any"})


# --------------------------------------------------------------------------- every study: the reader's standards


def test_no_placeholder_reaches_a_reader(study_pages):
    for page, text in all_shown(study_pages):
        for word in ("NA", "nan", "NaN", "None", "inf", "Inf"):
            assert not re.search(rf"(?<![\w`]){word}(?![\w`])", without_code(text)), (study_pages.name, page, word)
        assert "(s)" not in text and "not reached months" not in text, (study_pages.name, page)
        # an estimator's diagnostics are for the analyst ("Loglik converged before variable 3")
        assert "Loglik" not in text and "variable 3" not in text, (study_pages.name, page)


def test_one_p_value_style(study_pages):
    """'P = 0.042', 'P < 0.001', 'P > 0.9' in text and figures; '0.042', '<0.001', '>0.9' in table cells."""
    # "P < 0.05" is the significance level, in sentences such as "no covariate had P < 0.05"
    allowed = re.compile(r"P (?:= (?:0\.\d\d\d?|0\.90)|< 0\.001|> 0\.9|< 0\.05|not estimable)(?![\d])")
    for page, text in all_shown(study_pages):
        shown = without_code(text)
        assert not re.search(r"(?<![\w.\-])p (?:[=<>]|value)", shown), (study_pages.name, page)
        assert "p-value" not in shown.lower(), (study_pages.name, page)
        assert not re.search(r"[=<>] ?[<>=]", shown.replace("<=", "").replace(">=", "")), (study_pages.name, page)
        for match in re.finditer(r"(?<![\w])P [=<>][^;,)\n¦]*", shown):
            assert allowed.match(match.group(0)), (study_pages.name, page, match.group(0))
        # a P value of one is ">0.9" (a hazard ratio's "1.00 (0.96-1.03)" is not a P value)
        assert "P = 1.00" not in shown and not re.search(r"\| 1\.00(?! \()", shown), (study_pages.name, page)
        assert not re.search(r"\b(\w[\w'-]*) \1\b", re.sub(r"\d", "", markdown_only(shown))), (study_pages.name, page)


def test_tests_are_named_by_what_computed_them(study_pages):
    """Nothing on the landmark page is a Gray's test: its comparisons are log-rank and Mantel-Byar."""
    landmark = study_pages.text("report/landmark.qmd")
    assert "Gray" not in landmark
    if study_pages.flags.get("study-has-cr-after-hct"):
        assert "Mantel-Byar test, P" in markdown_only(landmark)


def test_no_raw_column_name_reaches_a_reader(study_pages):
    for page, text in all_shown(study_pages):
        shown = without_code(text)
        found = [name for name in RAW_NAMES if re.search(rf"(?<![\w/.-]){re.escape(name)}(?![\w/.-])", shown)]
        assert not found, (study_pages.name, page, found)


def test_every_page_shown_has_a_heading_for_the_pdf_contents(study_pages):
    """Typst's table of contents of a page without a heading is an empty page (reproduction.pdf was)."""
    for page, text in all_shown(study_pages):
        if page == "report/changelog.qmd":
            continue  # CHANGELOG.md, included: its headings are in the file, not in the executed cells
        assert re.search(r"(?m)^## \S", without_callouts(text)), (study_pages.name, page)


def test_percentages_have_one_decimal_and_estimates_name_their_ci(study_pages):
    for page, text in all_shown(study_pages):
        shown = without_code(text)
        for match in re.finditer(r"(?<![\d.])(\d+(?:\.\d+)?)%", shown):
            if match.group(1) != "95":
                assert re.fullmatch(r"\d+\.\d", match.group(1)), (study_pages.name, page, match.group(0))
        prose = markdown_only(shown)
        assert not re.search(r"\d\.\d% \((?!95% CI)", prose), (study_pages.name, page)


def test_negative_numbers_carry_a_minus_sign(study_pages):
    for page, text in all_shown(study_pages):
        assert not re.search(r"(?:^|[\s(])-\d", without_code(text), re.M), (study_pages.name, page)


def test_no_group_of_fewer_than_five_has_a_curve(study_pages):
    """A legend or sentence naming a group of 1-4 patients says that it has no curve."""
    for page, text in all_shown(study_pages):
        for match in re.finditer(r"\(n = ([1-4])\)(.{0,40})", text):
            assert re.match(r"(: too few| ha(s|ve) no curve)", match.group(2)), (study_pages.name, page, match.group(0))


def test_fine_gray_results_are_subdistribution_hazard_ratios(study_pages):
    text = study_pages.text("report/prognostic.qmd")
    tables = table_texts(text)
    models = next(t for t in tables if "Fine-Gray" in t)
    spanners = models.splitlines()[1].split(" | ")
    headers = models.splitlines()[2].split(" | ")
    finegray = [i for i, name in enumerate(spanners) if "Fine-Gray" in name]
    assert finegray and all(headers[2 * (i - 1)] == "sHR (95% CI)" for i in finegray), (spanners, headers)
    assert headers.count("sHR (95% CI)") == len(finegray)
    assert "An sHR (subdistribution hazard ratio, Fine-Gray) above 1 means" in markdown_only(text)
    forest = next(f for f in figure_texts(text) if "Subdistribution" in f)
    assert "Subdistribution hazard ratio (sHR)" in forest and "sHR (95% CI)" in forest


def test_every_model_states_its_events_per_parameter(study_pages):
    text = study_pages.text("report/prognostic.qmd")
    models = next(t for t in table_texts(text) if "Fine-Gray" in t)
    notes = [line for line in models.splitlines() if re.match(r"^(\*+|†+|‡+|§+)", line)]
    assert len(notes) == 6 and all("events per parameter" in line for line in notes), notes
    for line in notes:
        epv = float(re.search(r"([\d.]+) events per parameter", line).group(1))
        assert ("below 10" in line) == (epv < 10), line


def test_methods_say_what_a_reviewer_asks(study_pages):
    methods = " ".join(markdown_only(study_pages.text("report/methods.qmd")).split())
    for phrase in ("two-sided", "significance level of 0.05", "exploratory", "not adjusted for multiple",
                   "complete-case", "censored at their last contact", "*Overall survival*: time from HCT to death",
                   "*Non-relapse mortality*: death from any cause without prior relapse", "T > s"):
        assert phrase in methods, (study_pages.name, phrase)


def test_every_model_has_its_proportional_hazards_check(study_pages):
    """The six models of the multivariable table each say how proportional hazards were checked (the NRM
    Fine-Gray model was missing from the section)."""
    section = markdown_only(study_pages.text("report/prognostic.qmd")).split("## Proportional hazards")[1]
    for label in ("Overall survival (Cox)", "Event-free survival (Cox)", "Relapse (cause-specific Cox)",
                  "Non-relapse mortality (cause-specific Cox)", "Relapse (Fine-Gray)",
                  "Non-relapse mortality (Fine-Gray)"):
        assert f"{label}: " in section, (study_pages.name, label)


def test_whole_numbers_are_summarised_by_whole_numbers(study_pages):
    """Table 1 writes a median year as 2012, and its quartiles as 2008-2014, not 2007.5-2014.0."""
    table1 = next(t for t in table_texts(study_pages.text("report/cohort.qmd")) if "Characteristic" in t)
    for row in table1.splitlines():
        if row.startswith(("Year of HCT", "Age at HCT, years")):
            for cell in row.split(" | ")[1:]:
                assert not re.match(r"\d+ \(.*\.\d", cell), (study_pages.name, row)


def test_source_data_lists_only_what_the_page_shows(study_pages):
    """A hidden table (the audit trail of a study that changes no record) has no source-data file, a
    figure's file names the groupings of all its panels, and no two files of a page have the same name."""
    for page, text in all_shown(study_pages):
        links = re.findall(r"(?m)^- \[(.+)\]\(source-data/", text)
        displays = len(table_texts(text)) + len(figure_texts(text))
        assert len(links) <= displays, (study_pages.name, page, links)
        assert not any(re.search(r" by [A-Z][a-z]", link) for link in links), (study_pages.name, page, links)
        # one name per display: the factors page listed "Estimates" twice and its unadjusted and adjusted curves
        # under the same names
        assert len(set(links)) == len(links), (study_pages.name, page, links)
    if not study_pages.flags["study-has-record-changes"]:
        assert "[Audit trail]" not in study_pages.text("report/cohort.qmd")


def test_adjusted_comparisons_that_fail_say_why_in_a_readers_words(study_pages):
    factors = markdown_only(study_pages.text("report/factors.qmd"))
    for sentence in re.findall(r"could not be estimated: [^\n]*", factors):
        assert sentence.endswith("."), (study_pages.name, sentence)
        assert "merge levels" not in sentence and "drop " not in sentence, (study_pages.name, sentence)


def test_a_diverged_estimate_is_not_read_as_an_effect(study_pages):
    """A level without events makes a model's coefficient run off: "<0.01 (<0.01-<0.01), P < 0.001" read as a
    strong protective effect (months_pairs: no non-relapse death in CR3)."""
    text = study_pages.text("report/prognostic.qmd")
    for block in table_texts(text) + figure_texts(text):
        assert not re.search(r"<0\.01 \(|\(0\.00-", block), (study_pages.name, block[:200])
    if study_pages.name == "months_pairs":
        models = next(t for t in table_texts(text) if "Fine-Gray" in t)
        assert "not estimable | — |" in models and "Not estimable: the estimate diverges" in models
        # the forest plot leaves the row empty and says why under the figure
        paragraphs = text.split("\n\n")
        forest = next(i for i, part in enumerate(paragraphs)
                      if part.startswith("[figure]") and "NRM (Fine-Gray)" in part)
        assert paragraphs[forest + 1].startswith("Not estimable: the estimate diverges"), paragraphs[forest:forest + 2]


def test_tables_set_their_font_weights(study_pages):
    """great_tables' default weight "initial" is rejected by Quarto's Typst CSS filter (80+ warnings)."""
    for page, notebook in study_pages.notebooks.items():
        for cell in notebook.cells:
            for output in cell.get("outputs", []):
                html = output.get("data", {}).get("text/html", "")
                assert "font-weight: initial" not in html, (study_pages.name, page)


def test_the_overview_lists_every_page_the_site_shows(study_pages):
    index = study_pages.text("index.qmd")
    for page in ALL_PAGES:
        if page == "index.qmd":
            continue
        listed = f"]({page})" in index
        assert listed == (page not in study_pages.left_out), (study_pages.name, page)


def test_a_publication_is_named_only_where_the_study_reproduces_it(study_pages):
    reproduces = study_pages.flags["study-reproduces"]
    assert ("report/reproduction.qmd" in study_pages.left_out) != reproduces
    for page, text in all_shown(study_pages):
        if page != "report/changelog.qmd":  # the project's history, not this study's report
            assert ("Fujimoto" in text) <= reproduces, (study_pages.name, page)


# --------------------------------------------------------------------------- the reference study (ANKL)


def test_landmark_page_names_mantel_byar_and_has_no_curve_for_one_patient(ankl_pages):
    text = ankl_pages.text("report/landmark.qmd")
    prose = markdown_only(text)
    assert "log-rank log-rank" not in text and "= <" not in text
    assert "@fig-cr-after; Mantel-Byar test, P > 0.9" in prose
    assert "(Mantel-Byar test, P = 0.003)" in prose
    landmark_figure = next(f for f in figure_texts(text) if "Event-free (n = 19)" in f)
    assert "Relapsed/progressed (n = 1): too few patients for a curve" in landmark_figure
    assert "Log-rank" not in landmark_figure
    assert "Relapsed/progressed (n = 1) has no curve and no test: fewer than 5 patients" in prose


def test_day_100_landmark_axis_starts_with_a_tick_and_a_risk_column_at_the_landmark(ankl_pages):
    text = ankl_pages.text("report/landmark.qmd")
    day100 = next(f for f in figure_texts(text) if "No aGVHD II-IV (n = 33)" in f)
    assert day100.startswith("[figure] 3.3 ¦ 12 ¦")
    assert "Survival (%) ¦ 33 ¦ 11 ¦" in day100 and "¦ 19 ¦ 9 ¦" in day100  # all at risk at the landmark


def test_gvhd_effects_come_from_two_models_and_chronic_counts_say_why_they_differ(ankl_pages):
    landmark = markdown_only(ankl_pages.text("report/landmark.qmd"))
    assert "separate Cox models" in landmark and "of a Cox model for overall survival" not in landmark
    assert "The chronic GVHD group counts every patient in whom it began (12), 5 of them after a relapse" in landmark
    assert "counts 7" in landmark
    transplant = markdown_only(ankl_pages.text("report/transplant.qmd"))
    assert ("The cumulative incidence counts 7 events of chronic GVHD: it was recorded in 12 patients, but in 5 of "
            "them it began after a relapse or progression") in transplant


def test_prose_reads_as_a_results_section(ankl_pages):
    outcomes = markdown_only(ankl_pages.text("report/outcomes.qmd"))
    assert "the median OS was 8.1 months (95% CI 6.6-9.8)" in outcomes
    prognostic = markdown_only(ankl_pages.text("report/prognostic.qmd"))
    assert "adjust for disease status at HCT, graft source and age at HCT" in prognostic
    cohort = ankl_pages.text("report/cohort.qmd")
    assert "Validation found no questionable record." in cohort and "listed below" not in cohort
    table1 = next(t for t in table_texts(cohort) if "Characteristic" in t)
    assert "Year of HCT | 2012 (2001-2016) | 2009 (2001-2016) | 2013 (2005-2016) | 2012 (2001-2016) | 0.047" in table1
    assert "Disease status at HCT |  |  |  |  | >0.9" in table1
    missing = next(t for t in table_texts(cohort) if "Applies to" in t)
    assert "Onset of chronic GVHD | patients with chronic GVHD | 12" in missing
    assert "Primary induction failure | patients with status NR at HCT" in missing


def test_levels_have_one_name_in_every_table(ankl_pages):
    for page in ("report/cohort.qmd", "report/prognostic.qmd"):
        text = ankl_pages.text(page)
        assert "| Male |" in text.replace("\u2003", "") or "Male |" in text
        assert not re.search(r"(?m)^\s*(M|F|related|unrelated|MAC|RIC) \|", text), page


def test_reproduction_gives_verdicts_and_says_the_agreement_is_built_in(ankl_pages):
    text = ankl_pages.text("report/reproduction.qmd")
    prose = markdown_only(text)
    assert "**The agreement here is built in.**" in prose and "synthetic cohort generated to match" in prose
    assert "Of the 19 published numbers, 19 agree with this report" in prose
    assert "P = 0.95" in prose and "the Mantel-Byar test" in prose
    (table,) = table_texts(text)
    assert " | Published | This report (95% CI) | Difference | Agrees" in table
    assert ("Mantel-Byar test P: CR/PR at HCT vs primary induction failure with CR after HCT | 0.95 | >0.9 | — | yes"
            in table)
    assert "(naive; not published) | — | >0.9 | — | —" in table
    assert "Overall survival at 5 years | 27.3% | 27.1% (16.6-38.8) | −0.2 points | yes" in table
    assert "P: log-rank tests" not in table and "P values: the test each row names" in table


def test_adjusted_probabilities_say_what_they_are(ankl_pages):
    """The adjusted table is not a Kaplan-Meier table: its note says how its numbers were standardised."""
    factors = ankl_pages.text("report/factors.qmd")
    adjusted = next(t for t in table_texts(factors) if "Adjusted probability" in t)
    assert "Adjusted probability: direct standardisation over the cohort's covariates" in adjusted
    assert "Kaplan-Meier estimate" not in adjusted
    prose = markdown_only(factors)
    assert "NR minus CR/PR \u221219.2 percentage points (95% CI \u221238.3 to \u22120.1; P = 0.049)" in prose


def test_figures_name_their_counterparts_in_the_publication(ankl_pages):
    assert "(@fig-os; cf. Fujimoto et al. 2021, Fig. 1)" in ankl_pages.text("report/outcomes.qmd")
    assert "(cf. Fujimoto et al. 2021, Fig. 2)" in ankl_pages.text("report/factors.qmd")
    landmark = ankl_pages.text("report/landmark.qmd")
    assert "Compare Fujimoto et al. 2021, Fig. 3." in landmark and "Compare Fujimoto et al. 2021, Fig. 4." in landmark


def test_three_groups_get_step_line_intervals_not_muddy_bands(ankl_pages):
    (notebook,) = [ankl_pages.notebooks["report/factors.qmd"]]
    svgs = [o["data"]["image/svg+xml"] for c in notebook.cells for o in c.get("outputs", [])
            if "image/svg+xml" in o.get("data", {})]
    three = svgs[0]  # overall survival by factor: two two-group panels and graft source (CB, PB, BM)
    assert 'id="ci:CR/PR"' in three and 'id="ci:PB/BM"' in three  # two groups: bands
    assert 'id="ci:PB"' not in three and 'id="ci:BM"' not in three
    assert 'id="ci-line:lower:PB"' in three and 'id="ci-line:upper:BM"' in three


# --------------------------------------------------------------------------- other studies


def test_a_small_group_left_out_cannot_be_worked_out_by_subtraction(example_jp_pages):
    """min_cell 5: the 12-month landmark holds 20 patients (the landmark series and the overall survival risk
    table show it); with 19 event-free shown, the '<5' relapsed group would read 1."""
    landmark = example_jp_pages.text("report/landmark.qmd")
    assert "Landmark, months after HCT | Patients at risk" in landmark and "\n12 | 20 |" in landmark
    assert "Relapsed/progressed (n < 5)" in landmark
    assert "Event-free (n = 19)" not in landmark and "19 were alive and event-free" not in landmark
    assert "Event-free (n ≥ 5)" in landmark
    day_landmark = next(f for f in figure_texts(landmark) if "too few patients for a curve" in f)
    assert day_landmark.startswith("[figure] 12 ¦") and "Survival (%) ¦ ≥5 ¦" in day_landmark


def test_the_missing_data_table_counts_the_studys_own_columns(months_pairs_pages):
    """Donor age (a registry's own column, a model covariate) is missing for 36 patients (Table 1 says so);
    the table of every item the analyses use left it out."""
    cohort = months_pairs_pages.text("report/cohort.qmd")
    missing = next(t for t in table_texts(cohort) if "Applies to" in t)
    assert "Donor age | all patients | 160 | 36 (22.5%)" in missing
    assert "Phase at HCT | all patients | 160 | 0 (0.0%)" in missing


def test_one_excluded_record_reads_in_the_singular(days_known_bad_pages):
    cohort = markdown_only(days_known_bad_pages.text("report/cohort.qmd"))
    assert ("Before validation the study file excluded 1 record, with its reason; the extract itself was not "
            "changed. @tbl-audit is the audit trail.") in cohort


def test_a_factor_figures_source_data_names_every_panel(ankl_pages):
    factors = ankl_pages.text("report/factors.qmd")
    assert ("- [Overall survival by disease status at HCT (CR/PR vs NR), graft source (CB vs others) and graft "
            "source](source-data/") in factors


def test_an_extract_without_optional_columns_leaves_no_trace_but_one_sentence(minimal_pages):
    """Nothing of the transplant chapter applies: the page is left out, and the overview says why in one
    sentence; the landmark chapter says in one sentence what it leaves out."""
    assert "report/transplant.qmd" in minimal_pages.left_out
    index = minimal_pages.text("index.qmd")
    assert ("The chapter *Engraftment, GVHD, GRFS and causes of death* is left out: this extract records no "
            "engraftment, GVHD or cause of death.") in index
    landmark = minimal_pages.text("report/landmark.qmd")
    assert "## Complete remission" not in landmark and "## Graft-versus-host" not in landmark
    assert len(re.findall(r"does not record", landmark)) == 1
    # the opening names only the states the page analyses (it named remission and GVHD)
    assert "Patients who reach a state after transplant (relapse or progression) cannot" in landmark


def test_a_study_without_publication_leaves_the_reproduction_out_of_the_site(bmt_pages, bmt_extract, tmp_path,
                                                                             monkeypatch):
    from analysis.build.sections import PAGES_FILE, main

    monkeypatch.setenv("REPORT_STUDY", str(PROJECT_ROOT / "studies" / "bmt.yml"))
    monkeypatch.setenv("REPORT_DATA", str(bmt_extract))  # the session's extract, as the pages read it
    assert main(["--root", str(tmp_path)]) == 0
    drafts = yaml.safe_load((tmp_path / PAGES_FILE).read_text(encoding="utf-8"))
    assert drafts == {"website": {"drafts": ["report/reproduction.qmd"]}}
    index = bmt_pages.text("index.qmd")
    assert "reproduction.qmd" not in index and "analysis plan follows" not in index
    assert ("The chapter *Reproduction of the published results* is left out: this study names no publication "
            "to reproduce.") in index
    transplant = bmt_pages.text("report/transplant.qmd")  # bmt records no cause of death
    assert "Causes of death" not in transplant and "does not record causes of death" in transplant


def test_acute_gvhd_without_chronic_gvhd_is_analysed(acute_gvhd_only_study):
    pages = execute_study("acute only", acute_gvhd_only_study, pages=["report/landmark.qmd"])
    text = pages.text("report/landmark.qmd")
    prose = markdown_only(text)
    assert "does not record both" not in text
    assert "## Graft-versus-host disease and survival" in text
    assert "With each state as a time-dependent covariate of a Cox model for overall survival, the hazard ratio was " \
           "acute GVHD grade II-IV 0.60" in prose
    assert "does not record chronic GVHD with its onset, so it is not analysed here" in prose
    assert any(f.startswith("[figure]") and "aGVHD II-IV (n = 19)" in f for f in figure_texts(text))


def test_no_landmark_and_follow_up_ending_at_relapse_render(relapse_ends_follow_up_study, tmp_path):
    """Follow-up that ends at relapse leaves nobody relapsed at risk at the landmark (the page crashed with
    'time is empty'); `landmarks: []` is allowed and leaves the section out."""
    pages = execute_study("relapse ends follow-up", relapse_ends_follow_up_study, pages=["report/landmark.qmd"])
    text = pages.text("report/landmark.qmd")
    assert "Relapsed/progressed (n = 0): too few patients for a curve" in text
    assert "Event-free (n = 19)" in text
    no_landmarks = tmp_path / "study.yml"
    no_landmarks.write_text(relapse_ends_follow_up_study.read_text(encoding="utf-8").replace(
        "landmarks: [12]", "landmarks: []").replace("data: extract.csv",
                                                    f"data: {relapse_ends_follow_up_study.parent / 'extract.csv'}"),
        encoding="utf-8")
    pages = execute_study("no landmarks", no_landmarks, pages=["report/landmark.qmd"])
    text = pages.text("report/landmark.qmd")
    assert not pages.flags["study-has-landmarks"] and "## Event-free" not in text
    assert "The study lists no landmark time" in text


def test_questionable_records_are_counted_as_records(questionable_study):
    pages = execute_study("questionable", questionable_study, pages=["report/cohort.qmd"])
    text = markdown_only(pages.text("report/cohort.qmd"))
    assert "Validation found 7 questionable records; they were kept in the analysis:" in text
    assert "- Cause of death: dead without a cause of death (counted as unknown) (7 records)" in text
    assert "About the file itself: `agvhd_ani`: column not used" in text
    assert "No questionable records" not in text and "listed below" not in text


# --------------------------------------------------------------------------- the site (Quarto 1.10.18 render)


def _quarto_config() -> dict:
    return yaml.safe_load((PROJECT_ROOT / "_quarto.yml").read_text(encoding="utf-8"))


def test_pdf_is_offered_once():
    """Quarto adds its own link per format unless format-links also holds a plain-string entry."""
    links = _quarto_config()["format"]["html"]["format-links"]
    assert "html" in links and [l for l in links if isinstance(l, dict)] == [
        {"format": "typst", "text": "PDF", "icon": "file-pdf"}]


def test_navbar_and_sidebar_do_not_list_the_same_page():
    """Quarto marks a navbar link active on every page of a sidebar listing its target ("Overview" everywhere)."""
    website = _quarto_config()["website"]

    def hrefs(items):
        for item in items or ():
            if isinstance(item, dict):
                if "href" in item:
                    yield item["href"]
                yield from hrefs(item.get("contents") or item.get("menu"))
            elif isinstance(item, str):
                yield item

    navbar = website.get("navbar") or {}
    in_navbar = set(hrefs(navbar.get("left"))) | set(hrefs(navbar.get("right")))
    in_sidebar = set(hrefs(website["sidebar"]["contents"]))
    assert not in_navbar & in_sidebar


def test_pages_a_study_leaves_out_reach_quarto_as_drafts():
    assert "_pages.yml" in _quarto_config()["metadata-files"]
    assert "/_pages.yml" in (PROJECT_ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()


def test_the_changelog_is_written_for_users():
    text = (PROJECT_ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    for developer_word in ("import ", "scipy.stats", ".py", "analysis/", "module"):
        assert developer_word not in text, developer_word
