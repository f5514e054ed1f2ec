"""Every figure and table records its numbers for the page's source-data CSVs, with the small-cell rule."""
import csv

from analysis.analyses.estimates import estimate_endpoint
from analysis.data.cohort import load_cohort
from analysis.data.paths import SYNTHETIC_DATA
from analysis.present import source_data
from analysis.present.context import using_display
from analysis.present.figures.curves import plot_curves
from analysis.present.tables.estimates import estimates_table


class Rule:
    min_cell = 5


def test_a_figure_and_a_table_become_csv_files_with_the_small_cell_rule(tmp_path):
    cohort = load_cohort(SYNTHETIC_DATA)
    by_graft = estimate_endpoint(cohort.data, "os", by="graft_source")
    source_data.write_source_data(tmp_path / "discarded")  # start from an empty record
    with using_display(Rule()):
        plot_curves(by_graft)
        estimates_table([by_graft], times=(12, 60))
        markdown = source_data.source_data_markdown(tmp_path / "source-data")
    files = sorted((tmp_path / "source-data").glob("*.csv"))
    assert len(files) == 2 and source_data.recorded() == []
    assert markdown.count("](source-data/") == 2 and markdown.startswith("## Source data")
    curve_file = next(f for f in files if f.name.startswith("overall-survival-by-"))
    rows = list(csv.DictReader(curve_file.open(encoding="utf-8")))
    groups = {row["group"] for row in rows}
    assert len(groups) == len(by_graft.curves)
    # Under the rule, the curves where the figure prints numbers (its ticks), with the numbers at risk exactly
    # as its table shows them: point by point, a curve's steps would give every small count the rule hides.
    first = rows[0]
    assert {"time_months", "estimate", "lower_95", "upper_95", "n_at_risk", "n_event", "n_censored"} <= set(first)
    assert {float(row["time_months"]) for row in rows} == {0.0, 12.0, 24.0, 36.0, 48.0, 60.0}
    with using_display(Rule()):
        figure = plot_curves(by_graft)
    drawn = {t.get_gid(): t.get_text() for t in figure.axes[0].texts if (t.get_gid() or "").startswith("risk:")}
    for row in rows:
        label = next(c.label for c in by_graft.curves if c.label == row["group"])
        assert row["n_at_risk"] == drawn[f"risk:{label}:{float(row['time_months']):g}"]
        assert row["n_event"] == row["n_censored"] == ""
        assert len(row["estimate"].split(".")[-1]) <= 3  # to 0.1%, as the tables print it
    at_risk = [row["n_at_risk"] for row in rows]
    assert "<5" in at_risk and not any(value in {"1", "2", "3", "4"} for value in at_risk)
    table_file = next(f for f in files if f.name.startswith("estimates-"))
    assert "%" in table_file.read_text()  # the cells as the table shows them


def test_the_same_numbers_give_the_same_file_name(tmp_path):
    cohort = load_cohort(SYNTHETIC_DATA)
    result = estimate_endpoint(cohort.data, "os")
    source_data.write_source_data(tmp_path / "discarded")
    plot_curves(result)
    (first,) = source_data.write_source_data(tmp_path / "a")
    plot_curves(result)
    (again,) = source_data.write_source_data(tmp_path / "b")
    assert first[1].name == again[1].name and first[1].read_bytes() == again[1].read_bytes()
