"""What the caches between page kernels (`cohort_cache`, `results_cache`) share: an entry's file name
from its key, the SHA-256 of the code an entry depends on, and writing an entry atomically."""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["key_name", "replace_atomically", "sources_digest"]


def key_name(key: dict) -> str:
    """An entry's file name: the first 40 hex digits of the SHA-256 of its key (as sorted JSON)."""
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:40]


def sources_digest(folder: Path, leave_out: tuple[str, ...] = ()):
    """A SHA-256 (still open for more) of every module under `folder` (path and bytes), but those in
    its subfolders `leave_out`."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*.py")):
        relative = path.relative_to(folder)
        if relative.parts[0] in leave_out:
            continue
        digest.update(relative.as_posix().encode())
        digest.update(path.read_bytes())
    return digest


def replace_atomically(path: Path, write: Callable[[str], object]) -> None:
    """`write` a temporary file beside `path` (given its name), then put it in place in one step: a
    kernel reading meanwhile sees the whole entry or none."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".part")
    os.close(handle)
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)
