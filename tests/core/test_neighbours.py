"""Exact KNN against a brute-force float64 reference, on arrays and memmaps, in both spaces."""

from __future__ import annotations

import numpy as np
import pytest

from diffviews_core import neighbours
from diffviews_core.neighbours import ActivationIndex, PlaneIndex, knn_plane, knn_plane_scan


def _reference(X, q, metric, skip=()):
    X64, q64 = X.astype(np.float64), q.astype(np.float64)
    if metric == "euclidean":
        d = np.sqrt(((X64 - q64) ** 2).sum(1))
    else:
        d = 1.0 - X64 @ q64 / (np.linalg.norm(X64, axis=1) * np.linalg.norm(q64))
    d[list(skip)] = np.inf
    order = np.lexsort((np.arange(len(d)), d))
    return order, d


@pytest.fixture
def data():
    rng = np.random.default_rng(1)
    return (rng.standard_normal((700, 48)) + 3.0).astype(np.float32)


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_query_matches_brute_force(data, metric, monkeypatch):
    monkeypatch.setattr(neighbours, "_CHUNK_BYTES", 48 * 4 * 100)  # 100-row chunks: exercises the chunk loop
    index = ActivationIndex(data, metric)
    queries = np.random.default_rng(2).standard_normal((5, 48)).astype(np.float32) + 3.0
    rows, dists = index.query(queries, 7)
    assert rows.shape == dists.shape == (5, 7)
    for q, r, d in zip(queries, rows, dists, strict=True):
        order, ref = _reference(data, q, metric)
        np.testing.assert_array_equal(r, order[:7])
        np.testing.assert_allclose(d, ref[order[:7]], rtol=1e-5, atol=1e-6)
        assert np.all(np.diff(d) >= 0)


@pytest.mark.parametrize("metric", ["euclidean", "cosine"])
def test_query_rows_excludes_self(data, metric):
    index = ActivationIndex(data, metric)
    rows, dists = index.query_rows([3, 500, 3], 5)
    for own, r, d in zip([3, 500, 3], rows, dists, strict=True):
        assert own not in r
        order, ref = _reference(data, data[own], metric, skip=[own])
        np.testing.assert_array_equal(r, order[:5])
        np.testing.assert_allclose(d, ref[order[:5]], rtol=1e-5, atol=1e-6)
    single_rows, single_d = index.query_rows(500, 5)
    np.testing.assert_array_equal(single_rows, rows[1])
    assert single_d.dtype == np.float32 and single_rows.dtype == np.int64


def test_exclude_and_duplicates_get_exact_zero(data):
    X = np.vstack([data, data[10:11]])  # row 700 duplicates row 10
    index = ActivationIndex(X)
    rows, dists = index.query(X[10], 3, exclude=[10])
    assert rows[0] == 700 and dists[0] == 0.0
    assert 10 not in rows


def test_k_larger_than_data_and_zero_vectors():
    X = np.zeros((4, 3), dtype=np.float32)
    X[1] = [1, 0, 0]
    rows, d = ActivationIndex(X, "cosine").query_rows(1, 10)
    assert len(rows) == 3 and set(rows) == {0, 2, 3}
    np.testing.assert_allclose(d, 1.0)  # zero vectors are orthogonal to everything
    rows, d = ActivationIndex(X).query(np.ones(3, np.float32), 10, exclude=[0, 1])
    assert sorted(rows) == [2, 3]


def test_memmap_is_not_copied(tmp_path, data, monkeypatch):
    path = tmp_path / "acts.npy"
    np.save(path, data)
    mm = np.load(path, mmap_mode="r")
    monkeypatch.setattr(neighbours, "_CHUNK_BYTES", 48 * 4 * 64)
    index = ActivationIndex(mm)
    assert index.data is mm
    rows, d = index.query_rows(42, 4)
    order, ref = _reference(data, data[42], "euclidean", skip=[42])
    np.testing.assert_array_equal(rows, order[:4])


def test_bad_arguments(data):
    with pytest.raises(ValueError, match="metric"):
        ActivationIndex(data, "manhattan")
    index = ActivationIndex(data)
    with pytest.raises(ValueError, match="features"):
        index.query(np.zeros(5, np.float32), 3)
    with pytest.raises(IndexError):
        index.query_rows(700, 3)


@pytest.mark.parametrize("dims", [2, 3])
def test_plane_knn_matches_brute_force(dims):
    coords = np.random.default_rng(3).standard_normal((400, dims)).astype(np.float32)
    rows, d = knn_plane(coords, 17, 6)
    ref = np.linalg.norm(coords.astype(np.float64) - coords[17], axis=1)
    ref[17] = np.inf
    np.testing.assert_array_equal(rows, np.argsort(ref)[:6])
    np.testing.assert_allclose(d, np.sort(ref)[:6], rtol=1e-5)
    point = np.zeros(dims)
    rows, d = knn_plane(coords, point, 4)
    np.testing.assert_array_equal(rows, np.argsort(np.linalg.norm(coords, axis=1))[:4])


