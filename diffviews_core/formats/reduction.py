"""Build-time reduction of layer activations, so a million rows fit: spatial mean pooling or a PCA sketch.

A dataset stores, per layer, either the full flattened output (C*H*W floats per row) or a reduction of it:

- ``mean_pool``: the mean over the spatial positions of each channel (C floats per row);
- ``pca``: ``(x - mean) @ components.T`` with ``dims`` centred principal axes fitted on a sample of the dataset's own
  rows (no feature scaling, so Euclidean neighbours in the sketch approximate those of the full rows).

Either may be stored as float16. The manifest records each layer's reduction (method, dims, dtype, the full
``source_shape`` and the files of a PCA sketch), so readers can reduce new full-size activations (generation
trajectories) the same way. Everything here is NumPy; fitting is deterministic for a given sample.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError

log = logging.getLogger(__name__)

METHODS = ("mean_pool", "pca")
REDUCTIONS_DIR = "reductions"
DEFAULT_FIT_ROWS = 2048
_COLUMN_CHUNK = 4096  # columns per step when forming Gram matrices and components in float64


@dataclass(frozen=True)
class ReductionSpec:
    """What to do to one layer: ``mean_pool`` or ``pca`` to ``dims`` dimensions, stored float16 or float32."""

    method: str
    dims: int | None = None
    float16: bool = False

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"reduction must be one of {', '.join(METHODS)}, not {self.method!r}")
        if self.method == "pca" and (self.dims is None or int(self.dims) < 1):
            raise ValueError("a PCA reduction needs dims >= 1 (e.g. pca:64)")
        if self.method == "mean_pool" and self.dims is not None:
            raise ValueError("mean pooling keeps one value per channel: it takes no dims")

    @classmethod
    def parse(cls, text: str, float16: bool = False) -> ReductionSpec:
        """``mean`` / ``mean_pool``, or ``pca:D``."""
        text = text.strip().lower()
        if text in ("mean", "mean_pool", "pool"):
            return cls("mean_pool", None, float16)
        method, _, dims = text.partition(":")
        if method == "pca" and dims.isdigit():
            return cls("pca", int(dims), float16)
        raise ValueError(f"unknown reduction {text!r}: use 'mean' (spatial mean pooling) or 'pca:D'")

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.float16 if self.float16 else np.float32)

    def describe(self) -> dict:
        """The settings as stored in a build's fingerprint."""
        return {"method": self.method, "dims": self.dims, "dtype": self.dtype.name}


def parse_reductions(text: str | None, layers: Sequence[str], float16: bool = False) -> dict[str, ReductionSpec]:
    """``pca:64`` (every layer), or per layer ``midblock=pca:64,encoder_bottleneck=mean``; '' or None: none."""
    if not text:
        if float16:
            raise ValueError("float16 storage applies to a reduction: give one (e.g. mean or pca:64)")
        return {}
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if all("=" not in p for p in parts) and len(parts) == 1:
        return {layer: ReductionSpec.parse(parts[0], float16) for layer in layers}
    out = {}
    for p in parts:
        layer, eq, what = p.partition("=")
        if not eq:
            raise ValueError(f"{p!r}: per-layer reductions are written layer=method (e.g. midblock=pca:64)")
        if layer.strip() not in layers:
            raise ValueError(f"reduction for {layer.strip()!r}, which is not among the built layers {list(layers)}")
        out[layer.strip()] = ReductionSpec.parse(what, float16)
    return out


def pca_files(layer: str) -> dict[str, str]:
    """Where a layer's PCA sketch lives, relative to the dataset folder (plain .npy: same bytes every build)."""
    return {
        "mean": f"{REDUCTIONS_DIR}/{layer}.mean.npy",
        "components": f"{REDUCTIONS_DIR}/{layer}.components.npy",
    }


