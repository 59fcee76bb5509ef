"""Validated access to .npy and .npz files: memory-mapped .npy, header-only and chunked reads of .npz members.

Every malformed file becomes a DataError naming the file and what is wrong with it, before any data is used.
"""

from __future__ import annotations

import math
import tokenize
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from numpy.lib import format as npf

from ..errors import DataError, brief
from ..safe_io import open_regular, regular_file

READ_CHUNK_BYTES = 64 << 20
MAX_ELEMENTS = 2**62  # more elements than any file could hold: a header claiming more is corrupt
# What a corrupt .npy header or .npz member can raise from numpy's header parser and zipfile/zlib.
HEADER_ERRORS = (ValueError, SyntaxError, TypeError, KeyError, OverflowError, RecursionError, MemoryError,
                 tokenize.TokenError, OSError, EOFError)  # fmt: skip
ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError, RuntimeError)


def _read_header(fh, path: Path) -> tuple[tuple[int, ...], bool, np.dtype]:
    try:
        version = npf.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = npf.read_array_header_1_0(fh)
        else:
            shape, fortran, dtype = npf.read_array_header_2_0(fh)
    except HEADER_ERRORS as exc:
        raise DataError(path, f"not a valid .npy array ({brief(exc)})") from None
    if dtype.hasobject:
        raise DataError(path, "holds Python objects (would need pickle); only numeric arrays are read")
    shape = tuple(int(s) for s in shape)
    if any(s < 0 for s in shape) or math.prod(shape) > MAX_ELEMENTS:
        raise DataError(path, f"not a valid .npy array (shape {shape})")
    return shape, bool(fortran), dtype


def npy_header(path: Path) -> tuple[tuple[int, ...], np.dtype, int]:
    """(shape, dtype, data offset) of an .npy file, checking that the file holds all the data its header promises."""
    path = Path(path)
    with open_regular(path) as fh:
        shape, _fortran, dtype = _read_header(fh, path)
        offset = fh.tell()
    expected = offset + math.prod(shape) * dtype.itemsize
    size = regular_file(path).st_size
    if size < expected:
        raise DataError(
            path,
            f"truncated: header says shape {shape} {dtype} ({expected:,} bytes with header), file has {size:,} bytes",
        )
    return shape, dtype, offset


def open_npy(path: Path, ndim: int = 2, dtype: np.dtype | None = np.dtype(np.float32)) -> np.memmap:
    """Memory-map an .npy file read-only after validating header, size, rank and dtype."""
    shape, file_dtype, _ = npy_header(path)
    if len(shape) != ndim:
        raise DataError(path, f"expected a {ndim}-D array, found shape {shape}")
    if dtype is not None and file_dtype != dtype:
        raise DataError(path, f"expected dtype {dtype}, found {file_dtype}")
    regular_file(path)
    try:
        return npf.open_memmap(str(path), mode="r")
    except HEADER_ERRORS as exc:  # replaced since the header was read
        raise DataError(path, f"cannot map: {brief(exc)}") from None


def _open_zip(path: Path) -> zipfile.ZipFile:
    regular_file(path)
    try:
        return zipfile.ZipFile(path)
    except ZIP_ERRORS as exc:
        raise DataError(path, f"not a readable .npz archive ({brief(exc)})") from None


def npz_headers(path: Path) -> dict[str, tuple[tuple[int, ...], np.dtype]]:
    """Array name -> (shape, dtype) for every member of an .npz, reading only the headers (no decompression)."""
    path = Path(path)
    out: dict[str, tuple[tuple[int, ...], np.dtype]] = {}
    with _open_zip(path) as zf:
        for info in zf.infolist():
            if not info.filename.endswith(".npy"):
                continue
            name = info.filename[: -len(".npy")]
            try:
                with zf.open(info) as fh:
                    shape, _fortran, dtype = _read_header(fh, path)
            except DataError as exc:
                raise DataError(path, f"member {name!r}: {exc.reason}") from None
            except ZIP_ERRORS as exc:
                raise DataError(path, f"member {name!r} unreadable ({brief(exc)})") from None
            expected = math.prod(shape) * dtype.itemsize
            if expected > info.file_size:
                raise DataError(path, f"member {name!r} holds {info.file_size:,} bytes, its header promises more")
            out[name] = (shape, dtype)
    if not out:
        raise DataError(path, "the .npz archive holds no arrays")
    return out


def iter_npz_rows(path: Path, name: str, chunk_bytes: int = READ_CHUNK_BYTES) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (first row, block of rows) of one 2-D float member, decompressing a bounded chunk at a time."""
    path = Path(path)
    with _open_zip(path) as zf:
        try:
            fh = zf.open(f"{name}.npy")
        except KeyError:
            raise DataError(path, f"no array named {name!r}") from None
        except ZIP_ERRORS as exc:
            raise DataError(path, f"member {name!r} unreadable ({brief(exc)})") from None
        with fh:
            shape, fortran, dtype = _read_header(fh, path)
            if len(shape) != 2:
                raise DataError(path, f"member {name!r}: expected a 2-D array, found shape {shape}")
            if dtype.kind != "f":
                raise DataError(path, f"member {name!r} has dtype {dtype}, expected float")
            n, d = shape
            row_bytes = d * dtype.itemsize
            rows = n if fortran else max(1, chunk_bytes // max(1, row_bytes))
            for start in range(0, n, rows):  # column-major data cannot be streamed by rows: read whole (rare)
                count = min(rows, n - start)
                try:
                    raw = fh.read(count * row_bytes)
                except ZIP_ERRORS as exc:
                    raise DataError(path, f"member {name!r} unreadable ({brief(exc)})") from None
                if len(raw) != count * row_bytes:
                    raise DataError(
                        path, f"member {name!r} is truncated at row {start + len(raw) // max(1, row_bytes)}"
                    )
                block = np.frombuffer(raw, dtype=dtype)
                yield start, block.reshape((count, d), order="F" if fortran else "C")


def read_npz_member(path: Path, name: str) -> np.ndarray:
    """One whole 2-D member as float32 (the per-layer lazy read of unconverted data)."""
    blocks = [block for _start, block in iter_npz_rows(path, name)]
    if not blocks:
        return np.empty((0, npz_headers(path)[name][0][1]), dtype=np.float32)
    out = np.concatenate(blocks) if len(blocks) > 1 else blocks[0]
    return np.ascontiguousarray(out, dtype=np.float32)
