"""Stored activations: one (N, D) float32 matrix per model, assembled from whatever files hold it.

Sources: a converted ``.npy`` + ``.npy.json`` (memory-mapped), ``.npz`` batches (read lazily, one layer at a time),
one ``.npy`` per layer (the project's own format), and a row map when samples point into several batch files.
Columns are the requested layers flattened and concatenated in sorted layer-name order.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from numpy.lib import format as npf

from .. import validate as v
from ..atomic import atomic_path
from ..errors import DataError
from ..safe_io import preallocate
from .files import read_json_object
from .npyio import READ_CHUNK_BYTES, npy_header, npz_headers, open_npy, read_npz_member

log = logging.getLogger(__name__)

CONCAT_IN_MEMORY_BYTES = 64 << 20  # multi-layer reads above this are joined into a memory-mapped cache file


MAX_LAYERS = 4096


def _size(shape: Sequence[int]) -> int:
    return math.prod(int(s) for s in shape)


class LayerMatrix:
    """Base: ``layers`` (sorted), per-layer flattened ``sizes``, ``num_rows``; ``read(layers)`` gives (N, D)."""

    layers: list[str]
    sizes: dict[str, int]
    num_rows: int
    memory_mapped: bool = True
    needs_convert: bool = False  # some rows come from .npz files (slow, not memory-mappable)
    files: list[Path]

    def _check(self, layers: Sequence[str] | None) -> list[str]:
        if layers is None:
            return list(self.layers)
        unknown = [x for x in layers if x not in self.sizes]
        if unknown:
            raise KeyError(f"layer(s) {', '.join(unknown)} not stored; stored layers: {', '.join(self.layers)}")
        return sorted(set(layers))

    def read(self, layers: Sequence[str] | None = None) -> np.ndarray:
        raise NotImplementedError


class CombinedNpy(LayerMatrix):
    """A converted ``<name>.npy`` (N, D) with ``<name>.npy.json`` describing which columns belong to which layer."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        info_path = self.path.with_name(self.path.name + ".json")
        self.files = [self.path, info_path]
        info = read_json_object(info_path)
        shape, dtype, _ = npy_header(self.path)
        if len(shape) != 2:
            raise DataError(self.path, f"expected a 2-D (samples, features) array, found shape {shape}")
        if dtype != np.float32:
            raise DataError(self.path, f"expected float32, found {dtype}")
        n, d = shape
        try:
            layers = v.texts(info.get("layers"), "'layers'", max_len=MAX_LAYERS)
            if not layers or len(set(layers)) != len(layers):
                raise v.Invalid("'layers' must be a non-empty list of distinct layer names")
            self.declared_shapes = self._per_sample_shapes(info, layers, n, d)
            for key, want in (("total_features", d), ("num_samples", n)):
                if key in info and v.integer(info[key], repr(key), 0) != want:
                    raise v.Invalid(f"{key} = {info[key]}, but {self.path.name} has shape {shape}")
            if info.get("dtype", "float32") != "float32":
                raise v.Invalid(f"dtype {info['dtype']!r} does not match the float32 data")
        except v.Invalid as exc:
            raise DataError(info_path, str(exc)) from None
        self.order = layers  # column order in the file
        self.sizes = {k: _size(s) for k, s in self.declared_shapes.items()}
        self.offsets: dict[str, int] = {}
        pos = 0
        for name in self.order:
            self.offsets[name] = pos
            pos += self.sizes[name]
        self.layers = sorted(self.order)
        self.num_rows = n
        self._mm: np.memmap | None = None

    def _per_sample_shapes(self, info: dict, layers: list[str], n: int, d: int) -> dict:
        """Accept per-sample shapes ([C, H, W]) or the (N, D) shapes the original converter wrote."""
        shapes = info.get("shapes") or {}
        if not isinstance(shapes, dict) or any(name not in shapes for name in layers):
            if len(layers) == 1:
                return {layers[0]: (d,)}
            raise v.Invalid("'shapes' must give the shape of every listed layer")
        per = {name: v.shape(shapes[name], f"shapes[{name!r}]") for name in layers}
        if sum(_size(s) for s in per.values()) == d:
            return per
        stripped = {k: s[1:] for k, s in per.items()}
        if all(len(s) >= 2 and s[0] == n for s in per.values()) and sum(_size(s) for s in stripped.values()) == d:
            return stripped
        total = sum(_size(s) for s in per.values())
        raise v.Invalid(f"layer shapes add up to {total} features, but {self.path.name} has {d} columns")

    @property
    def matrix(self) -> np.memmap:
        if self._mm is None:
            self._mm = open_npy(self.path)
        return self._mm

    def read(self, layers=None) -> np.ndarray:
        layers = self._check(layers)
        mm = self.matrix
        if layers == self.layers and self.order == self.layers:
            return mm
        spans = [(self.offsets[x], self.offsets[x] + self.sizes[x]) for x in layers]
        if all(spans[i][1] == spans[i + 1][0] for i in range(len(spans) - 1)):
            return mm[:, spans[0][0] : spans[-1][1]]  # one column range: still a memory-mapped view
        return np.concatenate([mm[:, a:b] for a, b in spans], axis=1)


