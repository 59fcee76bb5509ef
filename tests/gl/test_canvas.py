"""The vispy canvas on a real GL context: buffers, rings, picking by mouse, lasso, cameras, level of detail, pixels."""

from __future__ import annotations

import json

import numpy as np
import pytest
from diffviews_app.targets import NOTHING, Target
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

pytestmark = pytest.mark.gl

RED = np.float32([0.9, 0.1, 0.1, 1.0])
BLUE = np.float32([0.1, 0.2, 0.9, 1.0])


def grid_points(n_side: int = 10, dims: int = 2) -> np.ndarray:
    """Well-separated points so every pick has one right answer."""
    g = np.stack(np.meshgrid(np.arange(n_side), np.arange(n_side)), -1).reshape(-1, 2).astype(np.float32)
    if dims == 3:
        g = np.c_[g, (g[:, 0] * 7 + g[:, 1] * 3) % 5 - 2.0]
    return g


def blue_with_red(n: int, red_rows) -> np.ndarray:
    rgba = np.tile(BLUE, (n, 1))
    rgba[list(red_rows)] = RED
    return rgba


def screen_of(canvas, row: int) -> QPoint:
    x, y = canvas.data_to_screen(canvas._coords[row])[0]
    return QPoint(round(float(x)), round(float(y)))


def separated_rows(canvas, min_px: float = 6.0) -> list[int]:
    """Rows whose projected position has no other point within ``min_px`` (unambiguous in 3D)."""
    s = canvas.data_to_screen(canvas._coords)
    d = np.linalg.norm(s[:, None] - s[None], axis=-1) + np.eye(len(s)) * 1e9
    return [int(r) for r in np.flatnonzero(d.min(axis=1) > min_px)]


def count_uploads(monkeypatch, buffer) -> list[int]:
    calls: list[int] = []
    original = buffer.set_data
    monkeypatch.setattr(buffer, "set_data", lambda data, *a, **k: (calls.append(len(data)), original(data, *a, **k)))
    return calls


def test_set_points_and_colors_fill_the_node(canvas):
    pts = grid_points()
    canvas.set_points(pts)
    canvas.set_colors(blue_with_red(len(pts), [3]))
    layer = canvas._points
    assert canvas.point_count == layer.count == 100
    np.testing.assert_array_equal(layer._pos[:, :2], pts)
    assert np.all(layer._pos[:, 2] == 0)
    with pytest.raises(ValueError, match=r"\(100, 4\)"):
        canvas.set_colors(np.ones((99, 4), np.float32))
    with pytest.raises(ValueError, match=r"\(N, 2\) or \(N, 3\)"):
        canvas.set_points(np.ones((5, 4), np.float32))


def test_rings_and_colours_never_reupload_positions(canvas, monkeypatch):
    pts = grid_points()
    canvas.set_points(pts)
    pos_uploads = count_uploads(monkeypatch, canvas._points._pos_vbo)
    col_uploads = count_uploads(monkeypatch, canvas._points._col_vbo)
    canvas.set_hover(4)
    canvas.set_selection(5)
    canvas.set_neighbours([6, 7, 8])
    canvas.set_highlight(np.arange(20, 30))
    canvas.add_overlay_points("gen", pts[:2] + 0.5, (1, 0.5, 0, 1))
    assert pos_uploads == [] and col_uploads == []
    canvas.set_colors(blue_with_red(100, [1]))
    assert pos_uploads == [] and col_uploads == [100]
    np.testing.assert_array_equal(canvas.ring_rows("neighbours"), [6, 7, 8])
    ring = canvas._rings["neighbours"].visual
    assert ring.visible
    np.testing.assert_array_equal(ring.positions[:, :2], pts[[6, 7, 8]])
    canvas.set_neighbours([])
    canvas.set_selection(None)
    assert not ring.visible and not canvas._rings["selection"].visual.visible


