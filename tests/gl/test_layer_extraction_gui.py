"""A layer the dataset did not store: the model is loaded on request, the layer extracted and embedded in jobs with
progress and cancel (resuming after a cancel), then the map swaps; the data folder is never written."""

from __future__ import annotations

import os

import numpy as np
import pytest
from data_fixtures import tree_checksums
from PySide6.QtCore import Qt

pytestmark = [pytest.mark.gui, pytest.mark.gl]

LAYER = "encoder_block_0"


@pytest.fixture
def tiny_root(tmp_path, tiny_net, tiny_adapter, monkeypatch):
    """A data root with one project-format model (28 samples) whose checkpoint is the tiny network, and a map."""
    from diffviews_core import paths
    from diffviews_core.checkpoints import save_network
    from diffviews_core.formats import open_data
    from diffviews_core.networks import TINY
    from diffviews_core.pipelines.builder import BuildSpec, build_dataset
    from diffviews_core.pipelines.sources import ArraySource

    numba = os.environ.get("NUMBA_CACHE_DIR") or str(paths.cache_dir() / "numba")  # keep compiled UMAP code
    monkeypatch.setenv("NUMBA_CACHE_DIR", numba)
    monkeypatch.setenv("DIFFVIEWS_CACHE_DIR", str(tmp_path / "cache"))
    ckpt = tmp_path / "tiny.safetensors"
    save_network(tiny_net, ckpt, TINY)
    rng = np.random.default_rng(4)
    images, labels = rng.integers(0, 256, (7, 16, 16, 3), dtype=np.uint8), np.arange(7) % 3
    spec = BuildSpec(output=tmp_path / "data" / "tiny", source=ArraySource(images, labels, ["a", "b", "c"]),
                     sigmas=[20.0, 0.5], layers=["midblock"], batch_size=3, label_mode="both", adapter="edm",
                     checkpoint=ckpt)  # fmt: skip
    model = open_data(build_dataset(spec, adapter=tiny_adapter)).models["tiny"]
    model.write_embedding("default", rng.standard_normal((28, 2)), None, {"layers": ["midblock"]})
    return tmp_path / "data"


def choose_layer(window, key: str) -> None:
    combo = window.view_dock.layer_combo
    combo.setCurrentIndex(combo.findData(key))


@pytest.mark.slow  # loads torch, imports umap (numba) and fits two small maps
def test_unstored_layer_is_extracted_then_embedded_then_swapped_in(qtbot, make_window, tiny_root):
    import process_job_fixtures as fixtures
    from diffviews_app.controller import MORE_LAYERS
    from diffviews_app.workers import MODELS

    before = tree_checksums(tiny_root)
    w = make_window(tiny_root)
    assert w.state.layer_choices[MORE_LAYERS][1] == "discover" and LAYER not in w.state.layer_choices
    choose_layer(w, MORE_LAYERS)
    qtbot.waitUntil(lambda: LAYER in w.state.layer_choices, timeout=60000)
    assert w.state.layer_choices[LAYER][1] == "extract" and MORE_LAYERS not in w.state.layer_choices
    assert "midblock" not in w.state.layer_choices  # stored and mapped by the default embedding
    assert w.view_dock.layer_combo.currentData() == "default" and w.state.layer == "default"

    # One batch runs, the next waits for the test: the cancel lands mid-extraction; the map stays, the work is kept.
    # The extraction runs in the window's worker process for models: the gate is set there.
    models = w.pool.process(MODELS)
    gates = tiny_root.parent / "gates"
    gates.mkdir()
    models.run(fixtures.gate_extraction_batches, str(gates))
    (gates / "batch_0").touch()
    try:
        w.state.select(5)
        choose_layer(w, LAYER)
        extracting = lambda: [j for j in w.pool.running() if j.name != "Preparing generation"]  # noqa: E731
        assert [j.name for j in extracting()] == [f"Extracting {LAYER}"]
        qtbot.waitUntil(lambda: extracting() and extracting()[0].fraction > 0, timeout=60000)
        qtbot.mouseClick(w.jobs.cancel_button, Qt.MouseButton.LeftButton)
        # the relay passes the cancel on to the worker process within its poll (50 ms): batches released before
        # that could all run, and the extraction end before it saw the cancel
        qtbot.waitUntil(models._cancel.is_set, timeout=5000)
        for n in range(1, 100):  # the waiting batch finishes, then the job sees the cancel
            (gates / f"batch_{n}").touch()
        qtbot.waitUntil(lambda: not w.pool.running(), timeout=30000)
    finally:
        models.run(fixtures.ungate_extraction_batches)  # full speed again
    assert w.state.layer == "default" and w.view_dock.layer_combo.currentData() == "default"
    assert LAYER not in w.state.model.layers
    assert list((tiny_root.parent / "cache" / "layers").glob("*/.work-*/progress.json"))

    progress = []
    w.pool.job_progressed.connect(lambda job, f, m: progress.append((job.name, f)))
    choose_layer(w, LAYER)
    qtbot.waitUntil(lambda: w.state.layer == LAYER, timeout=600000)  # a failure bound: UMAP compiles in the worker
    assert (f"Extracting {LAYER}", 1.0) in progress and (f"Embedding {LAYER}", 1.0) in progress
    emb = w.state.embedding
    assert emb.coords2d.shape == (28, 2) and emb.coords3d.shape == (28, 3) and emb.layers == [LAYER]
    assert w.canvas.point_count == 28 and w.state.selected == 5
    assert LAYER in w.state.model.layers and w.state.layer_choices[LAYER][1] == "embedding"
    assert w.state.model.activations([LAYER]).shape[0] == 28
    assert not list((tiny_root.parent / "cache" / "layers").glob("*/.work-*"))
    assert tree_checksums(tiny_root) == before  # only the cache was written
