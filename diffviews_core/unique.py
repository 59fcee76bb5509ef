"""Distinct values of an integer column (class labels) without sorting a million rows."""

from __future__ import annotations

import numpy as np


def int_unique(values: np.ndarray, first: bool = False) -> tuple[np.ndarray, ...]:
    """``np.unique(values, return_inverse=True, return_counts=True)`` of integers (``first``: and each value's first
    row, as ``return_index``), by counting when the values span a range not much longer than the array (class
    labels): no sort of a million rows on the way to the first frame. Other values go through ``np.unique``."""
    a = np.asarray(values).ravel()
    lo = hi = 0
    if a.size and a.dtype.kind in "iu":
        lo, hi = int(a.min()), int(a.max())
    if a.size == 0 or a.dtype.kind not in "iu" or hi - lo > max(4 * a.size, 1 << 16):
        out = np.unique(a, return_index=first, return_inverse=True, return_counts=True)
        uniq, rest = out[0], out[1:]
        return (uniq, rest[-2].ravel(), rest[-1], rest[0]) if first else (uniq, rest[0].ravel(), rest[1])
    shifted = (a - lo if a.dtype.kind == "u" else a.astype(np.int64) - lo).astype(np.intp, copy=False)  # no overflow
    counts = np.bincount(shifted, minlength=hi - lo + 1)
    present = counts > 0
    uniq = (np.flatnonzero(present) + lo).astype(a.dtype)
    inverse = (np.cumsum(present) - 1)[shifted]
    if not first:
        return uniq, inverse, counts[present]
    rows = np.full(hi - lo + 1, a.size, dtype=np.intp)
    np.minimum.at(rows, shifted, np.arange(a.size, dtype=np.intp))
    return uniq, inverse, counts[present], rows[present]
