"""Small file helpers: strict JSON reading and checksums (writes go through ``diffviews_core.atomic``)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from ..errors import DataError
from ..safe_io import open_regular, read_json_file


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
