"""Nothing leaked: the small-cell rule in every table and figure, and the leak check.

With `min_cell` (study.yml `privacy: min_cell`), every count from 1 to min_cell - 1 is shown as
"<min_cell" -- with its percentage hidden -- in Table 1, the estimates table, the flow, exclusion
and missing-data tables, the warnings list and the numbers at risk under the figures; 0 is shown.
The default (0) changes nothing.  The tables and figures of the synthetic cohort hold no patient
id and no input date, and the site check finds an id or date that does get into a page or an
executed notebook.
"""
from __future__ import annotations

import html
import io
import json
import re
from types import SimpleNamespace

import pytest

from analysis.analyses.characteristics import (Count, MedianRange, MissingData, MissingDataRow, characteristics,
                                                missing_data)
from analysis.present.tables.characteristics import characteristics_frame, characteristics_gt, fmt_count, fmt_median_range
from analysis.data.paths import SYNTHETIC_DATA
from analysis.analyses.estimates import estimate_endpoint
from analysis.present.figures.curves import plot_curves, plot_panels
from analysis.data.cohort import load_cohort
from analysis.data.inclusion import Criterion
from analysis.analyses.cohort import cohort_overview
from analysis.present.tables.cohort import (
    cohort_flow_table,
    endpoint_exclusion_table,
    flow_table,
    missing_data_table,
)
from analysis.present.prose import (count_note, cr_after_hct_markdown, data_banner, findings_markdown, survivors_phrase,
                                    warnings_markdown)
from analysis.present.context import using_display
from analysis.analyses.landmark import cr_after_hct_comparison
from analysis.analyses.models import fit_model
from analysis.stats.kaplan_meier import FollowUp
from analysis.present.privacy import (flow_counts, is_suppressed, suppress_count, suppress_count_pct,
                                      suppression_note)
from analysis.build.site_check import Identifiers, check_site, find_leaks
from disclosure_reader import Reader
from analysis.present.tables.comparison import ComparisonRow, comparison_table
from analysis.present.tables.estimates import estimates_table
from analysis.present.tables.causes_of_death import causes_of_death_table
from analysis.present.tables.landmark_series import landmark_series_table
from analysis.present.figures.landmark_series import landmark_series_plot
from analysis.analyses.landmark import LandmarkRow
from registry_exports import synthetic_text_table

SMALL = re.compile(r"(?<![\d.<])([1-4])(?![\d.%])")  # a bare count 1-4


@pytest.fixture(scope="module")
def cohort():
    return load_cohort(SYNTHETIC_DATA)


def text_of(gt) -> str:
    """The table's HTML, unescaped, with great-tables' random element id made constant."""
    page = gt.as_raw_html()
    match = re.search(r'<div id="(\w+)"', page)
    if match:
        page = page.replace(match.group(1), "TABLE")
    return html.unescape(page)


@pytest.mark.parametrize("n, min_cell, shown", [
    (0, 5, "0"), (1, 5, "<5"), (4, 5, "<5"), (5, 5, "5"), (120, 5, "120"), (3, 0, "3"), (1, 1, "1"),
    (None, 5, ""), (float("nan"), 5, "NA"), (2.0, 5, "<5"), (7.0, 0, "7"),
])
def test_suppress_count(n, min_cell, shown):
    assert suppress_count(n, min_cell) == shown


def test_suppressed_counts_lose_their_percentage():
    assert suppress_count_pct(3, 59, 5) == "<5"
    assert suppress_count_pct(0, 59, 5) == "0 (0.0%)"
    assert suppress_count_pct(12, 59, 5) == "12 (20.3%)"
    assert fmt_count(Count(3, 10)) == "3 (30.0%)"
    assert fmt_count(Count(3, 10), min_cell=5) == "<5"
    assert fmt_median_range(MedianRange(3, 40, 20, 60, True), min_cell=5) == "<5 values"
    assert fmt_median_range(MedianRange(3, 40, 20, 60, True)) == "40 (20-60)"
    assert suppression_note(0) is None and suppression_note(1) is None
    assert suppression_note(5) == ("Counts from 1 to 4 are shown as <5 (small-cell rule), and counts from which one "
                                   "could be worked out as ≥5; their percentages are not shown.")
    assert not is_suppressed(0, 5) and is_suppressed(4, 5) and not is_suppressed(4, 0)


