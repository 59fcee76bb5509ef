"""The full demo: built on demand from the shipped model and image subset, resumable, reused once built."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from diffviews_core.demo import demo_paths
from diffviews_core.errors import CancelledError
from diffviews_core.formats import open_data
from diffviews_core.pipelines.demo_build import (
    DEMO_LAYERS,
    DEMO_SIGMAS,
    EMBEDDING_NAME,
    FULL_MODEL_NAME,
    FULL_PER_CLASS,
    build_full_demo,
    build_full_demo_report,
    read_full_images,
)

PATHS = demo_paths()
pytestmark = pytest.mark.skipif(not PATHS.exists(), reason="demo not built (diffviews demo rebuild)")
PER_CLASS = 2  # 20 images -> 160 rows: the full demo's code path in seconds


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("full")
    report = build_full_demo_report(root, per_class=PER_CLASS)
    return root, report


def test_shipped_image_subset_is_balanced():
    images, labels = read_full_images(PATHS.full_images)
    assert images.shape == (10 * FULL_PER_CLASS, 28, 28) and images.dtype == np.uint8
    assert np.bincount(labels).tolist() == [FULL_PER_CLASS] * 10
    with np.load(PATHS.full_images, allow_pickle=False) as z:
        index = z["test_index"]
    assert np.all(np.diff(index) > 0)  # the first 40 of each class, in test-split order
    few, few_labels = read_full_images(PATHS.full_images, per_class=PER_CLASS)
    assert np.bincount(few_labels).tolist() == [PER_CLASS] * 10 and few.shape[0] == 10 * PER_CLASS


@pytest.mark.slow
def test_full_demo_rows_layers_and_embedding(built):
    root, report = built
    rows = 10 * PER_CLASS * len(DEMO_SIGMAS) * 2
    assert report.rows == rows and report.model_dir == root / FULL_MODEL_NAME
    assert set(report.knn) == {(s, m) for s in DEMO_SIGMAS for m in ("null", "true")}
    model = open_data(root).models[FULL_MODEL_NAME]
    assert model.num_samples == rows and sorted(model.layers) == sorted(DEMO_LAYERS)
    assert np.bincount(model.samples.class_label).tolist() == [rows // 10] * 10
    emb = model.embedding(EMBEDDING_NAME)
    assert emb.coords2d.shape == (rows, 2) and emb.coords3d.shape == (rows, 3)
    assert np.isfinite(emb.coords2d).all() and np.isfinite(emb.coords3d).all()
    assert model.config["checkpoint"] == PATHS.model.resolve()
    assert not any(p.name.startswith(".") for p in root.iterdir())  # no work folder or stamp left behind


@pytest.mark.slow
def test_second_call_returns_at_once(built, monkeypatch):
    root, _ = built
    monkeypatch.setattr("diffviews_core.pipelines.demo_build.FULL_PER_CLASS", PER_CLASS)
    started = time.perf_counter()
    assert build_full_demo_report(root, per_class=PER_CLASS) is None
    assert build_full_demo(root) == root
    assert time.perf_counter() - started < 2


@pytest.mark.slow
def test_cancelled_build_resumes_to_the_same_bytes(built, tmp_path):
    root, _ = built
    cancel = threading.Event()
    seen: list[tuple] = []

    def progress(fraction, message) -> None:
        seen.append((fraction, message))
        if message.startswith("1 of "):  # the first batch of activations
            cancel.set()

    with pytest.raises(CancelledError):
        build_full_demo_report(tmp_path, progress=progress, cancel=cancel, per_class=PER_CLASS)
    assert (tmp_path / f".{FULL_MODEL_NAME}.new").is_dir() and not (tmp_path / FULL_MODEL_NAME).exists()
    seen.clear()
    report = build_full_demo_report(tmp_path, progress=lambda f, m: seen.append((f, m)), per_class=PER_CLASS)
    assert seen[0][1].startswith("1 of ")  # resumed after the first batch
    assert any(m.startswith("UMAP") for _, m in seen)  # the map fit reported too
    fractions = [f for f, _ in seen if f is not None]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0  # one bar over the build and the fit
    assert report.rows == 10 * PER_CLASS * len(DEMO_SIGMAS) * 2
    for name in ("samples.csv", *(f"activations/{layer}.npy" for layer in DEMO_LAYERS)):
        a = (tmp_path / FULL_MODEL_NAME / name).read_bytes()
        assert a == (root / FULL_MODEL_NAME / name).read_bytes(), name
    # another image count replaces the built demo instead of returning it
    smaller = build_full_demo_report(tmp_path, per_class=1)
    assert smaller is not None and smaller.rows == 10 * len(DEMO_SIGMAS) * 2