class NpzBatch(LayerMatrix):
    """An original ``batch_*.npz``: one (N, C*H*W) array per layer, decompressed only when a layer is read."""

    memory_mapped = False
    needs_convert = True

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.files = [self.path]
        headers = npz_headers(self.path)
        rows = set()
        self.sizes = {}
        for name, (shape, dtype) in headers.items():
            if len(shape) < 2:
                raise DataError(self.path, f"layer {name!r} has shape {shape}, expected (samples, features)")
            if dtype.kind != "f":
                raise DataError(self.path, f"layer {name!r} has dtype {dtype}, expected float")
            rows.add(shape[0])
            self.sizes[name] = _size(shape[1:])
        if len(rows) != 1:
            raise DataError(self.path, f"layers have different sample counts {sorted(rows)}")
        self.num_rows = rows.pop()
        self.layers = sorted(self.sizes)
        self.declared_shapes = {k: (v,) for k, v in self.sizes.items()}

    def read(self, layers=None) -> np.ndarray:
        layers = self._check(layers)
        parts = [read_npz_member(self.path, name).reshape(self.num_rows, -1) for name in layers]
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)


STORED_DTYPES = (np.dtype(np.float32), np.dtype(np.float16))  # float16: reduced layers stored compactly


class PerLayerNpy(LayerMatrix):
    """One memory-mapped (N, D_layer) ``.npy`` per layer (the project's format and ``layer_cache``); float32, or
    float16 for reduced layers (readers convert chunks to float32 as they go)."""

    def __init__(self, paths: Mapping[str, Path], shapes: Mapping[str, Sequence[int]] | None = None) -> None:
        self.paths = {k: Path(v) for k, v in paths.items()}
        self.files = [self.paths[k] for k in sorted(self.paths)]
        self.sizes, rows = {}, {}
        for name, path in self.paths.items():
            shape, dtype, _ = npy_header(path)
            if len(shape) != 2:
                raise DataError(path, f"expected a 2-D (samples, features) array, found shape {shape}")
            if dtype not in STORED_DTYPES:
                raise DataError(path, f"expected float32 or float16, found {dtype}")
            rows[name] = shape[0]
            self.sizes[name] = shape[1]
            if shapes and name in shapes and _size(shapes[name]) != shape[1]:
                raise DataError(
                    path, f"{shape[1]} features, but the declared shape {list(shapes[name])} has {_size(shapes[name])}"
                )
        if len(set(rows.values())) > 1:
            raise DataError(self.files[0].parent, f"layer files have different sample counts {rows}")
        self.num_rows = next(iter(rows.values()))
        self.layers = sorted(self.paths)
        self.declared_shapes = {k: tuple(shapes[k]) if shapes and k in shapes else (v,) for k, v in self.sizes.items()}

    def read(self, layers=None) -> np.ndarray:
        layers = self._check(layers)
        parts = [open_npy(self.paths[x], dtype=None) for x in layers]
        if len(parts) == 1:
            return parts[0]
        if sum(p.nbytes for p in parts) <= CONCAT_IN_MEMORY_BYTES:
            return np.concatenate(parts, axis=1)
        return combined_cache_file([self.paths[x] for x in layers], parts)


