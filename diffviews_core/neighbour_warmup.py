"""Activation neighbours warm before the first click: after a model or layer opens, its activation memory map is read
ahead and its neighbour index made ready in the background, so the first *Suggest KNN* costs one query instead of
page faults and a full pass over the rows (1.5 s at 100k x 1280 when built on the click).

``warm_index`` is a job for a worker thread of the process that will query (the index holds the memory map whose
pages it touched). It never builds an approximate index, which takes minutes at a million rows: the first query
does (``knn_index.dataset_index``) and stores it, and from then on each launch finds it here.
"""

from __future__ import annotations

import logging
import mmap
import threading
from collections.abc import Sequence

import numpy as np

from .jobs import Progress, check_cancelled, report
from .knn_index import EXACT_MAX_VALUES, ExactIndex, NeighbourIndex, index_key, load_index

log = logging.getLogger(__name__)


def _mapping(array: np.ndarray) -> mmap.mmap | None:
    """The mmap behind a memory-mapped array or a view of one (None for arrays in memory)."""
    obj = array
    while obj is not None:
        if isinstance(obj, mmap.mmap):
            return obj
        mm = getattr(obj, "_mmap", None)
        if isinstance(mm, mmap.mmap):
            return mm
        obj = getattr(obj, "base", None)
    return None


def advise_willneed(array: np.ndarray) -> bool:
    """Ask the kernel to read the file behind ``array`` ahead (``madvise(MADV_WILLNEED)``) without waiting; False
    where there is no mapping or no madvise (Windows, macOS without the constant)."""
    mm = _mapping(array)
    if mm is None or not hasattr(mm, "madvise") or not hasattr(mmap, "MADV_WILLNEED"):
        return False
    try:
        mm.madvise(mmap.MADV_WILLNEED)
    except (OSError, ValueError) as exc:
        log.debug("madvise(WILLNEED) refused: %s", exc)
        return False
    return True


def warm_index(
    model,
    layers: Sequence[str],
    metric: str = "euclidean",
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> NeighbourIndex | None:
    """The neighbour index of ``model``'s ``layers`` made ready ahead of the first query: the exact one (every page
    read once, the row norms computed) when the data is small enough to scan, else the stored approximate one where
    it exists (None when there is none: the file was only read ahead)."""
    layers = sorted(layers)
    data = model.activations(layers)
    advise_willneed(data)
    check_cancelled(cancel, "warming the neighbour search cancelled")
    n, d = data.shape
    if n * d <= EXACT_MAX_VALUES:
        report(progress, None, "reading activations ahead")
        index = ExactIndex(data, metric)
    else:
        from .paths import cache_dir

        index = load_index(cache_dir() / "knn" / index_key(model, layers, metric), data, metric)
    if index is not None:
        report(progress, 1.0, "neighbour search ready")
    return index
