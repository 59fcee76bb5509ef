"""Picking and lasso geometry of the canvas, as pure numpy: nearest point, projection, polygon containment."""

from __future__ import annotations

import numpy as np
import pytest
from diffviews_app.canvas.lasso import box_polygon, points_in_polygon, simplify_path
from diffviews_app.canvas.picking import PointIndex, nearest_brute, project_to_screen


@pytest.fixture(params=[20_000, 60_000], ids=["scanned", "grid"])  # either side of picking.SCAN_MAX
def cloud(request) -> np.ndarray:
    rng = np.random.default_rng(1)
    centres = rng.normal(size=(8, 2)) * 10
    n = request.param
    return (centres[rng.integers(0, 8, n)] + rng.normal(size=(n, 2))).astype(np.float32)


def test_index_matches_brute_force(cloud):
    index = PointIndex(cloud)
    rng = np.random.default_rng(2)
    queries = cloud[rng.integers(0, len(cloud), 200)] + rng.normal(scale=0.05, size=(200, 2)).astype(np.float32)
    for q in queries:
        d = np.linalg.norm(cloud - q, axis=1)
        assert index.nearest(q, 0.5) == nearest_brute(cloud, q, 0.5)
        assert d[index.nearest(q, 0.5)] == pytest.approx(d.min(), abs=1e-6)


def test_radius_bounds_the_pick(cloud):
    index = PointIndex(cloud)
    far = (1000.0, 1000.0)
    assert index.nearest(far, 5.0) == -1
    assert nearest_brute(cloud, far, 5.0) == -1
    lone = np.array([[0.0, 0.0], [3.0, 0.0]], dtype=np.float32)
    assert PointIndex(lone).nearest((1.4, 0.0), 1.5) == 0
    assert PointIndex(lone).nearest((1.6, 0.0), 1.5) == 1
    assert PointIndex(lone).nearest((1.5, 2.0), 1.0) == -1


def test_non_finite_rows_are_never_picked():
    xy = np.array([[0.0, 0.0], [np.nan, np.nan], [2.0, 2.0]], dtype=np.float32)
    index = PointIndex(xy)
    assert index.nearest((2.1, 2.0), 1.0) == 2  # the row number is the original one, past the NaN row
    assert index.nearest((0.1, 0.0), 1.0) == 0
    assert nearest_brute(xy, (2.1, 2.0), 1.0) == 2
    assert PointIndex(np.zeros((0, 2), np.float32)).nearest((0, 0), 1.0) == -1
    big = np.random.default_rng(3).uniform(10, 20, size=(60_000, 2)).astype(np.float32)  # a grid, not a scan
    big[:3] = xy
    tree = PointIndex(big)
    assert tree.nearest((2.1, 2.0), 1.0) == 2 and tree.nearest((0.1, 0.0), 1.0) == 0


def _degenerate_clouds() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(4)
    n = 60_000  # over SCAN_MAX: the grid answers
    line = np.zeros((n, 2), np.float32)
    line[:, 1] = rng.normal(size=n)  # every x equal
    slanted = np.c_[rng.normal(size=n) * 1e-7, rng.normal(size=n)].astype(np.float32)  # nearly a line
    point = np.full((n, 2), 3.0, np.float32)  # every point the same: ties everywhere
    far = (rng.normal(size=(n, 2)) * 0.01 + 1e5).astype(np.float32)  # big coordinates, tiny distances
    holes = rng.normal(size=(n, 2)).astype(np.float32)
    holes[rng.integers(0, n, 500)] = np.nan
    holes[rng.integers(0, n, 500), 0] = np.inf
    holes[rng.integers(0, n, 500), 1] = -np.inf
    dupes = np.repeat(rng.normal(size=(n // 3, 2)), 3, axis=0).astype(np.float32)[rng.permutation(n)]  # ties
    return {"line": line, "slanted": slanted, "point": point, "far": far, "holes": holes, "dupes": dupes}


@pytest.mark.parametrize("name", ["line", "slanted", "point", "far", "holes", "dupes"])
def test_grid_matches_brute_force_on_degenerate_clouds(name):
    xy = _degenerate_clouds()[name]
    index = PointIndex(xy)
    rng = np.random.default_rng(5)
    finite = xy[np.isfinite(xy).all(axis=1)]
    queries = finite[rng.integers(0, len(finite), 60)].astype(np.float64)
    queries += rng.normal(scale=np.abs(queries).max() * 1e-7 + 1e-3, size=queries.shape)
    queries = np.r_[queries, finite[:5], [[1e9, -1e9], [np.nan, 0.0]]]
    for q in queries:
        for radius in (0.0, 1e-6, 1e-3, 0.05, 2.0, 1e6, np.inf):
            assert index.nearest(q, radius) == nearest_brute(xy, q, radius), (q, radius)


def _homogeneous(pts: np.ndarray, m: np.ndarray) -> np.ndarray:
    xyz = np.zeros((len(pts), 3))
    xyz[:, : pts.shape[1]] = pts
    h = np.c_[xyz, np.ones(len(pts))] @ m
    return h[:, :2] / h[:, 3:]


def test_projection_matches_homogeneous_divide():
    rng = np.random.default_rng(3)
    pts = rng.normal(size=(500, 3)).astype(np.float32)
    m = rng.normal(size=(4, 4))
    m[:, 3] = [0.01, 0.02, 0.03, 5.0]  # w stays positive: all points in front
    np.testing.assert_allclose(project_to_screen(pts, m), _homogeneous(pts, m), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(project_to_screen(pts[:, :2], m), _homogeneous(pts[:, :2], m), rtol=1e-4, atol=1e-4)


def test_points_behind_the_camera_are_nan():
    m = np.eye(4)
    m[2, 3] = 1.0  # w = z + 1
    m[3, 3] = 1.0
    screen = project_to_screen(np.array([[1, 1, 1], [1, 1, -2]], np.float32), m)
    assert np.all(np.isfinite(screen[0])) and np.all(np.isnan(screen[1]))
    assert PointIndex(screen).nearest((0.5, 0.5), 10.0) == 0


def test_polygon_containment_concave():
    # An L shape: the notch (top right) is outside.
    poly = np.array([[0, 0], [4, 0], [4, 2], [2, 2], [2, 4], [0, 4]], dtype=float)
    xy = np.array([[1, 1], [3, 1], [1, 3], [3, 3], [5, 1], [-1, 1], [np.nan, 1]], dtype=np.float32)
    np.testing.assert_array_equal(points_in_polygon(xy, poly), [0, 1, 2])


def test_box_and_random_cloud_match_rectangle_test(cloud):
    box = box_polygon((5.0, 8.0), (-3.0, -2.0))  # corners in any order
    inside = points_in_polygon(cloud, box)
    x, y = cloud[:, 0], cloud[:, 1]
    expected = np.flatnonzero((x > -3) & (x < 5) & (y > -2) & (y < 8))
    np.testing.assert_array_equal(inside, expected)
    assert len(points_in_polygon(cloud, box[:2])) == 0  # a degenerate lasso selects nothing


def test_simplify_keeps_the_shape_of_long_paths():
    t = np.linspace(0, 2 * np.pi, 5000, endpoint=False)
    circle = np.c_[np.cos(t), np.sin(t)] * 10
    short = simplify_path(circle, 100)
    assert len(short) == 100 and np.allclose(short[0], circle[0]) and np.allclose(short[-1], circle[-1])
    xy = np.array([[0, 0], [9.5, 0], [10.5, 0]], dtype=np.float32)
    np.testing.assert_array_equal(points_in_polygon(xy, circle), [0, 1])