def table_one_reader(table, min_cell: int, cohort_n: int) -> tuple[Reader, dict]:
    """What a reader knows from Table 1 as printed: every cell, the N of each column, that a
    column's levels and missing values add up to its N, that the groups add up to the Overall
    column, and what each percentage says about its denominator (N - missing)."""
    shown = characteristics_frame(table, min_cell=min_cell)
    page = text_of(characteristics_gt(table, min_cell=min_cell))
    reader = Reader(min_cell)
    columns = ["overall", *(f"group_{i}" for i in range(len(table.groups)))]
    labels = ["Overall", *table.groups]
    sizes = [reader.text(re.search(rf"{re.escape(label)}, N = ([^<]*?|<\d+)</", page).group(1)) for label in labels]
    missing_by = reader.unknown()
    reader.sums_to(reader.text(str(cohort_n)), [sizes[0], missing_by])
    if len(sizes) > 1:
        reader.sums_to(sizes[0], sizes[1:])
    cells = {}
    blocks, block = [], None
    for i, label in enumerate(shown["label"]):
        if not label.startswith("\u2003"):  # a variable's row starts a block (a continuous one has none)
            block = []
            blocks.append(block)
        else:
            block.append(i)
    for block in (b for b in blocks if b):
        for i in block:
            for j, column in enumerate(columns):
                cells[i, j] = reader.text(shown.loc[i, column])
        for j in range(len(columns)):
            reader.sums_to(sizes[j], [cells[i, j] for i in block])
            missing = [cells[i, j] for i in block if shown.loc[i, "label"] == "\u2003Missing"]
            denominator = {sizes[j]: 1.0, **{m: -1.0 for m in missing}}
            for i in block:
                reader.percent_denominator(cells[i, j], denominator)
        for i in block:
            reader.sums_to(cells[i, 0], [cells[i, j] for j in range(1, len(columns))])
    return reader, cells


@pytest.mark.parametrize("min_cell", [5, 11, 13])
def test_no_hidden_count_of_table_1_can_be_worked_out(cohort, min_cell):
    """Issue 11: BM female '<5' beside BM N = 12 and male 9; PB unrelated '<5' = 18 - 15."""
    table = characteristics(cohort.data, by="graft_source")
    reader, _ = table_one_reader(table, min_cell, cohort.n)
    assert reader.small, "the synthetic cohort has small cells at this threshold"
    assert reader.disclosed() == []
    shown = characteristics_frame(table, min_cell=min_cell)
    for row, (_, line) in zip(table.rows, shown.iterrows()):
        for stat, text in zip((row.overall, *row.groups), (line["overall"], *(line[f"group_{i}"] for i in range(3)))):
            n = getattr(stat, "n", None)
            if n is not None and 0 < n < min_cell:
                assert text in (f"<{min_cell}", f"<{min_cell} values"), (row.label, text)
            elif isinstance(stat, Count) and not text.startswith("\u2265"):
                assert text.split(" ")[0] == str(stat.n), (row.label, text)


def test_the_subtractions_of_issue_11_no_longer_work(cohort):
    table = characteristics(cohort.data, by="graft_source")
    frame = characteristics_frame(table, min_cell=5).set_index("label")
    bm, pb = "group_2", "group_1"
    assert frame.loc["\u2003Female", bm] == "<5" and frame.loc["\u2003Male", bm] == "\u22655"  # was 9 (75.0%)
    assert frame.loc["\u2003Unrelated", pb] == "<5" and frame.loc["\u2003Related", pb] == "\u22655"  # was 15


def test_table_1_headers_percentages_and_small_summaries(cohort):
    table = characteristics(cohort.data, by="graft_source")
    page = text_of(characteristics_gt(table, min_cell=13))
    assert "BM, N = <13" in page and "CB, N = 29" in page and "Overall, N = 59" in page
    assert "PB, N = \u226513" in page  # 59 - 29 - BM would give PB
    assert "(small-cell rule)" in page
    assert not re.search(r"(<|\u2265)13 \(\d", page), "a hidden count kept its percentage"
    # the default is unchanged
    assert text_of(characteristics_gt(table)) == text_of(characteristics_gt(table, min_cell=0))
    assert "BM, N = 12" in text_of(characteristics_gt(table)) and "small-cell" not in text_of(characteristics_gt(table))