def test_render_shows_points_rings_and_overlays(canvas):
    pts = grid_points()
    canvas.set_points(pts)
    canvas.set_colors(blue_with_red(100, [55]))
    canvas.set_selection(11)
    canvas.add_overlay_points("gen", np.array([[4.5, 4.5]], np.float32), (1.0, 0.6, 0.0, 1.0), symbol="disc", size=14)
    img = canvas.render_image()
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 4
    scale = img.shape[1] / canvas.native.width()

    def pixel(xy):
        return img[int(round(xy[1] * scale)), int(round(xy[0] * scale)), :3].astype(int)

    red_px, blue_px = pixel(canvas.data_to_screen(pts[55])[0]), pixel(canvas.data_to_screen(pts[12])[0])
    assert red_px[0] > 180 and red_px[2] < 80, red_px
    assert blue_px[2] > 180 and blue_px[0] < 80, blue_px
    assert np.all(pixel(canvas.data_to_screen([4.5, 0.5])[0]) > 240)  # background between points is white
    assert pixel(canvas.data_to_screen([4.5, 4.5])[0]).tolist() == pytest.approx([255, 153, 0], abs=30)
    # The selection ring: red pixels on an annulus around row 11, none at its blue centre.
    cx, cy = canvas.data_to_screen(pts[11])[0] * scale
    yy, xx = np.mgrid[: img.shape[0], : img.shape[1]]
    r = np.hypot(xx - cx, yy - cy)
    annulus = img[(r > 6 * scale) & (r < 11 * scale), :3].astype(int)
    assert np.sum((annulus[:, 0] > 180) & (annulus[:, 2] < 90)) > 20


def test_hover_and_click_by_mouse_2d(canvas, qtbot):
    canvas.set_points(grid_points())
    with qtbot.waitSignal(canvas.hovered, timeout=2000) as hover:
        QTest.mouseMove(canvas.native, screen_of(canvas, 37))
    assert hover.args == [Target.sample(37)]
    with qtbot.waitSignal(canvas.clicked, timeout=2000) as click:
        QTest.mouseClick(
            canvas.native, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ControlModifier, screen_of(canvas, 42)
        )
    assert click.args[0] == Target.sample(42)
    assert Qt.KeyboardModifier(click.args[1]) & Qt.KeyboardModifier.ControlModifier
    empty = canvas.data_to_screen([4.5, 4.5])[0]
    with qtbot.waitSignal(canvas.clicked, timeout=2000) as click:
        QTest.mouseClick(canvas.native, Qt.MouseButton.LeftButton, pos=QPoint(round(empty[0]), round(empty[1])))
    assert click.args[0] == NOTHING


def test_hovering_the_same_row_of_new_points_is_reported_again(canvas, qtbot):
    """Row 37 of another model (or mode) is another sample: the window must hear of it even though the row and the
    place under the mouse did not change (found as a flaky window test after a model switch)."""
    canvas.set_points(grid_points())
    with qtbot.waitSignal(canvas.hovered, timeout=2000):
        QTest.mouseMove(canvas.native, screen_of(canvas, 37))
    canvas.set_points(grid_points() + 0.01)  # the same layout, new samples
    with qtbot.waitSignal(canvas.hovered, timeout=2000) as hover:
        QTest.mouseMove(canvas.native, screen_of(canvas, 37))
    assert hover.args == [Target.sample(37)]


def test_pick_in_3d_matches_projection_and_survives_orbit(canvas, qtbot):
    pts = grid_points(dims=3)
    canvas.set_mode("3d")
    canvas.set_points(pts)
    assert canvas.index_ready  # small clouds index synchronously
    rows = separated_rows(canvas)
    assert len(rows) > 50
    for row in rows[::7]:
        p = screen_of(canvas, row)
        assert canvas.pick(p.x(), p.y()) == row
    with qtbot.waitSignal(canvas.clicked, timeout=2000) as click:
        QTest.mouseClick(canvas.native, Qt.MouseButton.LeftButton, pos=screen_of(canvas, rows[3]))
    assert click.args[0] == Target.sample(rows[3])
    # Orbit: until the camera rests the stale index is bypassed, and afterwards it is rebuilt for the new pose.
    with qtbot.waitSignal(canvas.camera_changed, timeout=2000):
        canvas._cameras["3d"].azimuth += 40
        assert not canvas.index_ready
        rows = separated_rows(canvas)
        p = screen_of(canvas, rows[0])
        assert canvas.pick(p.x(), p.y()) == rows[0]
    assert canvas.index_ready
    p = screen_of(canvas, rows[-1])
    assert canvas.pick(p.x(), p.y()) == rows[-1]


