"""Activation-space nearest neighbours at any size: one index per dataset and layers, built once and kept.

``build_index(rows)`` picks the kind from the size: up to ``EXACT_MAX_VALUES`` (rows x features) an exact scan
(``neighbours.ActivationIndex``, BLAS over the memory map); above it an approximate index whose recall@10 against
the exact scan is measured when it is built and kept with it:

- ``ivf`` (faiss, from the ``cluster`` extra): an inverted file of 8-bit scalar-quantised rows (one byte per
  feature in memory). Candidates from the ``nprobe`` nearest lists are re-ranked exactly from the stored rows, and
  ``nprobe`` is the smallest that reaches ``target_recall`` on held-out rows. Saved with faiss's own binary writer
  (no pickle) beside a JSON record, so it is built once per dataset.

Without faiss, large datasets are scanned exactly (with a warning): pynndescent, which umap-learn brings, was tried
and cost minutes of numba compilation before its first query on a two-core machine, and cannot be stored without
pickle.

``dataset_index(model, layers)`` is the entry point for a ``ModelData``: it loads the stored index of those layers
or builds and stores it (user cache by default). Every query returns ``(rows, distances)``, ascending distance.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import validate as v
from .errors import DataError
from .jobs import Progress, check_cancelled
from .neighbours import METRICS, ActivationIndex
from .safe_io import is_regular

log = logging.getLogger(__name__)

EXACT_MAX_VALUES = 64_000_000  # rows x features scanned exactly per query (~20-60 ms on two cores)
TARGET_RECALL = 0.95
RECALL_K = 10
RECALL_QUERIES = 200
INDEX_FORMAT = "diffviews-knn-index/1"
_ADD_ROWS = 65536


def _as_float32(rows: np.ndarray, metric: str) -> np.ndarray:
    """Rows as faiss takes them; rows holding NaN/inf become zeros (their exact distance in ``_rerank`` is not a
    number, so they are never returned as neighbours)."""
    x = np.asarray(rows, dtype=np.float32)
    bad = ~np.isfinite(x).all(axis=1)
    if bad.any():
        x = x.copy()
        x[bad] = 0.0
    if metric == "cosine":
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        x = np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)
    return np.ascontiguousarray(x)


def _rerank(data: np.ndarray, metric: str, vec: np.ndarray, cand: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` nearest of the candidate rows by exact distance (ties by row number)."""
    cand = np.unique(cand[cand >= 0])
    x = np.asarray(data[cand], dtype=np.float64)
    v = vec.astype(np.float64)
    if metric == "euclidean":
        d = np.sqrt(np.einsum("ij,ij->i", x - v, x - v))
    else:
        denom = np.linalg.norm(x, axis=1) * np.linalg.norm(v)
        d = 1.0 - np.divide(x @ v, denom, out=np.zeros(len(cand)), where=denom > 0)
    finite = np.isfinite(d)  # rows holding NaN/inf are never neighbours (as in neighbours.ActivationIndex)
    cand, d = cand[finite], d[finite]
    order = np.lexsort((cand, d))[:k]
    return cand[order], d[order].astype(np.float32)


