"""Full-size activations of a reduced dataset's rows, recomputed through the model when masked generation needs them.

A dataset built with reductions stores mean-pooled or PCA-sketched rows; masking needs the full-size mean activation
of the selection. Every row of a built dataset is reproducible: its clean image is stored losslessly (the exact uint8
pixels the model saw) and its noise depends only on the build seed, the level and the image index. So instead of
storing full rows (390 GB at a million ImageNet-64 rows) or only per-class means (which are not the selection's
mean), the selection's rows are recomputed as the build computed them, with the adapter generation loads anyway:
one forward pass per batch of selected rows, at most ``MAX_RECOMPUTED_ROWS`` evenly spaced rows of a large selection.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Sequence

import numpy as np

from .errors import DataError, DiffViewsError
from .jobs import check_cancelled

log = logging.getLogger(__name__)

MAX_RECOMPUTED_ROWS = 256  # a larger selection's mean is taken over this many evenly spaced rows of it
BATCH_ROWS = 32

_weights_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _weights_of(adapter) -> str | None:
    from .pipelines.builder import _weights_sha256

    net = getattr(adapter, "net", None)
    if net is None:
        return None
    if net not in _weights_cache:
        _weights_cache[net] = _weights_sha256(adapter)
    return _weights_cache[net]


def _build_record(model_data) -> dict:
    build = (model_data.manifest or {}).get("build")
    if not isinstance(build, dict) or "seed" not in build or "sigmas" not in build:
        raise DataError(model_data.path / "manifest.json", "no build record (seed, sigmas): rows cannot be recomputed")
    cols = model_data.samples.columns
    missing = [c for c in ("image_index", "level_index", "label_mode") if c not in cols]
    if missing:
        raise DataError(model_data.path / "samples.csv", f"missing column(s) {', '.join(missing)}")
    return build


def check_same_model(model_data, adapter) -> None:
    """Refuse to recompute rows with weights other than those the dataset was built with."""
    built = _build_record(model_data).get("weights_sha256")
    have = _weights_of(adapter)
    if built and have and built != have:
        raise DiffViewsError(
            f"{model_data.path}: the loaded model's weights differ from those the dataset was built with "
            "(manifest weights_sha256); its reduced layers cannot be recomputed with them"
        )


def pick_rows(rows: Sequence[int], limit: int = MAX_RECOMPUTED_ROWS) -> np.ndarray:
    """The sorted rows, or ``limit`` evenly spaced ones of them when there are more."""
    rows = np.unique(np.asarray(rows, dtype=np.int64))
    if len(rows) <= limit:
        return rows
    return rows[np.unique(np.linspace(0, len(rows) - 1, limit).round().astype(np.int64))]


def recompute_rows(
    model_data,
    rows: Sequence[int],
    layers: Sequence[str],
    adapter,
    cancel: threading.Event | None = None,
) -> dict[str, np.ndarray]:
    """Per layer, the (len(rows), C*H*W) float32 full-size activations of ``rows``, in the order given."""
    from .pipelines.builder import forward_rows, noised_inputs

    build = _build_record(model_data)
    check_same_model(model_data, adapter)
    seed, sigmas = int(build["seed"]), [float(s) for s in build["sigmas"]]
    cols = model_data.samples.columns
    rows = np.asarray(rows, dtype=np.int64)
    level = np.asarray(cols["level_index"], dtype=np.int64)[rows]
    image = np.asarray(cols["image_index"], dtype=np.int64)[rows]
    mode = np.asarray(cols["label_mode"]).astype(str)[rows]
    label = np.asarray(model_data.samples.class_label, dtype=np.int64)[rows]
    shapes = {k: int(np.prod(v)) for k, v in adapter.get_layer_shapes().items() if k in layers}
    out = {k: np.empty((len(rows), shapes[k]), dtype=np.float32) for k in layers}
    groups: dict[tuple[int, str], list[int]] = {}
    for pos in range(len(rows)):
        groups.setdefault((int(level[pos]), str(mode[pos])), []).append(pos)
    for (li, m), positions in sorted(groups.items()):
        for a in range(0, len(positions), BATCH_ROWS):
            check_cancelled(cancel, "recomputing the selection's activations cancelled")
            part = positions[a : a + BATCH_ROWS]
            clean = np.stack([_image_for_model(model_data, int(rows[p]), adapter) for p in part])
            x = np.concatenate([noised_inputs(clean[j : j + 1], sigmas[li], li, int(image[p]), seed)
                                for j, p in enumerate(part)])  # fmt: skip
            labels = [int(label[p]) if m == "true" else None for p in part]
            acts = forward_rows(adapter, x, sigmas[li], labels, list(layers))
            for k in layers:
                out[k][part] = acts[k]
    return out


def _image_for_model(model_data, row: int, adapter) -> np.ndarray:
    img = model_data.image(row)
    want = (adapter.resolution, adapter.resolution, adapter.img_channels)
    if img.shape != want:
        raise DataError(model_data.image_path(row), f"image is {img.shape}, the model takes {want}")
    return img


def full_mean(
    model_data,
    rows: Sequence[int],
    layers: Sequence[str],
    adapter,
    limit: int = MAX_RECOMPUTED_ROWS,
    cancel: threading.Event | None = None,
) -> dict[str, np.ndarray]:
    """Per layer, the full-size mean activation (C*H*W,) over ``rows`` (at most ``limit`` of them, evenly spaced)."""
    picked = pick_rows(rows, limit)
    if len(picked) < len(np.unique(rows)):
        log.info("mean of %d recomputed rows of a selection of %d", len(picked), len(np.unique(rows)))
    acts = recompute_rows(model_data, picked, layers, adapter, cancel=cancel)
    return {k: v.astype(np.float64).mean(axis=0).astype(np.float32) for k, v in acts.items()}
