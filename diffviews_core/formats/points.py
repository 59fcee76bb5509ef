"""The map's points (coordinates and colour columns) of a model, read before anything else of it is parsed.

Opening a model checks everything (config, table, dataset_info.json, activation headers, images); a window can draw
every point long before that is done. ``read_map_points`` reads only the default embedding's coordinate and colour
columns (from the parsed copy in the user cache when there is one: tens of milliseconds at a million rows), so an
app can upload the points first and open the model (``open_data``) meanwhile. The points are the same arrays the
opened model's default embedding gives; if the open then fails, or picks another model because this one is broken,
the app drops or replaces them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .embedding import COORD_COLUMNS, coords_from_columns
from .root import is_model_dir
from .table import read_table

COLOUR_COLUMNS = ("class_label", "conditioning_sigma")


@dataclass(frozen=True)
class MapPoints:
    """What the map needs to draw every point: ``coords2d`` (N, 2) and ``coords3d`` (N, 3) or None as float32, and
    the colour ``columns`` found in the table (``class_label``, ``conditioning_sigma``, ...), as the colouring code
    takes them."""

    model_path: Path
    embedding: str
    coords2d: np.ndarray
    coords3d: np.ndarray | None
    columns: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def num_points(self) -> int:
        return len(self.coords2d)


def model_folder(path: Path | str, model: str | None = None) -> Path | None:
    """The model folder ``open_data(path)`` shows first: ``path`` itself if it is one, else ``model`` when given and
    present, else the first model folder by name (None if there is none)."""
    path = Path(path).expanduser()
    if is_model_dir(path):
        return path
    if model and is_model_dir(path / model):
        return path / model
    try:
        return next((p for p in sorted(path.iterdir()) if p.is_dir() and is_model_dir(p)), None)
    except OSError:
        return None


def default_embedding_csv(folder: Path) -> Path | None:
    """The CSV of a model's default embedding, chosen as ``ModelData.embedding_names[0]`` is."""
    emb = Path(folder) / "embeddings"
    return next(iter(sorted(emb.glob("*.csv"))), None) or next(iter(sorted((emb / "layer_cache").glob("*.csv"))), None)


def read_map_points(
    path: Path | str,
    model: str | None = None,
    csv: Path | None = None,
    columns: Sequence[str] = COLOUR_COLUMNS,
) -> MapPoints | None:
    """The default embedding's points of the model ``open_data(path)`` would show (or of ``csv``, an embedding file
    given explicitly), with the colour ``columns`` the table has; None when the model has no embedding yet.

    Non-finite coordinates are a DataError naming the file, as when the model opens; every other check is left to
    ``open_data``."""
    folder = model_folder(path, model)
    if folder is None:
        return None
    csv_path = Path(csv) if csv is not None else default_embedding_csv(folder)
    if csv_path is None:
        return None
    cols = read_table(csv_path, [*COORD_COLUMNS, "sample_id", *columns])
    coords2d, coords3d = coords_from_columns(csv_path, cols)
    name = csv_path.stem if csv is not None or csv_path.parent.name == "embeddings" else f"layer_cache/{csv_path.stem}"
    return MapPoints(folder, name, coords2d, coords3d, {c: cols[c] for c in columns if c in cols})
