"""Generation in the desktop app: a tiny model folder whose activations really come from the tiny EDM network (with a
checkpoint, 2D and 3D maps), and the explorer window with generation installed.

The window holds a vispy canvas, which needs real OpenGL: Qt's xcb platform on an X display (pytest-xvfb starts one),
as in tests/gl. Without a display the window tests skip; the state and dock tests run anyway.
"""

from __future__ import annotations

import pytest
from tiny_model import seed_like_spec, write_tiny_model


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory):
    """A data root holding the tiny model (built once per session: the network runs once)."""
    from diffviews_core.adapters.edm import EDMAdapter
    from diffviews_core.networks import TINY, build_edm

    net = build_edm(TINY).eval()
    seed_like_spec(net)
    root = tmp_path_factory.mktemp("data")
    write_tiny_model(root, net, EDMAdapter(net, device="cpu"))
    return root


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
