"""The numbers behind every figure and table of a page, as CSV files a reader can download.

Journals ask for figure source data.  Each figure and table builder records what it shows as it
builds it (`record_curves`: every curve's points with the 95% CI and the numbers at risk, events and
censored at each time; `record_table`: the cells as the table shows them), with the page's
small-cell rule already applied (`analysis.present.privacy`).  Under the rule a curve is recorded
only where its figure prints numbers, at the ticks, with the numbers at risk exactly as the figure
shows them and the estimates to 0.1%: point by point, the steps of a curve give every event time
and the size of every step, which is each small count the rule hides.  At the end
of each chapter, `report/_source-data.qmd` calls `source_data_markdown()`, which writes them into
`source-data/` beside the page (the page kernel runs in the page's folder) and lists them with a
download link each; Quarto copies the files into the site (`resources` in `_quarto.yml`).

File names are the display's title and a hash of the content, so two pages of one folder never
overwrite each other's files and a rerun writes the same names.  The folders are cleared with the
frozen results (`analysis.build.provenance.refresh_freeze`): they hold numbers of the data the pages
were last executed with, and go when that data changes.
"""
from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.data.schema import lower_first
from analysis.present.context import resolve_min_cell
from analysis.present.labels import curve_label
from analysis.stats.results import EndpointResult

__all__ = ["FOLDER", "RiskTable", "curve_points", "display_title", "record_curves", "record_table", "recorded",
           "source_data_markdown", "write_source_data"]

FOLDER = "source-data"
_recorded: list[tuple[str, pd.DataFrame]] = []  # (title, frame) in the order the page built them


def record_table(title: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Record a table's cells (as shown, so with the small-cell rule applied); returns `frame`."""
    _recorded.append((title, frame.copy()))
    return frame


@dataclass(frozen=True)
class RiskTable:
    """A figure's numbers at risk as drawn: at each tick (months after HCT; the curve's own time is
    tick - offset), one text per curve, under the small-cell rule."""

    ticks: tuple[float, ...]
    offset: float
    texts: tuple[tuple[str, ...], ...]


_COLUMNS = ["endpoint", "group", "time_months", "estimate", "lower_95", "upper_95", "n_at_risk", "n_event",
            "n_censored"]


def _at_ticks(result: EndpointResult, risk: RiskTable) -> pd.DataFrame:
    """The curves where the figure prints numbers: estimates to 0.1% and the printed numbers at risk."""
    rows = []
    for curve, texts in zip(result.curves, risk.texts):
        for tick, at_risk in zip(risk.ticks, texts):
            point = curve.at(tick - risk.offset)
            rows.append({"endpoint": result.title, "group": curve_label(result, curve), "time_months": float(tick),
                         **{name: None if math.isnan(value) else round(float(value), 3)
                            for name, value in (("estimate", point.estimate), ("lower_95", point.lower),
                                                ("upper_95", point.upper))},
                         "n_at_risk": at_risk, "n_event": "", "n_censored": ""})
    return pd.DataFrame(rows, columns=_COLUMNS)


def curve_points(result: EndpointResult, min_cell: int | None = None, *, risk: RiskTable | None = None) -> pd.DataFrame:
    """Every point of every curve of `result`: time, estimate and 95% CI, at risk, events, censored.

    Under the small-cell rule (`min_cell` > 1): only the ticks of the figure's `risk` table, as the
    figure prints them (`_at_ticks`); without one, nothing.
    """
    min_cell = resolve_min_cell(min_cell)
    if min_cell > 1:
        return _at_ticks(result, risk) if risk is not None else pd.DataFrame(columns=_COLUMNS)
    rows = []
    for curve in result.curves:
        group = curve_label(result, curve)
        for i, time in enumerate(curve.time):
            rows.append({
                "endpoint": result.title, "group": group, "time_months": float(time),
                "estimate": float(curve.estimate[i]), "lower_95": float(curve.lower[i]),
                "upper_95": float(curve.upper[i]),
                "n_at_risk": int(curve.n_risk[i]), "n_event": int(curve.n_event[i]),
                "n_censored": int(curve.n_censor[i]),
            })
    return pd.DataFrame(rows, columns=_COLUMNS)


def record_curves(results: Sequence[EndpointResult | None], min_cell: int | None = None, *,
                  risk: Sequence[RiskTable | None] | None = None, qualifier: str | None = None) -> None:
    """Record the points of a figure's curves (one file per figure, every panel in it); `risk`: each
    panel's numbers at risk as drawn; `qualifier`: words before the endpoints' titles ("Unadjusted and
    adjusted overall survival by ...") telling this figure from another of the same endpoints."""
    risk = list(risk) if risk is not None else [None] * len(results)
    pairs = [(r, table) for r, table in zip(results, risk) if r is not None]
    if not pairs:
        return
    frames = [frame for frame in (curve_points(r, min_cell, risk=table) for r, table in pairs) if not frame.empty]
    # a panel without curves (every group too small) adds no row; pandas warns about concatenating empty frames
    _recorded.append((display_title([r for r, _ in pairs], qualifier),
                      pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=_COLUMNS)))


def display_title(results: Sequence[EndpointResult], qualifier: str | None = None) -> str:
    """How the source-data list names a display of `results`: their endpoints, then every grouping as a
    sentence names them ('Overall survival / Relapse/progression by disease status at HCT and graft
    source'); `qualifier` goes before the endpoints ('Unadjusted and adjusted overall survival ...')."""
    titles = dict.fromkeys(r.title for r in results)
    title = f"{qualifier} {' / '.join(map(lower_first, titles))}" if qualifier else " / ".join(titles)
    groupings = [lower_first(by) for by in dict.fromkeys(r.by for r in results if r.by)]
    by = " and ".join(filter(None, (", ".join(groupings[:-1]), groupings[-1]))) if groupings else None
    return f"{title} by {by}" if by else title


def recorded() -> list[tuple[str, pd.DataFrame]]:
    """What the page recorded so far, in order."""
    return list(_recorded)


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60] or "table"


def write_source_data(folder: str | Path = FOLDER) -> list[tuple[str, Path]]:
    """Write every recorded display as CSV into `folder`; (title, file) in order.  The record is emptied."""
    folder = Path(folder)
    written = []
    for title, frame in _recorded:
        text = frame.to_csv(index=False, lineterminator="\n")
        name = f"{_slug(title)}-{hashlib.sha256(text.encode()).hexdigest()[:8]}.csv"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        written.append((title, path))
    _recorded.clear()
    return written


def source_data_markdown(folder: str | Path = FOLDER) -> str:
    """The page's "Source data" section: every figure's and table's numbers as a CSV download."""
    written = write_source_data(folder)
    if not written:
        return ""
    items = "\n".join(f"- [{title}]({Path(folder).name}/{path.name}) (CSV)" for title, path in written)
    return ("## Source data {.unnumbered}\n\n"
            "The numbers behind each figure and table of this page, in the order they appear, with the small-cell "
            "rule applied: curves point by point (months after HCT, estimate, 95% CI, numbers at risk, events "
            "and censored), tables cell by cell as shown.\n\n" + items + "\n")
