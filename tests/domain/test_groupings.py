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
