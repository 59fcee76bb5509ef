"""StandardScaler -> PCA -> UMAP, keeping only arrays (no pickled reducer): the map and what places new points."""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..jobs import Progress, check_cancelled, report, stage_progress
from .pca import PCAStage, fit_pca
from .scale import SAMPLE_ROWS, umap_coords

if TYPE_CHECKING:
    from .projection import Projector

log = logging.getLogger(__name__)

DEFAULT_SEED = 42
PCA_SPAN = 0.4  # share of a fit's progress bar given to scaler+PCA (UMAP, which reports nothing, gets the rest)


@dataclass(frozen=True)
class FittedEmbedding:
    """UMAP coordinates (N, 2|3) of the fitted rows, the scaler+PCA stage that produced its input, the parameters."""

    stage: PCAStage
    coords: np.ndarray  # (N, n_components) float32
    params: dict

    @property
    def n_components(self) -> int:
        return int(self.coords.shape[1])

    @functools.cached_property
    def projector(self) -> Projector:
        """Places new activations on this map (built on first use, then kept)."""
        from .projection import Projector

        return Projector(self.stage, self.coords)


def fit_embedding(
    X: np.ndarray,
    n_components: int = 2,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    pca_components: int = 50,
    seed: int | None = DEFAULT_SEED,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    *,
    stage: PCAStage | None = None,
    fit_rows: int | None = None,
    backend: str = "auto",
    sample_rows: int | None = None,
) -> FittedEmbedding:
    """Embed activations ``X`` (N, D; a memmap is streamed) in 2 or 3 dimensions.

    Pass ``stage`` (from an earlier fit on the same rows) to reuse its scaler+PCA, e.g. for the 3D map after the 2D
    one; ``fit_rows`` fits scaler+PCA on a random sample of rows (default: ``sample_rows`` of them when N is larger).
    ``backend`` and ``sample_rows`` choose how UMAP runs at scale (``embedding.scale``: cuML on a GPU, or umap-learn
    on a sample of ``sample_rows`` with the other rows placed by kNN).
    """
    sample_rows = int(sample_rows or SAMPLE_ROWS)
    if fit_rows is None and len(X) > sample_rows:
        fit_rows = sample_rows
    if n_components not in (2, 3):
        raise ValueError(f"n_components must be 2 or 3, not {n_components}")
    if len(X) < 3:
        raise ValueError(f"need at least 3 rows to embed, got {len(X)}")
    t0 = time.perf_counter()
    if stage is None:
        stage = fit_pca(X, pca_components, seed=seed or 0, fit_rows=fit_rows,
                        progress=stage_progress(progress, 0.0, PCA_SPAN), cancel=cancel)  # fmt: skip
    elif len(stage.coords) != len(X):
        raise ValueError(f"the PCA stage was fitted on {len(stage.coords)} rows, X has {len(X)}")
    check_cancelled(cancel, "embedding cancelled")
    coords, how = umap_coords(stage.coords, n_components, n_neighbors, min_dist, seed,
                              stage_progress(progress, PCA_SPAN, 1.0), cancel, backend, sample_rows)  # fmt: skip
    check_cancelled(cancel, "embedding cancelled")
    report(progress, 1.0, "embedding done")
    params = embedding_params(n_components, n_neighbors, min_dist, len(stage.components), seed)
    params.update(num_rows=int(X.shape[0]), num_features=int(X.shape[1]))
    if how["backend"] != "umap-learn":  # how a large map was made (a plain fit records nothing new)
        params.update({f"umap_{k}": v for k, v in how.items()})
    log.info("embedded %d x %d in %dD in %.1f s", X.shape[0], X.shape[1], n_components, time.perf_counter() - t0)
    return FittedEmbedding(stage, coords, params)


def embedding_params(
    n_components: int, n_neighbors: int, min_dist: float, pca_components: int, seed: int | None
) -> dict:
    """The parameters that decide an embedding: recorded beside it and part of its cache key."""
    return {
        "n_components": int(n_components),
        "n_neighbors": int(n_neighbors),
        "min_dist": float(min_dist),
        "pca_components": int(pca_components),
        "seed": seed,
        "metric": "euclidean",
        "method": "StandardScaler+PCA+UMAP",
    }


def fit_embeddings(
    X: np.ndarray,
    dims: Sequence[int] = (2, 3),
    *,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    **kwargs,
) -> dict[int, FittedEmbedding]:
    """One embedding per entry of ``dims`` sharing a single scaler+PCA fit."""
    out: dict[int, FittedEmbedding] = {}
    stage = kwargs.pop("stage", None)
    for i, dim in enumerate(dict.fromkeys(dims)):
        part = stage_progress(progress, i / len(dims), (i + 1) / len(dims))
        fitted = fit_embedding(X, dim, progress=part, cancel=cancel, stage=stage, **kwargs)
        stage = fitted.stage
        out[dim] = fitted
    return out
