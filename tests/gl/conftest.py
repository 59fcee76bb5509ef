"""GL tests need a real OpenGL context: Qt's xcb platform on an X display (pytest-xvfb starts one).

The top-level conftest defaults Qt to the offscreen platform, which has no GL for vispy; this switches to xcb before
the session's QApplication exists, and skips with a reason where that cannot work.
"""

from __future__ import annotations

import os

import pytest


@pytest.hookimpl(trylast=True)  # after pytest-xvfb has started its display and set DISPLAY
def pytest_configure(config) -> None:
    if os.environ.get("DISPLAY"):
        os.environ["QT_QPA_PLATFORM"] = "xcb"
    # vispy 0.17's Qt backend still calls QMouseEvent.pos(); not ours to fix, and noise in every mouse test.
    config.addinivalue_line("filterwarnings", "ignore:Function.*QMouseEvent.pos:DeprecationWarning")


CANVAS_SIZE = (640, 480)


@pytest.fixture(autouse=True)
def _needs_gl_display():
    from PySide6.QtWidgets import QApplication

    if not os.environ.get("DISPLAY"):
        pytest.skip("no X display: install Xvfb (pytest-xvfb starts it) to run the vispy canvas tests")
    app = QApplication.instance()
    if app is not None and app.platformName() != "xcb":
        pytest.skip(f"QApplication already runs on the {app.platformName()!r} platform, which has no GL for vispy")


@pytest.fixture
def canvas(qtbot):
    """A shown PointCloudCanvas of a fixed size, closed (worker joined) at teardown."""
    from diffviews_app.canvas import PointCloudCanvas

    c = PointCloudCanvas()
    c.native.resize(*CANVAS_SIZE)
    c.native.show()
    qtbot.waitExposed(c.native)
    yield c
    c.close()
