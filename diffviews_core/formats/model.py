"""One model folder, original layout or the project's own, opened and validated into a ``ModelData``.

Opening reads the config, the sample table, the default embedding and the activation file headers (never the
activation data), so a broken file is reported when the folder is opened, not when a user clicks a point.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from .. import validate as v
from ..class_index import imagenet_names, is_imagenet_model
from ..errors import DataError
from . import native
from .activations import LayerMatrix, PerLayerNpy, open_batch_dir
from .dataset_info import DatasetInfo
from .embedding import (
    COORD_COLUMNS,
    Embedding,
    embedding_from_columns,
    read_aligned_3d,
    read_embedding_csv,
    write_embedding_files,
)
from .files import read_json_object
from .image_check import missing_images
from .table import SampleTable, read_sample_table

log = logging.getLogger(__name__)

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


def _strip_coords(table: SampleTable) -> SampleTable:
    cols = {k: v for k, v in table.columns.items() if k not in COORD_COLUMNS}
    return SampleTable(cols, table.source)


PRELOAD_CAPACITY = 64  # decoded images waiting for their first ``image`` call (a gallery's worth, and then some)


class ModelData:
    """A model's samples, embeddings and stored activations (memory-mapped where the files allow)."""

    def __init__(self, path: Path, root: Path | None = None, class_names: Mapping[int, str] | None = None) -> None:
        from .config import normalise_config

        self.path = Path(path)
        self.name = self.path.name
        self._opened_with = (root, dict(class_names) if class_names else None)
        self._attached: dict[str, tuple[Path, tuple[int, ...] | None]] = {}
        self._preloaded: OrderedDict[int, np.ndarray] = OrderedDict()  # row -> image decoded ahead by a worker
        self._preload_lock = threading.Lock()
        self.warnings: list[str] = []
        self.is_native = native.is_native(self.path)
        self.manifest: dict | None = native.read_manifest(self.path) if self.is_native else None
        config_path = self.path / "config.json"
        has_config = os.path.lexists(config_path)
        raw = read_json_object(config_path) if has_config else {}
        if not has_config and not self.is_native:
            raise DataError(config_path, "missing file (every model folder needs a config.json)")
        self.config: dict = normalise_config(config_path, raw, self.path, root)
        self._layer_shape_hints: dict[str, tuple[int, ...]] = {}
        self._embedding_files: dict[str, tuple[str, Path]] = {}
        self._embeddings: dict[str, Embedding] = {}
        self._find_embeddings()
        if self.is_native:
            self.samples, self._main = self._open_native()
        else:
            self.samples, self._main = self._open_original()
        self.samples.check_unique_ids()
        self.samples.fill_class_names(class_names)
        if is_imagenet_model(self.config["adapter"], self.config.get("num_classes")):
            self.samples.fill_class_names(imagenet_names())
        self._extra = self._open_layer_cache()
        if self._embedding_files:
            self.embedding(self.embedding_names[0])  # validate the default embedding now
        self._check_images()
        if self._main is not None and self._main.needs_convert:
            self.warnings.append(
                f"activations are read into memory from .npz files: run `diffviews convert "
                f"{self.path}` for memory-mapped .npy"
            )
        elif self._main is not None and not self._main.memory_mapped:
            self.warnings.append(
                f"activations span {len(self._main.files) // 2} .npy files: rows are gathered into memory when read"
            )

    # --- opening ---------------------------------------------------------------------------------
    def _find_embeddings(self) -> None:
        emb = self.path / "embeddings"
        for p in sorted(emb.glob("*.csv")):
            self._embedding_files[p.stem] = ("csv", p)
        for p in sorted((emb / "layer_cache").glob("*.csv")):
            self._embedding_files[f"layer_cache/{p.stem}"] = ("csv", p)
        for p in sorted((emb / "aligned_3d").glob("*/embeddings.csv")):
            self._embedding_files[f"aligned_3d/{p.parent.name}"] = ("aligned", p.parent)

    def _dataset_info(self) -> DatasetInfo | None:
        p = self.path / "metadata" / self.config["dataset_type"] / "dataset_info.json"
        if not os.path.lexists(p):
            return None
        info = DatasetInfo(p)
        self._layer_shape_hints.update(info.layer_shapes)
        return info

    def _open_original(self) -> tuple[SampleTable, LayerMatrix | None]:
        info = self._dataset_info()
        default_csv = next(
            (p for kind, p in self._embedding_files.values() if kind == "csv" and p.parent.name == "embeddings"), None
        )
        if default_csv is not None:
            full, cols = read_sample_table(default_csv)
            table = _strip_coords(full)
            self._embeddings[default_csv.stem] = embedding_from_columns(default_csv.stem, default_csv, cols, table)
            if info is not None:
                if info.num_samples != len(table):
                    raise DataError(
                        info.path, f"lists {info.num_samples} samples, but {default_csv.name} has {len(table)} rows"
                    )
                borrow = [c for c in ("activation_path", "batch_index") if c not in table.columns]
                if borrow:
                    info_table = info.table()
                    if all(c in info_table.columns for c in borrow):
                        if not np.array_equal(info_table.sample_id, table.sample_id):
                            raise DataError(info.path, f"samples are not in the row order of {default_csv.name}")
                        for col in borrow:
                            table.columns[col] = info_table.columns[col]
        elif info is not None:
            table = info.table()
        else:
            raise DataError(
                self.path,
                "no sample table: expected embeddings/*.csv or metadata/"
                f"{self.config['dataset_type']}/dataset_info.json",
            )
        acts = open_batch_dir(self.path / "activations" / self.config["dataset_type"], table.columns, len(table))
        return table, acts

    def _open_native(self) -> tuple[SampleTable, LayerMatrix | None]:
        m = self.manifest
        table = read_sample_table(self.path / native.SAMPLES)[0]
        if len(table) != m["num_samples"]:
            raise DataError(
                self.path / native.SAMPLES, f"{len(table)} rows, but {native.MANIFEST} says {m['num_samples']} samples"
            )
        if not m["layers"]:
            return table, None
        paths = {k: self.path / v["file"] for k, v in m["layers"].items()}
        shapes = {k: v["shape"] for k, v in m["layers"].items() if isinstance(v.get("shape"), list)}
        acts = PerLayerNpy(paths, shapes)
        if acts.num_rows != len(table):
            raise DataError(acts.files[0], f"{acts.num_rows} activation rows, but {native.SAMPLES} has {len(table)}")
        self._layer_shape_hints.update({k: tuple(v) for k, v in shapes.items()})
        return table, acts

    def _open_layer_cache(self) -> PerLayerNpy | None:
        folder = self.path / "embeddings" / "layer_cache"
        main_layers = set(self._main.layers) if self._main is not None else set()
        paths = {p.stem: p for p in sorted(folder.glob("*.npy")) if p.stem not in main_layers}
        usable = {}
        for name, p in paths.items():
            try:
                part = PerLayerNpy({name: p})
            except DataError as exc:
                self.warnings.append(str(exc))
                continue
            if part.num_rows != len(self.samples):
                self.warnings.append(
                    f"{p}: {part.num_rows} rows, but the model has {len(self.samples)} samples; ignored"
                )
                continue
            usable[name] = p
        return PerLayerNpy(usable) if usable else None

    def _check_images(self) -> None:
        """Note missing images (each image folder is listed once; the answer is cached while nothing changes)."""
        missing = missing_images(self.path, self.samples.image_path, self.samples.source)
        if missing is not None:
            more = f" and {missing.count - 1} more" if missing.count > 1 else ""
            self.warnings.append(f"{self.path / missing.first}: missing image{more}")

    # --- contract --------------------------------------------------------------------------------
    @property
    def num_samples(self) -> int:
        return len(self.samples)

    @property
    def embedding_names(self) -> list[str]:
        return list(self._embedding_files)

    def embedding(self, name: str | None = None) -> Embedding:
        """The named embedding (default: the first), read and checked on first use, then kept."""
        if not self._embedding_files:
            raise DataError(self.path / "embeddings", "no embeddings yet: run `diffviews embed`")
        name = name or self.embedding_names[0]
        if name not in self._embeddings:
            if name not in self._embedding_files:
                raise KeyError(f"no embedding {name!r}; available: {', '.join(self.embedding_names)}")
            kind, p = self._embedding_files[name]
            reader = read_aligned_3d if kind == "aligned" else read_embedding_csv
            self._embeddings[name] = reader(name, p, self.samples)
        return self._embeddings[name]

    @property
    def layers(self) -> list[str]:
        names = set(self._main.layers if self._main else []) | set(self._extra.layers if self._extra else [])
        return sorted(names)

    @property
    def layer_shapes(self) -> dict[str, tuple[int, ...]]:
        out = {}
        for part in (self._extra, self._main):
            if part is None:
                continue
            for name in part.layers:
                candidates = [tuple(part.declared_shapes[name]), self._layer_shape_hints.get(name, ())]
                fitting = [c for c in candidates if c and int(np.prod(c)) == part.sizes[name]]
                out[name] = tuple(int(s) for s in max(fitting, key=len, default=(part.sizes[name],)))
        return dict(sorted(out.items()))

    @property
    def default_layers(self) -> list[str]:
        """Layers of the default embedding if it names stored ones, else every layer of the main activation file."""
        if self._embedding_files:
            emb_layers = self.embedding().layers
            if emb_layers and all(x in self.layers for x in emb_layers):
                return emb_layers
        return list(self._main.layers) if self._main else []

    @functools.cached_property
    def reductions(self) -> dict:
        """Layers stored reduced (mean pooling or a PCA sketch) -> their ``LayerReduction``, from the manifest."""
        from .reduction import load_reductions

        return load_reductions(self.path, self.manifest["layers"]) if self.manifest else {}

    @property
    def full_layer_shapes(self) -> dict[str, tuple[int, ...]]:
        """Per-sample shapes of the layers' model outputs (a reduced layer's stored shape is smaller)."""
        red = self.reductions
        return {k: red[k].source_shape if k in red else v for k, v in self.layer_shapes.items()}

    def stored_rows(self, activations: Mapping[str, np.ndarray]) -> np.ndarray:
        """(n, D) float32 rows in the stored layout (sorted layers, reduced where the dataset is) from full-size
        activations of those layers, e.g. a generation step's: what can be compared with ``activations()``."""
        from .reduction import reduce_flat

        return reduce_flat(self.reductions, activations)

    @property
    def memory_mapped(self) -> bool:
        return self._main is not None and self._main.memory_mapped

    def activations(self, layers: Sequence[str] | None = None) -> np.ndarray:
        """(N, D) float32 of ``layers`` (default: the main file's layers), concatenated in sorted name order."""
        if self._main is None and self._extra is None:
            raise DataError(self.path / "activations", "no stored activations for this model")
        if layers is None:
            return (self._main or self._extra).read(None)
        wanted = sorted(set(layers))
        unknown = [x for x in wanted if x not in self.layers]
        if unknown:
            raise KeyError(f"layer(s) {', '.join(unknown)} not stored; stored layers: {', '.join(self.layers)}")
        main = [x for x in wanted if self._main is not None and x in self._main.layers]
        extra = [x for x in wanted if x not in main]
        if not extra:
            return self._main.read(main)
        if not main:
            return self._extra.read(extra)
        pieces = {x: (self._main if x in main else self._extra).read([x]) for x in wanted}
        return np.concatenate([pieces[x] for x in wanted], axis=1)

    def attach_layers(self, paths: Mapping[str, Path], shapes: Mapping[str, Sequence[int]] | None = None) -> None:
        """Add layers stored outside the folder (e.g. extracted into the cache): ``layers``, ``layer_shapes`` and
        ``activations`` include them from now on. Each file is (N, D) float32 with this model's rows."""
        stored = set(self._main.layers) if self._main is not None else set()
        clash = sorted(k for k in paths if k in stored)
        if clash:
            raise ValueError(f"layer(s) {', '.join(clash)} are already stored in {self.path}")
        part = PerLayerNpy(paths, shapes)
        if part.num_rows != self.num_samples:
            raise DataError(part.files[0], f"{part.num_rows} rows, but the model has {self.num_samples} samples")
        merged = {**(self._extra.paths if self._extra else {}), **part.paths}
        declared = {**(self._extra.declared_shapes if self._extra else {}), **part.declared_shapes}
        self._extra = PerLayerNpy(merged, declared)
        for name, path in part.paths.items():
            shape = tuple(int(x) for x in shapes[name]) if shapes and name in shapes else None
            self._attached[name] = (path, shape)
        self._layer_shape_hints.update({k: tuple(int(s) for s in v) for k, v in (shapes or {}).items()})

    def image_path(self, i: int) -> Path:
        return self.path / str(self.samples.image_path[i])

    def image(self, i: int) -> np.ndarray:
        """H x W x C uint8 (C = 1 for grayscale, 3 otherwise) of row ``i`` (taken from ``preload_images`` once)."""
        with self._preload_lock:
            ahead = self._preloaded.pop(int(i), None)
        return ahead if ahead is not None else self._read_image(i)

    def preload_images(self, rows: Sequence[int]) -> None:
        """Decode the images of ``rows`` now, on the caller's (worker) thread, so that the next ``image`` of each is
        a lookup: a neighbour search hands the window its result with the gallery's images read. Unreadable images
        are skipped here; ``image`` reports them when they are asked for."""
        for row in rows:
            try:
                image = self._read_image(int(row))
            except DataError:
                continue
            with self._preload_lock:
                self._preloaded[int(row)] = image
                while len(self._preloaded) > PRELOAD_CAPACITY:
                    self._preloaded.popitem(last=False)

    def _read_image(self, i: int) -> np.ndarray:
        from ..images import read_image

        rel = str(self.samples.image_path[i]).replace("\\", "/")  # as _check_images reads it
        try:
            rel = v.relative_path(rel, "image_path")
        except v.Invalid as exc:
            raise DataError(self.samples.source, f"{self.samples.id_text(i)}: {exc}") from None
        path = self.path / rel
        if not os.path.lexists(path):
            raise DataError(path, f"missing image ({self.samples.id_text(i)})")
        return read_image(path)

    def verify(self) -> list[str]:
        """Checksum problems of a project-format dataset ([] when all match, or for the original layout)."""
        return native.verify_checksums(self.path, self.manifest) if self.manifest else []

    def write_embedding(
        self,
        name: str,
        coords2d: np.ndarray,
        coords3d: np.ndarray | None,
        params: Mapping,
        overwrite: bool = False,
    ) -> Path:
        """Save an embedding as ``embeddings/<name>.csv`` + ``.json`` beside the data (atomic); returns the CSV."""
        if not _NAME_RE.match(name):
            raise ValueError(f"embedding name {name!r}: use letters, digits, '_', '-', '.', '+'")
        csv_path = self.path / "embeddings" / f"{name}.csv"
        if csv_path.exists() and not overwrite:
            raise DataError(csv_path, "already exists; choose another name or overwrite it explicitly")
        try:
            write_embedding_files(csv_path, self.samples, coords2d, coords3d, params)
        except PermissionError as exc:
            raise DataError(csv_path.parent, f"not writable ({exc.strerror})") from None
        self._embeddings.pop(name, None)
        self._embedding_files[name] = ("csv", csv_path)
        log.info("wrote embedding %s of %s", name, self.name)
        return csv_path

    def __reduce__(self):
        """Pickled as the way to open it again (a worker process re-opens the folder, warm from the cache, and
        re-attaches the layers attached here), never as its arrays: memory maps would be copied whole."""
        root, class_names = self._opened_with
        return _reopen, (self.path, root, class_names, self._attached)

    def __repr__(self) -> str:
        return f"ModelData({self.name!r}, {self.num_samples} samples, layers={self.layers})"


def _reopen(path: Path, root: Path | None, class_names: dict | None, attached: dict) -> ModelData:
    model = ModelData(path, root=root, class_names=class_names)
    if attached:
        shapes = {k: shape for k, (_p, shape) in attached.items() if shape is not None}
        model.attach_layers({k: p for k, (p, _shape) in attached.items()}, shapes or None)
    return model
