"""The registry extract format of SPEC.md: columns, types and codes, and THE label table.

One row per patient, first allo-HCT.  Every `X_date` column may instead arrive as `X_day`
(time after HCT in the study's `time_unit`, days unless it says otherwise); validation turns
both forms into `X_months` (months after HCT, `time_column`) so that analyses never see
calendar dates or another unit.

The label table is `COLUMNS` (SPEC) plus the columns and levels a study declares
(`use_study_columns`: its `mapping.extra` and `mapping.levels`); `column_spec`, `column_label`,
`level_label` and `code_order` read both, so a study's own column is named the same way in
every table, figure and sentence.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

#: SPEC's time scale: months = days / 30.4375 (the mean Gregorian month).  Every conversion
#: between days and months in the package uses this one number.
MONTH_DAYS = 30.4375


def days_to_months(days):
    """Days after HCT in months (the time unit of every estimate): 100 -> 3.2854...; a tuple or list
    of days gives a tuple of months (the day ticks of a figure)."""
    if isinstance(days, (tuple, list)):
        return tuple(d / MONTH_DAYS for d in days)
    return days / MONTH_DAYS


#: The units a study's durations may be given in (`time_unit:`), each with its singular (the
#: word of a message: "month 9.97").  Months are the analyses' own unit and pass unchanged.
TIME_UNITS = {"days": "day", "weeks": "week", "months": "month", "years": "year"}


def to_months(values, unit: str):
    """Durations in `unit` as months: days / 30.4375, weeks x 7 / 30.4375, years x 12; months as they
    are (the same floating-point values, so a study given in months is analysed on its own numbers)."""
    if unit == "days":
        return values / MONTH_DAYS
    if unit == "weeks":
        return values * 7 / MONTH_DAYS
    if unit == "years":
        return values * 12
    if unit == "months":
        return values
    raise ValueError(f"unknown time unit {unit!r}; choose {', '.join(TIME_UNITS)}")


@dataclass(frozen=True)
class Column:
    """One column of the extract: its type, codes and range, and how the report names it.

    `label` names the column in every table, figure and sentence; `levels` names its codes
    (a code without an entry is shown as it is).  `unit` is the unit of one step of a numeric
    column ("per year" in a model table; "Age at HCT, years" in Table 1 for a measurement).
    """

    name: str
    kind: str  # "id", "date", "number", "integer", "code", "flag", "text"
    label: str
    required: bool = False
    codes: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    unit: str | None = None
    levels: tuple[tuple[str, str], ...] = ()
    reference: str | None = None  # the models' reference level when it is not the first code


YES_NO = (("0", "No"), ("1", "Yes"))

COLUMNS: tuple[Column, ...] = (
    Column("patient_id", "id", "Patient ID", required=True),
    Column("hct_date", "date", "Date of HCT"),
    Column("age", "number", "Age at HCT", required=True, minimum=0, maximum=120, unit="year"),
    Column("sex", "code", "Sex", required=True, codes=("M", "F"), levels=(("M", "Male"), ("F", "Female"))),
    Column("status_at_hct", "code", "Disease status at HCT", required=True, codes=("CR", "PR", "NR")),
    Column("pif", "flag", "Primary induction failure", levels=YES_NO),
    Column("cr_after_hct_date", "date", "CR after HCT"),
    Column("graft_source", "code", "Graft source", required=True, codes=("CB", "PB", "BM")),
    Column("donor_type", "code", "Donor type", required=True, codes=("related", "unrelated"),
           levels=(("related", "Related"), ("unrelated", "Unrelated"))),
    Column("conditioning", "code", "Conditioning", required=True, codes=("MAC", "RIC"),
           levels=(("MAC", "Myeloablative (MAC)"), ("RIC", "Reduced intensity (RIC)"))),
    Column("ps", "integer", "ECOG performance status", minimum=0, maximum=4, unit="point"),
    Column("hct_year", "integer", "Year of HCT", minimum=1950, maximum=2100, unit="year"),
    Column("disease", "text", "Disease"),
    Column("vital_status", "code", "Vital status", required=True, codes=("alive", "dead")),
    Column("last_contact_date", "date", "Last contact", required=True),
    Column(
        "cause_of_death",
        "code",
        "Cause of death",
        codes=("relapse", "gvhd", "infection", "organ_failure", "graft_failure", "other", "unknown"),
        levels=(("relapse", "Relapse/progression"), ("gvhd", "GVHD"), ("infection", "Infection"),
                ("organ_failure", "Organ failure"), ("graft_failure", "Graft failure"), ("other", "Other"),
                ("unknown", "Unknown")),
    ),
    Column("relapse", "flag", "Relapse/progression", required=True, levels=YES_NO),
    Column("relapse_date", "date", "Date of relapse/progression"),
    Column("neutrophil_engraftment", "flag", "Neutrophil engraftment", levels=YES_NO),
    Column("neutrophil_engraftment_date", "date", "Date of neutrophil engraftment"),
    Column("platelet_engraftment", "flag", "Platelet engraftment", levels=YES_NO),
    Column("platelet_engraftment_date", "date", "Date of platelet engraftment"),
    Column("agvhd_grade", "integer", "Acute GVHD, maximum grade", minimum=0, maximum=4),
    Column("agvhd_date", "date", "Onset of acute GVHD"),
    Column("cgvhd", "code", "Chronic GVHD", codes=("none", "limited", "extensive")),
    Column("cgvhd_date", "date", "Onset of chronic GVHD"),
    # For registries that record GVHD without its grade or extent (e.g. R's `bmt` data): an
    # indicator instead of `agvhd_grade` / `cgvhd` (never both), its onset in agvhd_date /
    # cgvhd_date.  Not a SPEC column: it keeps the information honest rather than inventing a
    # grade; endpoints that need the grade are not computed from it.
    Column("agvhd_any", "flag", "Acute GVHD", levels=YES_NO),
    Column("cgvhd_any", "flag", "Chronic GVHD", levels=YES_NO),
)

BY_NAME = {c.name: c for c in COLUMNS}
DATE_COLUMNS = tuple(c.name for c in COLUMNS if c.kind == "date")
EVENT_DATE_COLUMNS = tuple(c for c in DATE_COLUMNS if c != "hct_date")

# What a (time, indicator) pair of a study's `mapping.events` feeds: the SPEC flag (or code)
# column the indicator becomes and the date column its time stands for.  The indicator is 1 when
# the event happened (the time is then its time), 0 when the patient was censored.
EVENT_PAIRS = {
    "death": ("vital_status", "last_contact_date"),
    "relapse": ("relapse", "relapse_date"),
    "neutrophil": ("neutrophil_engraftment", "neutrophil_engraftment_date"),
    "platelet": ("platelet_engraftment", "platelet_engraftment_date"),
    "agvhd": ("agvhd_any", "agvhd_date"),
    "cgvhd": ("cgvhd_any", "cgvhd_date"),
    "cr_after_hct": (None, "cr_after_hct_date"),
}

# Each event flag (or grade) and the date column that must accompany it.
EVENT_DATES = {
    "relapse": "relapse_date",
    "neutrophil_engraftment": "neutrophil_engraftment_date",
    "platelet_engraftment": "platelet_engraftment_date",
}


# A graded column and the indicator a registry without grades gives instead, with its date.
UNGRADED_ALTERNATIVES = {"agvhd_grade": "agvhd_any", "cgvhd": "cgvhd_any"}
UNGRADED_DATES = {"agvhd_any": "agvhd_date", "cgvhd_any": "cgvhd_date"}

# Required columns a study may declare unavailable (`mapping.unavailable` in study.yml) when its
# registry genuinely does not record them.  The columns every endpoint needs (the id, vital
# status, last contact, relapse) can never be declared unavailable.
MAY_BE_UNAVAILABLE = frozenset(
    c.name for c in COLUMNS if c.name not in ("patient_id", "vital_status", "last_contact_date", "relapse")
)


def day_column(date_column: str) -> str:
    """'relapse_date' -> 'relapse_day' (the column of a file giving the time after HCT)."""
    return date_column[: -len("_date")] + "_day"


def time_column(date_column: str) -> str:
    """'relapse_date' -> 'relapse_months': the analysis frame's column, months after HCT."""
    return date_column[: -len("_date")] + "_months"


