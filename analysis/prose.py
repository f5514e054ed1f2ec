"""Sentences and lists of results for the chapters' prose (numbers formatted, never computed here)."""
from __future__ import annotations

from .formatting import fmt_est_ci, fmt_horizon, fmt_p
from .results import EndpointResult


def test_phrase(result: EndpointResult) -> str:
    """'log-rank P = 0.042' or "Gray's test P = 0.004"."""
    if result.test is None:
        return "no test (a single group)"
    name = "log-rank" if result.test.name == "log-rank" else "Gray's test"
    return f"{name} P = {fmt_p(result.test.p)}"


def findings_markdown(results: tuple[EndpointResult, ...], at: float) -> str:
    """One bullet per factor: each group's estimate at `at` months and the group test."""
    lines = []
    for result in results:
        groups = "; ".join(f"{curve.label} (n = {curve.n}) {fmt_est_ci(curve.at(at))}" for curve in result.curves)
        lines.append(f"- **{result.by}**: {groups}; {test_phrase(result)}.")
    return f"At {fmt_horizon(at)} after HCT:\n\n" + "\n".join(lines) + "\n"
