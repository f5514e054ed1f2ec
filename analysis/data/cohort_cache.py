"""The validated cohort of a study, kept between page kernels: read and validated once per render.

Quarto executes every page in a fresh kernel, twice (HTML and Typst); each page needs the same
cohort.  `cached_study_cohort` validates the extract the first time and keeps the result in
`COHORT_CACHE` (`.cohort-cache/` at the project root, git-ignored): the frame as an Arrow IPC file,
the rest of the `Cohort` (flow, warnings, audit) as JSON.  An entry is used only when everything
the cohort depends on is unchanged: the extract's SHA-256 (and its path), the study file's
SHA-256, the package's version and the SHA-256 of the code that reads and validates (this
folder), and, when the study gives no `extract_date`, the day (dates after today are errors).
Anything else (another extract, an edited study file, a new version) is a different key: the
cohort is validated again and the stale entries of that extract are replaced.  The cache folder
is the only place written; an invalid extract is never cached (its errors are raised as always).
The chapters' results computed from an entry (`results_cache`) go with it when it is replaced.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

from analysis.data.cache_files import key_name, replace_atomically, sources_digest
from analysis.data.changes import AuditEntry
from analysis.data.cohort import Cohort, file_sha256
from analysis.data.paths import COHORT_CACHE
from analysis.data.problems import Problem
from analysis.data.results_cache import RESULTS_FOLDER, forget_cohort
from analysis.data.schema import use_study_columns
from analysis.data.study import Study, require_data_file, study_cohort

__all__ = ["COHORT_CACHE", "cache_key", "cached_study_cohort", "cached_study_cohort_entry"]

_CODE = Path(__file__).resolve().parent  # analysis/data: the readers, mapping, validation, inclusion


def _code_sha256() -> str:
    return sources_digest(_CODE).hexdigest()


def cache_key(study: Study, data_sha256: str | None = None, today: dt.date | None = None) -> dict:
    """What the study's cohort depends on (see the module's docstring)."""
    import analysis

    return {
        "data": str(Path(study.data).resolve()),
        "data_sha256": data_sha256 or file_sha256(study.data),
        "study": str(Path(study.source).resolve()) if study.source else None,
        "study_sha256": file_sha256(study.source) if study.source else None,
        "version": analysis.__version__,
        "code_sha256": _code_sha256(),
        "today": None if study.extract_date else (today or dt.date.today()).isoformat(),
        # what the environment changes without the study file: REPORT_DATA (in `data`) and synthetic
        "synthetic": study.synthetic,
    }


def _metadata(cohort: Cohort, key: dict) -> dict:
    return {
        "key": key,
        "source": cohort.source, "sha256": cohort.sha256, "synthetic": cohort.synthetic,
        "n_records": cohort.n_records,
        "warnings": [dataclasses.asdict(p) for p in cohort.warnings],
        "exclusions": [list(e) for e in cohort.exclusions],
        "criteria": list(cohort.criteria),
        "audit": [dataclasses.asdict(a) for a in cohort.audit],
        "follow_up_ends_at_first_event": cohort.follow_up_ends_at_first_event,
        "columns": [[name, str(dtype)] for name, dtype in cohort.data.dtypes.items()],
    }


def _read(folder: Path, key: dict) -> Cohort | None:
    name = key_name(key)
    meta_path, frame_path = folder / f"{name}.json", folder / f"{name}.arrow"
    if not (meta_path.is_file() and frame_path.is_file()):
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("key") != key:  # (never another extract's or another study's cohort)
            return None
        from pyarrow import feather

        data = feather.read_feather(frame_path)
    except (OSError, ValueError, KeyError):
        return None
    if [[name, str(dtype)] for name, dtype in data.dtypes.items()] != meta["columns"]:
        return None
    return Cohort(
        data=data, source=meta["source"], sha256=meta["sha256"], synthetic=meta["synthetic"],
        n_records=meta["n_records"], warnings=tuple(Problem(**p) for p in meta["warnings"]),
        exclusions=tuple((reason, count) for reason, count in meta["exclusions"]),
        criteria=tuple(meta["criteria"]), audit=tuple(AuditEntry(**a) for a in meta["audit"]),
        follow_up_ends_at_first_event=meta["follow_up_ends_at_first_event"],
    )


def _write(folder: Path, key: dict, cohort: Cohort) -> None:
    """Keep the cohort (atomically: a kernel reading meanwhile sees the whole entry or none) and
    drop the stale entries of the same extract.  A frame Arrow cannot hold exactly is not kept."""
    import pyarrow as pa
    from pyarrow import feather

    try:
        table = pa.Table.from_pandas(cohort.data, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return
    if [[n, str(t)] for n, t in table.to_pandas().dtypes.items()] != _metadata(cohort, key)["columns"]:
        return
    folder.mkdir(exist_ok=True)
    name = key_name(key)
    for old in folder.glob("*.json"):
        try:
            stale = json.loads(old.read_text(encoding="utf-8")).get("key", {}).get("data") == key["data"]
        except (OSError, ValueError):
            stale = True
        if stale and old.stem != name:
            old.unlink(missing_ok=True)
            old.with_suffix(".arrow").unlink(missing_ok=True)
            forget_cohort(old.stem, folder / RESULTS_FOLDER)
    for suffix, write in ((".arrow", lambda path: feather.write_feather(table, path, compression="uncompressed")),
                          (".json", lambda path: Path(path).write_text(json.dumps(_metadata(cohort, key)),
                                                                       encoding="utf-8"))):
        replace_atomically(folder / f"{name}{suffix}", write)


def cached_study_cohort(study: Study, folder: Path = COHORT_CACHE) -> Cohort:
    """`study_cohort(study)`, validated once and then read from the cache while nothing changed."""
    return cached_study_cohort_entry(study, folder)[0]


def cached_study_cohort_entry(study: Study, folder: Path = COHORT_CACHE) -> tuple[Cohort, str | None]:
    """`cached_study_cohort(study)` and the name of its entry: what results computed from the cohort
    are kept under (`results_cache.cached_result`); another extract, study file, day or version is
    another name.  None when the extract changed while it was read: nothing is kept for it."""
    require_data_file(study)
    key = cache_key(study)
    name = key_name(key)
    cohort = _read(folder, key)
    if cohort is None:
        cohort = study_cohort(study)
        if cohort.sha256 != key["data_sha256"]:  # (the file changed while it was read)
            return cohort, None
        _write(folder, key, cohort)
        return cohort, name
    # what loading does besides the frame: the study's own columns join the label table
    use_study_columns(study.mapping.study_columns() if hasattr(study.mapping, "study_columns") else ())
    return cohort, name
