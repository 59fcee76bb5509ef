"""Validated access to .npy and .npz files: memory-mapped .npy, header-only and chunked reads of .npz members.

Every malformed file becomes a DataError naming the file and what is wrong with it, before any data is used.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from numpy.lib import format as npf

from ..errors import DataError

READ_CHUNK_BYTES = 64 << 20


def _read_header(fh, path: Path) -> tuple[tuple[int, ...], bool, np.dtype]:
    try:
        version = npf.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = npf.read_array_header_1_0(fh)
        else:
            shape, fortran, dtype = npf.read_array_header_2_0(fh)
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(path, f"not a valid .npy array ({exc})") from None
    if dtype.hasobject:
        raise DataError(path, "holds Python objects (would need pickle); only numeric arrays are read")
    return tuple(int(s) for s in shape), bool(fortran), dtype


def npy_header(path: Path) -> tuple[tuple[int, ...], np.dtype, int]:
    """(shape, dtype, data offset) of an .npy file, checking that the file holds all the data its header promises."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            shape, _fortran, dtype = _read_header(fh, path)
            offset = fh.tell()
    except FileNotFoundError:
        raise DataError(path, "missing file") from None
    expected = offset + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    size = path.stat().st_size
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
    return npf.open_memmap(str(path), mode="r")


def _open_zip(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except FileNotFoundError:
        raise DataError(path, "missing file") from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(path, f"not a readable .npz archive ({exc})") from None


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
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise DataError(path, f"member {name!r} unreadable ({exc})") from None
            out[name] = (shape, dtype)
    if not out:
        raise DataError(path, "the .npz archive holds no arrays")
    return out


def iter_npz_rows(path: Path, name: str, chunk_bytes: int = READ_CHUNK_BYTES) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (first row, block of rows) of one 2-D member, decompressing a bounded chunk at a time."""
    path = Path(path)
    with _open_zip(path) as zf:
        try:
            fh = zf.open(f"{name}.npy")
        except KeyError:
            raise DataError(path, f"no array named {name!r}") from None
        with fh:
            shape, fortran, dtype = _read_header(fh, path)
            if len(shape) != 2:
                raise DataError(path, f"member {name!r}: expected a 2-D array, found shape {shape}")
            n, d = shape
            if fortran:  # column-major data cannot be streamed by rows: read it whole (rare; numpy writes C order)
                block = np.frombuffer(fh.read(n * d * dtype.itemsize), dtype=dtype)
                if block.size != n * d:
                    raise DataError(path, f"member {name!r} is truncated")
                yield 0, block.reshape((n, d), order="F")
                return
            rows = max(1, chunk_bytes // max(1, d * dtype.itemsize))
            for start in range(0, n, rows):
                count = min(rows, n - start)
                try:
                    raw = fh.read(count * d * dtype.itemsize)
                except (zipfile.BadZipFile, OSError, EOFError) as exc:
                    raise DataError(path, f"member {name!r} unreadable ({exc})") from None
                if len(raw) != count * d * dtype.itemsize:
                    raise DataError(
                        path, f"member {name!r} is truncated at row {start + len(raw) // (d * dtype.itemsize)}"
                    )
                yield start, np.frombuffer(raw, dtype=dtype).reshape(count, d)


def read_npz_member(path: Path, name: str) -> np.ndarray:
    """One whole 2-D member as float32 (the per-layer lazy read of unconverted data)."""
    blocks = [block for _start, block in iter_npz_rows(path, name)]
    out = np.concatenate(blocks) if len(blocks) > 1 else blocks[0]
    return np.ascontiguousarray(out, dtype=np.float32)
