"""``diffviews convert``: turn original ``.npz`` activation batches into memory-mappable ``.npy`` + ``.npy.json``.

Like the original, each ``batch_*.npz`` becomes ``batch_*.npy`` (layers concatenated in sorted name order) and the
``.npz`` is deleted unless ``keep_npz``. Unlike it, data is streamed a chunk at a time (bounded memory), and each file
appears only when complete (temporary file + rename), so an interrupted run leaves the old state intact.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
from numpy.lib import format as npf

from ..atomic import atomic_path, atomic_write_json
from ..errors import DataError
from ..formats.activations import CombinedNpy
from ..formats.config import DEFAULT_DATASET_TYPE
from ..formats.files import read_json_object
from ..formats.npyio import iter_npz_rows, npz_headers

log = logging.getLogger(__name__)


def _shape_hints(model_dir: Path, dataset_type: str) -> dict[str, list[int]]:
    info = model_dir / "metadata" / dataset_type / "dataset_info.json"
    if not info.is_file():
        return {}
    shapes = read_json_object(info).get("layer_shapes") or {}
    return {k: list(v) for k, v in shapes.items() if isinstance(v, list)} if isinstance(shapes, dict) else {}


def _is_converted(npy: Path) -> bool:
    try:
        CombinedNpy(npy)
        return True
    except DataError:
        return False


def convert_npz(npz: Path, keep_npz: bool = False, shape_hints: dict[str, list[int]] | None = None) -> Path:
    """Write ``<stem>.npy`` and ``<stem>.npy.json`` from one ``.npz`` batch; returns the ``.npy`` path."""
    npz = Path(npz)
    npy = npz.with_suffix(".npy")
    headers = npz_headers(npz)
    layers = sorted(headers)
    rows = {headers[k][0][0] for k in layers}
    if len(rows) != 1 or any(len(headers[k][0]) < 2 for k in layers):
        raise DataError(
            npz,
            f"layers must be (samples, features) arrays with one sample count, found "
            f"{ {k: headers[k][0] for k in layers} }",
        )
    n = rows.pop()
    sizes = {k: int(np.prod(headers[k][0][1:])) for k in layers}
    hints = shape_hints or {}
    shapes = {
        k: hints[k] if k in hints and int(np.prod(hints[k])) == sizes[k] else list(headers[k][0][1:]) for k in layers
    }
    total = sum(sizes.values())
    with atomic_path(npy) as tmp:
        mm = npf.open_memmap(str(tmp), mode="w+", dtype=np.float32, shape=(n, total))
        offset = 0
        for k in layers:
            for start, block in iter_npz_rows(npz, k):
                mm[start : start + len(block), offset : offset + sizes[k]] = block.reshape(len(block), -1)
            offset += sizes[k]
        mm.flush()
        del mm
        atomic_write_json(
            npy.with_name(npy.name + ".json"),
            {"layers": layers, "shapes": shapes, "total_features": total, "num_samples": n, "dtype": "float32"},
        )
    if not keep_npz:
        os.unlink(npz)
    return npy


def convert_model(
    model_dir: Path,
    keep_npz: bool = False,
    dataset_type: str | None = None,
    on_file: Callable[[Path, str], None] | None = None,
) -> list[Path]:
    """Convert every ``.npz`` under ``activations/<dataset_type>/``; ``on_file(path, 'converted'|'skipped')``."""
    model_dir = Path(model_dir)
    if dataset_type is None:
        cfg_path = model_dir / "config.json"
        cfg = read_json_object(cfg_path) if cfg_path.is_file() else {}
        dataset_type = cfg.get("dataset_type") or DEFAULT_DATASET_TYPE
    folder = model_dir / "activations" / dataset_type
    if not folder.is_dir():
        raise DataError(folder, "activation folder not found")
    hints = _shape_hints(model_dir, dataset_type)
    done = []
    for npz in sorted(folder.glob("*.npz")):
        npy = npz.with_suffix(".npy")
        if npy.exists() and _is_converted(npy):
            log.info("%s already converted", npz.name)
            if on_file:
                on_file(npz, "skipped")
            continue
        done.append(convert_npz(npz, keep_npz=keep_npz, shape_hints=hints))
        if on_file:
            on_file(npz, "converted")
    return done
