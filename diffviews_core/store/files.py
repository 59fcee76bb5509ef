"""Small file helpers: atomic writes (temporary file + rename), strict JSON reading, checksums."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import DataError
from ..safe_io import disk_full_as_error, open_regular, read_json_file

log = logging.getLogger(__name__)
# mkstemp's names: "." + target name + "." + 8 random characters + ".tmp"
_TEMP_RE = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")


@contextlib.contextmanager
def atomic_path(path: Path, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one rename, else it is removed.

    A full disk is a DiskFullError naming ``path``; ``path`` itself is then untouched.
    """
    path = Path(path)
    with disk_full_as_error(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    try:
        with disk_full_as_error(path):
            yield Path(tmp)
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def remove_stale_temps(folder: Path) -> list[Path]:
    """Delete the temporary files ``atomic_path`` left in ``folder`` when a run was killed; returns them."""
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if _TEMP_RE.match(entry.name) and entry.is_file(follow_symlinks=False):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
                log.info("removed %s, left by an interrupted run", entry.path)
    return removed


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` so that readers see either the old file or the whole new one, never a part."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, data: Any) -> None:
    """Deterministic JSON (sorted keys, 2-space indent, trailing newline) written atomically."""
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n")


def read_json(path: Path) -> Any:
    """Parse a UTF-8 JSON file (a regular file, size and nesting bounded); any failure is a DataError naming it."""
    return read_json_file(Path(path))


def read_json_object(path: Path) -> dict:
    data = read_json(path)
    if not isinstance(data, dict):
        raise DataError(path, f"expected a JSON object, found {type(data).__name__}")
    return data


def sha256_file(path: Path, chunk: int = 1 << 22) -> str:
    """Hex SHA-256 of a file, read in chunks so large activation files need little memory."""
    h = hashlib.sha256()
    with open_regular(path) as fh:
        try:
            while block := fh.read(chunk):
                h.update(block)
        except OSError as exc:
            raise DataError(path, f"cannot read: {exc.strerror or exc}") from None
    return h.hexdigest()
