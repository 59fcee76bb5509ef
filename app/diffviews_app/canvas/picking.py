"""Nearest-point picking: a k-d tree on 2D positions, and projection of 3D points to screen pixels.

Pure numpy/scipy (no Qt, no vispy) so it can be built on a worker thread and tested alone. In 2D the index holds
data coordinates; in 3D it holds the screen positions of the points for one camera pose. scipy is imported only
for a cloud big enough to need a tree (on a worker thread): its import costs over a second of start-up.
"""

from __future__ import annotations

import numpy as np

SCAN_MAX = 50_000  # up to this many points a scan (well under a millisecond) answers as fast as a tree


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
    """Nearest-point lookups on 2D positions in well under a millisecond at 1M points.

    Rows whose position is not finite (points behind a 3D camera) are left out of the tree and never picked.
    """

    def __init__(self, xy: np.ndarray) -> None:
        xy = np.asarray(xy, dtype=np.float32)
        self.xy = xy
        self._tree = None
        if len(xy) <= SCAN_MAX:
            return
        from scipy.spatial import cKDTree

        finite = np.isfinite(xy).all(axis=1)
        self._rows = None if finite.all() else np.flatnonzero(finite)
        data = xy if self._rows is None else xy[self._rows]
        # Unbalanced, non-compact trees build 2-3x faster and query just as fast on point clouds.
        self._tree = cKDTree(data, balanced_tree=False, compact_nodes=False) if len(data) else None

    def __len__(self) -> int:
        return len(self.xy)

    def nearest(self, pos: tuple[float, float], radius: float) -> int:
        """Row of the point nearest ``pos`` within ``radius`` (same units as the positions), or -1."""
        if self._tree is None:
            return nearest_brute(self.xy, pos, radius)  # a small cloud (nearest_brute skips non-finite rows)
        dist, i = self._tree.query((float(pos[0]), float(pos[1])), distance_upper_bound=float(radius))
        if not np.isfinite(dist):
            return -1
        return int(i if self._rows is None else self._rows[i])
