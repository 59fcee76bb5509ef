"""Generation in the desktop app: a tiny model folder whose activations really come from the tiny EDM network (with a
checkpoint, 2D and 3D maps), and the explorer window with generation installed.

The window holds a vispy canvas, which needs real OpenGL: Qt's xcb platform on an X display (pytest-xvfb starts one),
as in tests/gl. Without a display the window tests skip; the state and dock tests run anyway.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest


@pytest.hookimpl(trylast=True)  # after pytest-xvfb has started its display and set DISPLAY
def pytest_configure(config) -> None:
    if os.environ.get("DISPLAY"):
        os.environ["QT_QPA_PLATFORM"] = "xcb"
    config.addinivalue_line("filterwarnings", "ignore:Function.*QMouseEvent.pos:DeprecationWarning")


LAYERS = ["encoder_bottleneck", "midblock"]
N_SAMPLES = 24


def write_tiny_model(root, net, adapter, n: int = N_SAMPLES):
    """``root/tiny``: original layout, activations from ``net``, coordinates = the first PCA axes (2D and 3D)."""
    import torch
    from PIL import Image

    from diffviews_core.checkpoints import save_network
    from diffviews_core.core import ActivationExtractor
    from diffviews_core.core.generator import to_uint8_images
    from diffviews_core.networks import TINY

    model = root / "tiny"
    save_network(net, model / "checkpoints" / "tiny.safetensors", TINY)
    gen = torch.Generator().manual_seed(3)
    x0 = torch.rand(n, 3, 16, 16, generator=gen) * 2 - 1
    labels = torch.arange(n) % 4
    sigma = 1.5
    with ActivationExtractor(adapter, LAYERS) as ex:
        adapter.forward(x0 + sigma * torch.randn(x0.shape, generator=gen), sigma, torch.eye(10)[labels])
    flat = ex.flatten()
    act = model / "activations" / "imagenet_real"
    act.mkdir(parents=True)
    np.save(act / "batch_000000.npy", flat)
    (act / "batch_000000.npy.json").write_text(json.dumps({
        "layers": LAYERS, "shapes": {k: [128, 4, 4] for k in LAYERS}, "total_features": flat.shape[1],
        "num_samples": n, "dtype": "float32"}))  # fmt: skip
    centred = flat - flat.mean(0)
    _u, _s, vt = np.linalg.svd(centred, full_matrices=False)
    coords = centred @ vt[:3].T
    coords = 10 * coords / np.abs(coords).max()
    (model / "images" / "imagenet_real").mkdir(parents=True)
    pixels = to_uint8_images(x0)
    rows = []
    for i in range(n):
        rel = f"images/imagenet_real/sample_{i:06d}.png"
        Image.fromarray(pixels[i]).save(model / rel)
        c = coords[i]
        rows.append([i, int(labels[i]), f"class{int(labels[i])}", rel, sigma, "batch_000000.npy", i,
                     c[0], c[1], c[0], c[1], c[2]])  # fmt: skip
    (model / "embeddings").mkdir()
    header = ("sample_id,class_label,class_name,image_path,conditioning_sigma,activation_path,batch_index,"
              "umap_x,umap_y,umap3d_x,umap3d_y,umap3d_z")  # fmt: skip
    lines = [header] + [",".join(str(v) for v in r) for r in rows]
    (model / "embeddings" / "default.csv").write_text("\n".join(lines) + "\n")
    (model / "embeddings" / "default.json").write_text(json.dumps({"n_neighbors": 5, "min_dist": 0.1,
                                                                  "layers": LAYERS}))  # fmt: skip
    (model / "config.json").write_text(json.dumps({"adapter": "edm", "checkpoint": "checkpoints/tiny.safetensors",
                                                   "default_steps": 6}))  # fmt: skip
    return model


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory):
    """A data root holding the tiny model (built once per session: the network runs once)."""
    import torch

    from diffviews_core.adapters.edm import EDMAdapter
    from diffviews_core.networks import TINY, build_edm

    net = build_edm(TINY).eval()
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for _name, p in sorted(net.named_parameters()):
            p.copy_(torch.randn(p.shape, generator=gen) * 0.1)
    root = tmp_path_factory.mktemp("data")
    write_tiny_model(root, net, EDMAdapter(net, device="cpu"))
    return root


@pytest.fixture
def gl_display():
    from PySide6.QtWidgets import QApplication

    if not os.environ.get("DISPLAY"):
        pytest.skip("no X display: install Xvfb (pytest-xvfb starts it) to run the window tests")
    app = QApplication.instance()
    if app is not None and app.platformName() != "xcb":
        pytest.skip(f"QApplication already runs on the {app.platformName()!r} platform, which has no GL for vispy")


@pytest.fixture
def window_parts(qtbot, tmp_path, gl_display, tiny_root):
    """The explorer window with generation installed, the tiny model open and shown."""
    from diffviews_app.app import create_window
    from diffviews_app.options import LaunchOptions
    from PySide6.QtCore import QSettings

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = create_window(LaunchOptions(data_dir=tiny_root), settings)
    parts = window.generation
    window.resize(1300, 850)
    window.show()
    qtbot.waitExposed(window)
    with qtbot.waitSignal(window.state.model_changed, timeout=20000):
        window.open_folder(tiny_root)
    yield parts
    window.pool.shutdown(10000)
    window.close()
