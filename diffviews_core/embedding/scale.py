"""UMAP at a million points: cuML on a CUDA GPU when it is installed, else umap-learn on a sample with every other
row placed by kNN, as generation trajectories are placed (``Projector``).

``umap_coords(pca_coords, ...)`` is what ``fit_embedding`` calls once scaler+PCA are done. Backends:

- ``cuml``: ``cuml.manifold.UMAP`` on every row (GPU), chosen by ``auto`` when cuML imports and sees a device;
- ``umap``: umap-learn on every row, while there are at most ``sample_rows`` of them;
- ``sampled``: umap-learn on ``sample_rows`` rows drawn with the seed, then each remaining row placed at the
  inverse-distance mean of its 10 nearest sampled rows in PCA space, in chunks with progress and cancel.

umap-learn's own fit cannot be interrupted; cancel is checked before it and between placement chunks.
"""

from __future__ import annotations

import importlib.util
import logging
import time

import numpy as np

from ._job import Job

log = logging.getLogger(__name__)

SAMPLE_ROWS = 50_000  # above this, UMAP is fitted on a sample and the rest placed by kNN
PLACE_CHUNK = 2048  # rows placed per step (a (sample, chunk) score block stays ~400 MB at 50k samples)
BACKENDS = ("auto", "cuml", "umap", "sampled")


def cuml_available() -> bool:
    """cuML is installed and a CUDA device is visible to it (checked without importing torch)."""
    if importlib.util.find_spec("cuml") is None:
        return False
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception as exc:  # no driver, no device: the CPU path is used
        log.info("cuML is installed but unusable here (%s)", exc)
        return False


def choose_backend(n_rows: int, backend: str = "auto", sample_rows: int = SAMPLE_ROWS) -> str:
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    if backend != "auto":
        return backend
    if cuml_available():
        return "cuml"
    return "sampled" if n_rows > sample_rows else "umap"


def _cuml_umap(pca_coords: np.ndarray, n_components: int, n_neighbors: int, min_dist: float, seed) -> np.ndarray:
    from cuml.manifold import UMAP

    reducer = UMAP(n_components=n_components, n_neighbors=max(2, min(int(n_neighbors), len(pca_coords) - 1)),
                   min_dist=float(min_dist), random_state=seed)  # fmt: skip
    out = reducer.fit_transform(np.ascontiguousarray(pca_coords, dtype=np.float32))
    out = out.get() if hasattr(out, "get") else out  # cupy -> numpy
    return np.ascontiguousarray(np.asarray(out), dtype=np.float32)


def place_by_knn(fitted_pca: np.ndarray, fitted_coords: np.ndarray, pca_rows: np.ndarray, job: Job,
                 start: float = 0.0, span: float = 1.0, k: int = 10) -> np.ndarray:  # fmt: skip
    """Map coordinates of ``pca_rows`` as the inverse-distance mean of their ``k`` nearest fitted rows (a row on a
    fitted row lands on it): the rule that places generation trajectories."""
    from .pca import PCAStage
    from .projection import Projector

    d = fitted_pca.shape[1]
    identity = PCAStage(np.zeros(d, np.float32), np.ones(d, np.float32), np.eye(d, dtype=np.float32),
                        np.ones(d, np.float32), fitted_pca)  # fmt: skip
    projector = Projector(identity, fitted_coords)
    out = np.empty((len(pca_rows), fitted_coords.shape[1]), dtype=np.float32)
    n = len(pca_rows)
    for a in range(0, n, PLACE_CHUNK):
        out[a : a + PLACE_CHUNK] = projector.project(pca_rows[a : a + PLACE_CHUNK], k=k)
        job.report(start + span * min(n, a + PLACE_CHUNK) / n, f"placed {min(n, a + PLACE_CHUNK):,} of {n:,} points")
    return out


def umap_coords(
    pca_coords: np.ndarray,
    n_components: int,
    n_neighbors: int,
    min_dist: float,
    seed: int | None,
    job: Job | None = None,
    backend: str = "auto",
    sample_rows: int = SAMPLE_ROWS,
) -> tuple[np.ndarray, dict]:
    """UMAP coordinates (N, n_components) of PCA coordinates, and what was done (backend, sample size) for the
    embedding's parameters. ``job`` reports fractions 0..1 of this stage."""
    from .fit import run_umap

    job = job or Job()
    n = len(pca_coords)
    chosen = choose_backend(n, backend, sample_rows)
    t0 = time.perf_counter()
    job.report(0.0, f"UMAP {n_components}D of {n:,} points ({chosen})")
    if chosen == "cuml":
        coords = _cuml_umap(pca_coords, n_components, n_neighbors, min_dist, seed)
        info = {"backend": "cuml"}
    elif chosen == "umap" or n <= sample_rows:
        coords = run_umap(pca_coords, n_components, n_neighbors, min_dist, seed)
        info = {"backend": "umap-learn"}
    else:
        rng = np.random.default_rng(0 if seed is None else seed)
        sample = np.sort(rng.choice(n, size=sample_rows, replace=False))
        fitted = run_umap(pca_coords[sample], n_components, n_neighbors, min_dist, seed)
        job.report(0.5, f"UMAP of {sample_rows:,} sampled points done; placing the other {n - sample_rows:,}")
        rest = np.setdiff1d(np.arange(n), sample, assume_unique=True)
        coords = np.empty((n, n_components), dtype=np.float32)
        coords[sample] = fitted
        coords[rest] = place_by_knn(pca_coords[sample], fitted, pca_coords[rest], job, start=0.5, span=0.5)
        info = {"backend": "umap-learn, sampled", "sample_rows": int(sample_rows), "placement": "inverse-distance kNN"}
    job.report(1.0, f"UMAP {n_components}D done")
    log.info("UMAP of %d points with %s in %.1f s", n, info["backend"], time.perf_counter() - t0)
    return coords, info