def test_camera_kept_across_actions_and_modes(canvas):
    pts2, pts3 = grid_points(), grid_points(dims=3)
    canvas.set_points(pts2)
    cam2 = canvas._cameras["2d"]
    cam2.zoom(0.5, center=(2.0, 3.0))
    canvas._view.camera.pan((1.0, -0.5))
    before = canvas.camera_state()
    canvas.set_colors(blue_with_red(100, [0]))
    canvas.set_selection(3)
    canvas.set_neighbours([4, 5])
    canvas.set_highlight(np.arange(10))
    canvas.set_hover(9)
    canvas.set_points(pts2 * 1.01)  # new coordinates of the same dataset: the camera stays
    assert canvas.camera_state() == before
    canvas.set_mode("3d")
    canvas.set_points(pts3)
    canvas._cameras["3d"].elevation = 12.0
    three = canvas.camera_state()["3d"]
    canvas.set_mode("2d")
    canvas.set_points(pts2 * 1.01)
    assert canvas.camera_state()["2d"] == before["2d"]
    assert canvas.camera_state()["3d"] == three
    np.testing.assert_array_equal(canvas.ring_rows("neighbours"), [4, 5])  # rings follow rows across modes
    assert canvas._rings["neighbours"].visual.visible


def test_camera_state_is_json_and_restores(canvas):
    canvas.set_points(grid_points())
    canvas._cameras["2d"].zoom(0.25)
    canvas._cameras["3d"].azimuth = 75.0
    state = json.loads(json.dumps(canvas.camera_state()))
    canvas.reset_view()
    canvas._cameras["3d"].azimuth = 0.0
    assert canvas.camera_state() != state
    canvas.set_camera_state(state)
    restored = canvas.camera_state()
    np.testing.assert_allclose(restored["2d"]["rect"], state["2d"]["rect"], rtol=1e-6)
    assert restored["3d"]["azimuth"] == 75.0


def test_shift_drag_lasso_selects_without_moving_camera(canvas, qtbot):
    pts = grid_points()
    canvas.set_points(pts)
    before = canvas.camera_state()
    corners = [canvas.data_to_screen(c)[0] for c in ([1.5, 1.5], [4.5, 1.5], [4.5, 3.5], [1.5, 3.5])]
    qp = [QPoint(round(float(x)), round(float(y))) for x, y in corners]
    with qtbot.waitSignal(canvas.lasso_selected, timeout=2000) as lasso:
        QTest.mousePress(canvas.native, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, qp[0])
        for p in qp[1:]:
            QTest.mouseMove(canvas.native, p)
        assert canvas.lasso_visible
        QTest.mouseRelease(canvas.native, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, qp[0])
    x, y = pts[:, 0], pts[:, 1]
    expected = np.flatnonzero((x > 1.5) & (x < 4.5) & (y > 1.5) & (y < 3.5))
    np.testing.assert_array_equal(np.sort(lasso.args[0]), expected)
    assert canvas.camera_state() == before
    assert not canvas.lasso_visible


def test_lasso_in_3d_uses_screen_positions(canvas):
    canvas.set_mode("3d")
    canvas.set_points(grid_points(dims=3))
    s = canvas.data_to_screen(canvas._coords)
    cx, cy = s.mean(axis=0)
    box = np.array([[cx - 60, cy - 40], [cx + 60, cy - 40], [cx + 60, cy + 40], [cx - 60, cy + 40]])
    expected = np.flatnonzero((np.abs(s[:, 0] - cx) < 60) & (np.abs(s[:, 1] - cy) < 40))
    assert len(expected) > 3
    np.testing.assert_array_equal(canvas.rows_in_polygon(box), expected)


