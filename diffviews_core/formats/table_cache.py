"""Binary copies of parsed tables in the user cache, so a warm open reads arrays instead of parsing text again.

One ``.npz`` per source file (``<cache>/tables/<hash of the path>-<kind>.npz``, replaced when the source changes),
read with ``allow_pickle=False``: numeric columns as they are, text columns as their distinct values (UTF-8, joined
by NUL) plus int32 codes, so a million rows of a thousand class names load as a thousand strings. A copy is used only
while the source's size, modification time and inode match those recorded in it and its format version is this
one; anything else (stale, unreadable, foreign) is ignored and rewritten. Small files are not copied: parsing them is
as fast as reading a copy.
"""

from __future__ import annotations

import hashlib
import logging
import os
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ..atomic import atomic_path
from ..errors import DataError
from .npyio import npz_headers

log = logging.getLogger(__name__)

VERSION = 1  # bump when a reader's results or checks change, so older copies are never trusted
MIN_SOURCE_BYTES = 1 << 20  # below ~10k rows parsing is as fast as loading a copy
_SEP = "\x00"


def _stamp(source: Path) -> np.ndarray:
    st = os.stat(source)
    return np.array([VERSION, st.st_size, st.st_mtime_ns, st.st_ino], dtype=np.int64)


def cache_file(source: Path, kind: str) -> Path:
    from ..paths import cache_dir

    key = hashlib.sha256(str(Path(source).resolve()).encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return cache_dir() / "tables" / f"{key}-{kind}.npz"


def _join(values: Sequence[str]) -> np.ndarray:
    return np.frombuffer(_SEP.join(values).encode("utf-8", "surrogatepass"), dtype=np.uint8)


def _split(blob: np.ndarray, count: int) -> list[str]:
    return str(memoryview(blob), "utf-8", "surrogatepass").split(_SEP) if count else []  # decoded without a copy


def _encode_text(values: np.ndarray) -> tuple[list[str], np.ndarray] | None:
    """(distinct values, int32 codes), or None if a value is not a str or holds NUL. Plain Python (~0.2 s a million
    cells): pyarrow's encoder would import pyarrow, and with it pandas where installed, on the way to a first frame."""
    index: dict[str, int] = {}
    try:
        codes = np.fromiter((index.setdefault(v, len(index)) for v in values.tolist()), np.int32, count=len(values))
    except TypeError:  # an unhashable cell
        return None
    distinct = list(index)
    if any(type(v) is not str or _SEP in v for v in distinct):
        return None
    return distinct, codes


def store(source: Path, kind: str, columns: Mapping[str, np.ndarray]) -> None:
    """Keep a copy of ``columns`` parsed from ``source`` (numeric or str object arrays); failures are only logged."""
    source = Path(source)
    try:
        if source.stat().st_size < MIN_SOURCE_BYTES:
            return
        arrays: dict[str, np.ndarray] = {"stamp": _stamp(source), "names": _join(list(columns))}
        counts = []
        for i, (name, col) in enumerate(columns.items()):
            col = np.asarray(col)
            if col.dtype == object:
                encoded = _encode_text(col)
                if encoded is None:
                    log.debug("%s: column %r not cacheable", source, name)
                    return
                distinct, arrays[f"t{i}"] = encoded
                arrays[f"v{i}"] = _join(distinct)
                counts.append(len(distinct))
            elif col.dtype.kind in "iufb":
                arrays[f"n{i}"] = col
                counts.append(-1)
            else:
                return
        arrays["counts"] = np.array(counts, dtype=np.int64)
        target = cache_file(source, kind)
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(target) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
    except OSError as exc:
        log.info("could not cache the parsed %s: %s", source, exc)


def load(source: Path, kind: str, names: Sequence[str] | None = None) -> dict[str, np.ndarray] | None:
    """The cached columns of ``source`` (only ``names`` when given, in file order), or None when there is no fresh
    copy. Never unpickles."""
    source = Path(source)
    try:
        stamp = _stamp(source)
        target = cache_file(source, kind)
        if not target.is_file():
            return None
        npz_headers(target)  # every member's header checked against its size before numpy allocates anything
        with np.load(target, allow_pickle=False) as npz:
            if not np.array_equal(npz["stamp"], stamp):
                return None
            counts = npz["counts"]
            all_names = _split(npz["names"], len(counts))
            if len(all_names) != len(counts):
                return None
            out: dict[str, np.ndarray] = {}
            for i, name in enumerate(all_names):
                if names is not None and name not in names:
                    continue
                if counts[i] < 0:
                    out[name] = npz[f"n{i}"]
                else:
                    texts = _split(npz[f"v{i}"], int(counts[i]))
                    distinct = np.fromiter(texts, dtype=object, count=len(texts))  # twice np.array's speed
                    codes = npz[f"t{i}"]
                    if len(distinct) != counts[i] or (codes.size and (codes.min() < 0 or codes.max() >= counts[i])):
                        return None
                    # every value distinct (paths): the codes count up, as _encode_text numbers first occurrences
                    identity = len(codes) == len(distinct) and np.array_equal(codes, np.arange(len(codes)))
                    out[name] = distinct if identity else distinct[codes]
    except (DataError, OSError, EOFError, KeyError, ValueError, MemoryError, zipfile.BadZipFile,
            UnicodeDecodeError) as exc:  # fmt: skip
        log.info("ignoring the cached copy of %s: %s", source, exc)
        return None
    if len({len(v) for v in out.values()}) > 1:
        return None
    return out
