"""Nearest-point picking: a grid of cells on 2D positions, and projection of 3D points to screen pixels.

Pure numpy (no Qt, no vispy, no scipy) so it can be built on a worker thread and tested alone. In 2D the index holds
data coordinates; in 3D it holds the screen positions of the points for one camera pose. A uniform grid answers a
pick as fast as a k-d tree here and builds with one sort; scipy's tree cost over a second of importing (on a worker
thread, holding the GIL the first frame needs) in every launch of a big map.
"""

from __future__ import annotations

import numpy as np

SCAN_MAX = 50_000  # up to this many points a scan (well under a millisecond) answers as fast as an index
POINTS_PER_CELL = 4  # the grid's mean occupancy: a pick looks at a few cells of a few points each


def transform_matrix(transform) -> np.ndarray:
    """The 4x4 row-vector matrix of a vispy transform (or chain) that is linear in homogeneous coordinates, as every
    camera's, view's and canvas's is: the image of the identity."""
    return np.asarray(transform.map(np.eye(4)), dtype=np.float64)


def project_to_screen(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Screen (x, y) of (N, 3) points under a 4x4 row-vector transform; NaN where a point is behind the camera.

    One pass over the columns (no (N, 4) homogeneous copy), which keeps 1M points in a few tens of ms.
    """
    pts = np.asarray(points, dtype=np.float32)
    m = np.asarray(matrix, dtype=np.float32)
    x, y = pts[:, 0], pts[:, 1]
    z = pts[:, 2] if pts.shape[1] > 2 else None

    def column(j: int) -> np.ndarray:
        out = x * m[0, j]
        out += y * m[1, j]
        if z is not None:
            out += z * m[2, j]
        out += m[3, j]
        return out

    w = column(3)
    behind = w <= 1e-12
    w[behind] = np.nan
    screen = np.empty((pts.shape[0], 2), dtype=np.float32)
    screen[:, 0] = column(0) / w
    screen[:, 1] = column(1) / w
    return screen


def nearest_brute(xy: np.ndarray, pos: tuple[float, float], radius: float) -> int:
    """Row of the point nearest ``pos`` within ``radius``, or -1; the fallback while an index is being built."""
    if len(xy) == 0:
        return -1
    dx = xy[:, 0] - np.float32(pos[0])
    dy = xy[:, 1] - np.float32(pos[1])
    d2 = dx * dx
    d2 += dy * dy
    d2 = np.where(np.isnan(d2), np.inf, d2)
    row = int(np.argmin(d2))
    return row if d2[row] <= radius * radius else -1


class PointIndex:
    """Nearest-point lookups on 2D positions in well under a millisecond at 1M points; the same row as
    ``nearest_brute`` for every query (the grid only narrows which rows are compared).

    Rows whose position is not finite (points behind a 3D camera) are left out of the grid and never picked.
    """

    def __init__(self, xy: np.ndarray) -> None:
        xy = np.asarray(xy, dtype=np.float32)
        self.xy = xy
        self._grid = _CellGrid(xy) if len(xy) > SCAN_MAX else None

    def __len__(self) -> int:
        return len(self.xy)

    def nearest(self, pos: tuple[float, float], radius: float) -> int:
        """Row of the point nearest ``pos`` within ``radius`` (same units as the positions), or -1."""
        finite = np.isfinite(radius) and np.isfinite(pos[0]) and np.isfinite(pos[1])
        if self._grid is None or not finite:
            return nearest_brute(self.xy, pos, radius)  # a small cloud, or a query no box can bound
        return self._grid.nearest(pos, radius)


class _CellGrid:
    """The finite rows bucketed in a uniform grid, sorted by cell in row-major order: the cells of one grid row
    between two columns hold one contiguous run of the sorted rows, so a box of cells is a few slices."""

    def __init__(self, xy: np.ndarray) -> None:
        x, y = np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1])  # columns: fast reductions, gathers
        finite = np.isfinite(x) & np.isfinite(y)
        rows = None if finite.all() else np.flatnonzero(finite)
        if rows is not None:
            x, y = x[rows], y[rows]
        self._lo = np.array([x.min(), y.min()], np.float64) if len(x) else np.zeros(2)
        extent = np.array([x.max(), y.max()], np.float64) - self._lo if len(x) else np.zeros(2)
        cells = max(1, len(x) // POINTS_PER_CELL)
        area = extent[0] * extent[1]
        side = np.sqrt(area / cells) if area > 0 else max(extent.max(), 1.0) / cells  # a line or a point: 1D
        self._shape = np.minimum(np.floor(extent / side).astype(np.int64) + 1, cells)  # columns, grid rows
        self._cell = np.where(extent > 0, extent / self._shape, 1.0)  # cell width, height
        col, row = self._column_row(x, y)
        ids = (row * self._shape[0] + col).astype(np.int32 if cells < 2**31 else np.int64)
        order = np.argsort(ids, kind="stable")  # within a cell, rows stay in ascending order
        self._rows = order if rows is None else rows[order]
        self._x, self._y = x[order], y[order]  # the positions in cell order: a pick reads contiguous memory
        counts = np.bincount(ids, minlength=int(self._shape[0] * self._shape[1]))
        self._start = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=self._start[1:])

    def _column_row(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        col = np.clip(np.floor((np.asarray(x, np.float64) - self._lo[0]) / self._cell[0]), 0, self._shape[0] - 1)
        row = np.clip(np.floor((np.asarray(y, np.float64) - self._lo[1]) / self._cell[1]), 0, self._shape[1] - 1)
        return col.astype(np.int64), row.astype(np.int64)

    def nearest(self, pos: tuple[float, float], radius: float) -> int:
        # The box is centred where nearest_brute measures from (the float32 query) and a little wider than the
        # radius, so it holds every row nearest_brute's float32 distances could accept; those rows decide.
        qx, qy = np.float32(pos[0]), np.float32(pos[1])
        x, y, reach = float(qx), float(qy), abs(float(radius)) * (1 + 1e-4)
        (c0, c1), (r0, r1) = self._column_row([x - reach, x + reach], [y - reach, y + reach])
        first = np.arange(r0, r1 + 1) * self._shape[0]
        starts, stops = self._start[first + c0], self._start[first + c1 + 1]
        lengths = stops - starts
        total = int(lengths.sum())
        if total == 0:
            return -1
        ends = np.cumsum(lengths)
        at = np.repeat(starts - ends + lengths, lengths) + np.arange(total)  # the runs' positions, concatenated
        dx = self._x[at] - qx
        dy = self._y[at] - qy
        d2 = dx * dx
        d2 += dy * dy
        best = d2.min()
        if not best <= radius * radius:
            return -1
        return int(self._rows[at[d2 == best]].min())  # ties: the lowest row, as nearest_brute's argmin
