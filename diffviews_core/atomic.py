"""Atomic writes: every file DiffViews writes replaces its target in one rename, so a reader (or a crash) sees the old
file or the whole new one, never a part.

The temporary file sits beside the target (same file system) under a name unique to its writer, so two writers never
share one; it is flushed to disk before the rename and the folder after it, so the new name survives a power cut;
on any failure the temporary file is removed and the target is left as it was, and a full disk is a
``DiskFullError`` naming the target. The new file gets the permissions a plain ``open(path, "w")`` would give it (or
keeps those of the file it replaces), not the private 0600 of a temporary file. ``remove_stale_temps`` clears the
temporary files a killed writer left behind.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import re
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .safe_io import disk_full_as_error

log = logging.getLogger(__name__)
# mkstemp's names in atomic_path: "." + target name + "." + 8 random characters + ".tmp"
_TEMP_RE = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")


@functools.lru_cache(maxsize=1)
def _umask() -> int:
    """The process's umask, read without changing it where Linux reports it (else set and restored once)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _new_file_mode(target: Path) -> int:
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except OSError:
        return 0o666 & ~_umask()


def fsync_dir(folder: Path | str) -> None:
    """Flush a folder's entries (a rename into it) to disk; a no-op where folders cannot be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse fsync on a folder
        pass
    finally:
        os.close(fd)


def replace_file(source: Path | str, target: Path | str) -> Path:
    """Move a finished file (written beside ``target``) into place: fsync it, rename it, fsync the folder."""
    with open(source, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(source, target)
    fsync_dir(Path(target).parent)
    return Path(target)


@contextlib.contextmanager
def atomic_path(path: Path | str, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a new, empty temporary path beside ``path`` to write; on success it replaces ``path``, else it is removed.

    For writers that need a file name (numpy, PIL, safetensors); ``atomic_write_bytes`` is simpler for bytes."""
    path = Path(path)
    with disk_full_as_error(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    try:
        os.chmod(tmp, _new_file_mode(path))
        with disk_full_as_error(path):
            yield Path(tmp)
            replace_file(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def remove_stale_temps(folder: Path | str) -> list[Path]:
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


def atomic_write_bytes(path: Path | str, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: Path | str, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically; returns the path."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path | str, data: Any) -> Path:
    """Deterministic JSON (sorted keys, 2-space indent, trailing newline) written atomically; returns the path."""
    return atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n")
