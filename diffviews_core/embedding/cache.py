"""Fitted embeddings cached per (model, layers, parameters, data), so asking for the same map again is instant."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ..errors import DataError
from ..jobs import Progress
from .fit import DEFAULT_SEED, FittedEmbedding, embedding_params, fit_embeddings
from .projection import Projector
from .storage import load_embedding, save_embedding

log = logging.getLogger(__name__)


def data_fingerprint(X: np.ndarray) -> str:
    """Shape plus a hash of the first, middle and last rows: cheap, and changes when the data is rebuilt."""
    n = len(X)
    h = hashlib.blake2b(digest_size=8)
    h.update(repr(tuple(X.shape)).encode())
    for i in sorted({0, n // 2, n - 1}) if n else ():
        h.update(np.ascontiguousarray(X[i], dtype=np.float32).tobytes())
    return h.hexdigest()


class EmbeddingCache:
    """A folder of ``<key>.npz`` fitted embeddings (default: ``<user cache>/embeddings``)."""

    def __init__(self, directory: Path | None = None) -> None:
        if directory is None:
            from .. import paths

            directory = paths.cache_dir() / "embeddings"
        self.directory = Path(directory)

    @staticmethod
    def key(model_id: str, layers: Sequence[str], params: Mapping, fingerprint: str) -> str:
        blob = json.dumps(
            {"model": model_id, "layers": sorted(layers), "params": dict(params), "data": fingerprint},
            sort_keys=True,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:24]

    def path(self, key: str) -> Path:
        return self.directory / f"{key}.npz"

    def get(self, key: str) -> FittedEmbedding | None:
        """The cached embedding, or None if absent or unreadable (a damaged cache file is simply refitted)."""
        p = self.path(key)
        if not p.is_file():
            return None
        try:
            return load_embedding(p)
        except DataError as exc:
            log.warning("ignoring damaged cache file %s", exc)
            return None

    def put(self, key: str, fitted: FittedEmbedding) -> Path:
        return save_embedding(self.path(key), fitted)


def cached_embeddings(
    X: np.ndarray,
    model_id: str,
    layers: Sequence[str],
    dims: Sequence[int] = (2,),
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    pca_components: int = 50,
    seed: int | None = DEFAULT_SEED,
    *,
    cache: EmbeddingCache | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> dict[int, FittedEmbedding]:
    """Embeddings of ``X`` for each of ``dims`` (2 and/or 3), read from ``cache`` or fitted (sharing one PCA) and
    stored; ``layers`` and ``model_id`` are recorded in the parameters."""
    cache = cache or EmbeddingCache()
    fingerprint = data_fingerprint(X)
    out: dict[int, FittedEmbedding] = {}
    keys: dict[int, str] = {}
    for dim in dims:
        params = embedding_params(dim, n_neighbors, min_dist, pca_components, seed)
        keys[dim] = cache.key(model_id, layers, params, fingerprint)
        hit = cache.get(keys[dim])
        if hit is not None:
            log.info("embedding %dD of %s %s from cache", dim, model_id, list(layers))
            out[dim] = hit
    todo = [d for d in dims if d not in out]
    if todo:
        stage = next((f.stage for f in out.values() if f.stage.coords.shape[1] == pca_components), None)
        fitted = fit_embeddings(
            X,
            todo,
            n_neighbors=n_neighbors,
            min_dist=min_dist,
            pca_components=pca_components,
            seed=seed,
            stage=stage,
            progress=progress,
            cancel=cancel,
        )
        for dim, f in fitted.items():
            f.params.update(model=model_id, layers=sorted(layers))
            cache.put(keys[dim], f)
            out[dim] = f
    return {d: out[d] for d in dims}


def cached_projector(
    X: np.ndarray,
    coords: np.ndarray,
    model_id: str,
    layers: Sequence[str],
    pca_components: int = 50,
    *,
    cache: EmbeddingCache | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> Projector:
    """A Projector for a map with no fitted model (e.g. an original CSV): scaler+PCA refitted once, then cached."""
    cache = cache or EmbeddingCache()
    coords = np.asarray(coords, dtype=np.float32)
    params = {"kind": "projector", "pca_components": int(pca_components), "coords": data_fingerprint(coords)}
    key = cache.key(model_id, layers, params, data_fingerprint(X))
    hit = cache.get(key)
    if hit is not None and np.array_equal(hit.coords, coords):
        return hit.projector
    projector = Projector.from_activations(X, coords, pca_components, progress=progress, cancel=cancel)
    fitted = FittedEmbedding(projector.stage, projector.coords, {**params, "model": model_id, "layers": sorted(layers)})
    cache.put(key, fitted)
    return fitted.projector
