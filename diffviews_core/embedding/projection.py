"""Place new activations (generation trajectories) on a map without any pickled UMAP model.

A new point goes where its k nearest fitted rows are, weighted by inverse distance in the scaler+PCA space; this
works for maps fitted here and for maps read from an original-layout CSV (scaler+PCA refitted on the stored rows).
"""

from __future__ import annotations

import threading

import numpy as np

from ..jobs import Progress
from .pca import PCAStage, fit_pca


class Projector:
    """Maps activations (n, D) to map coordinates (n, 2|3) by inverse-distance kNN in the fitted PCA space."""

    def __init__(self, stage: PCAStage, coords: np.ndarray) -> None:
        coords = np.asarray(coords, dtype=np.float32)
        if coords.ndim != 2 or coords.shape[1] not in (2, 3):
            raise ValueError(f"map coordinates must be (N, 2) or (N, 3), got shape {coords.shape}")
        if len(coords) != len(stage.coords):
            raise ValueError(f"{len(coords)} map points but the PCA stage holds {len(stage.coords)} rows")
        if not np.isfinite(coords).all():
            raise ValueError("map coordinates contain NaN or infinite values")
        self.stage = stage
        self.coords = coords
        self._mean = stage.mean.astype(np.float32)
        # Scaling folded into the components: one matrix-vector product per point.
        self._weights = np.ascontiguousarray((stage.components / stage.scale).T, dtype=np.float32)
        self._fitted = np.ascontiguousarray(stage.coords, dtype=np.float32)
        self._fitted_sq = np.einsum("ij,ij->i", self._fitted, self._fitted)

    @classmethod
    def from_activations(
        cls,
        activations: np.ndarray,
        coords: np.ndarray,
        pca_components: int = 50,
        *,
        seed: int = 0,
        fit_rows: int | None = 20000,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> Projector:
        """Projector for a map whose model is not available (e.g. an original CSV): scaler+PCA fitted on the rows."""
        if len(activations) != len(coords):
            raise ValueError(f"{len(activations)} activation rows but {len(coords)} map points")
        stage = fit_pca(activations, pca_components, seed=seed, fit_rows=fit_rows, progress=progress, cancel=cancel)
        return cls(stage, coords)

    @property
    def dim(self) -> int:
        return int(self._mean.shape[0])

    def project(self, X: np.ndarray, k: int = 10) -> np.ndarray:
        """Map coordinates of activations ``X`` (n, D) or (D,); a point equal to a fitted row lands on it."""
        single = np.ndim(X) == 1
        X = np.atleast_2d(np.asarray(X, dtype=np.float32))
        if X.shape[1] != self.dim:
            raise ValueError(f"activations have {X.shape[1]} features, the map was fitted on {self.dim}")
        Z = (X - self._mean) @ self._weights
        scores = self._fitted_sq[:, None] - 2.0 * (self._fitted @ Z.T)  # (N, n): distance^2 - |z|^2
        n_fit = len(self._fitted)
        k = max(1, min(int(k), n_fit))
        cand = np.argpartition(scores, k - 1, axis=0)[:k].T if k < n_fit else np.tile(np.arange(n_fit), (len(X), 1))
        out = np.empty((len(X), self.coords.shape[1]), dtype=np.float32)
        for i, rows in enumerate(cand):
            diff = self._fitted[rows].astype(np.float64) - Z[i]
            d = np.sqrt(np.einsum("ij,ij->i", diff, diff))
            scale = max(float(d.max()), 1e-30)
            if d.min() <= 1e-6 * scale:
                out[i] = self.coords[rows[np.argmin(d)]]
                continue
            w = 1.0 / d
            out[i] = (w[:, None] * self.coords[rows]).sum(axis=0) / w.sum()
        return out[0] if single else out


def project(fitted, X_new: np.ndarray, k: int = 10) -> np.ndarray:
    """Coordinates of new activations on a fitted map (``fitted`` is a FittedEmbedding; its projector is reused)."""
    return fitted.projector.project(X_new, k)