def test_a_percentage_does_not_reveal_a_hidden_missing_count(cohort):
    """BM's ECOG 1 was '6 (60.0%)' beside ECOG missing '<5': 6 / 60% = 10 known values of 12."""
    table = characteristics(cohort.data, by="graft_source")
    frame = characteristics_frame(table, min_cell=5)
    ecog = [i for i, row in enumerate(table.rows) if row.variable == "ps" and row.row_type != "variable"]
    assert any(table.rows[i].row_type == "missing" for i in ecog)
    for i in ecog:
        for column in ("overall", "group_0", "group_1", "group_2"):
            assert "%" not in frame.loc[i, column], (table.rows[i].label, column, frame.loc[i, column])


def test_ranges_are_replaced_by_the_interquartile_range_under_the_rule(cohort):
    """Issue 11: 'median (range)' printed the youngest and oldest patient's exact age."""
    table = characteristics(cohort.data, by="graft_source")
    age = table.variable_row("age").overall
    assert fmt_median_range(age) == f"{age.median:.0f} ({age.minimum:.0f}-{age.maximum:.0f})"
    ruled = characteristics_frame(table, min_cell=5)
    assert ruled.loc[0, "overall"] == "44 (36-52)"  # whole ages: whole quartiles, as the median
    page = text_of(characteristics_gt(table, min_cell=5))
    assert "median (IQR)" in page and "median (range)" not in page
    for i, row in enumerate(table.rows):
        for stat, column in zip((row.overall, *row.groups), ("overall", "group_0", "group_1", "group_2")):
            if isinstance(stat, MedianRange) and stat.n:
                assert ruled.loc[i, column] == fmt_median_range(stat, min_cell=5)
                assert f"({stat.minimum:.0f}-{stat.maximum:.0f})" not in ruled.loc[i, column]


def test_a_rare_free_text_level_is_pooled_as_other(tmp_path):
    """Issue 11: a single patient's free-text disease label ('ZQRAREDX') appeared in Table 1."""
    frame = synthetic_text_table()
    frame.loc[:39, "disease"] = "ANKL"
    frame.loc[40:, "disease"] = "AML"
    frame.loc[3, "disease"] = "ZQRAREDX"
    frame.loc[4, "disease"] = "QQOTHER"
    path = tmp_path / "extract.csv"
    frame.to_csv(path, index=False)
    table = characteristics(load_cohort(path).data, by="graft_source")
    assert "ZQRAREDX" in text_of(characteristics_gt(table))
    page = text_of(characteristics_gt(table, min_cell=5))
    assert "ZQRAREDX" not in page and "QQOTHER" not in page
    assert "Other (fewer than 5 patients each)" in page and "levels held by fewer than 5 patients each, pooled" in page
    assert "ANKL" in page and "AML" in page
    reader, _ = table_one_reader(characteristics(load_cohort(path).data, by="graft_source"), 5, 59)
    assert reader.disclosed() == []


def estimates_rows(page: str) -> dict[str, tuple[str, str]]:
    """{row label: (N, Events)} of an estimates table's HTML."""
    rows = {}
    for label, n, events in re.findall(r'<th[^>]*gt_stub[^>]*>([^<]+)</th>\s*'
                                       r'<td[^>]*>(.*?)</td>\s*<td[^>]*>(.*?)</td>', page):
        rows[label.strip()] = (n, events)
    return rows


@pytest.mark.parametrize("min_cell", [5, 11, 13])
def test_no_group_size_or_event_count_of_an_estimates_table_can_be_worked_out(cohort, min_cell):
    by_graft = estimate_endpoint(cohort.data, "os", by="graft_source")
    overall = estimate_endpoint(cohort.data, "os").overall
    page = text_of(estimates_table([by_graft], min_cell=min_cell))
    rows = estimates_rows(page)
    reader = Reader(min_cell)
    sizes, events = [], []
    for curve in by_graft.curves:
        n_text, events_text = rows[curve.label]
        sizes.append(reader.text(n_text))
        events.append(reader.text(events_text))
        reader.sums_to(sizes[-1], [events[-1], reader.unknown(curve.n - curve.events)])  # and those without one
    reader.sums_to(reader.text(str(cohort.n)), sizes)  # the cohort, shown everywhere
    reader.sums_to(reader.text(str(overall.events)), events)  # the overall events, shown in the outcomes table
    assert reader.small and reader.disclosed() == []
    assert "(small-cell rule)" in page
    assert text_of(estimates_table([by_graft])) == text_of(estimates_table([by_graft], min_cell=0))


