"""Build-time reductions (mean pooling, PCA sketch, float16) recorded in the manifest, and masked generation on a
reduced dataset: full-size means recomputed through the model equal those of the full-size dataset."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
from data_fixtures import tree_checksums

from diffviews_core.errors import CancelledError, DiffViewsError
from diffviews_core.formats import open_data
from diffviews_core.formats.reduction import LayerReduction, ReductionSpec, fit_pca_sketch, parse_reductions
from diffviews_core.lineage import GenerationSettings
from diffviews_core.neighbour_generation import generate_from_samples, mean_activations
from diffviews_core.pipelines.builder import BuildSpec, build_dataset
from diffviews_core.pipelines.sources import ArraySource

LAYERS = ["encoder_bottleneck", "midblock"]
REDUCED = {"encoder_bottleneck": ReductionSpec("mean_pool"), "midblock": ReductionSpec("pca", 6, float16=True)}


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(2)
    return rng.integers(0, 256, (9, 16, 16, 3), dtype=np.uint8), np.array([0, 1, 2] * 3)


def _spec(out, images, **kw):
    base = dict(output=out, source=ArraySource(*images), sigmas=[5.0, 0.5], layers=LAYERS, batch_size=4,
                label_mode="both", seed=3, reduction_fit_rows=16)  # fmt: skip
    return BuildSpec(**{**base, **kw})


@pytest.fixture(scope="module")
def built(tmp_path_factory, images):
    """The same dataset at full size and reduced (one build each)."""
    from tiny_model import seed_like_spec

    from diffviews_core.adapters.edm import EDMAdapter
    from diffviews_core.networks import TINY, build_edm

    net = build_edm(TINY).eval()
    seed_like_spec(net)
    adapter = EDMAdapter(net, device="cpu")
    root = tmp_path_factory.mktemp("reduce")
    full = build_dataset(_spec(root / "full", images), adapter=adapter)
    reduced = build_dataset(_spec(root / "reduced", images, reductions=REDUCED), adapter=adapter)
    return adapter, open_data(full).models["full"], open_data(reduced).models["reduced"]


def test_parse_reductions():
    assert parse_reductions("pca:64", LAYERS) == {k: ReductionSpec("pca", 64) for k in LAYERS}
    assert parse_reductions("midblock=mean", LAYERS, float16=True) == {
        "midblock": ReductionSpec("mean_pool", None, True)
    }
    assert parse_reductions("", LAYERS) == {}
    for bad in ("pca", "pca:x", "median", "other=mean"):
        with pytest.raises(ValueError):
            parse_reductions(bad, LAYERS)


def test_manifest_records_each_layers_reduction(built):
    _adapter, full, reduced = built
    layers = reduced.manifest["layers"]
    assert layers["encoder_bottleneck"]["shape"] == [128]
    assert layers["encoder_bottleneck"]["reduction"] == {
        "method": "mean_pool", "dims": 128, "dtype": "float32", "source_shape": [128, 4, 4]}  # fmt: skip
    pca = layers["midblock"]["reduction"]
    assert pca["method"] == "pca" and pca["dims"] == 6 and pca["dtype"] == "float16" and pca["fit_rows"] == 16
    assert set(pca["files"].values()) <= set(reduced.manifest["files"])  # the sketch is checksummed
    assert reduced.manifest["build"]["reductions"]["midblock"] == {"method": "pca", "dims": 6, "dtype": "float16"}
    assert reduced.verify() == [] and reduced.warnings == []
    assert reduced.layer_shapes == {"encoder_bottleneck": (128,), "midblock": (6,)}
    assert reduced.full_layer_shapes == full.layer_shapes
    assert reduced.activations(["midblock"]).dtype == np.float16
    assert reduced.activations(LAYERS).shape == (36, 134)


def test_reduced_rows_are_the_reduction_of_the_full_rows(built):
    _adapter, full, reduced = built
    pooled = full.activations(["encoder_bottleneck"]).reshape(36, 128, 16).mean(axis=2, dtype=np.float32)
    np.testing.assert_array_equal(reduced.activations(["encoder_bottleneck"]), pooled)
    sketch = reduced.reductions["midblock"]
    expect = sketch.apply(np.asarray(full.activations(["midblock"])))
    np.testing.assert_allclose(reduced.activations(["midblock"]).astype(np.float32), expect.astype(np.float32),
                               rtol=2e-3, atol=2e-3)  # fmt: skip
    # the PCA sketch keeps most of the variance of the rows (6 of 2048 dimensions, 36 rows)
    x = np.asarray(full.activations(["midblock"]), dtype=np.float64)
    centred = x - sketch.mean
    kept = centred @ sketch.components.T.astype(np.float64)
    assert (kept**2).sum() / (centred**2).sum() > 0.5
    np.testing.assert_allclose(sketch.components @ sketch.components.T, np.eye(6), atol=1e-4)
    # stored_rows reduces full-size activations (e.g. a generation step) into the stored layout
    acts = {k: np.asarray(full.activations([k]))[:3] for k in LAYERS}
    np.testing.assert_allclose(reduced.stored_rows(acts), reduced.activations(LAYERS)[:3].astype(np.float32),
                               rtol=2e-3, atol=2e-3)  # fmt: skip


def test_pca_sketch_is_deterministic_and_sign_fixed():
    x = np.random.default_rng(0).standard_normal((50, 300)).astype(np.float32)
    m1, c1 = fit_pca_sketch(x, 5)
    m2, c2 = fit_pca_sketch(x.copy(), 5)
    assert m1.tobytes() == m2.tobytes() and c1.tobytes() == c2.tobytes()
    assert np.all(c1[np.arange(5), np.argmax(np.abs(c1), axis=1)] > 0)
    with pytest.raises(ValueError, match="float16 range"):
        LayerReduction("l", ReductionSpec("pca", 1, float16=True), (300,), m1, c1[:1] * 1e6).apply(x)


def test_full_size_mean_of_a_reduced_dataset_is_recomputed(built):
    adapter, full, reduced = built
    ids = [int(full.samples.sample_id[r]) for r in (1, 12, 30)]  # three levels / label modes
    want = mean_activations(full, ids, LAYERS)
    with pytest.raises(DiffViewsError, match="needs its adapter"):
        mean_activations(reduced, ids, LAYERS)
    got = mean_activations(reduced, ids, LAYERS, adapter=adapter)
    for k in LAYERS:
        assert got[k].shape == want[k].shape == (2048,)
        np.testing.assert_allclose(got[k], want[k], rtol=1e-5, atol=1e-6)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(CancelledError):
        mean_activations(reduced, ids, LAYERS, adapter=adapter, cancel=cancel)


def test_generation_from_a_reduced_dataset_matches_the_full_one(built):
    adapter, full, reduced = built
    ids = [int(full.samples.sample_id[r]) for r in (4, 5, 6)]
    settings = GenerationSettings(num_steps=3, mask_steps=2, seed=4)
    want, _ = generate_from_samples(adapter, full, ids, LAYERS, settings)
    got, lineage = generate_from_samples(adapter, reduced, ids, LAYERS, settings)
    np.testing.assert_allclose(got.trajectory_array(), want.trajectory_array(), rtol=1e-4, atol=1e-4)
    assert np.abs(got.images.astype(int) - want.images.astype(int)).max() <= 1
    assert lineage.source_sample_ids == ids


def test_reduced_build_resumes_to_the_same_bytes(tmp_path, built, images):
    adapter, _full, reduced = built
    cancel = threading.Event()
    seen = []

    def progress(fraction, message):
        seen.append(message)
        if message == "3 of 15 batches":
            cancel.set()

    with pytest.raises(CancelledError):
        build_dataset(_spec(tmp_path / "reduced", images, reductions=REDUCED), adapter=adapter, progress=progress,
                      cancel=cancel)  # fmt: skip
    assert seen[0] == "PCA sketch: rows of batch 1 of 1" and "3 of 15 batches" in seen
    assert (tmp_path / "reduced" / ".build" / "reductions" / "midblock.components.npy").is_file()
    build_dataset(_spec(tmp_path / "reduced", images, reductions=REDUCED), adapter=adapter)
    assert tree_checksums(tmp_path / "reduced") == tree_checksums(reduced.path)
    assert json.loads((tmp_path / "reduced" / "manifest.json").read_text())["build"]["reduction_fit_rows"] == 16