class NeighbourIndex:
    """Common interface: ``query`` (vectors) and ``query_rows`` (stored rows, each leaving itself out)."""

    kind = "exact"
    recall: float | None = 1.0  # measured recall@10 against the exact scan (exact: 1)

    def __init__(self, data: np.ndarray, metric: str) -> None:
        if metric not in METRICS:
            raise ValueError(f"metric must be one of {METRICS}, not {metric!r}")
        if data.ndim != 2:
            raise ValueError(f"activations must be 2-D (rows, features), got shape {data.shape}")
        self.data, self.metric = data, metric

    @property
    def num_rows(self) -> int:
        return int(self.data.shape[0])

    @property
    def dim(self) -> int:
        return int(self.data.shape[1])

    def candidates(self, q: np.ndarray, n: int) -> np.ndarray:
        """(Q, n) candidate rows per query vector (-1 for none)."""
        raise NotImplementedError

    def query(self, vectors: np.ndarray, k: int, exclude: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest rows to each vector ((D,) or (Q, D)), skipping ``exclude``; shaped (k,) or (Q, k)."""
        single = np.ndim(vectors) == 1
        q = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        if not np.isfinite(q).all():
            raise ValueError("the query vector holds NaN or infinite values")
        if q.shape[1] != self.dim:
            raise ValueError(f"query has {q.shape[1]} features, the index has {self.dim}")
        excl = np.unique(np.asarray([] if exclude is None else exclude, dtype=np.int64))
        rows, dists = self._search(q, k, [excl] * len(q))
        return (rows[0], dists[0]) if single else (rows, dists)

    def query_rows(self, rows: int | Sequence[int] | np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest rows to stored row(s) ``rows``, each query's own row left out."""
        single = np.ndim(rows) == 0
        idx = np.atleast_1d(np.asarray(rows, dtype=np.int64))
        if idx.size and (idx.min() < 0 or idx.max() >= self.num_rows):
            raise IndexError(f"row out of range 0..{self.num_rows - 1}")
        order = np.argsort(idx)
        q = np.empty((len(idx), self.dim), dtype=np.float32)
        q[order] = self.data[idx[order]]
        bad = np.flatnonzero(~np.isfinite(q).all(axis=1))
        if bad.size:
            raise ValueError(f"the activations of row {int(idx[bad[0]])} hold NaN or infinite values")
        out_rows, dists = self._search(q, k, [np.array([r]) for r in idx])
        return (out_rows[0], dists[0]) if single else (out_rows, dists)

    def _search(self, q: np.ndarray, k: int, exclude: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        k = max(0, min(int(k), self.num_rows - max((len(e) for e in exclude), default=0)))
        out_rows = np.full((len(q), k), -1, dtype=np.int64)
        out_d = np.full((len(q), k), np.inf, dtype=np.float32)
        if k == 0 or len(q) == 0:
            return out_rows, out_d
        extra = max((len(e) for e in exclude), default=0)
        cand = self.candidates(q, min(self.num_rows, max(4 * k, 40) + extra))
        for i, (vec, c, e) in enumerate(zip(q, cand, exclude, strict=True)):
            c = c[~np.isin(c, e)] if len(e) else c
            r, d = _rerank(self.data, self.metric, vec, c, k)
            out_rows[i, : len(r)], out_d[i, : len(r)] = r, d
        return out_rows, out_d

    def describe(self) -> dict:
        return {"kind": self.kind, "metric": self.metric, "rows": self.num_rows, "dim": self.dim,
                "recall_at_10": self.recall}  # fmt: skip


class ExactIndex(NeighbourIndex):
    """Brute force over every row (``neighbours.ActivationIndex``): the reference and the small-data index."""

    def __init__(self, data: np.ndarray, metric: str = "euclidean") -> None:
        super().__init__(data, metric)
        self._scan = ActivationIndex(data, metric)

    def query(self, vectors, k, exclude=None):
        return self._scan.query(vectors, k, exclude)

    def query_rows(self, rows, k):
        return self._scan.query_rows(rows, k)


class IVFIndex(NeighbourIndex):
    """faiss inverted file of 8-bit quantised rows; candidates re-ranked exactly from ``data``."""

    kind = "ivf"

    def __init__(self, data: np.ndarray, metric: str, faiss_index, nprobe: int, recall: float | None) -> None:
        super().__init__(data, metric)
        self.index, self.nprobe, self.recall = faiss_index, int(nprobe), recall

    @classmethod
    def build(cls, data: np.ndarray, metric: str, seed: int = 0, progress: Progress | None = None,
              cancel: threading.Event | None = None) -> IVFIndex:  # fmt: skip
        import faiss

        n, d = data.shape
        nlist = int(max(1, min(max(16, 2 * math.sqrt(n)), n // 40)))  # faiss wants 39+ rows per list
        train_rows = np.sort(np.random.default_rng(seed).choice(n, size=min(n, 50 * nlist), replace=False))
        if progress:
            progress(0.0, f"training {nlist} lists on {len(train_rows):,} rows")
        quantizer = faiss.IndexFlatL2(d)
        index = faiss.IndexIVFScalarQuantizer(quantizer, d, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_L2)
        index.cp.seed = int(seed)
        index.train(_as_float32(data[train_rows], metric))
        for a in range(0, n, _ADD_ROWS):
            check_cancelled(cancel, "building the neighbour index cancelled")
            index.add(_as_float32(data[a : a + _ADD_ROWS], metric))
            if progress:
                progress(0.1 + 0.7 * min(n, a + _ADD_ROWS) / n, f"indexed {min(n, a + _ADD_ROWS):,} of {n:,} rows")
        return cls(data, metric, index, nprobe=1, recall=None)

    def candidates(self, q: np.ndarray, n: int) -> np.ndarray:
        self.index.nprobe = self.nprobe
        _d, ids = self.index.search(_as_float32(q, self.metric), n)
        return ids

    def save(self, folder: Path, record: dict) -> None:
        import faiss

        from .atomic import atomic_path, atomic_write_json

        with atomic_path(Path(folder) / "index.faiss") as tmp:
            faiss.write_index(self.index, str(tmp))
        atomic_write_json(Path(folder) / "index.json", {**record, **self.describe(), "nprobe": self.nprobe})

    def describe(self) -> dict:
        return {**super().describe(), "nprobe": self.nprobe, "lists": int(self.index.nlist)}


def _sample_rows(data: np.ndarray, count: int, seed: int) -> np.ndarray:
    """Up to ``count`` random stored rows (sorted) to measure recall on, leaving out those holding NaN/inf, which
    cannot be queried."""
    rows = np.sort(np.random.default_rng(seed).choice(len(data), size=min(count, len(data)), replace=False))
    return rows[np.isfinite(np.asarray(data[rows])).all(axis=1)]


def measure_recall(index: NeighbourIndex, k: int = RECALL_K, queries: int = RECALL_QUERIES, seed: int = 1,
                   truth: tuple[np.ndarray, np.ndarray] | None = None) -> float:  # fmt: skip
    """Mean fraction of the exact ``k`` nearest rows an index returns, over ``queries`` random stored rows (each
    leaving itself out); ``truth`` = (rows, exact neighbours) to reuse an exact scan."""
    if truth is None:
        rows = _sample_rows(index.data, queries, seed)
        exact, _ = ExactIndex(index.data, index.metric).query_rows(rows, k)
    else:
        rows, exact = truth
    got, _ = index.query_rows(rows, k)
    hits = [len(set(g.tolist()) & set(e.tolist())) / max(1, len(e)) for g, e in zip(got, exact, strict=True)]
    return float(np.mean(hits))


def _tune(index: IVFIndex, target: float, steps: Sequence[int], seed: int) -> None:
    """Smallest ``nprobe`` whose measured recall@10 reaches ``target`` (the widest tried otherwise)."""
    rows = _sample_rows(index.data, RECALL_QUERIES, seed + 1)
    exact, _ = ExactIndex(index.data, index.metric).query_rows(rows, RECALL_K)
    for step in steps:
        index.nprobe = step
        index.recall = measure_recall(index, truth=(rows, exact))
        log.info("%s index, nprobe %d: recall@10 %.3f", index.kind, step, index.recall)
        if index.recall >= target:
            return


def faiss_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("faiss") is not None


def build_index(
    data: np.ndarray,
    metric: str = "euclidean",
    mode: str = "auto",
    *,
    seed: int = 0,
    target_recall: float = TARGET_RECALL,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> NeighbourIndex:
    """An index over the rows of ``data`` (N, D): ``mode`` "exact", "approx" or "auto" (exact up to
    ``EXACT_MAX_VALUES`` rows x features)."""
    if mode not in ("auto", "exact", "approx"):
        raise ValueError(f"mode must be auto, exact or approx, not {mode!r}")
    n, d = data.shape
    if mode == "exact" or (mode == "auto" and n * d <= EXACT_MAX_VALUES) or n < 64:
        return ExactIndex(data, metric)
    if not faiss_available():
        log.warning("approximate search needs faiss (pip install 'diffviews-desktop[cluster]'): scanning exactly")
        return ExactIndex(data, metric)
    index = IVFIndex.build(data, metric, seed=seed, progress=progress, cancel=cancel)
    steps = [p for p in (1, 2, 4, 8, 16, 32, 64, 128, 256) if p <= index.index.nlist]
    check_cancelled(cancel, "building the neighbour index cancelled")
    if progress:
        progress(0.85, "measuring recall against the exact scan")
    _tune(index, target_recall, steps, seed)
    if progress:
        progress(1.0, f"{index.kind} index: recall@10 {index.recall:.3f}")
    return index


def index_key(model, layers: Sequence[str], metric: str) -> str:
    """Identifies the rows an index covers: the dataset's layer checksums (project format) or its file stamps."""
    files = []
    manifest = getattr(model, "manifest", None) or {}
    for layer in sorted(layers):
        rec = manifest.get("files", {}).get(manifest.get("layers", {}).get(layer, {}).get("file", ""))
        files.append(rec["sha256"] if rec else layer)
    stamp = [str(Path(model.path).resolve()), files, metric, model.num_samples]
    if not manifest:  # original layout: the shape and a few rows stand for the data
        rows = model.activations(sorted(layers))
        picks = sorted({0, len(rows) // 2, len(rows) - 1}) if len(rows) else []
        stamp.append(
            [list(rows.shape), hashlib.sha256(np.asarray(rows[picks], dtype=np.float32).tobytes()).hexdigest()]
        )
    return hashlib.sha256(json.dumps(stamp).encode()).hexdigest()[:24]


def load_index(folder: Path, data: np.ndarray, metric: str) -> NeighbourIndex | None:
    """A stored approximate index over ``data``, or None if absent, stale or unreadable (it is then rebuilt)."""
    folder = Path(folder)
    if not (folder / "index.json").is_file() or not (folder / "index.faiss").is_file() or not faiss_available():
        return None
    from .formats.files import read_json_object

    try:
        rec = read_json_object(folder / "index.json")
    except DataError as exc:
        log.warning("ignoring the neighbour index: %s", exc)
        return None
    if rec.get("format") != INDEX_FORMAT or rec.get("rows") != data.shape[0] or rec.get("dim") != data.shape[1]:
        return None
    if rec.get("metric") != metric:
        return None
    try:
        nprobe = v.integer(rec.get("nprobe"), "'nprobe'", 1, 1 << 20)
        recall = None if rec.get("recall_at_10") is None else v.number(rec["recall_at_10"], "'recall_at_10'", 0, 1)
    except v.Invalid as exc:
        log.warning("ignoring the neighbour index %s: %s", folder / "index.json", exc)
        return None
    if not is_regular(folder / "index.faiss"):  # faiss would block on a FIFO
        return None
    import faiss

    try:
        index = faiss.read_index(str(folder / "index.faiss"))
    except RuntimeError as exc:
        log.warning("ignoring unreadable neighbour index %s (%s)", folder, exc)
        return None
    if index.ntotal != data.shape[0] or index.d != data.shape[1]:
        return None
    return IVFIndex(data, metric, index, nprobe, recall)


def dataset_index(
    model,
    layers: Sequence[str],
    metric: str = "euclidean",
    mode: str = "auto",
    folder: Path | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> NeighbourIndex:
    """The neighbour index of ``model``'s stored rows of ``layers``: loaded if built before, else built and stored
    under ``folder`` (default ``<user cache>/knn/<key>``; a dataset folder works too)."""
    data = model.activations(sorted(layers))
    n, d = data.shape
    if mode == "exact" or (mode == "auto" and n * d <= EXACT_MAX_VALUES):
        return ExactIndex(data, metric)
    key = index_key(model, layers, metric)
    if folder is None:
        from .paths import cache_dir

        folder = cache_dir() / "knn" / key
    loaded = load_index(folder, data, metric)
    if loaded is not None:
        return loaded
    index = build_index(data, metric, "approx", progress=progress, cancel=cancel)
    if isinstance(index, IVFIndex):
        index.save(folder, {"format": INDEX_FORMAT, "model": str(model.path), "layers": sorted(layers)})
        log.info("stored the neighbour index of %s %s in %s", model.name, list(layers), folder)
    return index
