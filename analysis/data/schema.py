"""The registry extract format of SPEC.md: columns, types and codes.

One row per patient, first allo-HCT.  Every `X_date` column may instead
arrive as `X_day` (whole days after HCT); validation turns both forms into
`X_day` so that analyses never see calendar dates.
"""
from __future__ import annotations

from dataclasses import dataclass

#: SPEC's time scale: months = days / 30.4375 (the mean Gregorian month).  Every conversion
#: between days and months in the package uses this one number.
MONTH_DAYS = 30.4375


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # "id", "date", "number", "integer", "code", "flag", "text"
    required: bool = False
    codes: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None


COLUMNS: tuple[Column, ...] = (
    Column("patient_id", "id", required=True),
    Column("hct_date", "date"),
    Column("age", "number", required=True, minimum=0, maximum=120),
    Column("sex", "code", required=True, codes=("M", "F")),
    Column("status_at_hct", "code", required=True, codes=("CR", "PR", "NR")),
    Column("pif", "flag"),
    Column("cr_after_hct_date", "date"),
    Column("graft_source", "code", required=True, codes=("CB", "PB", "BM")),
    Column("donor_type", "code", required=True, codes=("related", "unrelated")),
    Column("conditioning", "code", required=True, codes=("MAC", "RIC")),
    Column("ps", "integer", minimum=0, maximum=4),
    Column("hct_year", "integer", minimum=1950, maximum=2100),
    Column("disease", "text"),
    Column("vital_status", "code", required=True, codes=("alive", "dead")),
    Column("last_contact_date", "date", required=True),
    Column(
        "cause_of_death",
        "code",
        codes=("relapse", "gvhd", "infection", "organ_failure", "graft_failure", "other", "unknown"),
    ),
    Column("relapse", "flag", required=True),
    Column("relapse_date", "date"),
    Column("neutrophil_engraftment", "flag"),
    Column("neutrophil_engraftment_date", "date"),
    Column("platelet_engraftment", "flag"),
    Column("platelet_engraftment_date", "date"),
    Column("agvhd_grade", "integer", minimum=0, maximum=4),
    Column("agvhd_date", "date"),
    Column("cgvhd", "code", codes=("none", "limited", "extensive")),
    Column("cgvhd_date", "date"),
    # For registries that record GVHD without its grade or extent (e.g. R's `bmt` data): an
    # indicator instead of `agvhd_grade` / `cgvhd` (never both), its onset in agvhd_date /
    # cgvhd_date.  Not a SPEC column: it keeps the information honest rather than inventing a
    # grade; endpoints that need the grade are not computed from it.
    Column("agvhd_any", "flag"),
    Column("cgvhd_any", "flag"),
)

BY_NAME = {c.name: c for c in COLUMNS}
DATE_COLUMNS = tuple(c.name for c in COLUMNS if c.kind == "date")
EVENT_DATE_COLUMNS = tuple(c for c in DATE_COLUMNS if c != "hct_date")

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
    """'relapse_date' -> 'relapse_day'."""
    return date_column[: -len("_date")] + "_day"


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


def code_order(column: str) -> tuple[str, ...]:
    """Codes in SPEC order (the first is the reference level of models)."""
    return BY_NAME[column].codes if column in BY_NAME else ()
