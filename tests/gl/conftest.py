"""GL tests need a real OpenGL context: Qt's xcb platform on an X display (pytest-xvfb starts one).

The top-level conftest switches Qt to xcb when a display exists; the ``gl_display`` fixture skips with a reason
where that cannot work.
"""

from __future__ import annotations

import pytest

CANVAS_SIZE = (640, 480)


@pytest.fixture(autouse=True)
def _needs_gl_display(gl_display):
    """Every test here draws with GL."""


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