def test_estimates_table_hides_a_group_that_subtraction_from_the_cohort_would_reveal(cohort):
    by_graft = estimate_endpoint(cohort.data, "os", by="graft_source")
    rows = estimates_rows(text_of(estimates_table([by_graft], min_cell=13)))
    assert rows["BM"][0] == "<13" and rows["PB"][0] == "\u226513" and rows["CB"][0] == "29"


def test_no_number_at_risk_can_be_worked_out(cohort):
    """At each tick the curves' numbers add up to the overall figure's; they never rise; the legend
    gives each curve's size."""
    result = estimate_endpoint(cohort.data, "os", by="graft_source")
    overall = estimate_endpoint(cohort.data, "os").overall
    times = (0, 12, 24, 36, 48, 60, 240)  # at 240 months no one is at risk: 0 is shown as 0
    for min_cell in (5, 11):
        fig = plot_curves(result, times=times, min_cell=min_cell)
        texts = risk_texts(fig)
        legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
        reader = Reader(min_cell)
        rows = []
        for curve, label in zip(result.curves, legend):
            size = reader.text(re.search(r"\(n = (.+)\)", label).group(1))
            rows.append([reader.text(texts[f"risk:{curve.label}:{t:g}"]) for t in times])
            for earlier, later in zip([size, *rows[-1]], rows[-1]):
                reader.at_least(earlier, later)
        for k, t in enumerate(times):
            reader.sums_to(reader.text(str(overall.number_at_risk(t))), [row[k] for row in rows])
        reader.sums_to(reader.text(str(cohort.n)), [reader.text(re.search(r"\(n = (.+)\)", label).group(1))
                                                     for label in legend])
        assert reader.small and reader.disclosed() == [], min_cell
    plain = risk_texts(plot_curves(result, times=times))
    ruled = risk_texts(plot_curves(result, times=times, min_cell=5))
    for gid, count in plain.items():
        n = int(count)
        assert ruled[gid] in (("<5",) if 0 < n < 5 else (count, "\u22655")), gid
    assert "0" in plain.values() and ruled["risk:CB:240"] == "0"


def test_cohort_chapter_tables_suppress_small_counts(cohort, tmp_path):
    overview = cohort_overview(cohort)
    missing = missing_data(cohort.data)
    ps = missing["ps"]
    assert 0 < ps.n_missing < 5
    page = text_of(missing_data_table(missing, min_cell=5))
    assert "<5" in page and f"{ps.n_missing} (" not in page
    assert text_of(missing_data_table(missing)) == text_of(missing_data_table(missing, min_cell=0))

    table = synthetic_text_table()
    ungraded = table.index[(table["agvhd_date"] == "")][:2]
    table.loc[ungraded, "agvhd_grade"] = ""  # two patients without a recorded aGVHD grade
    path = tmp_path / "extract.csv"
    table.to_csv(path, index=False)
    partial = cohort_overview(load_cohort(path))
    assert ("Acute GVHD grade II-IV", 57, "agvhd_grade missing", 2) in partial.endpoint_exclusions
    exclusions = text_of(endpoint_exclusion_table(partial, min_cell=5))
    assert "acute GVHD, maximum grade not recorded" in exclusions and "<5" in exclusions and ">2<" not in exclusions
    assert ">57<" not in exclusions, "59 - 57 analysed gives the 2 excluded"
    assert ">2<" in text_of(endpoint_exclusion_table(partial))
    # the endpoint's own table shows its patients the same way
    with using_display(study_with(5), load_cohort(path)):
        agvhd = estimate_endpoint(load_cohort(path).data, "agvhd2")
        assert estimates_rows(text_of(estimates_table([agvhd])))[agvhd.title][0] == "\u22655"
    assert text_of(flow_table(overview, min_cell=5)) == text_of(flow_table(overview))  # 59 >= 5

    selected = load_cohort(SYNTHETIC_DATA, include=(Criterion("age", (), 18, None),))
    assert selected.exclusions and 0 < selected.exclusions[0][1] < 5
    flow = text_of(cohort_flow_table(selected, min_cell=5))
    assert "Excluded: age at HCT below 18" in flow and "<5" in flow and "Inclusion criteria: age at HCT ≥ 18" in flow
    assert f">{selected.exclusions[0][1]}<" in text_of(cohort_flow_table(selected))
    # records - analysed would give the one small exclusion: the records are hidden, the analysed shown
    assert f">{selected.n_records}<" not in flow and "\u22655" in flow and f">{selected.n}<" in flow
    assert [s.text for s in flow_counts(selected.flow, min_cell=5)] == ["\u22655", "<5", str(selected.n)]