def test_level_of_detail_while_moving(qtbot, make_canvas):
    c = make_canvas((400, 300), lod_points=500)
    rng = np.random.default_rng(0)
    c.set_points(rng.uniform(0, 1, size=(5000, 2)).astype(np.float32))
    c.set_colors(np.tile(BLUE, (5000, 1)))
    full = c.render_image()
    with qtbot.waitSignal(c.camera_changed, timeout=2000):
        c._cameras["2d"].zoom(0.99)
        assert c._points.lod_active and len(c._points.lod_rows) == 500
        moving = np.asarray(c.scene_canvas.render())  # what a frame during the drag shows
    assert not c._points.lod_active
    inked = lambda img: int(np.sum(img[..., 2].astype(int) - img[..., 0] > 100))  # noqa: E731
    assert inked(moving) < 0.5 * inked(full)


def test_big_cloud_index_is_built_off_the_ui_thread(canvas, qtbot):
    rng = np.random.default_rng(5)
    pts = rng.normal(size=(120_000, 2)).astype(np.float32)
    canvas.set_points(pts)
    assert not canvas.index_ready  # handed to the worker
    p = canvas.data_to_screen(pts[123])[0]
    brute = canvas.pick(*p)  # meanwhile picking falls back to brute force
    qtbot.waitUntil(lambda: canvas.index_ready, timeout=5000)
    assert canvas.pick(*p) == brute
    # the picked point is the one nearest the cursor on screen (point 123 itself, or one drawn on the same spot)
    px = np.linalg.norm(canvas.data_to_screen(pts) - p, axis=1)
    assert px[brute] == pytest.approx(px.min(), abs=1e-3) and px[brute] < 0.5


def test_overlays_add_and_remove(canvas):
    canvas.set_points(grid_points())
    canvas.add_overlay_points("gen", np.array([[1.5, 1.5, 9.0]], np.float32), (0, 0, 0, 1))
    assert canvas.overlay_names() == ["gen"]
    assert canvas._overlays["gen"].visual._data["a_position"][0, 2] == 0  # drawn flat in 2D
    visual = canvas._overlays["gen"].visual
    canvas.remove_overlay("gen")
    assert canvas.overlay_names() == [] and not visual.visible
    with pytest.raises(ValueError, match="overlay coordinates"):
        canvas.add_overlay_points("bad", np.ones((3, 5)), (0, 0, 0, 1))
    # the next overlay draws with the removed one's visual (its shaders are built): same pixels as a new one
    canvas.add_overlay_points("again", np.array([[4.5, 4.5]], np.float32), (1.0, 0.6, 0.0, 1.0), symbol="disc", size=14)
    again = canvas._overlays["again"].visual
    assert again is visual and again.visible and canvas.overlay_names() == ["again"]
    reused = canvas.render_image()
    canvas._spare_overlays.clear()
    canvas.remove_overlay("again")
    canvas._spare_overlays.clear()
    canvas.add_overlay_points("again", np.array([[4.5, 4.5]], np.float32), (1.0, 0.6, 0.0, 1.0), symbol="disc", size=14)
    assert canvas._overlays["again"].visual is not visual
    np.testing.assert_array_equal(canvas.render_image(), reused)


class FakeLayer:
    """A pickable layer claiming the area around one data point (as a trajectory step would)."""

    pick_order = 40

    def __init__(self, canvas, where) -> None:
        self.canvas, self.where = canvas, np.asarray(where, np.float32)

    def pick(self, x, y):
        sx, sy = self.canvas.data_to_screen(self.where)[0]
        return Target.trajectory_step(7, 3) if np.hypot(sx - x, sy - y) <= 8 else None


