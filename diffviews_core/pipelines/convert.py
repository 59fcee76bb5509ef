"""``diffviews convert``: turn original ``.npz`` activation batches into memory-mappable ``.npy`` + ``.npy.json``.

Like the original, each ``batch_*.npz`` becomes ``batch_*.npy`` (layers concatenated in sorted name order) and the
``.npz`` is deleted unless ``keep_npz``. Unlike it, data is streamed a chunk at a time (bounded memory), and each file
appears only when complete (temporary file + rename), so an interrupted run leaves the old state intact.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
from numpy.lib import format as npf

from .. import validate as v
from ..atomic import atomic_path, atomic_write_json, remove_stale_temps
from ..errors import DataError
from ..formats import native
from ..formats.activations import CombinedNpy
from ..formats.config import dataset_type_of
from ..formats.files import read_json_object
from ..formats.npyio import iter_npz_rows, npz_headers
from ..safe_io import ensure_free_space, preallocate

log = logging.getLogger(__name__)


def _shape_hints(model_dir: Path, dataset_type: str) -> dict[str, list[int]]:
    """Per-sample layer shapes from dataset_info.json, where it gives usable ones (they are only hints)."""
    info = model_dir / "metadata" / dataset_type / "dataset_info.json"
    if not os.path.lexists(info):
        return {}
    shapes = read_json_object(info).get("layer_shapes") or {}
    hints = {}
    for k, value in shapes.items() if isinstance(shapes, dict) else ():
        try:
            hints[str(k)] = list(v.shape(value, "a layer shape"))
        except v.Invalid:
            log.info("%s: ignoring layer_shapes[%r] = %r", info, k, value)
    return hints


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
    rows = {headers[k][0][0] for k in layers if headers[k][0]}
    if len(rows) != 1 or any(len(headers[k][0]) < 2 for k in layers):
        found = {k: headers[k][0] for k in layers}
        raise DataError(npz, f"layers must be (samples, features) arrays with one sample count, found {found}")
    bad = next((k for k in layers if headers[k][1].kind != "f"), None)
    if bad is not None:
        raise DataError(npz, f"layer {bad!r} has dtype {headers[bad][1]}, expected float")
    n = rows.pop()
    sizes = {k: math.prod(headers[k][0][1:]) for k in layers}
    hints = shape_hints or {}
    shapes = {
        k: hints[k] if k in hints and math.prod(hints[k]) == sizes[k] else list(headers[k][0][1:]) for k in layers
    }
    total = sum(sizes.values())
    ensure_free_space(npy.parent, n * total * 4, f"converting {npz.name}")
    with atomic_path(npy) as tmp:
        mm = npf.open_memmap(str(tmp), mode="w+", dtype=np.float32, shape=(n, total))
        preallocate(tmp, tmp.stat().st_size)
        offset = 0
        for k in layers:
            for start, block in iter_npz_rows(npz, k):
                with np.errstate(over="ignore", invalid="ignore"):  # float64 beyond float32 becomes inf, as numpy does
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
    """Convert every ``.npz`` under ``activations/<dataset_type>/``; ``on_file(path, 'converted'|'skipped')``.

    A dataset in the project's own format has nothing to convert ([]). Temporary files an interrupted run left in
    the activation folder are removed first.
    """
    model_dir = Path(model_dir)
    if native.is_native(model_dir):
        return []
    cfg_path = model_dir / "config.json"
    cfg = read_json_object(cfg_path) if os.path.lexists(cfg_path) else {}
    if dataset_type is None:
        dataset_type = dataset_type_of(cfg_path, cfg)
    else:
        dataset_type = dataset_type_of(Path("--model-type"), {"dataset_type": dataset_type})
    folder = model_dir / "activations" / dataset_type
    if not folder.is_dir():
        raise DataError(folder, "activation folder not found")
    remove_stale_temps(folder)
    hints = _shape_hints(model_dir, dataset_type)
    done = []
    for npz in sorted(folder.glob("*.npz")):
        npy = npz.with_suffix(".npy")
        if os.path.lexists(npy) and _is_converted(npy):
            log.info("%s already converted", npz.name)
            if on_file:
                on_file(npz, "skipped")
            continue
        done.append(convert_npz(npz, keep_npz=keep_npz, shape_hints=hints))
        if on_file:
            on_file(npz, "converted")
    return done
