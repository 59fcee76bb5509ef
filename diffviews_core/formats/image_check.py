"""Which samples' images are missing, checked when a model opens without a stat per image.

Each image folder is listed once. Paths under the folder of the first row are matched against its listing in one
vectorised pass (pyarrow); the rest (other folders, backslashes, missing files) are looked up one by one. The answer
is kept in the user cache beside the parsed table, valid while the table file and every listed folder keep their
size/modification time (a folder's mtime changes whenever a file is added, removed or renamed in it).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import table_cache

CACHE_KIND = "images"


@dataclass(frozen=True)
class MissingImages:
    first: str  # the first missing image's path as the table gives it
    count: int


def _folder_stamp(folder: Path) -> list[int] | None:
    try:
        st = os.stat(folder)
    except OSError:
        return None
    return [st.st_mtime_ns, st.st_ino]


class _Listing:
    """The regular files of each image folder, listed on first use."""

    def __init__(self, model: Path) -> None:
        self.model = model
        self.files: dict[str, set[str]] = {}
        self.stamps: dict[str, list[int] | None] = {}  # taken before listing: a later change invalidates the answer

    def __call__(self, folder: str) -> set[str]:
        if folder not in self.files:
            self.stamps[folder] = _folder_stamp(self.model / folder)
            try:
                self.files[folder] = {e.name for e in os.scandir(self.model / folder) if e.is_file()}
            except OSError:
                self.files[folder] = set()
        return self.files[folder]


PYARROW_MIN_PATHS = 200_000


def _matched_in_folder(unique: Sequence[str], prefix: str, names: set[str]) -> np.ndarray:
    """Mask of ``unique`` paths that are ``prefix`` + a listed name (exact; vectorised by pyarrow for large tables,
    whose import would cost more than the loop on small ones)."""
    try:
        if len(unique) < PYARROW_MIN_PATHS:
            raise ImportError("small list: the loop is quicker")
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError:  # also where pyarrow is not installed (the desktop bundle leaves it out)
        n = len(prefix)
        return np.fromiter((p.startswith(prefix) and p[n:] in names for p in unique), dtype=bool, count=len(unique))

    paths = pa.array(unique, type=pa.string())
    inside = pc.starts_with(paths, prefix) if prefix else pa.array(np.ones(len(unique), dtype=bool))
    tail = pc.utf8_slice_codeunits(paths, len(prefix))
    listed = pc.is_in(tail, value_set=pa.array(list(names), type=pa.string()))
    return pc.and_(inside, listed).to_numpy(zero_copy_only=False)


def find_missing(model: Path, image_paths: np.ndarray) -> tuple[MissingImages | None, dict[str, list[int] | None]]:
    """(first missing image and how many, the listed folders' stamps) for the table's ``image_path`` column."""
    listing = _Listing(model)
    unique = [str(p) for p in dict.fromkeys(image_paths.tolist())]  # row order: the message names the first row
    if not unique:
        return None, {}
    folder, sep, _ = unique[0].replace("\\", "/").rpartition("/")
    present = _matched_in_folder(unique, folder + sep, listing(folder))
    missing = []
    for i in np.flatnonzero(~present).tolist():
        rel = unique[i]
        if not rel:
            continue
        folder, _, name = rel.replace("\\", "/").rpartition("/")
        if name not in listing(folder):
            missing.append(rel)
    found = MissingImages(missing[0], len(missing)) if missing else None
    return found, listing.stamps


def missing_images(model: Path, image_paths: np.ndarray, source: Path | None) -> MissingImages | None:
    """The missing images of a model whose table was read from ``source``, from the cache when still valid."""
    model = Path(model)
    if source is not None and Path(source).is_file():
        cached = table_cache.load(source, CACHE_KIND)
        if cached is not None and "result" in cached:
            result = json.loads(cached["result"].tobytes().decode("utf-8"))
            if result.get("model") == str(model) and all(
                _folder_stamp(model / f) == stamp for f, stamp in result["folders"].items()
            ):
                return MissingImages(result["first"], result["count"]) if result["count"] else None
    found, folders = find_missing(model, image_paths)
    if source is not None and Path(source).is_file():
        result = {
            "model": str(model),
            "folders": folders,
            "first": found.first if found else "",
            "count": found.count if found else 0,
        }
        blob = np.frombuffer(json.dumps(result).encode("utf-8"), dtype=np.uint8)
        table_cache.store(source, CACHE_KIND, {"result": blob})
    return found