def test_one_input_path_reports_the_topmost_target(canvas, qtbot):
    """Layers are asked in z-order: a layer over a point wins its hover and click, a pickable overlay wins over the
    cloud, and elsewhere the sample under the mouse is reported; one hover per change, one click per click."""
    pts = grid_points()
    canvas.set_points(pts)
    layer = FakeLayer(canvas, pts[37])
    canvas.add_layer(layer)
    star = Target.trajectory_step(9, 4, generated=True)
    canvas.add_overlay_points("gen", pts[[55]], (1, 0.5, 0, 1), size=14, targets=[star])
    hovers, clicks = [], []
    canvas.hovered.connect(hovers.append)
    canvas.clicked.connect(lambda target, _mods: clicks.append(target))

    empty = canvas.data_to_screen([4.5, 4.5])[0]
    QTest.mouseMove(canvas.native, QPoint(round(empty[0]), round(empty[1])))  # Qt drops a move to where it already is
    for row, expected in ((37, Target.trajectory_step(7, 3)), (55, star), (12, Target.sample(12))):
        QTest.mouseMove(canvas.native, screen_of(canvas, row))
        qtbot.waitUntil(lambda expected=expected: bool(hovers) and hovers[-1] == expected, timeout=2000)
        QTest.mouseClick(canvas.native, Qt.MouseButton.LeftButton, pos=screen_of(canvas, row))
        assert clicks[-1] == expected
    assert hovers == [Target.trajectory_step(7, 3), star, Target.sample(12)] and len(clicks) == 3
    canvas.remove_layer(layer)
    assert canvas.pick_target(*canvas.data_to_screen(pts[37])[0]) == Target.sample(37)
    with pytest.raises(ValueError, match="1 targets for 2 overlay points"):
        canvas.add_overlay_points("bad", pts[:2], (0, 0, 0, 1), targets=[star])


def test_a_trajectory_before_its_first_step_draws_nothing_in_either_mode(canvas):
    """A generation's trajectory exists before its first step arrives; redrawing it (a mode switch) must not fail
    (found by benchmarks/soak_gui.py: "cannot reshape array of size 0")."""
    from diffviews_app.canvas.trajectory_layer import TrajectoryLayer

    layer = TrajectoryLayer(canvas)
    canvas.set_points(np.random.default_rng(0).normal(size=(20, 3)).astype(np.float32))
    layer.set_trajectory(1, np.empty((0, 2)), None, [], (1.0, 0.0, 0.0), False)
    layer.set_current(1)
    for mode in ("3d", "2d"):
        canvas.set_mode(mode)
        layer.flush()
        assert layer.drawn_positions(1).shape == (0, 3)


def test_the_trajectory_layer_asks_for_a_frame_only_when_what_it_shows_changes(canvas, monkeypatch):
    """With no trajectory shown, a flush (a new map, another current trajectory, a mode) changes nothing on screen
    and asks for no frame: it drew a second frame after every new map. Showing or hiding one still asks."""
    from diffviews_app.canvas.trajectory_layer import TrajectoryLayer

    layer = TrajectoryLayer(canvas)
    canvas.set_points(grid_points())
    layer._group(True), layer._group(False)  # made, as after the warm-up, with nothing shown
    asked = []
    monkeypatch.setattr(canvas, "request_draw", lambda: asked.append(1))
    layer.set_current(-1)
    layer._mode_changed("2d")
    layer.flush()
    assert asked == []
    layer.set_trajectory(1, grid_points()[:3], None, [80.0, 1.0, 0.002], (1.0, 0.0, 0.0), True)
    layer.set_current(1)
    layer.flush()
    assert asked == [1]
    layer.remove(1)
    layer.flush()
    assert asked == [1, 1]
    layer.flush()
    layer.set_current(-1)
    layer.flush()
    assert asked == [1, 1]


