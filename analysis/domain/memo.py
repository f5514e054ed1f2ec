"""What is derived from a cohort frame, derived once per frame.

A report asks for the same endpoint, or the same grouping, of the same cohort dozens of times (each
grouping, model and chapter), and a validated cohort frame is never modified. `per_frame(data)` is
a dictionary kept for as long as the frame lives (keyed by the frame's identity: frames cannot be
hashed), in which `analysis.domain` keeps what it derived from the frame. What is kept must be
read-only: the arrays are handed out to every later caller. A chapter's parts computed side by side
(`analysis.analyses.parallel`) share the frame's one memo: it is made under a lock.
"""
from __future__ import annotations

import threading
import weakref

import pandas as pd

__all__ = ["per_frame"]

_KEPT: dict[int, tuple[weakref.ref, dict]] = {}
_MAKING = threading.Lock()  # (not taken by `forget`: a garbage collection may run it while held)


def per_frame(data: pd.DataFrame) -> dict:
    """The memo of `data`: empty the first time, then whatever was put in it, until `data` is freed."""
    key = id(data)
    entry = _KEPT.get(key)
    if entry is not None and entry[0]() is data:
        return entry[1]
    with _MAKING:  # (two threads asking first would each make a memo, and one thread's would be lost)
        entry = _KEPT.get(key)
        if entry is None or entry[0]() is not data:
            def forget(ref, key=key):
                if key in _KEPT and _KEPT[key][0] is ref:
                    del _KEPT[key]

            entry = (weakref.ref(data, forget), {})
            _KEPT[key] = entry
    return entry[1]
