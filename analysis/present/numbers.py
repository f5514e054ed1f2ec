"""Number formats shared by tables, figures and prose: one function per kind of number.

The conventions are a journal's (gtsummary's for P values):

- P values: "0.042", "0.12", "<0.001", ">0.9" in a table cell (`fmt_p`); "P = 0.042", "P < 0.001",
  "P > 0.9" in text and figures (`fmt_p_expr`).  Two decimals from 0.1 to 0.9, three below 0.1;
- percentages with one decimal, "33.9% (22.1-46.2)" in a table whose header says "95% CI",
  "33.9% (95% CI 22.1-46.2)" in a sentence (`fmt_est_ci_text`);
- hazard ratios with two decimals; months with one;
- a negative number with a true minus sign, U+2212 ("−1.3"), never a hyphen;
- counts in running text as words below ten ("nine patients"), except beside a larger count of
  the same kind in one sentence ("9 of 20 patients": `count_words`).

Nothing here ever returns "NA", "nan" or "None": a value that cannot be shown has its own words
("not estimable", "not reached"), chosen by the caller's sentence or table note.
"""
from __future__ import annotations

import math

from analysis.data.schema import MONTH_DAYS
from analysis.stats.results import PointEstimate


MINUS = "\u2212"  # the minus sign of typeset numbers ("−1.3"), not the hyphen-minus
NOT_SHOWN = "\u2014"  # an em dash: a cell with nothing to show (no test, not in the model, not published)
NOT_ESTIMABLE = "not estimable"  # a value the data cannot give (a time beyond follow-up, no test)
P_SMALLEST = 0.001  # below it: "<0.001"
P_LARGEST = 0.9  # above it: ">0.9", as gtsummary's style_pvalue writes high P values


def is_missing(value) -> bool:
    """None or NaN: a value that cannot be shown as a number."""
    if value is None:
        return True
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return False


def fmt_number(value: float, digits: int = 1) -> str:
    """A number with `digits` decimals and a true minus sign: -19.24 -> '−19.2'; '0.0', never '−0.0'."""
    text = f"{float(value):.{digits}f}"
    if text.startswith("-"):
        return text[1:] if float(text) == 0 else MINUS + text[1:]
    return text


def fmt_signed(value: float, digits: int = 1) -> str:
    """A difference with its sign: '+0.3', '−1.2'; no sign where it rounds to zero ('0.0')."""
    text = fmt_number(value, digits)
    if float(text.replace(MINUS, "-")) == 0 or text.startswith(MINUS):
        return text
    return "+" + text


def fmt_pct(value: float | PointEstimate, digits: int = 1) -> str:
    """A proportion as a percentage: 0.339 -> '33.9%'; 'not estimable' for a missing value."""
    if isinstance(value, PointEstimate):
        value = value.estimate
    if is_missing(value):
        return NOT_ESTIMABLE
    return f"{fmt_number(100 * value, digits)}%"


def _ci_limits(point: PointEstimate, digits: int) -> str | None:
    if is_missing(point.lower) or is_missing(point.upper):
        return None
    return f"{fmt_number(100 * point.lower, digits)}-{fmt_number(100 * point.upper, digits)}"


def fmt_est_ci(point: PointEstimate, digits: int = 1) -> str:
    """A table cell under "% (95% CI)": '33.9% (22.1-46.2)'; 'not estimable' beyond the follow-up."""
    if is_missing(point.estimate):
        return NOT_ESTIMABLE
    limits = _ci_limits(point, digits)
    return fmt_pct(point.estimate, digits) + (f" ({limits})" if limits else "")


def fmt_est_ci_text(point: PointEstimate, digits: int = 1) -> str:
    """An estimate in a sentence: '33.9% (95% CI 22.1-46.2)'; 'not estimable' beyond the follow-up."""
    if is_missing(point.estimate):
        return NOT_ESTIMABLE
    limits = _ci_limits(point, digits)
    return fmt_pct(point.estimate, digits) + (f" (95% CI {limits})" if limits else "")


def fmt_p(p: float) -> str:
    """A P value as a table cell: '0.042', '0.12', '<0.001', '>0.9' (gtsummary's style); an em dash
    where no test could be made."""
    if is_missing(p):
        return NOT_SHOWN
    p = float(p)
    if p < P_SMALLEST:
        return f"<{P_SMALLEST:g}"
    if p > P_LARGEST:
        return f">{P_LARGEST:g}"
    if round(p, 3) >= 0.1:  # 0.0996 reads 0.10, not 0.100
        return f"{p:.2f}"
    return f"{p:.3f}"


def fmt_p_expr(p: float, symbol: str = "P") -> str:
    """A P value in text and figures: 'P = 0.042', 'P < 0.001', 'P > 0.9'."""
    if is_missing(p):
        return f"{symbol} not estimable"
    shown = fmt_p(p)
    if shown[0] in "<>":
        return f"{symbol} {shown[0]} {shown[1:]}"
    return f"{symbol} = {shown}"


