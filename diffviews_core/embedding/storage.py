"""Fitted embeddings on disk: one .npz of plain arrays plus the parameters as JSON text; read with no pickle."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from ..atomic import atomic_path
from ..errors import DataError
from .fit import FittedEmbedding
from .pca import PCAStage

FORMAT = "diffviews-embedding/1"
_ARRAYS = ("mean", "scale", "components", "explained_variance", "pca_coords", "coords")


def save_embedding(path: Path, fitted: FittedEmbedding) -> Path:
    """Write ``fitted`` to ``path`` (.npz) atomically; readers see the old file or the whole new one."""
    path = Path(path)
    s = fitted.stage
    params = json.dumps({"format": FORMAT, **fitted.params}, sort_keys=True, allow_nan=False)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(
            fh,
            mean=s.mean,
            scale=s.scale,
            components=s.components,
            explained_variance=s.explained_variance,
            pca_coords=s.coords,
            coords=fitted.coords,
            params_json=np.array(params),
        )
    return path


def load_embedding(path: Path) -> FittedEmbedding:
    """Read a file written by ``save_embedding``; anything missing or inconsistent is a DataError naming it."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in (*_ARRAYS, "params_json") if k not in npz.files]
            if missing:
                raise DataError(path, f"not a DiffViews embedding file: missing {', '.join(missing)}")
            arrays = {k: npz[k] for k in _ARRAYS}
            params = json.loads(str(npz["params_json"]))
    except FileNotFoundError:
        raise DataError(path, "missing file") from None
    except (ValueError, OSError, zipfile.BadZipFile, EOFError, json.JSONDecodeError) as exc:
        raise DataError(path, f"unreadable embedding file ({exc})") from None
    if not isinstance(params, dict) or params.pop("format", None) != FORMAT:
        raise DataError(path, f"not a {FORMAT} file")
    mean, comps, pcs, coords = arrays["mean"], arrays["components"], arrays["pca_coords"], arrays["coords"]
    ok = (
        mean.ndim == 1
        and arrays["scale"].shape == mean.shape
        and comps.ndim == 2
        and comps.shape[1] == mean.shape[0]
        and arrays["explained_variance"].shape == (comps.shape[0],)
        and pcs.shape[1:] == (comps.shape[0],)
        and coords.ndim == 2
        and coords.shape[1] in (2, 3)
        and len(coords) == len(pcs)
    )
    if not ok:
        shapes = ", ".join(f"{k} {arrays[k].shape}" for k in _ARRAYS)
        raise DataError(path, f"inconsistent array shapes: {shapes}")
    if not np.isfinite(coords).all():
        raise DataError(path, "coordinates contain NaN or infinite values")
    stage = PCAStage(
        mean=mean.astype(np.float32),
        scale=arrays["scale"].astype(np.float32),
        components=comps.astype(np.float32),
        explained_variance=arrays["explained_variance"].astype(np.float32),
        coords=pcs.astype(np.float32),
    )
    return FittedEmbedding(stage, coords.astype(np.float32), params)
