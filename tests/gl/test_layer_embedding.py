"""A layer with stored activations but no map: embedded in the worker pool with progress and cancel, then shown."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

pytestmark = [pytest.mark.gui, pytest.mark.gl]


def choose_layer(window, key: str) -> None:
    combo = window.view_dock.layer_combo
    combo.setCurrentIndex(combo.findData(key))


@pytest.mark.slow  # imports umap (numba) and fits two small maps
def test_new_layer_is_embedded_in_a_job_then_swapped_in(qtbot, make_window, fixture_root):
    w = make_window(fixture_root)
    w.state.select(3)
    progress = []
    w.pool.job_progressed.connect(lambda job, f, m: progress.append((job.name, f, m)))
    choose_layer(w, "midblock")
    assert [j.name for j in w.pool.running() if j.name != "Preparing generation"] == ["Embedding midblock"]
    embedding = [j for j in w.pool.running() if j.name == "Embedding midblock"]
    # listed in the status bar once it has run a moment (a warm worker with the map cached may be done before)
    qtbot.waitUntil(lambda: w.jobs.isVisible() or embedding[0] not in w.pool.running(), timeout=5000)
    # a bound for a failure only: a fresh worker process compiles UMAP (numba) first, minutes on a loaded box
    qtbot.waitUntil(lambda: w.state.layer == "midblock", timeout=600000)
    emb = w.state.embedding
    assert emb.coords2d.shape == (60, 2) and emb.coords3d.shape == (60, 3) and emb.layers == ["midblock"]
    assert np.array_equal(w.canvas.point_count, 60)
    assert progress and progress[-1][1] == 1.0
    assert w.state.selected == 3  # same samples: the selection survives a layer switch
    assert w.state.layer_choices["midblock"][1] == "embedding"
    qtbot.waitUntil(lambda: not w.jobs.isVisible(), timeout=2000)
    w.state.set_mode("3d")
    assert w.canvas.mode == "3d"


def test_cancelling_an_embedding_keeps_the_current_map(qtbot, make_window, fixture_root):
    w = make_window(fixture_root)
    before = w.state.embedding
    choose_layer(w, "encoder_bottleneck")
    assert w.pool.running()
    qtbot.mouseClick(w.jobs.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not w.pool.running(), timeout=60000)
    assert w.state.embedding is before and w.state.layer == "demo_embeddings"
    assert w.view_dock.layer_combo.currentData() == "demo_embeddings"
