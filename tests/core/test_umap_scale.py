"""UMAP at scale: umap-learn on a sample with the other rows placed by kNN (progress, cancel), and cuML when a GPU
and cuML are present (here a stand-in module: this machine has neither)."""

from __future__ import annotations

import sys
import threading
import types

import numpy as np
import pytest

import diffviews_core.embedding.scale as scale
from diffviews_core.embedding import fit_embedding
from diffviews_core.errors import CancelledError

SAMPLE = np.sort(np.random.default_rng(42).choice(600, size=200, replace=False))  # the fit's default seed


@pytest.fixture(scope="module")
def rows():
    rng = np.random.default_rng(3)
    centres = rng.standard_normal((4, 30)) * 6
    x = centres[np.repeat(np.arange(4), 150)] + rng.standard_normal((600, 30))
    placed = np.setdiff1d(np.arange(600), SAMPLE)
    x[placed[0]] = x[SAMPLE[0]]  # a row left out of the UMAP sample, equal to a sampled one
    return x.astype(np.float32)


def test_backend_choice(monkeypatch):
    monkeypatch.setattr(scale, "cuml_available", lambda: False)
    assert scale.choose_backend(1000, sample_rows=5000) == "umap"
    assert scale.choose_backend(10000, sample_rows=5000) == "sampled"
    monkeypatch.setattr(scale, "cuml_available", lambda: True)
    assert scale.choose_backend(10, sample_rows=5000) == "cuml"
    assert scale.choose_backend(10, "umap") == "umap"
    with pytest.raises(ValueError):
        scale.choose_backend(10, "gpu")


def test_sampled_umap_places_every_other_row(rows, monkeypatch):
    monkeypatch.setattr(scale, "cuml_available", lambda: False)
    seen = []
    fitted = fit_embedding(rows, 2, n_neighbors=10, pca_components=10, sample_rows=200,
                           progress=lambda f, m: seen.append((f, m)))  # fmt: skip
    coords = fitted.coords
    assert coords.shape == (600, 2) and np.isfinite(coords).all()
    assert fitted.params["umap_backend"] == "umap-learn, sampled" and fitted.params["umap_sample_rows"] == 200
    fractions = [f for f, _m in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any("placed" in m for _f, m in seen)
    # placed rows sit among the sampled rows of their cluster: clusters stay apart on the map
    labels = np.repeat(np.arange(4), 150)
    centre = np.array([coords[labels == c].mean(axis=0) for c in range(4)])
    spread = max(np.linalg.norm(coords[labels == c] - centre[c], axis=1).mean() for c in range(4))
    gaps = [np.linalg.norm(centre[a] - centre[b]) for a in range(4) for b in range(a + 1, 4)]
    assert min(gaps) > 2 * spread
    twin = np.setdiff1d(np.arange(600), SAMPLE)[0]  # placed by kNN onto its sampled duplicate
    np.testing.assert_array_equal(coords[twin], coords[SAMPLE[0]])


def test_placement_is_cancellable(rows, monkeypatch):
    monkeypatch.setattr(scale, "cuml_available", lambda: False)
    monkeypatch.setattr(scale, "PLACE_CHUNK", 50)
    cancel = threading.Event()

    def progress(fraction, message):
        if "placed" in message:
            cancel.set()

    with pytest.raises(CancelledError):
        fit_embedding(rows, 2, n_neighbors=10, pca_components=10, sample_rows=200, progress=progress, cancel=cancel)


def test_cuml_is_used_when_present(rows, monkeypatch):
    calls = []

    class FakeUMAP:
        def __init__(self, **kwargs):
            calls.append(kwargs)

        def fit_transform(self, x):
            return x[:, : calls[-1]["n_components"]] * 2

    cuml = types.ModuleType("cuml")
    cuml.manifold = types.ModuleType("cuml.manifold")
    cuml.manifold.UMAP = FakeUMAP
    monkeypatch.setitem(sys.modules, "cuml", cuml)
    monkeypatch.setitem(sys.modules, "cuml.manifold", cuml.manifold)
    monkeypatch.setattr(scale, "cuml_available", lambda: True)
    fitted = fit_embedding(rows, 3, n_neighbors=12, pca_components=10, seed=7)
    assert calls == [{"n_components": 3, "n_neighbors": 12, "min_dist": 0.1, "random_state": 7}]
    assert fitted.params["umap_backend"] == "cuml"
    np.testing.assert_allclose(fitted.coords, fitted.stage.coords[:, :3] * 2)
