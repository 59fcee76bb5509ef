"""Scaler+PCA against sklearn, UMAP maps in 2D/3D, projection of new points, npz storage without pickle, cache."""

from __future__ import annotations

import subprocess
import sys
import threading

import numpy as np
import pytest

from diffviews_core.embedding import (
    EmbeddingCache,
    FittedEmbedding,
    Projector,
    cached_embeddings,
    fit_embedding,
    fit_pca,
    load_embedding,
    project,
    save_embedding,
)
from diffviews_core.embedding import cache as cache_mod
from diffviews_core.errors import CancelledError, DataError


def _clusters(n_per=100, dim=120, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((3, dim)) * 4
    labels = np.repeat(np.arange(3), n_per)
    X = centers[labels] + rng.standard_normal((3 * n_per, dim)) + rng.uniform(-50, 50, dim)
    return X.astype(np.float32), labels


def _fake_fitted(X, dims=2, seed=0):
    """A FittedEmbedding with a real PCA stage and arbitrary map coordinates: no UMAP needed."""
    stage = fit_pca(X, 20, seed=seed)
    coords = np.random.default_rng(seed).standard_normal((len(X), dims)).astype(np.float32)
    return FittedEmbedding(stage, coords, {"n_components": dims, "layers": ["a", "b"], "min_dist": 0.1})


def test_umap_not_imported_by_package():
    code = "import sys, diffviews_core.embedding; print('umap' in sys.modules, 'sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_pca_matches_sklearn_on_leading_components():
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(5)
    X = rng.standard_normal((400, 8)) @ rng.standard_normal((8, 90)) * 3 + rng.standard_normal((400, 90)) * 0.3
    X = (X + rng.uniform(-10, 10, 90)).astype(np.float32)
    X[:, 7] = 1.5  # a constant feature: scale 1, like sklearn
    stage = fit_pca(X, 10)
    scaler = StandardScaler().fit(X)
    ref = PCA(10, svd_solver="full").fit(scaler.transform(X))
    np.testing.assert_allclose(stage.mean, scaler.mean_, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(stage.scale, scaler.scale_, rtol=1e-4)
    np.testing.assert_allclose(stage.explained_variance[:8], ref.explained_variance_[:8], rtol=1e-4)
    coords_ref = ref.transform(scaler.transform(X))
    np.testing.assert_allclose(np.abs(stage.coords[:, :8]), np.abs(coords_ref[:, :8]), atol=2e-3)
    np.testing.assert_allclose(stage.transform(X), stage.coords, atol=1e-3)


def test_pca_streams_a_memmap_and_a_row_sample(tmp_path):
    X, _ = _clusters()
    np.save(tmp_path / "x.npy", X)
    mm = np.load(tmp_path / "x.npy", mmap_mode="r")
    full = fit_pca(mm, 10)
    sampled = fit_pca(mm, 10, fit_rows=150)
    assert full.coords.shape == sampled.coords.shape == (300, 10)
    np.testing.assert_allclose(full.coords, fit_pca(X, 10).coords, atol=1e-4)
    # the leading subspace found from half the rows is close to the full one
    overlap = np.linalg.svd(full.components[:2] @ sampled.components[:2].T, compute_uv=False)
    assert overlap.min() > 0.99


def test_projection_of_fitted_rows_lands_on_their_coords():
    X, _ = _clusters()
    fitted = _fake_fitted(X)
    out = project(fitted, X[:30])
    np.testing.assert_allclose(out, fitted.coords[:30], atol=1e-3 * np.ptp(fitted.coords))
    assert fitted.projector is fitted.projector  # built once
    assert project(fitted, X[5]).shape == (2,)


def test_projection_interpolates_between_neighbours():
    X = np.array([[0, 0], [10, 0], [0, 10], [10, 10]], dtype=np.float32)  # equal spread: PCA keeps distances
    proj = Projector(fit_pca(X, 2), X * 2.0)
    out = proj.project(np.array([4.0, 0.0], dtype=np.float32), k=2)
    # nearest two at distances 4 and 6, weights 1/4 and 1/6: x = (0 / 4 + 20 / 6) / (1 / 4 + 1 / 6) = 8
    np.testing.assert_allclose(out, [8.0, 0.0], atol=1e-4)


def test_projector_from_activations_for_an_old_map(tmp_path):
    X, labels = _clusters()
    old_coords = np.stack([labels * 10.0, np.zeros(len(labels))], axis=1).astype(np.float32)
    np.save(tmp_path / "acts.npy", X)
    proj = Projector.from_activations(np.load(tmp_path / "acts.npy", mmap_mode="r"), old_coords, 20, fit_rows=200)
    rng = np.random.default_rng(9)
    new = X[[0, 150, 250]] + rng.standard_normal((3, X.shape[1])).astype(np.float32) * 0.1
    np.testing.assert_allclose(proj.project(new)[:, 0], [0.0, 10.0, 20.0], atol=1e-6)
    with pytest.raises(ValueError, match="map points"):
        Projector.from_activations(X, old_coords[:10])
    bad = old_coords.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        Projector.from_activations(X, bad)


def test_save_load_round_trip_without_pickle(tmp_path):
    X, _ = _clusters()
    fitted = _fake_fitted(X, dims=3)
    path = save_embedding(tmp_path / "e.npz", fitted)
    with np.load(path, allow_pickle=False) as npz:
        assert all(npz[k].dtype != object for k in npz.files)
    back = load_embedding(path)
    np.testing.assert_array_equal(back.coords, fitted.coords)
    np.testing.assert_array_equal(back.stage.components, fitted.stage.components)
    np.testing.assert_array_equal(back.stage.coords, fitted.stage.coords)
    assert back.params == fitted.params
    np.testing.assert_allclose(project(back, X[:4]), project(fitted, X[:4]))
    assert [p.name for p in tmp_path.iterdir()] == ["e.npz"]  # no temporary files left


def test_load_rejects_damaged_files(tmp_path):
    with pytest.raises(DataError, match="missing file"):
        load_embedding(tmp_path / "nope.npz")
    (tmp_path / "trunc.npz").write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(DataError, match="trunc.npz"):
        load_embedding(tmp_path / "trunc.npz")
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(DataError, match="missing"):
        load_embedding(tmp_path / "other.npz")
    np.savez(tmp_path / "obj.npz", coords=np.array([{"x": 1}], dtype=object))
    with pytest.raises(DataError, match="obj.npz"):
        load_embedding(tmp_path / "obj.npz")


def test_cache_hit_does_not_refit(tmp_path, monkeypatch):
    X, _ = _clusters()
    cache = EmbeddingCache(tmp_path)
    params = cache_mod.embedding_params(2, 15, 0.1, 50, 42)
    key = cache.key("model", ["b", "a"], params, cache_mod.data_fingerprint(X))
    cache.put(key, _fake_fitted(X))

    def no_fit(*args, **kwargs):
        raise AssertionError("should have come from the cache")

    monkeypatch.setattr(cache_mod, "fit_embeddings", no_fit)
    got = cached_embeddings(X, "model", ["a", "b"], dims=(2,), cache=cache)
    np.testing.assert_array_equal(got[2].coords, _fake_fitted(X).coords)
    # other data (same shape) or other parameters miss the cache
    X2 = X.copy()
    X2[0] += 1
    with pytest.raises(AssertionError, match="cache"):
        cached_embeddings(X2, "model", ["a", "b"], dims=(2,), cache=cache)
    with pytest.raises(AssertionError, match="cache"):
        cached_embeddings(X, "model", ["a", "b"], dims=(2,), min_dist=0.5, cache=cache)
    (tmp_path / f"{key}.npz").write_bytes(b"damaged")
    with pytest.raises(AssertionError, match="cache"):  # a damaged cache file is refitted
        cached_embeddings(X, "model", ["a", "b"], dims=(2,), cache=cache)


def test_cancel_before_umap():
    X, _ = _clusters()
    flag = threading.Event()
    seen = []

    def progress(frac, msg):
        seen.append(frac)
        if frac > 0.2:
            flag.set()

    with pytest.raises(CancelledError):
        fit_embedding(X, progress=progress, cancel=flag)
    assert seen == sorted(seen) and seen[-1] < 0.4


@pytest.mark.slow
def test_umap_maps_2d_and_3d_cached(tmp_path):
    X, labels = _clusters()
    cache = EmbeddingCache(tmp_path)
    got = cached_embeddings(X, "model", ["mid"], dims=(2, 3), cache=cache)
    for dims, fitted in got.items():
        assert fitted.coords.shape == (300, dims) and np.isfinite(fitted.coords).all()
        assert fitted.params["layers"] == ["mid"] and fitted.params["n_components"] == dims
        centroids = np.stack([fitted.coords[labels == c].mean(0) for c in range(3)])
        spread = max(np.linalg.norm(fitted.coords[labels == c] - centroids[c], axis=1).mean() for c in range(3))
        gaps = [np.linalg.norm(centroids[a] - centroids[b]) for a, b in ((0, 1), (0, 2), (1, 2))]
        assert min(gaps) > 2 * spread  # the three clusters come out separated
    assert got[2].stage is got[3].stage  # one PCA for both maps
    again = cached_embeddings(X, "model", ["mid"], dims=(3, 2), cache=cache)
    np.testing.assert_array_equal(again[3].coords, got[3].coords)
    out = project(got[2], X[:10])
    assert np.abs(out - got[2].coords[:10]).max() < 1e-3 * np.ptp(got[2].coords)


@pytest.mark.slow
def test_umap_seed_is_reproducible():
    X, _ = _clusters(n_per=60)
    a = fit_embedding(X, seed=7)
    b = fit_embedding(X, seed=7)
    np.testing.assert_array_equal(a.coords, b.coords)
    import os

    assert os.environ.get("NUMBA_CACHE_DIR")


@pytest.mark.slow
def test_embed_cli_writes_a_map_the_store_reads(tmp_path, capsys):
    from data_fixtures import make_original_layout

    from diffviews_core.cli.main import main
    from diffviews_core.formats import open_data

    root = make_original_layout(tmp_path / "data", n_per_model=60, models=("dmd2",), broken=False)
    args = ["embed", str(root), "-m", "dmd2", "--dims", "both", "--name", "mine", "--cache-dir", str(tmp_path / "c")]
    assert main(args) == 0
    model = open_data(root).models["dmd2"]
    emb = model.embedding("mine")
    assert emb.coords2d.shape == (60, 2) and emb.coords3d.shape == (60, 3)
    assert emb.params["layers"] == ["encoder_bottleneck", "midblock"] and emb.params["n_neighbors"] == 15
    assert main(args) == 4  # refuses to overwrite without --overwrite
    assert "already exists" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == 0  # second fit comes from the cache
    np.testing.assert_array_equal(open_data(root).models["dmd2"].embedding("mine").coords2d, emb.coords2d)


def test_cached_projector_for_an_original_map(tmp_path, monkeypatch):
    from diffviews_core.embedding import cached_projector

    X, labels = _clusters()
    coords = np.stack([labels * 10.0, labels * -3.0], axis=1).astype(np.float32)
    cache = EmbeddingCache(tmp_path)
    first = cached_projector(X, coords, "old-model", ["mid"], 20, cache=cache)
    assert len(list(tmp_path.glob("*.npz"))) == 1

    def no_fit(*args, **kwargs):
        raise AssertionError("should have come from the cache")

    monkeypatch.setattr(Projector, "from_activations", no_fit)
    again = cached_projector(X, coords, "old-model", ["mid"], 20, cache=cache)
    np.testing.assert_allclose(again.project(X[[0, 299]]), first.project(X[[0, 299]]))
    np.testing.assert_allclose(again.project(X[[0, 299]]), coords[[0, 299]], atol=1e-4)
    with pytest.raises(AssertionError, match="cache"):  # other coordinates: another projector
        cached_projector(X, coords[::-1].copy(), "old-model", ["mid"], 20, cache=cache)
