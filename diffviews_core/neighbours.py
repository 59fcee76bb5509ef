"""Exact nearest neighbours: in activation space (the true neighbours) and in the 2D/3D embedding plane.

Activation search is brute force with BLAS: ||x - q||^2 = ||x||^2 - 2 x.q + ||q||^2 with row norms computed once,
rows scanned in chunks so a memory-mapped array is never copied whole, and the few best candidates re-measured
exactly so the reported distances carry no cancellation error.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Sequence

import numpy as np

log = logging.getLogger(__name__)

METRICS = ("euclidean", "cosine")
_CHUNK_BYTES = 64 << 20  # rows per scan chunk: about this many bytes of data
_BUFFER_BYTES = 64 << 20  # queries per block: the (N, block) score buffer stays under this
_FLOAT32_SAFE = 1e36  # a query with a larger squared norm can overflow float32 scores: measured exactly instead


def _unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to length 1 (zero rows stay zero), without overflow for values near the float32 limit."""
    scale = np.abs(x).max(axis=1, keepdims=True, initial=0.0)
    x = np.divide(x, scale, out=np.zeros_like(x), where=scale > 0)
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norm, out=np.zeros_like(x), where=norm > 0)


def _rows_per_chunk(dim: int, itemsize: int) -> int:
    return max(256, _CHUNK_BYTES // max(1, dim * itemsize))


class ActivationIndex:
    """Brute-force exact KNN over the rows of an (N, D) array or memmap, with row norms precomputed once.

    Rows holding NaN or infinity are never neighbours (and cannot be queried: ValueError). Rows so large that
    float32 arithmetic overflows (|x| near 3e38) are measured exactly in float64 instead of ranked by score.
    """

    def __init__(self, data: np.ndarray, metric: str = "euclidean") -> None:
        if metric not in METRICS:
            raise ValueError(f"metric must be one of {METRICS}, not {metric!r}")
        if data.ndim != 2:
            raise ValueError(f"activations must be 2-D (rows, features), got shape {data.shape}")
        self.data = data
        self.metric = metric
        self._chunk = _rows_per_chunk(data.shape[1], data.dtype.itemsize)
        norms = np.empty(data.shape[0], dtype=np.float32)
        with np.errstate(over="ignore", invalid="ignore"):
            for start, chunk in self._chunks():
                norms[start : start + len(chunk)] = np.einsum("ij,ij->i", chunk, chunk)
        # Rows whose float32 norm is not finite: either not numbers at all (never neighbours) or merely huge.
        odd = np.flatnonzero(~np.isfinite(norms))
        finite_values = np.array([np.isfinite(self._row64(r)).all() for r in odd], dtype=bool)
        self._invalid = odd[~finite_values]
        self._huge = odd[finite_values]
        if len(self._invalid):
            log.warning(
                "%d activation rows hold NaN or infinity; they are left out of neighbour searches", len(self._invalid)
            )
        if metric == "euclidean":
            self._sq_norms = norms
        else:
            root = np.sqrt(norms)
            self._inv_norms = np.divide(1.0, root, out=np.zeros_like(root), where=np.isfinite(root) & (root > 0))

    @property
    def num_rows(self) -> int:
        return int(self.data.shape[0])

    @property
    def dim(self) -> int:
        return int(self.data.shape[1])

    def _chunks(self):
        for start in range(0, self.num_rows, self._chunk):
            yield start, np.asarray(self.data[start : start + self._chunk], dtype=np.float32)

    def _row64(self, row: int) -> np.ndarray:
        with np.errstate(invalid="ignore", over="ignore"):
            return np.asarray(self.data[int(row)], dtype=np.float64)

    def query(
        self, vectors: np.ndarray, k: int, exclude: Sequence[int] | np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest rows to each vector (ascending distance), skipping the rows in ``exclude``.

        ``vectors`` is (D,) or (Q, D); the result is (rows, distances) shaped (k,) or (Q, k), int64 and float32.
        """
        single = np.ndim(vectors) == 1
        q = np.atleast_2d(np.asarray(vectors, dtype=np.float64))
        if not np.isfinite(q).all():
            raise ValueError("the query vector holds NaN or infinite values")
        excl = None if exclude is None else np.unique(np.asarray(exclude, dtype=np.int64).ravel())
        rows, dists = self._search(q, k, own=None, exclude=excl)
        return (rows[0], dists[0]) if single else (rows, dists)

    def query_rows(self, rows: int | Sequence[int] | np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest rows to stored row(s) ``rows``, each query's own row left out."""
        single = np.ndim(rows) == 0
        idx = np.atleast_1d(np.asarray(rows, dtype=np.int64))
        if idx.size and (idx.min() < 0 or idx.max() >= self.num_rows):
            raise IndexError(f"row out of range 0..{self.num_rows - 1}")
        bad = np.intersect1d(idx, self._invalid)
        if bad.size:
            raise ValueError(f"the activations of row {int(bad[0])} hold NaN or infinite values")
        q = np.asarray(self.data[np.sort(idx)], dtype=np.float64)[np.argsort(np.argsort(idx))]
        out_rows, dists = self._search(q, k, own=idx, exclude=None)
        return (out_rows[0], dists[0]) if single else (out_rows, dists)

    def _search(
        self, q: np.ndarray, k: int, own: np.ndarray | None, exclude: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        if q.shape[1] != self.dim:
            raise ValueError(f"query has {q.shape[1]} features, the index has {self.dim}")
        banned = np.union1d(self._invalid, exclude) if exclude is not None else self._invalid
        available = self.num_rows - len(banned) - (0 if own is None else 1)
        k = max(0, min(int(k), available))
        n_q = len(q)
        out_rows = np.empty((n_q, k), dtype=np.int64)
        out_d = np.empty((n_q, k), dtype=np.float32)
        if k == 0 or n_q == 0:
            return out_rows, out_d
        unscored = np.union1d(banned, self._huge)  # rows the float32 scores cannot rank
        block = max(1, _BUFFER_BYTES // (4 * self.num_rows))
        for b in range(0, n_q, block):
            qb = q[b : b + block]
            scores = self._scores(qb)
            scores[unscored] = np.inf
            if own is not None:
                scores[own[b : b + block], np.arange(len(qb))] = np.inf
            n_cand = min(self.num_rows, k + max(k, 8))
            for j, vec in enumerate(qb):
                col = scores[:, j]
                if self.metric == "euclidean" and np.dot(vec, vec) > _FLOAT32_SAFE:  # scores overflow: measure all
                    rows = np.setdiff1d(np.arange(self.num_rows), banned)
                else:
                    top = (
                        np.argpartition(col, n_cand - 1)[:n_cand]
                        if n_cand < self.num_rows
                        else np.arange(self.num_rows)
                    )
                    rows = np.union1d(top[np.isfinite(col[top])], np.setdiff1d(self._huge, banned))
                if own is not None:
                    rows = rows[rows != own[b + j]]
                d = self._exact(vec, rows)
                order = np.lexsort((rows, d))[:k]
                out_rows[b + j] = rows[order]
                with np.errstate(over="ignore"):
                    out_d[b + j] = d[order]
        return out_rows, out_d

    def _scores(self, qb: np.ndarray) -> np.ndarray:
        """(N, Q) float32 scores that rank like the distances: ||x||^2 - 2 x.q, or -cos(x, q). Not finite where
        float32 overflows (the caller measures those rows exactly)."""
        if self.metric == "cosine":
            qb = _unit_rows(qb)
        with np.errstate(over="ignore", invalid="ignore"):
            qt = np.ascontiguousarray(qb.T, dtype=np.float32)
            scores = np.empty((self.num_rows, len(qb)), dtype=np.float32)
            for start, chunk in self._chunks():
                end = start + len(chunk)
                if len(qb) == 1:
                    np.dot(chunk, qt[:, 0], out=scores[start:end, 0])
                else:
                    np.matmul(chunk, qt, out=scores[start:end])
            if self.metric == "euclidean":
                scores *= -2.0
                scores += self._sq_norms[:, None]
            else:
                scores *= -self._inv_norms[:, None]
        scores[np.isnan(scores)] = np.inf
        return scores

    def _exact(self, vec: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """float64 distances from ``vec`` to ``rows`` (exact where float32 would overflow)."""
        order = np.argsort(rows)  # sorted gathers read a memmap sequentially
        x = np.empty((len(rows), self.dim), dtype=np.float64)
        x[order] = self.data[rows[order]]
        v = vec.astype(np.float64)
        if self.metric == "euclidean":
            diff = x - v
            scale = np.abs(diff).max(axis=1, initial=0.0)  # scaled, so 3e38-sized values cannot overflow
            safe = np.where(scale > 0, scale, 1.0)
            return scale * np.sqrt(np.einsum("ij,ij->i", diff / safe[:, None], diff / safe[:, None]))
        xu, vu = _unit_rows(x), _unit_rows(v[None, :])[0]
        return 1.0 - xu @ vu


class PlaneIndex:
    """KNN among embedding coordinates (N, 2) or (N, 3) with a KD-tree built once."""

    def __init__(self, coords: np.ndarray) -> None:
        from scipy.spatial import cKDTree

        coords = np.array(coords, dtype=np.float64)  # own copy: the cache must not keep the caller's array alive
        if coords.ndim != 2 or coords.shape[1] not in (2, 3):
            raise ValueError(f"coordinates must be (N, 2) or (N, 3), got shape {coords.shape}")
        if not np.isfinite(coords).all():
            raise ValueError("coordinates contain NaN or infinite values")
        self.coords = coords
        self.tree = cKDTree(coords)

    def query(self, point_or_row: int | np.ndarray | Sequence[float], k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest rows to a point, or to row ``point_or_row`` (itself left out); ascending distance."""
        n = len(self.coords)
        is_row = isinstance(point_or_row, (int, np.integer))
        if is_row and not 0 <= point_or_row < n:
            raise IndexError(f"row {point_or_row} out of range 0..{n - 1}")
        point = self.coords[point_or_row] if is_row else np.asarray(point_or_row, dtype=np.float64)
        k = max(0, min(int(k), n - 1 if is_row else n))
        if k == 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        want = min(n, k + 1) if is_row else k
        d, rows = self.tree.query(point, k=want)
        d, rows = np.atleast_1d(d), np.atleast_1d(rows).astype(np.int64)
        if is_row:
            keep = rows != point_or_row
            d, rows = d[keep][:k], rows[keep][:k]
        order = np.lexsort((rows, d))
        return rows[order], d[order].astype(np.float32)


def knn_plane_scan(
    coords: np.ndarray, point_or_row: int | np.ndarray | Sequence[float], k: int
) -> tuple[np.ndarray, np.ndarray]:
    """``PlaneIndex.query`` without an index: one pass over the coordinates (~2 ms at 100k points, ~20 at 1M)
    instead of scipy's import and a KD-tree build (0.5 s, and 1 s more at 1M) on the first query, for callers that
    ask once per click. Ties go to the lowest rows."""
    coords = np.asarray(coords)
    if coords.ndim != 2 or coords.shape[1] not in (2, 3):
        raise ValueError(f"coordinates must be (N, 2) or (N, 3), got shape {coords.shape}")
    n = len(coords)
    is_row = isinstance(point_or_row, (int, np.integer))
    if is_row and not 0 <= point_or_row < n:
        raise IndexError(f"row {point_or_row} out of range 0..{n - 1}")
    point = np.asarray(coords[point_or_row] if is_row else point_or_row, dtype=np.float64)
    k = max(0, min(int(k), n - 1 if is_row else n))
    if k == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
    d2 = np.zeros(n, dtype=np.float64)
    for axis in range(coords.shape[1]):  # column by column: no (N, D) float64 copy
        diff = np.subtract(coords[:, axis], point[axis], dtype=np.float64)
        diff *= diff
        d2 += diff
    if not np.isfinite(d2).all():
        raise ValueError("coordinates contain NaN or infinite values")
    if is_row:
        d2[point_or_row] = np.inf
    kth = d2[np.argpartition(d2, k - 1)[k - 1]] if k < n else np.inf
    cand = np.flatnonzero(d2 <= kth)  # every row tied with the k-th too: the lowest of them are kept
    rows = cand[np.lexsort((cand, d2[cand]))[:k]]
    return rows.astype(np.int64), np.sqrt(d2[rows]).astype(np.float32)


_plane_cache: dict[int, tuple[weakref.ref, PlaneIndex]] = {}


def knn_plane(
    coords: np.ndarray, point_or_row: int | np.ndarray | Sequence[float], k: int
) -> tuple[np.ndarray, np.ndarray]:
    """KNN in the embedding plane; the KD-tree of ``coords`` is built on first use and reused while it lives."""
    key = id(coords)
    hit = _plane_cache.get(key)
    if hit is None or hit[0]() is not coords:
        index = PlaneIndex(coords)
        _plane_cache[key] = (weakref.ref(coords, lambda _r, key=key: _plane_cache.pop(key, None)), index)
        log.debug("built plane KD-tree over %d points", len(index.coords))
    return _plane_cache[key][1].query(point_or_row, k)


def map_spread(coords: np.ndarray | None, selected: int, rows: list[int]) -> float | None:
    """Median map distance of ``rows`` from the selected point over that of the map's own nearest as many points:
    about 1 when the projection keeps these neighbours together, much more when it tears them apart."""
    if coords is None or selected < 0 or not rows:
        return None
    diff = coords - coords[selected]
    d2 = np.einsum("ij,ij->i", diff, diff)  # squared: one pass over the map, square roots of the few kept only
    nearest = np.sqrt(np.partition(d2, len(rows))[1 : len(rows) + 1])  # index 0 is the selected point itself
    base = float(np.median(nearest))
    return float(np.median(np.sqrt(d2[rows]))) / base if base > 0 else None
