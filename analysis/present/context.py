"""The display settings of a page, set once: the small-cell rule of the study.

A chapter sets them at its top (`report/_setup.qmd`: ``use_display(settings, data)``); every table,
figure and sentence builder then reads them, so no chapter passes ``min_cell=`` by hand.  A
function given ``min_cell=`` explicitly uses that instead (tests, one-off tables).  The cohort's
size is part of the display because every count of the page is a part of it: the groups of a
figure add up to it with the patients in no group (`analysis.present.privacy`).

Labels are not a setting: they come from the one label table (`analysis.data.schema`).  p-values
follow one journal style (`analysis.present.numbers.fmt_p`), SPEC's.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

__all__ = ["Display", "current", "resolve_min_cell", "use_display", "using_display"]


@dataclass(frozen=True)
class Display:
    """What a page shows and how: `min_cell`, the small-cell rule (0 = off), and `cohort_n`, the
    number of patients analysed (None: not known to the display)."""

    min_cell: int = 0
    cohort_n: int | None = None


_current = Display()


def current() -> Display:
    """The display settings in force."""
    return _current


def use_display(settings, cohort=None) -> Display:
    """Set the page's display from a study (or anything with `min_cell`) and its cohort (anything
    with `n`), and return it."""
    global _current
    n = getattr(cohort, "n", None)
    _current = Display(min_cell=int(getattr(settings, "min_cell", 0) or 0), cohort_n=None if n is None else int(n))
    return _current


@contextmanager
def using_display(settings, cohort=None) -> Iterator[Display]:
    """`use_display` for a block only: ``with using_display(study, cohort): table = estimates_table(...)``."""
    global _current
    previous = _current
    try:
        yield use_display(settings, cohort)
    finally:
        _current = previous


def resolve_min_cell(min_cell: int | None) -> int:
    """`min_cell` when given, else the page's."""
    return _current.min_cell if min_cell is None else min_cell