@pytest.mark.parametrize("dims", [2, 3])
def test_plane_scan_answers_what_the_tree_does_with_ties_to_the_lowest_rows(dims):
    """The window's map-space KNN scans the coordinates instead of building a KD-tree on its thread."""
    rng = np.random.default_rng(5)
    coords = rng.standard_normal((3000, dims)).astype(np.float32)
    for query in (0, 17, 2999, np.zeros(dims), coords[5] + 0.01):
        for k in (1, 6, 50):
            rows, d = knn_plane_scan(coords, query, k)
            want_rows, want_d = knn_plane(coords, query, k)
            np.testing.assert_array_equal(rows, want_rows)
            np.testing.assert_allclose(d, want_d, rtol=1e-6)
            assert rows.dtype == np.int64 and d.dtype == np.float32
    grid = np.array([[0, 0], [1, 0], [0, 1], [-1, 0], [0, -1], [1, 0]], dtype=np.float32)  # four at distance 1
    np.testing.assert_array_equal(knn_plane_scan(grid, 0, 3)[0], [1, 2, 3])
    np.testing.assert_array_equal(knn_plane_scan(grid, np.zeros(2), 10)[0], [0, 1, 2, 3, 4, 5])  # k > n: all
    assert knn_plane_scan(grid, 1, 0)[0].size == 0
    with pytest.raises(ValueError, match="NaN"):
        knn_plane_scan(np.array([[0.0, np.nan], [1.0, 1.0]]), 1, 1)
    with pytest.raises(IndexError):
        knn_plane_scan(grid, 6, 1)
    with pytest.raises(ValueError, match="shape"):
        knn_plane_scan(np.zeros((3, 4)), 0, 1)


def test_plane_tree_is_cached_per_array():
    coords = np.random.default_rng(4).standard_normal((50, 2))
    knn_plane(coords, 0, 3)
    tree = neighbours._plane_cache[id(coords)][1]
    knn_plane(coords, 1, 3)
    assert neighbours._plane_cache[id(coords)][1] is tree
    key = id(coords)
    del coords
    assert key not in neighbours._plane_cache


def test_plane_rejects_nan_and_bad_rows():
    with pytest.raises(ValueError, match="NaN"):
        PlaneIndex(np.array([[0.0, np.nan], [1.0, 1.0]]))
    with pytest.raises(IndexError):
        PlaneIndex(np.zeros((3, 2))).query(5, 1)


def test_neighbours_cli_on_an_original_layout(tmp_path, capsys):
    import json

    from data_fixtures import expected_activations, make_original_layout, tree_checksums

    from diffviews_core.cli.main import main

    root = make_original_layout(tmp_path / "data", n_per_model=40)
    before = tree_checksums(root)
    assert main(["neighbours", str(root), "-m", "edm", "--sample", "10002", "-k", "4", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    X = expected_activations(root, "edm")
    ids = [h["sample_id"] for h in report["neighbors"]]
    table_ids = [
        int(r["sample_id"])
        for r in json.loads((root / "edm" / "metadata" / "imagenet_real" / "dataset_info.json").read_text())["samples"]
    ]
    q = table_ids.index(10002)
    order, ref = _reference(X, X[q], "euclidean", skip=[q])
    assert ids == [table_ids[i] for i in order[:4]]
    np.testing.assert_allclose([h["distance"] for h in report["neighbors"]], ref[order[:4]], rtol=1e-5)
    assert all("map_distance" in h for h in report["neighbors"])

    assert main(["neighbours", str(root), "-m", "dmd2", "--sample", "3", "--space", "map", "-k", "2", "--json"]) == 0
    on_map = json.loads(capsys.readouterr().out)
    assert on_map["space"] == "map" and len(on_map["neighbors"]) == 2
    # the American command name and the CLI's old name of the map space still work
    assert main(["neighbors", str(root), "-m", "dmd2", "--sample", "3", "--space", "embedding", "-k", "2"]) == 0
    assert "2 nearest neighbours of sample 3 (2D map demo_embeddings)" in capsys.readouterr().out
    assert main(["neighbors", str(root), "-m", "broken", "--sample", "3"]) == 4
    assert "broken" in capsys.readouterr().err
    assert main(["neighbors", str(root), "-m", "dmd2", "--sample", "424242"]) == 4
    assert "no sample with id 424242" in capsys.readouterr().err
    assert tree_checksums(root) == before  # nothing the user made is modified