def date_column_of_time(name: str) -> str | None:
    """'relapse_months' -> 'relapse_date' when that is a SPEC date column, else None."""
    if not name.endswith("_months"):
        return None
    candidate = name[: -len("_months")] + "_date"
    return candidate if candidate in DATE_COLUMNS else None


def date_column_of(name: str) -> str | None:
    """'relapse_day' -> 'relapse_date' when that is a SPEC date column, else None."""
    if not name.endswith("_day"):
        return None
    candidate = name[: -len("_day")] + "_date"
    return candidate if candidate in DATE_COLUMNS else None


def spec_name(name: str) -> str | None:
    """The SPEC column a frame column stands for ('relapse_day' -> 'relapse_date'), else None."""
    if name in BY_NAME:
        return name
    return date_column_of(name)


#: A whole-number column with at most this many values is read as levels (ECOG 0-4, grades 0-4).
MAX_INTEGER_LEVELS = 10


# The study's own columns and the SPEC columns it adds levels to (`use_study_columns`).
_study_columns: dict[str, Column] = {}


def use_study_columns(columns: Iterable[Column]) -> None:
    """Make a study's columns part of the label table, replacing the previous study's.

    `columns` are its own analysable columns (`mapping.extra`) and the SPEC columns whose codes it
    extends (`mapping.levels`).  Loading a cohort sets them (`analysis.data.cohort.load_cohort`),
    as a page or a command reads one study.
    """
    _study_columns.clear()
    _study_columns.update({c.name: c for c in columns})


