"""StandardScaler + PCA kept as plain arrays, fitted by streaming row chunks (works on a memmap without copying it).

The PCA is a randomized SVD (Halko et al.) whose every step is a pass over row chunks, so memory stays at a few
(D, 60) matrices however many rows there are; with 4 power iterations it matches an exact PCA's leading subspace.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from ..jobs import Progress, check_cancelled, report

_CHUNK_BYTES = 64 << 20


@dataclass(frozen=True)
class PCAStage:
    """Scaler mean/scale, PCA components and the PCA coordinates of the fitted rows: all a projection needs."""

    mean: np.ndarray  # (D,) float32
    scale: np.ndarray  # (D,) float32, 1 where a feature is constant
    components: np.ndarray  # (p, D) float32, orthonormal rows
    explained_variance: np.ndarray  # (p,) float32
    coords: np.ndarray  # (N, p) float32, PCA coordinates of every row of the fitted data

    @property
    def dim(self) -> int:
        return int(self.mean.shape[0])

    def transform(self, X: np.ndarray) -> np.ndarray:
        """PCA coordinates (n, p) of activations (n, D) or (D,), scaled like the fitted data."""
        X = np.atleast_2d(X)
        if X.shape[1] != self.dim:
            raise ValueError(f"activations have {X.shape[1]} features, the embedding was fitted on {self.dim}")
        return _transform(X, self.mean, self.scale, self.components)


def _transform(X: np.ndarray, mean: np.ndarray, scale: np.ndarray, components: np.ndarray) -> np.ndarray:
    inv = (1.0 / scale).astype(np.float32)
    out = np.empty((len(X), len(components)), dtype=np.float32)
    comps_t = np.ascontiguousarray(components.T)
    for start, chunk in _chunks(X, None):
        out[start : start + len(chunk)] = ((chunk - mean) * inv) @ comps_t
    return out


def _chunks(X: np.ndarray, rows: np.ndarray | None) -> Iterator[tuple[int, np.ndarray]]:
    """(position, float32 chunk) over ``X`` (all rows, or the sorted ``rows``), about 64 MB at a time."""
    step = max(64, _CHUNK_BYTES // max(1, X.shape[1] * 4))
    total = X.shape[0] if rows is None else len(rows)
    for start in range(0, total, step):
        part = X[start : start + step] if rows is None else X[rows[start : start + step]]
        yield start, np.asarray(part, dtype=np.float32)


def _fit_scaler(X: np.ndarray, rows: np.ndarray | None, cancel: threading.Event | None) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and standard deviation, merged chunk by chunk in float64 (Chan's update)."""
    n = 0
    mean = np.zeros(X.shape[1])
    m2 = np.zeros(X.shape[1])
    for _, chunk in _chunks(X, rows):
        check_cancelled(cancel, "embedding cancelled")
        c = chunk.astype(np.float64)
        nb = len(c)
        mb = c.mean(axis=0)
        m2b = ((c - mb) ** 2).sum(axis=0)
        delta = mb - mean
        tot = n + nb
        mean += delta * (nb / tot)
        m2 += m2b + delta**2 * (n * nb / tot)
        n = tot
    std = np.sqrt(m2 / max(n, 1))
    std[std < 1e-12 * np.maximum(1.0, np.abs(mean))] = 1.0
    return mean.astype(np.float32), std.astype(np.float32)


def fit_pca(
    X: np.ndarray,
    n_components: int = 50,
    *,
    seed: int = 0,
    fit_rows: int | None = None,
    n_iter: int = 4,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> PCAStage:
    """Standardise then PCA ``X`` (N, D); ``fit_rows`` fits on a random sample of rows, then places every row.

    ``progress`` and ``cancel`` follow the ``diffviews_core.jobs`` contract (checked once per chunk of rows)."""
    if X.ndim != 2 or X.shape[0] < 2:
        raise ValueError(f"need a 2-D array with at least 2 rows, got shape {X.shape}")
    rng = np.random.default_rng(seed)
    n_all, dim = X.shape
    rows = None
    if fit_rows is not None and fit_rows < n_all:
        rows = np.sort(rng.choice(n_all, size=fit_rows, replace=False))
    n = n_all if rows is None else len(rows)
    p = min(n_components, n, dim)
    width = min(p + 10, n, dim)
    passes = 4 + 2 * n_iter
    done = 0

    def step(msg: str) -> None:
        nonlocal done
        done += 1
        check_cancelled(cancel, "embedding cancelled")
        report(progress, done / passes, msg)

    mean, scale = _fit_scaler(X, rows, cancel)
    inv = (1.0 / scale).astype(np.float32)
    step("scaling features")

    def scaled():
        for start, chunk in _chunks(X, rows):
            check_cancelled(cancel, "embedding cancelled")
            yield start, (chunk - mean) * inv

    def times(M: np.ndarray) -> np.ndarray:  # A @ M, (n, width)
        out = np.empty((n, M.shape[1]), dtype=np.float64)
        M32 = M.astype(np.float32)
        for start, a in scaled():
            out[start : start + len(a)] = a @ M32
        return out

    def t_times(Q: np.ndarray) -> np.ndarray:  # A.T @ Q, (D, width)
        out = np.zeros((dim, Q.shape[1]), dtype=np.float64)
        Q32 = Q.astype(np.float32)
        for start, a in scaled():
            out += a.T @ Q32[start : start + len(a)]
        return out

    Y = times(rng.standard_normal((dim, width)))
    step("PCA range")
    for _ in range(n_iter):
        Z, _r = np.linalg.qr(t_times(np.linalg.qr(Y)[0]))
        step("PCA power iteration")
        Y = times(Z)
        step("PCA power iteration")
    Q, _r = np.linalg.qr(Y)
    B = t_times(Q).T  # (width, D) = Q.T @ A
    step("PCA components")
    _u, s, vt = np.linalg.svd(B, full_matrices=False)
    s, vt = s[:p], vt[:p]
    signs = np.sign(vt[np.arange(p), np.argmax(np.abs(vt), axis=1)])
    signs[signs == 0] = 1.0
    components = (vt * signs[:, None]).astype(np.float32)
    coords = _transform(X, mean, scale, components)  # exactly what transform() gives new points
    step("PCA coordinates")
    return PCAStage(mean, scale, components, (s**2 / (n - 1)).astype(np.float32), coords)
