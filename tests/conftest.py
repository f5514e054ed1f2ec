"""Shared test settings.

With REQUIRE_R=1 (as CI sets it), a test skipped because `Rscript` is missing
fails instead: CI must compare with R, not skip the comparison.
"""
import os

import matplotlib
import pytest

matplotlib.use("Agg")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("REQUIRE_R") == "1" and report.skipped and isinstance(report.longrepr, tuple):
        reason = str(report.longrepr[2])
        if "Rscript" in reason:
            report.outcome = "failed"
            report.longrepr = f"REQUIRE_R=1 but the test was skipped: {reason}"