def study_columns() -> tuple[Column, ...]:
    """The columns of the study in force that are not SPEC columns (its `mapping.extra`)."""
    return tuple(c for c in _study_columns.values() if c.name not in BY_NAME)


def column_spec(name: str) -> Column | None:
    """The label table's entry of a column: the study's (its own columns, SPEC columns with its
    levels), else SPEC's; a frame column `X_months` or `X_day` reads its date column's."""
    spec = _study_columns.get(name)
    if spec is not None:
        return spec
    base = spec_name(name) or date_column_of_time(name) or name
    return _study_columns.get(base) or BY_NAME.get(base)


def reference_level(column: str) -> str | None:
    """The level models compare with by default: the study's `reference`, else the first code."""
    spec = column_spec(column)
    if spec is not None and spec.reference:
        return spec.reference
    order = code_order(column)
    return order[0] if order else None


def code_order(column: str) -> tuple[str, ...]:
    """The levels of a column in SPEC order (the first is the reference level of models): its
    codes, 0 and 1 for a flag, the values of a short whole-number range (ECOG 0-4); else none.
    A study's own categorical column gives its levels as the study lists them."""
    spec = column_spec(column)
    if spec is None:
        return ()
    if spec.kind == "code":
        return spec.codes
    if spec.kind == "flag":
        return ("0", "1")
    if spec.kind == "integer" and spec.minimum is not None and spec.maximum is not None \
            and spec.maximum - spec.minimum < MAX_INTEGER_LEVELS:
        return tuple(str(v) for v in range(int(spec.minimum), int(spec.maximum) + 1))
    return ()


def column_label(name: str) -> str:
    """How the report names a column: 'status_at_hct' -> 'Disease status at HCT'.  A name that is
    not a SPEC column nor declared by the study is shown with its underscores as spaces."""
    spec = column_spec(name)
    return spec.label if spec is not None else name.replace("_", " ").capitalize()


def lower_first(text: str) -> str:
    """A label inside a sentence: 'Graft source' -> 'graft source', but 'HCT status' and 'ECOG ...' stay."""
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def level_label(column: str | None, level: str) -> str:
    """How the report names a level of a column: ('sex', 'F') -> 'Female'; other levels as they are."""
    spec = column_spec(column) if column else None
    return dict(spec.levels).get(level, level) if spec is not None else level
