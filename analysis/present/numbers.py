"""Number formats shared by tables, figures and prose (gtsummary conventions)."""
from __future__ import annotations

import math

from analysis.data.schema import MONTH_DAYS
from analysis.stats.results import PointEstimate


def is_missing(value) -> bool:
    """None or NaN: a value that is shown as NA."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def fmt_pct(value: float | PointEstimate, digits: int = 1) -> str:
    """A proportion as a percentage: 0.339 -> '33.9%'."""
    if isinstance(value, PointEstimate):
        value = value.estimate
    if is_missing(value):
        return "NA"
    return f"{100 * value:.{digits}f}%"


def fmt_est_ci(point: PointEstimate, digits: int = 1) -> str:
    """'33.9% (22.1-46.2)'; 'NA' where the time is beyond follow-up."""
    if is_missing(point.estimate):
        return "NA"
    if is_missing(point.lower) or is_missing(point.upper):
        return fmt_pct(point.estimate, digits)
    return (
        f"{100 * point.estimate:.{digits}f}% "
        f"({100 * point.lower:.{digits}f}-{100 * point.upper:.{digits}f})"
    )


def fmt_p(p: float) -> str:
    """p-values as journals print them: '0.046', '<0.001', '0.95' keeps 2 decimals when >= 0.1."""
    if is_missing(p):
        return "NA"
    if p < 0.001:
        return "<0.001"
    if p >= 0.1:
        return f"{p:.2f}"
    return f"{p:.3f}"


def fmt_months(value: float, digits: int = 1) -> str:
    """A time in months; 'not reached' for NaN (median beyond follow-up)."""
    if is_missing(value):
        return "not reached"
    return f"{value:.{digits}f}"


def fmt_p_expr(p: float, symbol: str = "p") -> str:
    """A p-value as an expression for figures and prose: 'p = 0.046', 'p < 0.001'."""
    shown = fmt_p(p)
    if shown.startswith("<"):
        return f"{symbol} < {shown[1:]}"
    return f"{symbol} = {shown}"


def fmt_test_name(name: str) -> str:
    """The display name of a group test: 'log-rank' -> 'Log-rank test', 'Gray' -> "Gray's test"."""
    key = name.strip().lower().replace("_", "-").replace(" ", "-")
    if key in ("log-rank", "logrank", "log-rank-test", "logrank-test", "survdiff"):
        return "Log-rank test"
    if key in ("gray", "gray's", "grays", "gray-test", "gray's-test", "grays-test", "cuminc"):
        return "Gray's test"
    return name[:1].upper() + name[1:]


def fmt_horizon(months: float) -> str:
    """A time horizon as a column label: 12 -> '1 year', 60 -> '5 years', 6 -> '6 months',
    100 days (`days_to_months(100)`) -> 'Day 100'."""
    if is_missing(months):
        return "NA"
    if months > 0 and float(months) % 12 == 0:
        years = int(months // 12)
        return f"{years} year" + ("s" if years != 1 else "")
    if float(months).is_integer():
        whole = int(months)
        return f"{whole} month" + ("s" if whole != 1 else "")
    days = months * MONTH_DAYS
    if abs(days - round(days)) < 1e-6:
        return f"Day {int(round(days))}"
    return f"{months:g} months"


def fmt_median(median) -> str:
    """A median time with its 95% CI in months: '6.3 (4.1-11.0)'; 'not reached' for NaN parts."""
    if is_missing(median.estimate):
        return "not reached"
    if is_missing(median.lower) and is_missing(median.upper):
        return fmt_months(median.estimate)
    return f"{fmt_months(median.estimate)} ({fmt_months(median.lower)}-{fmt_months(median.upper)})"


def fmt_hr(value: float) -> str:
    """A hazard ratio or confidence limit: '2.20', '0.05', '<0.01', '123', '>999', 'Inf'; 'NA' for NaN."""
    if is_missing(value):
        return "NA"
    value = float(value)
    if math.isinf(value):
        return "Inf" if value > 0 else "-Inf"
    if 0 < value < 0.01:
        return "<0.01"
    if value > 999:
        return ">999"
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.2f}"


def fmt_hr_ci(hr: float, lower: float, upper: float) -> str:
    """'2.20 (1.04-4.67)'; the estimate alone where both limits are missing."""
    if is_missing(hr):
        return "NA"
    if is_missing(lower) and is_missing(upper):
        return fmt_hr(hr)
    return f"{fmt_hr(hr)} ({fmt_hr(lower)}-{fmt_hr(upper)})"


def horizon_adjective(months: float) -> str:
    """A horizon before a noun: 60 -> '5-year', 6 -> '6-month', 100 days -> 'Day-100'."""
    text = fmt_horizon(months)
    number, _, unit = text.partition(" ")
    if unit in ("year", "years"):
        return f"{number}-year"
    if unit in ("month", "months"):
        return f"{number}-month"
    if number == "Day":
        return f"Day-{unit}"
    return text
