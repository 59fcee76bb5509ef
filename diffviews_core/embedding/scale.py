"""Running UMAP, up to a million points: cuML on a CUDA GPU when it is installed, else umap-learn (on a sample with
every other row placed by kNN, as generation trajectories are placed, when there are many rows).

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
import threading
import time
import warnings

import numpy as np

from ..jobs import Progress, check_cancelled, report
from .numba_cache import import_umap

log = logging.getLogger(__name__)

SAMPLE_ROWS = 50_000  # above this, UMAP is fitted on a sample and the rest placed by kNN
PLACE_CHUNK = 2048  # rows placed per step (an exact (chunk, sample) score block stays ~400 MB at 50k samples)
APPROX_SEARCH_ROWS = 20_000  # from this many sampled points on, placement searches them with faiss when installed
BACKENDS = ("auto", "cuml", "umap", "sampled")
_TQDM_LOCK = threading.RLock()  # tqdm's lock in this process (see ``_thread_lock_for_tqdm``)


def run_umap(
    pca_coords: np.ndarray, n_components: int, n_neighbors: int, min_dist: float, seed: int | None
) -> np.ndarray:
    """UMAP of PCA coordinates; a ``seed`` makes it reproducible (and single-threaded), None lets it use all cores."""
    umap = import_umap()
    _thread_lock_for_tqdm()
    n = len(pca_coords)
    reducer = umap.UMAP(
        n_components=n_components,
        n_neighbors=max(2, min(int(n_neighbors), n - 1)),
        min_dist=float(min_dist),
        metric="euclidean",
        random_state=seed,
        init="spectral" if n > n_components + 1 else "random",
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="n_jobs value", category=UserWarning)
        warnings.filterwarnings("ignore", message=".*spectral initialisation.*", category=UserWarning)
        warnings.filterwarnings("ignore", message="Graph is not fully connected", category=UserWarning)
        out = reducer.fit_transform(pca_coords)
    return np.ascontiguousarray(out, dtype=np.float32)


def _thread_lock_for_tqdm() -> None:
    """umap-learn's epoch loop makes a tqdm bar (a silent one too), and tqdm's first bar creates a class-wide
    multiprocessing lock: a named semaphore that a worker process ended inside a fit (cancel, the app's exit) never
    unlinks, so the resource tracker reports it as leaked when the app exits. No bar here is shared with another
    process: a thread lock serves."""
    from tqdm import tqdm

    if getattr(tqdm, "_lock", None) is not _TQDM_LOCK:
        tqdm.set_lock(_TQDM_LOCK)


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


def _candidate_search(fitted: np.ndarray, n: int, progress: Progress | None, at: float):
    """(chunk of points -> (m, n) candidate fitted rows): faiss's inverted file with a measured recall@10 >= 0.95
    over a large sample when faiss is installed (``knn_index``), else BLAS scores against every fitted row."""
    from ..knn_index import build_index, faiss_available

    if faiss_available() and len(fitted) >= APPROX_SEARCH_ROWS:
        report(progress, at, f"indexing the {len(fitted):,} sampled points")
        index = build_index(fitted, mode="approx")
        log.info("placement search: %s, recall@10 %.3f", index.describe(), index.recall)
        return lambda z: index.candidates(z, n)
    fitted_t = np.ascontiguousarray(fitted.T)
    fitted_sq = np.einsum("ij,ij->i", fitted, fitted)

    def exact(z: np.ndarray) -> np.ndarray:
        scores = z @ fitted_t
        scores *= -2.0
        scores += fitted_sq  # distance^2 - |z|^2, one row per point
        if n >= len(fitted):
            return np.tile(np.arange(len(fitted)), (len(z), 1))
        return np.argpartition(scores, n - 1, axis=1)[:, :n]

    return exact


def place_by_knn(fitted_pca: np.ndarray, fitted_coords: np.ndarray, pca_rows: np.ndarray,
                 progress: Progress | None = None, cancel: threading.Event | None = None, start: float = 0.0,
                 span: float = 1.0, k: int = 10) -> np.ndarray:  # fmt: skip
    """Map coordinates of ``pca_rows`` as the inverse-distance mean of their ``k`` nearest fitted rows in PCA space
    (a row on a fitted row lands on it): the rule ``Projector`` places generation trajectories by, vectorised over
    chunks of rows; candidates come from ``_candidate_search``, their distances are measured exactly."""
    fitted = np.ascontiguousarray(fitted_pca, dtype=np.float32)
    k = max(1, min(int(k), len(fitted)))
    search = _candidate_search(fitted, min(len(fitted), 2 * k), progress, start)
    n = len(pca_rows)
    out = np.empty((n, fitted_coords.shape[1]), dtype=np.float32)
    for a in range(0, n, PLACE_CHUNK):
        check_cancelled(cancel, "embedding cancelled")
        z = np.asarray(pca_rows[a : a + PLACE_CHUNK], dtype=np.float32)
        cand = search(z)
        missing = cand < 0  # an inverted file may return fewer candidates than asked
        diff = fitted[np.where(missing, 0, cand)].astype(np.float64) - z[:, None, :]
        d = np.sqrt(np.einsum("ijk,ijk->ij", diff, diff))
        d[missing] = np.inf
        best = np.argsort(d, axis=1, kind="stable")[:, :k]
        cand, d = np.take_along_axis(cand, best, 1), np.take_along_axis(d, best, 1)
        w = np.where(np.isfinite(d), 1.0 / np.maximum(d, 1e-300), 0.0)
        place = np.einsum("ij,ijc->ic", w, fitted_coords[np.maximum(cand, 0)].astype(np.float64))
        place /= w.sum(axis=1, keepdims=True)
        farthest = np.where(np.isfinite(d), d, 0.0).max(axis=1)
        on_row = d[:, 0] <= 1e-6 * np.maximum(farthest, 1e-30)
        place[on_row] = fitted_coords[cand[on_row, 0]]
        out[a : a + len(z)] = place
        done = min(n, a + PLACE_CHUNK)
        report(progress, start + span * done / n, f"placed {done:,} of {n:,} points")
    return out


def umap_coords(
    pca_coords: np.ndarray,
    n_components: int,
    n_neighbors: int,
    min_dist: float,
    seed: int | None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    backend: str = "auto",
    sample_rows: int = SAMPLE_ROWS,
) -> tuple[np.ndarray, dict]:
    """UMAP coordinates (N, n_components) of PCA coordinates, and what was done (backend, sample size) for the
    embedding's parameters; ``progress`` gets fractions 0..1 of this stage."""
    n = len(pca_coords)
    chosen = choose_backend(n, backend, sample_rows)
    t0 = time.perf_counter()
    check_cancelled(cancel, "embedding cancelled")
    report(progress, 0.0, f"UMAP {n_components}D of {n:,} points ({chosen})")
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
        check_cancelled(cancel, "embedding cancelled")
        report(progress, 0.5, f"UMAP of {sample_rows:,} sampled points done; placing the other {n - sample_rows:,}")
        rest = np.setdiff1d(np.arange(n), sample, assume_unique=True)
        coords = np.empty((n, n_components), dtype=np.float32)
        coords[sample] = fitted
        coords[rest] = place_by_knn(pca_coords[sample], fitted, pca_coords[rest], progress, cancel, start=0.5, span=0.5)
        info = {"backend": "umap-learn, sampled", "sample_rows": int(sample_rows), "placement": "inverse-distance kNN"}
    report(progress, 1.0, f"UMAP {n_components}D done")
    log.info("UMAP of %d points with %s in %.1f s", n, info["backend"], time.perf_counter() - t0)
    return coords, info