def test_a_missing_percentage_goes_with_a_hidden_count():
    missing = MissingData(59, (MissingDataRow("relapse_date", 30, 33, "patients with relapse"),))
    page = text_of(missing_data_table(missing, min_cell=5))
    assert ">30 (" not in page and "\u22655" in page  # 3 relapses with a date would follow from 33 - 30


def test_warnings_list_suppresses_small_counts(tmp_path):
    table = synthetic_text_table()
    dead = table.index[table["vital_status"] == "dead"][:2]
    table.loc[dead, "cause_of_death"] = ""  # two deaths without a cause: a warning each
    path = tmp_path / "no_cause.csv"
    table.to_csv(path, index=False)
    overview = cohort_overview(load_cohort(path))
    assert [w.count for w in overview.warnings] == [2]
    assert "(2 records)" in warnings_markdown(overview)
    assert "(<5 records)" in warnings_markdown(overview, min_cell=5)


def test_comparison_table_suppresses_computed_counts():
    rows = [ComparisonRow("Patients with BM", 12, 3, kind="count"), ComparisonRow("OS at 1 year", 0.339, 0.34, kind="pct")]
    page = text_of(comparison_table(rows, min_cell=5))
    assert "<5" in page and "34.0%" in page and "-9" not in page
    assert text_of(comparison_table(rows)) == text_of(comparison_table(rows, min_cell=0))


def risk_texts(fig) -> dict[str, str]:
    return {t.get_gid(): t.get_text() for ax in fig.axes for t in ax.texts if (t.get_gid() or "").startswith("risk:")}


def test_legend_and_panels_under_the_rule(cohort):
    result = estimate_endpoint(cohort.data, "os", by="graft_source")
    fig = plot_curves(result, min_cell=13)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["CB (n = 29)", "PB (n \u2265 13)", "BM (n < 13)"]
    times = (0, 12, 24, 36, 48, 60, 240)
    assert risk_texts(plot_panels([result], times=times, min_cell=5)) == risk_texts(plot_curves(result, times=times,
                                                                                                min_cell=5))


def table_cells(page: str) -> dict[str, list[str]]:
    """{stub label: [cell texts]} of a great-tables table's HTML."""
    body = page.split("<tbody", 1)[1]
    return {label.strip(): cells for label, cells in
            ((m.group(1), re.findall(r"<td[^>]*>(.*?)</td>", m.group(2)))
             for m in re.finditer(r"<th[^>]*gt_stub[^>]*>([^<]+)</th>(.*?)</tr>", body, re.S))}


def test_no_cause_of_death_can_be_worked_out_from_its_row_column_or_total():
    rows = [("Relapse", 10, 10 / 19, 10, 0), ("GVHD", 3, 3 / 19, 0, 3), ("Infection", 6, 6 / 19, 1, 5)]
    cells = table_cells(text_of(causes_of_death_table(rows, min_cell=5)))
    reader = Reader(5)
    grid = {label: [reader.text(re.sub(r" \(.*", "", t)) for t in cells[label]] for label in cells}
    for every, after, without in grid.values():
        reader.sums_to(every, [after, without])
    for column in range(3):
        reader.sums_to(grid["Total"][column], [grid[label][column] for label, *_ in rows])
    reader.sums_to(reader.text("19"), [grid["Total"][0]])  # all deaths: the overall-survival events
    assert reader.small and reader.disclosed() == []
    assert cells["GVHD"][0] == "<5" and cells["Total"][0].startswith("19")


