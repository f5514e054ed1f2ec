"""Group labels and their integer codes, shared by every analysis of a cohort frame."""
import numpy as np
import pandas as pd
import pytest

from analysis.domain.groupings import group_codes_of, group_labels

FRAME = pd.DataFrame({
    "graft_source": ["PB", "CB", None, "BM", "CB", "PB"],
    "status_at_hct": ["NR", "CR", "PR", None, "CR", "NR"],
})


def test_codes_number_the_labels_in_sorted_order():
    groups = group_codes_of(FRAME, "graft_source")
    labels, levels = group_labels(FRAME, "graft_source")
    assert groups.levels == levels == ("CB", "PB", "BM")  # display order: the SPEC's
    assert groups.names == ("BM", "CB", "PB")  # R's factor order: sorted
    assert groups.codes.tolist() == [2, 1, -1, 0, 1, 2]
    assert [groups.names[c] if c >= 0 else None for c in groups.codes] == labels.tolist()
    assert groups.code("PB") == 2


def test_derived_groupings_and_subsets_of_rows():
    rows = np.array([True, True, True, False, True, True])
    groups = group_codes_of(FRAME, "status_crpr_vs_nr", rows)
    assert groups.names == ("CR/PR", "NR") and groups.codes.tolist() == [1, 0, 0, 0, 1]


def test_the_whole_frame_is_coded_once_and_read_only():
    frame = FRAME.copy()
    first = group_codes_of(frame, "graft_source")
    assert group_codes_of(frame, "graft_source", np.ones(len(frame), dtype=bool)) is first
    assert group_codes_of(frame, "graft_source", np.r_[False, np.ones(5, dtype=bool)]) is not first
    with pytest.raises(ValueError, match="read-only"):
        first.codes[0] = 0


def test_a_derived_grouping_labels_each_value_as_its_rule_labels_each_patient():
    # The labels are found once per distinct value of the grouping's column (and once for a missing
    # value): the same labels as the rule applied patient by patient, missing values and index included.
    from analysis.domain.groupings import DERIVED

    frame = pd.DataFrame({
        "status_at_hct": ["CR", None, "NR", "PR", np.nan, "NR", "CR"],
        "graft_source": ["CB", "PB", None, "BM", "CB", np.nan, "PB"],
        "age": [40.0, np.nan, 55.0, 50.0, 49.9, np.nan, 50.0],
    }, index=[5, 3, 9, 1, 2, 7, 0])
    for by in ("status_crpr_vs_nr", "graft_cb_vs_other", "age_group"):
        expected = DERIVED[by].assign(frame)
        expected = expected.where(expected.notna(), None)
        labels, levels = group_labels(frame, by)
        assert labels.equals(expected) and labels.name == expected.name and levels == DERIVED[by].levels
        groups = group_codes_of(frame, by)
        assert [groups.names[c] if c >= 0 else None for c in groups.codes] == expected.tolist()


def test_a_rule_that_labels_missing_values_labels_each_such_patient(monkeypatch):
    # The label of a missing value is found on one patient without a value and given to all of them.
    from analysis.domain import groupings

    rule = groupings.Grouping("sex_or_unknown", "Sex", ("M", "F", "unknown"),
                              lambda d: d["sex"].fillna("unknown"), ("sex",))
    monkeypatch.setitem(groupings.DERIVED, "sex_or_unknown", rule)
    frame = pd.DataFrame({"sex": ["M", None, "F", np.nan, "M"]})
    labels, _ = group_labels(frame, "sex_or_unknown")
    assert labels.tolist() == ["M", "unknown", "F", "unknown", "M"]
    groups = group_codes_of(frame, "sex_or_unknown")
    assert groups.names == ("F", "M", "unknown") and groups.codes.tolist() == [1, 2, 0, 2, 1]
