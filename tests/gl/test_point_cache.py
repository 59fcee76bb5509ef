"""The canvas's cached point image: drawn once per change, reused by hover/click/ring/lasso frames, and the frame on
screen identical to an offscreen render of the whole scene."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QImage
from test_canvas import BLUE, blue_with_red, grid_points

pytestmark = pytest.mark.gl


def screen_frame(canvas) -> np.ndarray:
    """The frame as the window shows it (a paint of the GL widget, through the cache), H x W x 4 uint8."""
    img = canvas.native.grabFramebuffer().convertToFormat(QImage.Format.Format_RGBA8888)
    h, w = img.height(), img.width()
    rows = np.frombuffer(img.constBits(), np.uint8).reshape(h, img.bytesPerLine())
    return rows[:, : w * 4].reshape(h, w, 4).copy()


def renders_after(canvas, change) -> int:
    """How many times the points were drawn for the screen by a frame after ``change``."""
    screen_frame(canvas)
    before = canvas.points_renders
    change()
    screen_frame(canvas)
    return canvas.points_renders - before


@pytest.fixture
def cloud(canvas):
    pts = grid_points()
    canvas.set_points(pts)
    canvas.set_colors(blue_with_red(len(pts), [55]))
    screen_frame(canvas)
    return canvas


def test_hover_click_rings_overlays_and_lasso_reuse_the_cached_points(cloud, monkeypatch):
    drawn = []
    layer = cloud._points
    original = type(layer)._prepare_draw
    monkeypatch.setattr(type(layer), "_prepare_draw",
                        lambda self, view: drawn.append(result := original(self, view)) or result)  # fmt: skip
    for change in (
        lambda: cloud.set_hover(4),
        lambda: cloud.set_selection(5),
        lambda: cloud.set_neighbours([6, 7, 8]),
        lambda: cloud.set_highlight(np.arange(20, 30)),
        lambda: cloud.add_overlay_points("gen", grid_points()[:2] + 0.5, (1, 0.5, 0, 1)),
        lambda: cloud.set_lasso_path(np.array([[10, 10], [200, 10], [200, 200]], np.float64)),
        lambda: cloud.set_lasso_path(None),
        cloud.request_draw,
    ):
        assert renders_after(cloud, change) == 0
    assert drawn and not any(drawn)  # every frame left the points out of the scene pass (the texture has them)


@pytest.mark.parametrize("change", ["pan", "resize", "background", "colours", "points", "size", "mode"])
def test_the_cached_points_are_drawn_again_after_what_changes_them(cloud, qtbot, change):
    def resize() -> None:  # the native surface takes its new size from the window system, after the widget's
        cloud.widget.resize(600, 420)
        qtbot.waitUntil(lambda: tuple(cloud.scene_canvas.physical_size) == (600, 420))

    actions = {
        "pan": lambda: cloud._cameras["2d"].pan((0.5, 0.0)),
        "resize": resize,
        "background": lambda: cloud.set_background("#202020"),
        "colours": lambda: cloud.set_colors(np.tile(BLUE, (100, 1))),
        "points": lambda: cloud.set_points(grid_points() * 1.01),
        "size": lambda: cloud._points.set_size(9.0),
        "mode": lambda: cloud.set_mode("3d"),
    }  # fmt: skip
    assert renders_after(cloud, actions[change]) == 1


@pytest.mark.parametrize("background", ["white", "#1e1e1e"])
@pytest.mark.parametrize("mode", ["2d", "3d"])
def test_the_screen_frame_matches_an_offscreen_render(canvas, background, mode):
    pts = grid_points(dims=3)
    canvas.set_background(background)
    canvas.set_mode(mode)
    canvas.set_points(pts)
    canvas.set_colors(blue_with_red(len(pts), [55, 12]))
    canvas.set_selection(11)
    canvas.set_neighbours([21, 22])
    canvas.set_hover(30)
    canvas.add_overlay_points("gen", pts[:1] + 0.5, (1.0, 0.6, 0.0, 1.0), symbol="disc", size=14)
    canvas.set_lasso_path(np.array([[40, 40], [300, 60], [200, 250]], np.float64))
    screen = screen_frame(canvas)[..., :3].astype(int)
    offscreen = np.asarray(canvas.render_image())[..., :3].astype(int)
    assert screen.shape == offscreen.shape
    assert np.abs(screen - offscreen).max() <= 2  # the same pixels: points under rings, background, overlays
    assert (screen.std(axis=(0, 1)) > 5).all()  # and not a blank frame


def test_full_detail_only_once_the_camera_rests(qtbot, make_canvas):
    c = make_canvas((400, 300), lod_points=500)
    c.set_points(np.random.default_rng(0).uniform(0, 1, size=(5000, 2)).astype(np.float32))
    c._cameras["2d"].zoom(0.99)
    screen_frame(c)
    assert c._points.lod_active and not c.full_detail_drawn
    qtbot.waitSignal(c.camera_changed, timeout=2000).wait()
    screen_frame(c)
    assert c.full_detail_drawn


def send_mouse(widget, kind: str, xy, held: bool) -> None:
    from PySide6.QtCore import QEvent, QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    kinds = {"press": QEvent.Type.MouseButtonPress, "move": QEvent.Type.MouseMove,
             "release": QEvent.Type.MouseButtonRelease}  # fmt: skip
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    local = QPointF(*map(float, xy))
    event = QMouseEvent(kinds[kind], local, widget.mapToGlobal(local), none if kind == "move" else left,
                        left if held else none, Qt.KeyboardModifier.NoModifier)  # fmt: skip
    QApplication.sendEvent(widget, event)


def send_wheel(widget, xy, steps: int) -> None:
    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    local = QPointF(*map(float, xy))
    event = QWheelEvent(local, widget.mapToGlobal(local), QPoint(), QPoint(0, 120 * steps), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)  # fmt: skip
    QApplication.sendEvent(widget, event)


@pytest.mark.parametrize("mode", ["2d", "3d"])
def test_drags_and_the_wheel_move_the_camera_without_a_picking_render(canvas, monkeypatch, mode):
    canvas.set_mode(mode)
    canvas.set_points(grid_points(dims=3))
    renders = []
    monkeypatch.setattr(canvas.scene_canvas, "render", lambda *a, **k: renders.append(a))  # what vispy picks with
    w, h = canvas.native.width(), canvas.native.height()
    before = canvas.camera_state()[mode]
    send_mouse(canvas.native, "press", (w / 2, h / 2), held=True)
    for step in range(1, 6):
        send_mouse(canvas.native, "move", (w / 2 + 10 * step, h / 2 + 6 * step), held=True)
    send_mouse(canvas.native, "release", (w / 2 + 50, h / 2 + 30), held=False)
    dragged = canvas.camera_state()[mode]
    assert dragged != before  # panned (2D) or orbited (3D)
    send_wheel(canvas.native, (w / 2, h / 2), 2)
    assert canvas.camera_state()[mode] != dragged  # zoomed
    assert renders == []