class LayerReduction:
    """One layer's fitted reduction: ``apply`` turns full flattened rows (n, C*H*W) into stored rows (n, d)."""

    def __init__(
        self,
        layer: str,
        spec: ReductionSpec,
        source_shape: Sequence[int],
        mean: np.ndarray | None = None,
        components: np.ndarray | None = None,
        fit_rows: int | None = None,
    ) -> None:
        self.layer = layer
        self.spec = spec
        self.source_shape = tuple(int(s) for s in source_shape)
        self.source_size = math.prod(self.source_shape)
        self.fit_rows = fit_rows
        if spec.method == "mean_pool":
            if len(self.source_shape) < 2:
                raise ValueError(f"layer {layer!r} has shape {list(self.source_shape)}: nothing to pool spatially")
            self.out_dim = self.source_shape[0]
            self.mean = self.components = None
        else:
            if mean is None or components is None:
                raise ValueError(f"the PCA sketch of {layer!r} is not fitted")
            if mean.shape != (self.source_size,) or components.ndim != 2 or components.shape[1] != self.source_size:
                raise ValueError(
                    f"PCA sketch of {layer!r}: mean {mean.shape} and components {components.shape} do not fit "
                    f"{self.source_size} features"
                )
            self.mean = np.ascontiguousarray(mean, dtype=np.float32)
            self.components = np.ascontiguousarray(components, dtype=np.float32)
            self._components_t = np.ascontiguousarray(self.components.T)
            self.out_dim = int(self.components.shape[0])

    @property
    def dtype(self) -> np.dtype:
        return self.spec.dtype

    @property
    def stored_shape(self) -> list[int]:
        return [self.out_dim]

    def apply(self, full: np.ndarray) -> np.ndarray:
        """Stored rows (n, out_dim) in the stored dtype from full flattened activations (n, C*H*W) or (C*H*W,)."""
        single = np.ndim(full) == 1
        x = np.atleast_2d(np.asarray(full, dtype=np.float32))
        if x.shape[1] != self.source_size:
            raise ValueError(f"{self.layer}: {x.shape[1]} features, the reduction expects {self.source_size}")
        if self.spec.method == "mean_pool":
            out = x.reshape(len(x), self.source_shape[0], -1).mean(axis=2, dtype=np.float32)
        else:
            out = (x - self.mean) @ self._components_t
        if self.spec.float16:
            with np.errstate(over="ignore"):
                out16 = out.astype(np.float16)
            if not np.isfinite(out16).all() and np.isfinite(out).all():
                raise ValueError(f"{self.layer}: reduced values exceed the float16 range; store float32 instead")
            out = out16
        return out[0] if single else out

    def manifest_entry(self) -> dict:
        """The ``reduction`` record of this layer in manifest.json."""
        entry = {
            "method": self.spec.method,
            "dims": self.out_dim,
            "dtype": self.dtype.name,
            "source_shape": list(self.source_shape),
        }
        if self.spec.method == "pca":
            entry["files"] = pca_files(self.layer)
            entry["fit_rows"] = self.fit_rows
        return entry

    def save(self, folder: Path) -> list[str]:
        """Write a PCA sketch's arrays under ``folder`` (atomic); returns the relative paths (none for pooling)."""
        from ..atomic import atomic_path

        if self.spec.method != "pca":
            return []
        files = pca_files(self.layer)
        for key, arr in (("mean", self.mean), ("components", self.components)):
            with atomic_path(Path(folder) / files[key]) as tmp, open(tmp, "wb") as fh:
                np.save(fh, arr, allow_pickle=False)
        return sorted(files.values())

    @classmethod
    def from_manifest(cls, folder: Path, layer: str, entry: Mapping) -> LayerReduction:
        """Read a layer's reduction from its manifest record (and the sketch files it names)."""
        where = Path(folder) / "manifest.json"
        try:
            method = entry["method"]
            spec = ReductionSpec(
                method, int(entry["dims"]) if method == "pca" else None, entry.get("dtype", "float32") == "float16"
            )
            source_shape = [int(s) for s in entry["source_shape"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(where, f"layer {layer!r}: invalid 'reduction' record ({exc})") from None
        if method != "pca":
            return cls(layer, spec, source_shape)
        from .npyio import open_npy

        files = entry.get("files") or pca_files(layer)
        mean = np.asarray(open_npy(Path(folder) / files["mean"], ndim=1))
        components = np.asarray(open_npy(Path(folder) / files["components"], ndim=2))
        try:
            return cls(layer, spec, source_shape, mean, components, entry.get("fit_rows"))
        except ValueError as exc:
            raise DataError(Path(folder) / files["components"], str(exc)) from None


def fit_pca_sketch(sample: np.ndarray, dims: int) -> tuple[np.ndarray, np.ndarray]:
    """(mean (D,), components (d, D)) of the centred rows of ``sample`` (M, D), d = min(dims, rank).

    Through the M x M Gram matrix in float64, so memory stays at the sample plus a few (M, M) matrices however wide
    the layer is; each component's largest entry is made positive, so the same sample gives the same bytes.
    """
    x = np.asarray(sample, dtype=np.float32)
    m, d_full = x.shape
    if m < 2:
        raise ValueError(f"a PCA sketch needs at least 2 sample rows, got {m}")
    mean = x.mean(axis=0, dtype=np.float64)
    gram = np.zeros((m, m))
    for a in range(0, d_full, _COLUMN_CHUNK):
        block = x[:, a : a + _COLUMN_CHUNK] - mean[a : a + _COLUMN_CHUNK]
        gram += block @ block.T
    evals, evecs = np.linalg.eigh(gram)
    order = np.argsort(evals)[::-1]
    evals, evecs = evals[order], evecs[:, order]
    keep = int(np.sum(evals > max(evals[0], 0.0) * 1e-10)) if evals[0] > 0 else 0
    k = min(int(dims), keep, d_full)
    if k < int(dims):
        log.warning("PCA sketch: the %d sample rows span %d dimensions; keeping %d of the %d asked", m, keep, k, dims)
    if k == 0:
        raise ValueError("the sample rows are all identical: nothing for a PCA sketch to keep")
    u = evecs[:, :k] / np.sqrt(evals[:k])
    components = np.empty((k, d_full))
    for a in range(0, d_full, _COLUMN_CHUNK):
        block = x[:, a : a + _COLUMN_CHUNK] - mean[a : a + _COLUMN_CHUNK]
        components[:, a : a + _COLUMN_CHUNK] = u.T @ block
    pivot = np.argmax(np.abs(components), axis=1)
    signs = np.sign(components[np.arange(k), pivot])
    signs[signs == 0] = 1.0
    components *= signs[:, None]
    return mean.astype(np.float32), components.astype(np.float32)


def fit_reductions(
    specs: Mapping[str, ReductionSpec], shapes: Mapping[str, Sequence[int]], samples: Mapping[str, np.ndarray]
) -> dict[str, LayerReduction]:
    """Every layer's reduction; ``samples[layer]`` (M, C*H*W) is needed only for PCA layers."""
    out = {}
    for layer, spec in sorted(specs.items()):
        if spec.method == "pca":
            mean, comps = fit_pca_sketch(samples[layer], int(spec.dims))
            out[layer] = LayerReduction(layer, spec, shapes[layer], mean, comps, fit_rows=len(samples[layer]))
        else:
            out[layer] = LayerReduction(layer, spec, shapes[layer])
    return out


def load_reductions(folder: Path, layer_entries: Mapping[str, Mapping]) -> dict[str, LayerReduction]:
    """The reductions recorded in a manifest's ``layers`` (layers without one are stored at full size)."""
    return {
        layer: LayerReduction.from_manifest(folder, layer, entry["reduction"])
        for layer, entry in sorted(layer_entries.items())
        if isinstance(entry, Mapping) and entry.get("reduction")
    }


def reduce_flat(reductions: Mapping[str, LayerReduction], activations: Mapping[str, np.ndarray]) -> np.ndarray:
    """(n, D_stored) float32: each layer's full activations (n, ...) reduced where the dataset reduced it, flattened
    and concatenated in sorted layer-name order, i.e. in the layout of the dataset's stored rows."""
    parts = []
    for name in sorted(activations):
        a = np.asarray(activations[name])
        a = a.reshape(a.shape[0], -1)
        red = reductions.get(name)
        parts.append((red.apply(a) if red is not None else a).astype(np.float32, copy=False))
    return np.concatenate(parts, axis=1)