def test_rings_move_and_resize_within_their_buffer(canvas):
    """A ring shown at other rows, or at a few more or fewer, is one upload of their positions into its buffer: what
    it holds is exactly the rows shown, and the frame is the one a freshly made ring draws."""
    pts = grid_points()
    canvas.set_points(pts)
    canvas.set_colors(blue_with_red(100, []))
    rings = canvas._rings["neighbours"]
    canvas.set_neighbours([1, 2, 3, 4, 5])
    ring, vbo = rings.visual, rings.visual._vbo
    for rows in ([6, 7, 8], [9], [10, 11, 12, 13, 14, 15]):
        canvas.set_neighbours(rows)
        np.testing.assert_array_equal(ring.positions[:, :2], pts[rows])
    assert ring._vbo is vbo
    moved = canvas.render_image()
    canvas.set_neighbours([])
    assert not np.array_equal(canvas.render_image(), moved)  # the rings are in the frame
    ring.parent, rings._visual = None, None  # the next ring is made afresh
    canvas.set_neighbours([10, 11, 12, 13, 14, 15])
    assert rings.visual is not ring
    np.testing.assert_array_equal(canvas.render_image(), moved)


def test_a_ring_shades_only_its_halo_square_once(canvas):
    """Each ring is one GL point just large enough for its halo and a pixel of fade (vispy's markers drew a halo
    and a ring, each on a square of size + 4 * (edge + 1.5) px): rings are drawn on every frame, and on software
    GL their fragments are shaded on the UI thread."""
    canvas.set_points(grid_points())
    canvas.set_selection_rows(list(range(40)), is_set=True)
    ring = canvas._rings["set"]
    canvas.render_image()
    side = canvas._points.size + ring.extra_size + ring.width + 4.0  # ring, 1 px of halo and 1 of fade each side
    assert np.ravel(ring.visual.view_program["u_extent"])[0] == pytest.approx(side * canvas._canvas.pixel_scale)
    assert len(ring.visual.positions) == 40


def test_every_ring_style_and_trajectory_group_is_drawn_once_invisibly_after_the_first_full_frame(canvas, qtbot):
    """vispy builds a visual's shaders when it is first drawn (~50-90 ms each on software GL): each ring style and
    trajectory group is drawn once, with nothing to see, after the first full frame, so a first click, hover, KNN
    or generation costs what later ones do. What is in use meanwhile stays as it is."""
    from collections import Counter

    import vispy.visuals.shaders.program as shader_program
    import vispy.visuals.text.text as vispy_text
    from diffviews_app.canvas import trajectory_layer
    from diffviews_app.canvas.trajectory_layer import LABEL_INK, TrajectoryLayer

    layer = TrajectoryLayer(canvas)
    canvas.set_points(grid_points())
    canvas.set_colors(blue_with_red(100, []))
    canvas.set_selection(11)
    before = None
    turns, loads = [0], []  # glyphs are rendered one per event-loop turn (10-60 ms each), never in a frame
    frames, builds = [0], []  # and at most one visual's program is built per frame (50-90 ms each on llvmpipe)
    canvas._canvas.events.draw.connect(lambda _e: frames.__setitem__(0, frames[0] + 1), position="first")
    next_turn, load_char = canvas._warm_up_next, vispy_text.TextureFont._load_char
    build = shader_program.ModularProgram._build
    made = []  # the trajectory groups (three visuals each) are made in warm-up turns of their own
    make_group = trajectory_layer._TrajectoryGroup.__init__
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(canvas, "_warm_up_next", lambda: (turns.__setitem__(0, turns[0] + 1), next_turn()))
        mp.setattr(trajectory_layer._TrajectoryGroup, "__init__",
                   lambda group, *a, **k: (made.append(turns[0]), make_group(group, *a, **k))[1])  # fmt: skip
        canvas._warm_timer.timeout.disconnect()
        canvas._warm_timer.timeout.connect(canvas._warm_up_next)
        mp.setattr(
            vispy_text.TextureFont, "_load_char", lambda font, char: (loads.append(turns[0]), load_char(font, char))
        )
        mp.setattr(shader_program.ModularProgram, "_build", lambda prog: (builds.append(frames[0]), build(prog)))
        with qtbot.waitSignal(canvas.warmed_up, timeout=20000):
            before = canvas.render_image()  # what the frames show: the points and the selection ring
            canvas.request_draw()
    assert canvas.is_warm
    assert len(loads) >= 20 and len(set(loads)) == len(loads) and 0 not in loads
    assert len(set(made)) == 2 and 0 not in made and not set(made) & set(loads)
    per_frame = Counter(f for f in builds if f > 0)  # frame 0: the offscreen render above and the first frame
    assert max(per_frame.values()) <= 1  # a ring style's one visual
    assert len(set(builds[-5:])) == 5  # the trajectory groups' line, markers and labels: a frame each
    for name, ring in canvas._rings.items():
        assert not ring.visual._program._need_build, name
        assert ring.visual.visible == (name == "selection"), name
    for group in (layer._groups[True], layer._groups[False]):
        assert not group.line._subvisuals[0]._program._need_build and not group.markers._program._need_build
        assert not any(v.visible for v in group.visuals())
    bold = layer._groups[True]
    assert not bold.labels._program._need_build and bold.labels.color.alpha == 1.0
    glyphs = set(bold.labels._font._glyphs)  # each new glyph is rendered on the UI thread (10-20 ms) when first shown
    for sigma in (80.0, 14.5, 0.002, 3.9e-05, 2.6e-11, 7.0e12):
        assert set(f" σ={sigma:.3g}") <= glyphs, sigma
    assert bold.warm_up(canvas._pos[0])  # a dark background chosen during a warm-up is the labels' colour after it
    layer._background_changed(True)
    assert bold.labels.color.alpha == 0.0
    bold.end_warm_up()
    assert bold.labels.color.rgba[0].tolist() == pytest.approx(LABEL_INK[True])
    layer._background_changed(False)
    np.testing.assert_array_equal(canvas.render_image(), before)
    canvas.set_neighbours([3, 4])
    np.testing.assert_array_equal(canvas._rings["neighbours"].visual.positions[:, :2], grid_points()[[3, 4]])


