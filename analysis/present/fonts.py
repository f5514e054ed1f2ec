"""The figures' font travels with the project, so every machine draws the same figure.

A font family named in matplotlib's style is looked up among the fonts the machine has, so the
same data drew different figures wherever Arial, Liberation Sans or Nimbus Sans happened to be
installed (R's Debian packages bring Liberation).  The report therefore draws with Source Sans Pro
(SIL Open Font License) from the pinned PyPI package `font-source-sans-pro`, and with matplotlib's
own copy of DejaVu Sans for the few glyphs Source Sans lacks.  `register()` adds those files to
matplotlib's font manager and removes any other font of the same two family names, so a system
font of the same name cannot take their place.
"""
from __future__ import annotations

from pathlib import Path

import font_source_sans_pro
import matplotlib as mpl
from matplotlib import font_manager

#: The figures' text font, then the fallback for glyphs it lacks (matplotlib's bundled copy).
FAMILY = "Source Sans Pro"
FALLBACK = "DejaVu Sans"


def font_files() -> tuple[Path, ...]:
    """The font files the figures may use: Source Sans Pro and matplotlib's DejaVu Sans."""
    ours = sorted(Path(font_source_sans_pro.font_directory).glob("SourceSansPro-*.ttf"))
    bundled = sorted((Path(mpl.get_data_path()) / "fonts" / "ttf").glob("DejaVuSans*.ttf"))
    return (*ours, *bundled)


def register() -> None:
    """Make matplotlib find the project's font files, and only those, under the two family names.

    Idempotent; figures call it through the figure style before they are drawn.
    """
    files = font_files()
    manager = font_manager.fontManager
    known = {Path(entry.fname) for entry in manager.ttflist}
    for path in files:
        if path not in known:
            manager.addfont(str(path))
    allowed = {str(path) for path in files}
    manager.ttflist = [entry for entry in manager.ttflist
                       if entry.name not in (FAMILY, FALLBACK) or entry.fname in allowed]
    # Lookups made before this call may have resolved a family name to a system file; forget them.
    cached = getattr(manager, "_findfont_cached", None)
    if cached is not None and hasattr(cached, "cache_clear"):
        cached.cache_clear()