def fmt_months(value: float, digits: int = 1) -> str:
    """A time in months as a number ('8.1'); 'not reached' for NaN (median beyond follow-up)."""
    if is_missing(value):
        return "not reached"
    return fmt_number(value, digits)


#: What each test of the package is called, by the `name` its `TestResult` carries.
_TEST_NAMES = {
    "log-rank": "log-rank test",
    "gray": "Gray's test",
    "mantel-byar": "Mantel-Byar test",
    "wald": "Wald test",
    "likelihood ratio": "likelihood-ratio test",
    "score (log-rank)": "score test",
    "pseudo-likelihood ratio": "pseudo-likelihood-ratio test",
}


def test_name(name: str) -> str:
    """The name of the test that computed a `TestResult`, as a sentence writes it: 'log-rank' ->
    'log-rank test', 'Gray' -> "Gray's test", 'Mantel-Byar' -> 'Mantel-Byar test'."""
    return _TEST_NAMES.get(name.strip().lower(), name)


def fmt_test_name(name: str) -> str:
    """The name of a test at the start of a note or panel: 'Log-rank test', "Gray's test", 'Mantel-Byar test'."""
    text = test_name(name)
    return text[:1].upper() + text[1:]


def fmt_test(test) -> str:
    """A test and its P value, named by the object that computed it: 'log-rank test, P = 0.042',
    "Gray's test, P = 0.004", 'Mantel-Byar test, P > 0.9'."""
    return f"{test_name(test.name)}, {fmt_p_expr(test.p)}"


def fmt_horizon(months: float) -> str:
    """A time horizon as a column label: 12 -> '1 year', 60 -> '5 years', 6 -> '6 months',
    100 days (`days_to_months(100)`) -> 'Day 100'."""
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
    """A median time with its 95% CI in months, as a table cell: '6.3 (4.1-11.0)'; 'not reached'
    for a part the curve does not reach."""
    if is_missing(median.estimate):
        return "not reached"
    if is_missing(median.lower) and is_missing(median.upper):
        return fmt_months(median.estimate)
    return f"{fmt_months(median.estimate)} ({fmt_months(median.lower)}-{fmt_months(median.upper)})"


def fmt_median_text(median) -> str:
    """A median in a sentence, with its unit: '8.1 months (95% CI 6.6-9.8)', '12.7 months (95% CI 7.2
    months to not reached)', 'not reached'."""
    if is_missing(median.estimate):
        return "not reached"
    text = f"{fmt_months(median.estimate)} months"
    if is_missing(median.lower) and is_missing(median.upper):
        return text
    if is_missing(median.upper):
        return f"{text} (95% CI {fmt_months(median.lower)} months to not reached)"
    return f"{text} (95% CI {fmt_months(median.lower)}-{fmt_months(median.upper)})"


def fmt_hr(value: float) -> str:
    """A hazard ratio or confidence limit: '2.20', '0.05', '<0.01', '123', '>999', '∞'; an em dash
    where it cannot be estimated."""
    if is_missing(value):
        return NOT_SHOWN
    value = float(value)
    if math.isinf(value):
        return "\u221e" if value > 0 else "0"
    if 0 < value < 0.01:
        return "<0.01"
    if value > 999:
        return ">999"
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.2f}"


def fmt_hr_ci(hr: float, lower: float, upper: float) -> str:
    """A table cell under "HR (95% CI)": '2.20 (1.04-4.67)'; the estimate alone where both limits are
    missing; 'not estimable' where the ratio is."""
    if is_missing(hr):
        return NOT_ESTIMABLE
    if is_missing(lower) and is_missing(upper):
        return fmt_hr(hr)
    return f"{fmt_hr(hr)} ({fmt_hr(lower)}-{fmt_hr(upper)})"


def fmt_hr_text(hr: float, lower: float, upper: float, p: float | None = None) -> str:
    """A hazard ratio in a sentence: '2.20 (95% CI 1.04-4.67; P = 0.039)'."""
    if is_missing(hr):
        return NOT_ESTIMABLE
    inner = [] if is_missing(lower) and is_missing(upper) else [f"95% CI {fmt_hr(lower)}-{fmt_hr(upper)}"]
    if p is not None:
        inner.append(fmt_p_expr(p))
    return fmt_hr(hr) + (f" ({'; '.join(inner)})" if inner else "")


_NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def count_words(*counts: int) -> tuple[str, ...]:
    """Counts of one kind in one sentence, as journals write them: words below ten ('nine'), numerals
    from ten; all numerals when any of them is ten or more ('9 of 20'), so a sentence stays consistent."""
    as_numerals = any(int(n) >= 10 for n in counts)
    return tuple(str(int(n)) if as_numerals else _NUMBER_WORDS[int(n)] for n in counts)


def sentence_start(text: str) -> str:
    """A sentence never starts with a numeral or a lower-case letter: '12 patients' is rewritten by the
    caller; this capitalises the first letter ('nine patients' -> 'Nine patients')."""
    return text[:1].upper() + text[1:]


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