def test_a_generations_first_overlays_reuse_markers_warmed_up_after_the_first_full_frame(canvas, qtbot, monkeypatch):
    """The images of a generation and the selected ones (two overlays) are drawn with markers made and drawn once,
    invisibly, during the warm-up: the frame that first shows them builds no GL program."""
    import vispy.visuals.shaders.program as shader_program

    canvas.set_points(grid_points())
    canvas.set_colors(blue_with_red(100, []))
    with qtbot.waitSignal(canvas.warmed_up, timeout=20000):
        canvas.request_draw()
    spares = list(canvas._spare_overlays)
    assert len(spares) == 2 and not any(m._program._need_build or m.visible for m in spares)
    builds = []
    build = shader_program.ModularProgram._build
    monkeypatch.setattr(shader_program.ModularProgram, "_build", lambda prog: (builds.append(prog), build(prog)))
    canvas.add_overlay_points("gen", grid_points()[:3] + 0.5, (1.0, 0.6, 0.0, 1.0), symbol="star")
    canvas.add_overlay_points("selected", grid_points()[:1] + 0.5, (0.9, 0.1, 0.1, 1.0), symbol="ring")
    assert {canvas._overlays[name].visual for name in ("gen", "selected")} == set(spares)
    canvas.render_image()
    assert builds == []


