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

import pandas as pd
import pytest

from analysis.analyses.characteristics import Count, MedianRange, characteristics, missing_data
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
from analysis.present.prose import warnings_markdown
from analysis.present.privacy import is_suppressed, suppress_count, suppress_count_pct, suppression_note
from analysis.build.site_check import Identifiers, check_site, find_leaks
from analysis.present.tables.comparison import ComparisonRow, comparison_table
from analysis.present.tables.estimates import estimates_table

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
    assert suppression_note(5) == "Counts from 1 to 4 are shown as <5 (small-cell rule); so are their percentages."
    assert not is_suppressed(0, 5) and is_suppressed(4, 5) and not is_suppressed(4, 0)


def test_table_1_suppresses_counts_percentages_headers_and_small_summaries(cohort):
    table = characteristics(cohort.data, by="graft_source")
    shown = characteristics_frame(table, min_cell=13)
    for row, (_, line) in zip(table.rows, shown.iterrows()):
        for stat, text in zip((row.overall, *row.groups), (line["overall"], *(line[f"group_{i}"] for i in range(3)))):
            n = getattr(stat, "n", None)
            if n is not None and 0 < n < 13:
                assert text in ("<13", "<13 values"), (row.label, text)
            elif isinstance(stat, Count):
                assert text == fmt_count(stat), (row.label, text)
    page = text_of(characteristics_gt(table, min_cell=13))
    assert "BM, N = &lt;13" in html.escape(page) or "BM, N = <13" in page
    assert "CB, N = 29" in page and "Overall, N = 59" in page
    assert "(small-cell rule)" in page
    assert not re.search(r"<13 \(\d", page), "a suppressed count kept its percentage"
    # the default is unchanged
    assert text_of(characteristics_gt(table)) == text_of(characteristics_gt(table, min_cell=0))
    assert "BM, N = 12" in text_of(characteristics_gt(table)) and "small-cell" not in text_of(characteristics_gt(table))


def test_estimates_table_suppresses_n_and_events(cohort):
    by_graft = estimate_endpoint(cohort.data, "os", by="graft_source")
    overall = estimate_endpoint(cohort.data, "nrm")
    page = text_of(estimates_table([overall, by_graft], min_cell=13))
    bm = next(c for c in by_graft.curves if c.label == "BM")
    assert bm.n == 12 and "<13" in page and "(small-cell rule)" in page
    assert text_of(estimates_table([overall, by_graft])) == text_of(estimates_table([overall, by_graft], min_cell=0))
    frame_text = page.split("<tbody")[1]
    assert ">12<" not in frame_text


def test_cohort_chapter_tables_suppress_small_counts(cohort, tmp_path):
    overview = cohort_overview(cohort)
    missing = missing_data(cohort.data)
    ps = missing["ps"]
    assert 0 < ps.n_missing < 5
    page = text_of(missing_data_table(missing, min_cell=5))
    assert "<5" in page and f"{ps.n_missing} (" not in page
    assert text_of(missing_data_table(missing)) == text_of(missing_data_table(missing, min_cell=0))

    table = pd.read_csv(SYNTHETIC_DATA, dtype=str, keep_default_na=False)
    ungraded = table.index[(table["agvhd_date"] == "")][:2]
    table.loc[ungraded, "agvhd_grade"] = ""  # two patients without a recorded aGVHD grade
    path = tmp_path / "extract.csv"
    table.to_csv(path, index=False)
    partial = cohort_overview(load_cohort(path))
    assert ("Acute GVHD grade II-IV", 57, "agvhd_grade missing", 2) in partial.endpoint_exclusions
    exclusions = text_of(endpoint_exclusion_table(partial, min_cell=5))
    assert "acute GVHD, maximum grade not recorded" in exclusions and "<5" in exclusions and ">2<" not in exclusions
    assert ">2<" in text_of(endpoint_exclusion_table(partial))
    assert text_of(flow_table(overview, min_cell=5)) == text_of(flow_table(overview))  # 59 >= 5

    selected = load_cohort(SYNTHETIC_DATA, include=(Criterion("age", (), 18, None),))
    assert selected.exclusions and 0 < selected.exclusions[0][1] < 5
    flow = text_of(cohort_flow_table(selected, min_cell=5))
    assert "Excluded: age at HCT below 18" in flow and "<5" in flow and "Inclusion criteria: age at HCT ≥ 18" in flow
    assert f">{selected.exclusions[0][1]}<" in text_of(cohort_flow_table(selected))


def test_warnings_list_suppresses_small_counts(tmp_path):
    text = SYNTHETIC_DATA.read_text(encoding="utf-8").replace("2019-03-", "2031-03-", 2)
    path = tmp_path / "future.csv"
    path.write_text(text, encoding="utf-8")
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


def test_numbers_at_risk_and_legend_under_the_rule(cohort):
    result = estimate_endpoint(cohort.data, "os", by="graft_source")
    times = (0, 12, 24, 36, 48, 60, 240)  # at 240 months no one is at risk: 0 is shown as 0
    plain, ruled = risk_texts(plot_curves(result, times=times)), risk_texts(plot_curves(result, times=times, min_cell=5))
    assert plain.keys() == ruled.keys()
    for gid, count in plain.items():
        n = int(count)
        assert ruled[gid] == ("<5" if 0 < n < 5 else count), gid
    assert any(0 < int(c) < 5 for c in plain.values()) and "0" in plain.values()
    fig = plot_curves(result, min_cell=13)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend == ["CB (n = 29)", "PB (n = 18)", "BM (n < 13)"]
    panels = plot_panels([result], times=times, min_cell=5)
    assert risk_texts(panels) == ruled


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
