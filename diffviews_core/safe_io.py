"""Reading files a user handed us without trusting them: regular files only, sizes checked before reading, JSON
with bounded size and nesting, and "disk full" reported with the path instead of a raw ENOSPC.

A FIFO or a device in place of a data file would block a reader forever or feed it without end, so every reader
asks ``regular_file`` first (``stat`` never blocks) and ``open_regular`` opens without blocking and checks again.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from .errors import DataError, DiskFullError

MAX_JSON_BYTES = 256 << 20  # a dataset_info.json of 100k samples is ~20 MB
MAX_JSON_DEPTH = 64  # no format of ours nests deeper than ~6
_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a plain file"


def _stat_error(path: Path, exc: OSError) -> DataError:
    if isinstance(exc, FileNotFoundError):
        return DataError(path, "missing file")
    if exc.errno == errno.ELOOP:
        return DataError(path, "symbolic link loop")
    return DataError(path, f"cannot read: {exc.strerror or exc}")


def regular_file(path: Path | str, max_bytes: int | None = None) -> os.stat_result:
    """``stat`` of ``path`` (links followed); a DataError unless it is a regular file of at most ``max_bytes``."""
    path = Path(path)
    try:
        st = os.stat(path)
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the name
        raise _stat_error(path, exc) if isinstance(exc, OSError) else DataError(path, "invalid file name") from None
    if not stat.S_ISREG(st.st_mode):
        raise DataError(path, f"not a regular file ({_kind(st.st_mode)})")
    if max_bytes is not None and st.st_size > max_bytes:
        raise DataError(path, f"{st.st_size:,} bytes, more than the {max_bytes:,} this file may have")
    return st


def is_regular(path: Path | str) -> bool:
    """True for a regular file (links followed); never blocks, never raises."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


@contextlib.contextmanager
def open_regular(path: Path | str, max_bytes: int | None = None) -> Iterator[BinaryIO]:
    """Open a regular file for binary reading without ever blocking on a FIFO or device (checked after opening)."""
    path = Path(path)
    regular_file(path, max_bytes)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise _stat_error(path, exc) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):  # replaced between the stat and the open
            raise DataError(path, f"not a regular file ({_kind(st.st_mode)})")
        if max_bytes is not None and st.st_size > max_bytes:
            raise DataError(path, f"{st.st_size:,} bytes, more than the {max_bytes:,} this file may have")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        fh = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with fh:
        yield fh


def read_regular_bytes(path: Path | str, max_bytes: int) -> bytes:
    """All bytes of a regular file of at most ``max_bytes`` (a file that grows while read is cut off and refused)."""
    with open_regular(path, max_bytes) as fh:
        try:
            data = fh.read(max_bytes + 1)
        except OSError as exc:
            raise DataError(path, f"cannot read: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise DataError(path, f"more than the {max_bytes:,} bytes this file may have")
    return data


def check_depth(value: Any, limit: int = MAX_JSON_DEPTH) -> None:
    """ValueError if lists/dicts nest deeper than ``limit`` (iterative: deep input cannot exhaust the stack)."""
    stack = [(value, 1)]
    while stack:
        obj, depth = stack.pop()
        if isinstance(obj, dict):
            children = obj.values()
        elif isinstance(obj, list):
            children = obj
        else:
            continue
        if depth > limit:
            raise ValueError(f"nested more than {limit} levels deep")
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))


def parse_json(raw: bytes, source: Path | str) -> Any:
    """Decode UTF-8 JSON bytes; every failure (encoding, syntax, nesting, huge numbers) is a DataError."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(source, f"not UTF-8 text (byte {exc.start})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(source, f"invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise DataError(source, f"invalid JSON: nested more than {MAX_JSON_DEPTH} levels deep") from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise DataError(source, f"invalid JSON: {exc}") from None
    try:
        check_depth(data)
    except ValueError as exc:
        raise DataError(source, f"invalid JSON: {exc}") from None
    return data


def read_json_file(path: Path | str, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """Parse a JSON file that must be a regular file of at most ``max_bytes``."""
    return parse_json(read_regular_bytes(path, max_bytes), path)


def is_disk_full(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in _FULL


@contextlib.contextmanager
def disk_full_as_error(path: Path | str) -> Iterator[None]:
    """Turn ENOSPC/EDQUOT raised inside the block into a DiskFullError naming ``path``."""
    try:
        yield
    except OSError as exc:
        if is_disk_full(exc):
            raise DiskFullError(path) from None
        raise


def ensure_free_space(folder: Path | str, needed: int, what: str) -> None:
    """A DiskFullError naming ``folder`` when fewer than ``needed`` bytes are free there (checked before writing)."""
    import shutil

    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return  # cannot tell (e.g. a special filesystem): the write itself will report a full disk
    if needed > free:
        raise DiskFullError(folder, f"{what} needs {needed:,} bytes, {free:,} are free")


def preallocate(path: Path | str, size: int) -> None:
    """Reserve ``size`` bytes for a file about to be written through a memory map.

    A memory-mapped write into a full disk kills the process with SIGBUS instead of raising; reserving the blocks
    first turns that into a DiskFullError while nothing has been written yet.
    """
    path = Path(path)
    if not hasattr(os, "posix_fallocate"):
        ensure_free_space(path.parent, size - path.stat().st_size, f"writing {path.name}")
        return
    fd = os.open(path, os.O_RDWR)
    try:
        os.posix_fallocate(fd, 0, size)
    except OSError as exc:
        if is_disk_full(exc):
            raise DiskFullError(path, f"{size:,} bytes needed") from None
        if exc.errno not in (errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
            raise
        ensure_free_space(path.parent, size - os.fstat(fd).st_size, f"writing {path.name}")
    finally:
        os.close(fd)