def test_the_glyph_warm_up_waits_for_its_renderer_imported_on_a_thread(canvas, qtbot, monkeypatch):
    """freetype-py, vispy's glyph renderer, is imported at the first glyph rendered (~90 ms: a stall at rest). The
    warm-up imports it on a thread and renders no glyph until it is there, the canvas asking again a little later."""
    import vispy.visuals.text.text as vispy_text
    from diffviews_app.canvas import trajectory_layer as module

    started, ready, asked, loads = [], [False], [], []
    monkeypatch.setattr(module, "import_in_background", lambda *names: started.extend(names))
    monkeypatch.setattr(module, "settled", lambda name: asked.append(name) or ready[0])
    load_char = vispy_text.TextureFont._load_char
    monkeypatch.setattr(vispy_text.TextureFont, "_load_char", lambda font, c: (loads.append(c), load_char(font, c)))
    module.TrajectoryLayer(canvas)
    canvas.set_points(grid_points())
    canvas.set_colors(blue_with_red(100, []))
    canvas.request_draw()
    qtbot.waitUntil(lambda: len(asked) >= 3, timeout=5000)  # asked again and again, a turn or more apart
    assert set(started) == set(asked) == {module.GLYPH_MODULE} and loads == [] and not canvas.is_warm
    ready[0] = True
    with qtbot.waitSignal(canvas.warmed_up, timeout=20000):
        pass
    assert set(module.WARM_GLYPHS) <= set(loads)


def test_switching_modes_rebuilds_no_shader_program_and_3d_draws_where_vispys_camera_maps(canvas, qtbot):
    """Both cameras write one scene transform: a 2D <-> 3D switch changes a uniform, where replacing vispy's
    transform object rebuilt every visible visual's program (50-90 ms each on llvmpipe)."""
    import vispy.visuals.shaders.program as shader_program

    pts = grid_points(dims=3)
    canvas.set_points(pts)
    canvas.set_colors(blue_with_red(100, [55]))
    canvas.set_selection(11)
    canvas.set_hover(12)
    with qtbot.waitSignal(canvas.warmed_up, timeout=20000):
        canvas.request_draw()
    canvas.set_mode("3d")  # each visual's first 3D frame may build (depth test, positions); later ones may not
    canvas.render_image()
    canvas.set_mode("2d")
    canvas.render_image()
    builds: list[str] = []
    original = shader_program.ModularProgram._build
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(shader_program.ModularProgram, "_build", lambda self: (builds.append(repr(self)), original(self)))
        for mode in ("3d", "2d", "3d"):
            canvas.set_mode(mode)
            canvas.set_hover(13 if mode == "3d" else 12)
            img = canvas.render_image()
    assert builds == []
    cam = canvas._cameras["3d"]  # vispy's own chain for this pose maps the points where the shared matrix does
    own = cam._scene_transform.map(pts)
    shared = canvas._view.scene.transform.map(pts)
    np.testing.assert_allclose(own[:, :2] / own[:, 3:], shared[:, :2] / shared[:, 3:], rtol=1e-4, atol=1e-3)
    x, y = canvas.data_to_screen(pts[55])[0] * (img.shape[1] / canvas.native.width())
    red = img[int(round(y)), int(round(x)), :3].astype(int)
    assert red[0] > 180 and red[2] < 80, red


EXIT_SCRIPT = """
import sys
import numpy as np
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMainWindow
from diffviews_app.canvas import PointCloudCanvas
app = QApplication([])
case = sys.argv[1]
top = QMainWindow() if case.startswith("window") else None
c = PointCloudCanvas(top)
if top is not None:
    top.setCentralWidget(c.widget)
shown = top or c.widget
shown.resize(400, 300)
shown.show()
QTest.qWaitForWindowExposed(c.native)
c.set_points(np.random.default_rng(0).normal(size=(300, 2)).astype(np.float32))
QTest.qWait(50)
if case.endswith("closed"):
    (top or c).close()
print("END", flush=True)
"""


@pytest.mark.parametrize("case", ["bare", "bare-closed", "window", "window-closed"])
def test_a_process_with_a_map_exits_cleanly(case, tmp_path):
    """The map's native GL surface and its container are torn down in an order Qt survives, however the process
    ends: closed or not, in a window or on its own (a wrong order crashes in the application's destructor)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "QT_QPA_PLATFORM": "xcb"}
    proc = subprocess.run([sys.executable, "-c", EXIT_SCRIPT, case], env=env, capture_output=True, text=True,
                          timeout=120, cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0 and "END" in proc.stdout, proc.stdout + proc.stderr