def test_counts_of_one_column_in_the_reproduction_table_are_one_set():
    rows = [ComparisonRow("Patients", 59, 59, kind="count"),
            *(ComparisonRow(f"Status {s}", p, c, kind="count", count_set="status") for s, p, c in
              (("CR", 21, 21), ("PR", 7, 7), ("NR", 31, 31)))]
    page = text_of(comparison_table(rows, min_cell=11))
    cells = table_cells(page)
    assert cells["Status PR"][1] == "<11" and cells["Status CR"][1] == "\u226511" and cells["Status NR"][1] == "31"
    assert cells["Status PR"][0] == "7"  # published numbers are public


def test_landmark_series_counts_follow_the_rule():
    rows = [LandmarkRow(3, 40, 30, 1.2, 0.5, 2.8, 0.6), LandmarkRow(6, 30, 27, 1.5, 0.6, 3.1, 0.4)]
    page = text_of(landmark_series_table(rows, min_cell=5))
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in page.split("<tbody")[1].split("</tr>")[:-1]]
    assert cells[1][1] == "30" and cells[1][2] == "\u22655"  # 30 - 27 = 3 alive after the 6-month landmark
    fig = landmark_series_plot(rows, min_cell=5)
    shown = {t.get_gid(): t.get_text() for t in fig.axes[0].texts if (t.get_gid() or "").startswith("table:")}
    assert shown["table:Events:6"] == "\u22655" and shown["table:At risk:6"] == "30"


# --------------------------------------------------------------------------- sentences


def study_with(min_cell: int):
    return SimpleNamespace(min_cell=min_cell)


def test_a_sentence_names_groups_with_their_sizes_under_the_rule(cohort):
    """Issue 11: 'PR (n = 7)' at min_cell 11 in the factors chapter."""
    by_status = estimate_endpoint(cohort.data, "os", by="status_at_hct")
    assert "PR (n = 7)" in findings_markdown((by_status,), at=60)
    with using_display(study_with(11), cohort):
        text = findings_markdown((by_status,), at=60)
    assert "PR (n < 11)" in text and "CR (n \u2265 11)" in text and "NR (n = 31)" in text
    assert not re.search(r"\(n = (?:[1-9]|10)\)", text)


def test_the_survivors_follow_up_is_not_given_patient_by_patient():
    """Issue 11: 'the 3 survivors were followed for 148.0 to 343.6 months' (two patients' exact times)."""
    follow_up = FollowUp(median=200.0, lower=148.0, upper=343.6, minimum=148.0, maximum=343.6, n=59, n_survivors=3)
    assert survivors_phrase(follow_up) == "the three survivors were followed for 148.0 to 343.6 months"
    text = survivors_phrase(follow_up, min_cell=5)
    assert "148.0" not in text and "343.6" not in text and "3" not in text and "three" not in text
    assert text == "fewer than 5 patients were alive at last contact"
    # 56 deaths beside 59 patients would give the 3 survivors: the deaths are shown as the table shows them
    many = FollowUp(median=80.0, lower=40.0, upper=120.0, minimum=2.0, maximum=190.0, n=59, n_survivors=56)
    assert survivors_phrase(many, min_cell=5) == "at least 5 patients were alive at last contact"
    assert survivors_phrase(FollowUp(float("nan"), float("nan"), float("nan"), float("nan"), float("nan"), 59, 0),
                            min_cell=5) == "no patient was alive at last contact"


def test_the_cr_after_hct_sentence_hides_a_small_group(cohort):
    """Issue 11: '9 reached complete remission after HCT' at min_cell 11 (landmark chapter)."""
    cr = cr_after_hct_comparison(cohort.data)
    assert cr.n_pif_cr == 9 and "9 reached complete remission" in cr_after_hct_markdown(cr)
    with using_display(study_with(11), cohort):
        text = cr_after_hct_markdown(cr)
        legend = [t.get_text() for t in plot_curves(cr.within_pif).axes[0].get_legend().get_texts()]
    assert "fewer than 11 reached complete remission" in text and not re.search(r"\b9\b", text.split("(")[0])
    assert f"Of {cr.n_pif} patients" in text  # 20 with primary induction failure: 9 + 11 without CR
    assert any("(n < 11)" in label for label in legend)


