"""Embeddings (2D/3D coordinates per sample) in the original CSV + JSON layout: reading, checking, writing.

Original CSVs carry ``umap_x, umap_y`` and, for a 3D embedding, ``umap_z``. Files written here keep ``umap_x,
umap_y`` for the 2D fit and add ``umap3d_x, umap3d_y, umap3d_z`` for the separate 3D fit, so the original tool still
reads them (it ignores extra columns). Pickles beside them (``*.pkl``) are never opened.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..atomic import atomic_write_json
from ..errors import DataError
from .files import read_json_object
from .table import SampleTable, column_order, read_table, write_csv

COORD_COLUMNS = ("umap_x", "umap_y", "umap_z", "umap3d_x", "umap3d_y", "umap3d_z")


@dataclass
class Embedding:
    """One embedding of a model's samples; rows follow the model's sample table."""

    name: str
    coords2d: np.ndarray
    coords3d: np.ndarray | None
    params: dict = field(default_factory=dict)

    @property
    def layers(self) -> list[str]:
        """Layers whose activations (concatenated in sorted name order) were embedded."""
        layers = self.params.get("layers") or []
        return sorted(str(x) for x in layers) if isinstance(layers, list) else [str(layers)]


def _finite(path: Path, name: str, values: np.ndarray, sample_ids: np.ndarray | None) -> None:
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        i = int(bad[0])
        who = f" (sample_id {sample_ids[i]})" if sample_ids is not None else ""
        raise DataError(path, f"{bad.size} non-finite value(s) in column {name!r}, first at data row {i + 1}{who}")


def coords_from_columns(path: Path, cols: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray | None]:
    """(N, 2) and optional (N, 3) float32 coordinates from typed CSV columns; NaN/inf are DataErrors."""
    missing = [c for c in ("umap_x", "umap_y") if c not in cols]
    if missing:
        raise DataError(path, f"missing column(s) {', '.join(missing)}")
    ids = cols.get("sample_id")
    for c in COORD_COLUMNS:
        if c in cols:
            _finite(path, c, cols[c], ids)
    xy = np.stack([cols["umap_x"], cols["umap_y"]], axis=1).astype(np.float32)
    if all(c in cols for c in ("umap3d_x", "umap3d_y", "umap3d_z")):
        xyz = np.stack([cols["umap3d_x"], cols["umap3d_y"], cols["umap3d_z"]], axis=1).astype(np.float32)
    elif "umap_z" in cols:
        xyz = np.stack([cols["umap_x"], cols["umap_y"], cols["umap_z"]], axis=1).astype(np.float32)
    else:
        xyz = None
    return xy, xyz


def read_params(json_path: Path) -> dict:
    """The embedding's parameter JSON, or {} when the file is absent."""
    return read_json_object(json_path) if json_path.is_file() else {}


def _check_rows(path: Path, cols: Mapping[str, np.ndarray], table: SampleTable) -> None:
    n = len(next(iter(cols.values()))) if cols else 0
    if n != len(table):
        raise DataError(path, f"{n} rows, but the model has {len(table)} samples (from {table.source.name})")
    if "sample_id" in cols and not np.array_equal(cols["sample_id"], table.sample_id):
        ours, theirs = cols["sample_id"].tolist(), table.sample_id.tolist()
        i = next(j for j, (a, b) in enumerate(zip(ours, theirs)) if a != b or type(a) is not type(b))
        raise DataError(
            path,
            f"row order differs from {table.source.name}: data row {i + 1} has sample_id {ours[i]!r}, expected "
            f"{theirs[i]!r}",
        )


def read_embedding_csv(name: str, csv_path: Path, table: SampleTable) -> Embedding:
    """An embedding from ``<name>.csv`` + ``<name>.json``, checked against the model's sample table."""
    return embedding_from_columns(name, csv_path, read_table(csv_path), table)


def embedding_from_columns(name: str, csv_path: Path, cols: Mapping[str, np.ndarray], table: SampleTable) -> Embedding:
    """The embedding of already parsed CSV columns (the default CSV is also the sample table: parse it once)."""
    _check_rows(csv_path, cols, table)
    xy, xyz = coords_from_columns(csv_path, cols)
    return Embedding(name, xy, xyz, read_params(csv_path.with_suffix(".json")))


def read_aligned_3d(name: str, folder: Path, table: SampleTable) -> Embedding:
    """An AlignedUMAP result (long-form CSV with ``original_idx`` and ``sigma``): z = log10(sigma) per sample."""
    csv_path = folder / "embeddings.csv"
    cols = read_table(csv_path)
    for c in ("original_idx", "sigma"):
        if c not in cols:
            raise DataError(csv_path, f"missing column {c!r}")
    xy, _ = coords_from_columns(csv_path, cols)
    _finite(csv_path, "sigma", cols["sigma"], None)
    if cols["original_idx"].dtype.kind != "i":
        raise DataError(csv_path, "column 'original_idx' must hold row numbers")
    idx = cols["original_idx"]
    n = len(table)
    if len(idx) != n or not np.array_equal(np.sort(idx), np.arange(n)):
        raise DataError(csv_path, f"original_idx must list each of the model's {n} rows once, found {len(idx)} rows")
    order = np.argsort(idx)
    sig = cols["sigma"].astype(np.float64)
    z = np.log10(sig) if np.all(sig > 0) else sig
    coords2d = xy[order]
    coords3d = np.column_stack([coords2d, z[order].astype(np.float32)])
    params = dict(read_params(folder / "embeddings.json"))
    params.setdefault("z_axis", "log10(sigma)" if np.all(sig > 0) else "sigma")
    return Embedding(name, coords2d, coords3d, params)


def write_embedding_files(
    csv_path: Path,
    table: SampleTable,
    coords2d: np.ndarray,
    coords3d: np.ndarray | None,
    params: Mapping,
) -> None:
    """Write ``<name>.csv`` (sample columns + coordinates) and ``<name>.json`` atomically (JSON first)."""
    n = len(table)
    coords2d = np.asarray(coords2d, dtype=np.float32)
    if coords2d.shape != (n, 2):
        raise ValueError(f"coords2d has shape {coords2d.shape}, expected ({n}, 2)")
    if not np.all(np.isfinite(coords2d)):
        raise ValueError("coords2d holds NaN or inf")
    cols = {k: v for k, v in table.columns.items() if k not in COORD_COLUMNS}
    cols["umap_x"], cols["umap_y"] = coords2d[:, 0], coords2d[:, 1]
    order = column_order(c for c in cols if c not in ("umap_x", "umap_y")) + ["umap_x", "umap_y"]
    if coords3d is not None:
        coords3d = np.asarray(coords3d, dtype=np.float32)
        if coords3d.shape != (n, 3):
            raise ValueError(f"coords3d has shape {coords3d.shape}, expected ({n}, 3)")
        if not np.all(np.isfinite(coords3d)):
            raise ValueError("coords3d holds NaN or inf")
        for j, c in enumerate(("umap3d_x", "umap3d_y", "umap3d_z")):
            cols[c] = coords3d[:, j]
            order.append(c)
    atomic_write_json(csv_path.with_suffix(".json"), dict(params))
    write_csv(csv_path, cols, order)
