"""The big layer's full image drawn in slices between event-loop turns, and moving frames that reuse the last image:
the sliced image is the single pass's pixel for pixel, a camera move restarts it, and a pan moves the old image."""

from __future__ import annotations

import numpy as np
import pytest
from test_point_cache import screen_frame

pytestmark = pytest.mark.gl

N = 30_000
SLICE = 4_000


@pytest.fixture
def big(make_canvas, monkeypatch):
    """A 400x300 canvas of N overlapping translucent points, a 1,000-point subset and slices of SLICE rows."""
    from diffviews_app.canvas import cached_canvas

    monkeypatch.setattr(cached_canvas, "SLICE_S", 0.0)  # every slice is MIN_SLICE rows, whatever GL costs
    monkeypatch.setattr(cached_canvas, "MIN_SLICE", SLICE)
    monkeypatch.setattr(cached_canvas, "ONE_PASS_S", 0.0)  # sliced, however quick the whole image would be
    return make_canvas((400, 300), lod_points=1000)


def load(canvas, dims: int) -> None:
    rng = np.random.default_rng(3)
    canvas.set_mode("3d" if dims == 3 else "2d")
    canvas.set_points(rng.normal(size=(N, dims)).astype(np.float32))
    canvas.set_colors(np.c_[rng.uniform(0, 1, (N, 3)), rng.uniform(0.3, 1, N)].astype(np.float32))
    canvas._points.set_size(6.0)  # big dots: many overlap, so the drawing order shows in the pixels


def wait_full(qtbot, canvas) -> None:
    """Until a frame shows every point (the frame asked for by the last change has been painted first)."""
    screen_frame(canvas)
    qtbot.waitUntil(lambda: canvas.full_detail_drawn and not canvas.scene_canvas.rendering, timeout=20000)


def front_image(canvas) -> np.ndarray:
    """The cached full image (what the frames start from), H x W x 4."""
    sc = canvas.scene_canvas
    sc.set_current()
    sc.push_fbo(sc._front.fbo, (0, 0), sc.size)
    try:
        return np.asarray(sc._front.fbo.read()).copy()
    finally:
        sc.pop_fbo()


@pytest.mark.parametrize("dims", [2, 3])
def test_a_sliced_image_is_the_single_pass_image(big, qtbot, dims):
    load(big, dims)
    sc = big.scene_canvas
    wait_full(qtbot, big)
    slices, renders = sc.slice_renders, sc.cache_renders
    big._points.set_size(6.0)  # the same image again, drawn in slices
    wait_full(qtbot, big)
    assert sc.slice_renders - slices == -(-N // SLICE) and sc.cache_renders - renders == 1
    sliced = front_image(big)

    sc.progressive = False
    big._points.set_size(6.0)
    screen_frame(big)
    assert big.full_detail_drawn and sc.slice_renders - slices == -(-N // SLICE) + 1  # one pass: one slice
    single = front_image(big)
    assert np.array_equal(sliced, single)
    assert len(np.unique(single.reshape(-1, 4), axis=0)) > 100  # a real picture, not a blank one


def test_frames_between_slices_show_the_previous_image_and_handle_events(big, qtbot):
    load(big, 2)
    wait_full(qtbot, big)
    sc = big.scene_canvas
    before = screen_frame(big)
    big.set_colors(np.tile(np.float32([0.9, 0.1, 0.1, 1.0]), (N, 1)))
    shown = screen_frame(big)  # this frame starts the render; the slices follow, one per event-loop turn
    assert sc.rendering and not big.full_detail_drawn
    assert np.array_equal(shown, before)  # the previous image until the new one is complete
    wait_full(qtbot, big)
    after = screen_frame(big)
    assert (after[..., 0].astype(int) - after[..., 2] > 100).sum() > 1000  # now red


def test_a_camera_move_restarts_the_render(big, qtbot):
    load(big, 2)
    wait_full(qtbot, big)
    sc = big.scene_canvas
    cam = big._cameras["2d"]
    big._points.set_size(6.0)
    screen_frame(big)
    assert sc.rendering
    slices = sc.slice_renders
    cam.pan((0.3, 0.0))  # the level of detail is on until the camera rests: the render stops
    screen_frame(big)
    assert not sc.rendering and not big.full_detail_drawn
    qtbot.waitSignal(big.camera_changed, timeout=2000).wait()
    wait_full(qtbot, big)
    assert sc.slice_renders - slices == -(-N // SLICE)  # all of it again, for the camera where it came to rest
    assert sc._front.key == sc._key(big._points, sc._bgcolor, sc._node_matrix(big._points))


def test_a_2d_pan_moves_the_previous_image_and_fills_the_strip_with_the_subset(big, qtbot):
    load(big, 2)
    cam = big._cameras["2d"]
    cam.zoom(0.4)  # the cloud fills the canvas: the strip a pan uncovers has points
    wait_full(qtbot, big)
    sc = big.scene_canvas
    before = screen_frame(big)
    renders = sc.cache_renders
    shift = 40  # pixels to the right
    cam.pan((-shift / big._matrix()[0, 0], 0.0))  # matrix[0, 0]: pixels per data unit along x
    moved = screen_frame(big)
    assert sc.cache_renders == renders and not big.full_detail_drawn  # no points drawn into an image
    diff = np.abs(moved[:, shift + 2 : -2].astype(int) - before[:, 2 : -shift - 2]).max()
    assert diff <= 2  # the old image, moved with the camera
    strip = moved[:, :shift, :3].astype(int)
    assert (strip.min(axis=2) < 200).sum() > 20  # what it uncovered shows the subset, not a blank strip


def test_a_3d_orbit_draws_the_subset(big, qtbot, monkeypatch):
    load(big, 3)
    wait_full(qtbot, big)
    sc = big.scene_canvas
    layer = big._points
    drawn = []
    monkeypatch.setattr(layer, "draw_lod", lambda: drawn.append(len(layer.lod_rows)) or type(layer).draw_lod(layer))
    renders = sc.cache_renders
    cam = big._cameras["3d"]
    for _step in range(3):
        cam.azimuth = cam.azimuth + 5.0
        frame = screen_frame(big)
        assert (frame[..., :3].min(axis=2) < 200).sum() > 200  # the subset, not an empty frame
    assert drawn == [1000] * 3 and sc.cache_renders == renders and not big.full_detail_drawn


def test_closing_stops_a_render_under_way(big, qtbot):
    from PySide6.QtWidgets import QApplication

    load(big, 2)
    wait_full(qtbot, big)
    sc = big.scene_canvas
    big._points.set_size(6.0)
    screen_frame(big)
    assert sc.rendering
    slices = sc.slice_renders
    big.close()
    for _turn in range(5):
        QApplication.processEvents()
    assert not sc.rendering and sc.slice_renders == slices


def test_a_full_image_quicker_than_one_pass_s_is_drawn_in_its_frame(big, qtbot, monkeypatch):
    from diffviews_app.canvas import cached_canvas

    monkeypatch.setattr(cached_canvas, "ONE_PASS_S", 10.0)
    load(big, 2)
    wait_full(qtbot, big)
    sc = big.scene_canvas
    slices = sc.slice_renders
    big._points.set_size(6.0)
    screen_frame(big)
    assert big.full_detail_drawn and not sc.rendering and sc.slice_renders == slices + 1
