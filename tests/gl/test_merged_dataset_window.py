"""The window on a dataset built as two shards and merged, with reduced layers (mean pooling, a float16 PCA
sketch): the map is drawn, Suggest KNN works through the neighbour index, and Generate from neighbours runs, its
mask recomputed at full size through the model and its trajectory compared in the stored (reduced) layout."""

from __future__ import annotations

import numpy as np
import pytest
from window_helpers import wait_drawn

from diffviews_core.cli.main import main as cli

pytestmark = [pytest.mark.gui, pytest.mark.gl, pytest.mark.slow]
LAYERS = ["encoder_bottleneck", "midblock"]


@pytest.fixture(scope="module")
def merged_root(tmp_path_factory):
    """A data root holding ``ds``: 16 images x 2 levels x 2 label modes, built as shards 1/2 and 0/2, merged,
    then embedded (2D and 3D)."""
    from tiny_model import seed_like_spec

    from diffviews_core.checkpoints import save_network
    from diffviews_core.networks import TINY, build_edm

    root = tmp_path_factory.mktemp("merged")
    net = build_edm(TINY).eval()
    seed_like_spec(net)
    checkpoint = root / "tiny.safetensors"
    save_network(net, checkpoint, TINY)
    rng = np.random.default_rng(8)
    images = root / "images.npz"
    np.savez(images, images=rng.integers(0, 256, (16, 16, 16, 3), dtype=np.uint8), labels=np.arange(16) % 4)
    data = root / "data"
    args = [str(data / "ds"), "--adapter", "edm", "--checkpoint", str(checkpoint), "--images", str(images),
            "--sigmas", "6,0.5", "--layers", ",".join(LAYERS), "--label-mode", "both", "--batch-size", "8",
            "--threads", "1", "--reduce", "midblock=pca:8,encoder_bottleneck=mean", "--float16",
            "--reduce-fit-rows", "32"]  # fmt: skip
    for shard in ("1/2", "0/2"):
        assert cli(["build", *args, "--shard", shard]) == 0
    assert cli(["merge", str(data / "ds")]) == 0
    assert cli(["embed", str(data), "-m", "ds", "--dims", "both", "--n-neighbors", "8", "--name", "map"]) == 0
    return data


@pytest.fixture
def window(qtbot, tmp_path, merged_root):
    from diffviews_app.app import create_window
    from diffviews_app.options import LaunchOptions
    from PySide6.QtCore import QSettings

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = create_window(LaunchOptions(data_dir=merged_root), settings)
    w.resize(1300, 850)
    w.show()
    qtbot.waitExposed(w)
    with qtbot.waitSignal(w.state.model_changed, timeout=20000):
        w.open_folder(merged_root)
    yield w
    w.pool.shutdown(10000)
    w.close()


def test_the_window_opens_the_merged_dataset(qtbot, window):
    s = window.state
    wait_drawn(qtbot, window)
    assert s.model.name == "ds" and s.num_points == 64 == window.canvas.point_count
    assert s.model.reductions.keys() == set(LAYERS) and s.model.verify() == []
    s.select(5)
    s.set_k(4)
    window.controller.suggest_knn()
    assert len(s.neighbours) == 4 and 5 not in s.neighbour_rows()
    stored = np.asarray(s.model.activations(LAYERS), dtype=np.float64)
    exact = np.argsort(np.linalg.norm(stored - stored[5], axis=1))[1:5]
    assert sorted(s.neighbour_rows()) == sorted(exact.tolist())


def test_generation_on_the_reduced_merged_dataset(qtbot, window):
    parts = window.generation
    s, gen = parts.state, parts.gen
    wait_drawn(qtbot, window)
    s.select(2)
    s.set_k(3)
    window.controller.suggest_knn()
    gen.update_settings(num_steps=4, mask_steps=2, seed=5)
    assert parts.runner.generate(True)
    qtbot.waitUntil(lambda: not gen.running, timeout=120000)
    masked, plain = (gen.trajectories[t] for t in gen.compare)
    assert masked.finished and plain.finished and len(masked.coords2d) == 4 and len(masked.coords3d) == 4
    lo, hi = s.embedding.coords2d.min(0), s.embedding.coords2d.max(0)
    assert np.all(np.asarray(masked.coords2d) >= lo - 1e-4) and np.all(np.asarray(masked.coords2d) <= hi + 1e-4)
    # the masked steps carry the selection's full-size mean; reduced, it is the mean of the stored rows
    d_masked, d_plain = np.asarray(masked.distances), np.asarray(plain.distances)
    assert np.all(d_masked[:2] < 0.05 * d_plain[:2])
