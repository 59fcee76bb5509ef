"""Which point of the main cloud is under the mouse or inside a lasso, fast at a million points.

2D keeps a grid index on data positions (valid until the points change); 3D keeps one on the points' screen positions
for one camera pose (rebuilt when the camera rests). Small clouds index at once; big ones are indexed by the app's
worker pool, and until an index is ready picking falls back to a brute-force scan.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject

from .lasso import points_in_polygon
from .picking import PointIndex, nearest_brute, project_to_screen

SYNC_INDEX_MAX = 50_000  # build picking indexes inline up to this many points, in the worker pool above


class PointPicker(QObject):
    """Picking over one cloud of drawn positions; ``matrix`` arguments map drawn positions to widget pixels."""

    def __init__(self, pool, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = pool
        self._key = f"picking-index-{id(self)}"
        self._generation = 0
        self._pos = np.zeros((0, 3), dtype=np.float32)
        self._mode = "2d"
        self._data_index: PointIndex | None = None
        self._screen_index: PointIndex | None = None
        self._screen_matrix: np.ndarray | None = None

    def set_positions(self, pos: np.ndarray, mode: str) -> None:
        """New drawn positions (N, 3) in ``mode``: indexes of the old ones are dropped (``schedule`` builds anew)."""
        self._generation += 1
        self._pos, self._mode = pos, mode
        self._data_index = self._screen_index = self._screen_matrix = None

    def ready(self, matrix: np.ndarray) -> bool:
        """True when picking uses an index for the current points (and, in 3D, the camera of ``matrix``)."""
        if self._mode == "2d":
            return self._data_index is not None
        return self._screen_index is not None and self._current(matrix)

    def _current(self, matrix: np.ndarray) -> bool:
        return self._screen_matrix is not None and np.array_equal(self._screen_matrix, matrix)

    def schedule(self, matrix: np.ndarray) -> None:
        """Build the index the current mode needs, if it is missing (3D: for the camera of ``matrix``)."""
        gen, pos = self._generation, self._pos
        if len(pos) == 0:
            return
        if self._mode == "2d":
            if self._data_index is not None:
                return
            job, args = _build_data_index, (gen, pos[:, :2])
        else:
            if self._current(matrix):
                return
            job, args = _build_screen_index, (gen, pos, matrix)
        if len(pos) <= SYNC_INDEX_MAX:
            self._built(job(*args))
        else:
            self.pool.submit("Indexing the map for picking", job, *args, key=self._key, quiet=True,
                             on_result=self._built)  # fmt: skip

    def _built(self, result) -> None:
        gen, kind, matrix, index = result
        if gen != self._generation:
            return
        if kind == "2d":
            self._data_index = index
        else:
            self._screen_index, self._screen_matrix = index, matrix

    def nearest(self, x: float, y: float, radius_px: float, matrix: np.ndarray) -> int:
        """Row of the point nearest widget position (x, y) within ``radius_px``, or -1."""
        if len(self._pos) == 0:
            return -1
        if self._mode == "2d":
            data, unit = pixels_to_data_2d(np.array([x, y]), matrix)
            if self._data_index is not None:
                return self._data_index.nearest(data, radius_px * unit)
            return nearest_brute(self._pos[:, :2], data, radius_px * unit)
        if self._screen_index is not None and self._current(matrix):
            return self._screen_index.nearest((x, y), radius_px)
        return nearest_brute(project_to_screen(self._pos, matrix), (x, y), radius_px)

    def inside(self, polygon_px: np.ndarray, matrix: np.ndarray) -> np.ndarray:
        """Rows whose drawn position lies inside a polygon given in widget pixels."""
        polygon_px = np.asarray(polygon_px, dtype=np.float64)
        if self._mode == "2d":
            poly, _unit = pixels_to_data_2d(polygon_px, matrix)
            return points_in_polygon(self._pos[:, :2], poly)
        if self._screen_index is not None and self._current(matrix):
            screen = self._screen_index.xy
        else:
            screen = project_to_screen(self._pos, matrix)
        return points_in_polygon(screen, polygon_px)


def pixels_to_data_2d(px: np.ndarray, matrix: np.ndarray) -> tuple[np.ndarray, float]:
    """Data (x, y) of widget pixels in 2D, and the data length of one pixel (the 2D camera is affine, aspect 1)."""
    a, t = matrix[:2, :2], matrix[3, :2]
    return (np.asarray(px, dtype=np.float64) - t) @ np.linalg.inv(a), 1.0 / np.sqrt(abs(np.linalg.det(a)))


def _build_data_index(gen: int, xy: np.ndarray):
    return gen, "2d", None, PointIndex(xy)


def _build_screen_index(gen: int, pos: np.ndarray, matrix: np.ndarray):
    return gen, "3d", matrix, PointIndex(project_to_screen(pos, matrix))