def combined_cache_file(paths: Sequence[Path], parts: Sequence[np.ndarray]) -> np.memmap:
    """Large multi-layer reads stay memory-mapped: the layers are joined once into a cache file, keyed by the
    source files' paths, sizes and modification times, and that file is mapped."""
    from ..paths import cache_dir

    stamp = [[str(Path(p).resolve()), Path(p).stat().st_size, Path(p).stat().st_mtime_ns] for p in paths]
    key = hashlib.sha256(json.dumps(stamp).encode()).hexdigest()[:32]
    target = cache_dir() / "activations" / f"{key}.npy"
    if not target.is_file():
        n, d = parts[0].shape[0], sum(p.shape[1] for p in parts)
        log.info("joining %d layer files into %s", len(parts), target)
        rows = max(1, READ_CHUNK_BYTES // (4 * d))
        with atomic_path(target) as tmp:
            dtype = np.result_type(*(p.dtype for p in parts))  # float16 layers stay float16
            mm = npf.open_memmap(str(tmp), mode="w+", dtype=dtype, shape=(n, d))
            preallocate(tmp, tmp.stat().st_size)
            for a in range(0, n, rows):
                mm[a : a + rows] = np.concatenate([p[a : a + rows] for p in parts], axis=1)
            mm.flush()
            del mm
    return open_npy(target, dtype=None)


class RowMapped(LayerMatrix):
    """Rows gathered from several batch files by (file, batch_index), as dataset_info.json describes them."""

    def __init__(self, parts: Sequence[LayerMatrix], file_of_row: np.ndarray, index_in_file: np.ndarray) -> None:
        self.parts = list(parts)
        self.file_of_row = np.asarray(file_of_row, dtype=np.int64)
        self.index_in_file = np.asarray(index_in_file, dtype=np.int64)
        self.layers, self.sizes = self.parts[0].layers, self.parts[0].sizes
        self.declared_shapes = self.parts[0].declared_shapes
        self.num_rows = len(self.file_of_row)
        self.files = [f for p in self.parts for f in p.files]
        self.memory_mapped = False
        self.needs_convert = any(p.needs_convert for p in self.parts)

    def read(self, layers=None) -> np.ndarray:
        layers = self._check(layers)
        out = np.empty((self.num_rows, sum(self.sizes[x] for x in layers)), dtype=np.float32)
        for j, part in enumerate(self.parts):
            rows = np.flatnonzero(self.file_of_row == j)
            if rows.size:
                out[rows] = part.read(layers)[self.index_in_file[rows]]
        return out


def _stem(p: str | Path) -> str:
    name = Path(str(p)).name
    for suffix in (".npz", ".npy"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _file_of_rows(folder: Path, paths: np.ndarray, lookup: Mapping[str, int]) -> np.ndarray:
    """Index into the batch files (``lookup``: stem -> index) of each row's ``activation_path``.

    Stems are taken once per distinct path (a million rows name a handful of files); a path whose file is missing
    is a DataError naming its first row."""
    items = paths.tolist() if isinstance(paths, np.ndarray) else list(paths)
    distinct = dict.fromkeys(items)
    index_of = {}
    for ap in distinct:
        stem = _stem(ap)
        index_of[ap] = lookup.get(stem, -1)
    if len(index_of) == 1:
        file_idx = np.full(len(items), next(iter(index_of.values())), dtype=np.int64)
    else:
        file_idx = np.fromiter(map(index_of.__getitem__, items), dtype=np.int64, count=len(items))
    if file_idx.size and file_idx.min() < 0:
        r = int(np.flatnonzero(file_idx < 0)[0])
        raise DataError(folder / f"{_stem(items[r])}.npz", f"missing activation file (referenced by data row {r + 1})")
    return file_idx


def open_batch_dir(folder: Path, columns: Mapping[str, np.ndarray], num_rows: int) -> LayerMatrix | None:
    """The activations of an original ``activations/<dataset_type>/`` folder, checked against the sample table.

    A converted ``.npy`` wins over an ``.npz`` of the same name. Rows map through the ``activation_path`` and
    ``batch_index`` columns when the samples carry them, else files are stacked in name order.
    """
    if not folder.is_dir():
        return None
    stems: dict[str, LayerMatrix] = {}
    for p in sorted(folder.glob("*.npy")):
        stems[_stem(p)] = CombinedNpy(p)
    for p in sorted(folder.glob("*.npz")):
        stems.setdefault(_stem(p), NpzBatch(p))
    if not stems:
        return None
    names = sorted(stems)
    first = stems[names[0]]
    for s in names[1:]:
        if stems[s].sizes != first.sizes:
            raise DataError(
                stems[s].files[0], f"layers {stems[s].sizes} differ from {first.files[0].name}'s {first.sizes}"
            )
    mapped = "activation_path" in columns and "batch_index" in columns
    if mapped:
        file_idx = _file_of_rows(folder, columns["activation_path"], {s: i for i, s in enumerate(names)})
        index = np.asarray(columns["batch_index"], dtype=np.int64)
        for j, s in enumerate(names):
            sel = index[file_idx == j]
            if sel.size and (sel.min() < 0 or sel.max() >= stems[s].num_rows):
                raise DataError(
                    stems[s].files[0],
                    f"{stems[s].num_rows} activation rows, but samples refer to batch_index {int(sel.max())}",
                )
        if len(names) == 1 and np.array_equal(index, np.arange(stems[names[0]].num_rows)):
            return first
        return RowMapped([stems[s] for s in names], file_idx, index)
    total = sum(stems[s].num_rows for s in names)
    if total != num_rows:
        where = stems[names[0]].files[0] if len(names) == 1 else folder
        raise DataError(where, f"{total} activation rows, but the sample table has {num_rows} rows")
    if len(names) == 1:
        return first
    file_idx = np.concatenate([np.full(stems[s].num_rows, j) for j, s in enumerate(names)])
    index = np.concatenate([np.arange(stems[s].num_rows) for s in names])
    return RowMapped([stems[s] for s in names], file_idx, index)