def test_counts_in_the_banner_and_model_notes_follow_the_rule(cohort):
    small = SimpleNamespace(synthetic=True, n=3, source="x.csv", sha256="0" * 64)
    assert "cohort** of <5 simulated" in using_banner(small, 5)
    model = fit_model(cohort.data, "os", "cox", ["graft_source"])
    assert count_note(model, 0) == f"n = {model.n}, events = {model.events}, 21.5 events per parameter"
    with using_display(study_with(60), cohort):
        # the events per parameter would give the hidden events back (43 / 2): only its bound is said
        assert count_note(model, 60) == "n < 60, events < 60, fewer than 30.0 events per parameter"


def using_banner(c, min_cell: int) -> str:
    with using_display(study_with(min_cell)):
        return data_banner(c)


# --------------------------------------------------------------------------- nothing leaked


def test_presentation_of_the_synthetic_cohort_holds_no_id_or_date(cohort):
    identifiers = Identifiers.from_file(SYNTHETIC_DATA)
    assert "SYN001" in identifiers.ids and "2001-01-30" in identifiers.dates
    overview = cohort_overview(cohort)
    results = [estimate_endpoint(cohort.data, e, by=b) for e, b in (("os", None), ("relapse", "graft_source"))]
    pages = [
        text_of(characteristics_gt(characteristics(cohort.data, by="graft_source"), min_cell=5)),
        text_of(missing_data_table(missing_data(cohort.data))),
        text_of(flow_table(overview)), text_of(cohort_flow_table(cohort)),
        text_of(endpoint_exclusion_table(overview)), warnings_markdown(overview),
        text_of(estimates_table(results)),
    ]
    svg = io.StringIO()
    plot_panels(results).savefig(svg, format="svg")
    pages.append(svg.getvalue())
    for page in pages:
        assert find_leaks(page, identifiers) == []


def test_the_site_check_finds_an_id_or_date_in_a_page_or_notebook(tmp_path):
    site = tmp_path / "_site"
    site.mkdir()
    (site / "index.html").write_text("<html><body><p>59 patients</p></body></html>", encoding="utf-8")
    leaks = [p for p in check_site(site, SYNTHETIC_DATA, require_pdf=False) if p.kind == "leak"]
    assert leaks == []
    (site / "report").mkdir()
    (site / "report" / "cohort.html").write_text("<table><tr><td>SYN017</td></tr></table>", encoding="utf-8")
    notebook = {"cells": [{"cell_type": "code", "outputs": [{"text": "hct_date 2001-01-30"}], "source": ""}]}
    (site / "report" / "cohort.ipynb").write_text(json.dumps(notebook), encoding="utf-8")
    leaks = [p for p in check_site(site, SYNTHETIC_DATA, require_pdf=False) if p.kind == "leak"]
    found = {(p.path, p.message.split(": ", 1)[-1]) for p in leaks}
    assert any(path == "report/cohort.html" and "'SYN017'" in message for path, message in found), found
    assert any(path == "report/cohort.ipynb" and "'2001-01-30'" in message for path, message in found), found


def test_the_audit_trail_hides_a_small_exclusion_as_the_flow_table_does():
    """A study file's exclusion of one record is a count like any other: "<5" in the audit trail, its
    sentence and the flow table alike, and the records in the extract no longer give it away."""
    from analysis.analyses.settings import load_study
    from analysis.data.paths import PROJECT_ROOT
    from analysis.data.study import study_cohort
    from analysis.present.prose import audit_sentence
    from analysis.present.tables.cohort import audit_table, cohort_flow_table

    cohort = study_cohort(load_study(PROJECT_ROOT / "studies" / "days_known_bad.yml"))
    assert "excluded 1 record," in audit_sentence(cohort, min_cell=0)
    assert "excluded fewer than 5 records," in audit_sentence(cohort, min_cell=5)
    audit, flow = text_of(audit_table(cohort, min_cell=5)), text_of(cohort_flow_table(cohort, min_cell=5))
    assert "<5" in audit and "chronic GVHD recorded after death" in audit
    assert "<5" in flow and "137" not in flow
