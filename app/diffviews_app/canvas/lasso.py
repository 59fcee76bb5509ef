"""Lasso and box selection geometry: which 2D positions fall inside a drawn polygon.

Pure numpy; the canvas feeds it data coordinates (2D) or projected screen positions (3D).
"""

from __future__ import annotations

import numpy as np

MAX_VERTICES = 256


def simplify_path(path: np.ndarray, max_vertices: int = MAX_VERTICES) -> np.ndarray:
    """Keep at most ``max_vertices`` evenly spaced vertices so the containment test stays cheap for long drags."""
    path = np.asarray(path, dtype=np.float64)
    if len(path) <= max_vertices:
        return path
    keep = np.linspace(0, len(path) - 1, max_vertices).round().astype(np.int64)
    return path[keep]


def box_polygon(p0: tuple[float, float], p1: tuple[float, float]) -> np.ndarray:
    """The rectangle spanned by two drag corners, as a closed polygon's vertices."""
    (x0, y0), (x1, y1) = p0, p1
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=np.float64)


def points_in_polygon(xy: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Sorted rows of ``xy`` strictly inside ``polygon`` (even-odd rule); NaN positions are never inside.

    A bounding-box prefilter keeps the per-edge test to the few candidates near the polygon.
    """
    poly = simplify_path(polygon)
    if len(poly) < 3 or len(xy) == 0:
        return np.zeros(0, dtype=np.int64)
    lo, hi = poly.min(axis=0), poly.max(axis=0)
    x, y = xy[:, 0], xy[:, 1]
    with np.errstate(invalid="ignore"):
        cand = np.flatnonzero((x >= lo[0]) & (x <= hi[0]) & (y >= lo[1]) & (y <= hi[1]))
    px = x[cand].astype(np.float64)
    py = y[cand].astype(np.float64)
    inside = np.zeros(len(cand), dtype=bool)
    x1, y1 = poly[:, 0], poly[:, 1]
    x2, y2 = np.roll(x1, -1), np.roll(y1, -1)
    for ax, ay, bx, by in zip(x1, y1, x2, y2):
        if ay == by:
            continue  # horizontal edges never cross a horizontal ray
        crosses = (ay > py) != (by > py)
        x_at = ax + (py - ay) * (bx - ax) / (by - ay)
        inside ^= crosses & (px < x_at)
    return cand[inside]
