"""A chapter's independent computations side by side, in threads.

The estimators' passes over a registry's arrays run in NumPy, which lets other threads run
meanwhile: two groupings' adjusted models, or two endpoints' curves, take little more than the time
of one on two cores.  Each computation's numbers are its own (the same operations in the same
order), whichever thread computes them; the results come back in the order of the items.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["in_threads", "thread_count"]

#: Threads at most: more computations side by side would hold more registry-sized arrays at once.
MOST_THREADS = 4

Item = TypeVar("Item")
Result = TypeVar("Result")


def thread_count(tasks: int, most: int = MOST_THREADS) -> int:
    """Threads for `tasks` computations: one per core, at most `most`, at least 1."""
    return max(1, min(most, os.cpu_count() or 1, tasks))


def in_threads(function: Callable[[Item], Result], items: Iterable[Item], most: int = MOST_THREADS) -> list[Result]:
    """`[function(item) for item in items]`, computed in up to `thread_count` threads; the first
    exception raised is raised here."""
    items = list(items)
    threads = thread_count(len(items), most)
    if threads == 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(function, items))
