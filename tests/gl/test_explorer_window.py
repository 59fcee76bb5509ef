"""The explorer window driven like a user: real mouse events on the real canvas, assertions on state and docks."""

from __future__ import annotations

import numpy as np
import pytest
from data_fixtures import CLASS_NAMES, expected_activations
from diffviews_app.app import create_window
from diffviews_app.options import LaunchOptions
from PySide6.QtCore import QMimeData, QPoint, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtTest import QTest
from window_helpers import isolated_rows, screen_pos, wait_drawn

pytestmark = [pytest.mark.gui, pytest.mark.gl]

CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier
LEFT = Qt.MouseButton.LeftButton


def hover(qtbot, window, row: int) -> None:
    QTest.mouseMove(window.canvas.native, screen_pos(window, row))
    qtbot.waitUntil(lambda: window.state.hovered == row, timeout=3000)


def click(qtbot, window, row: int, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    """Click a row's point; returns once the canvas has reported the click (the state follows synchronously)."""
    with qtbot.waitSignal(window.canvas.clicked, timeout=3000):
        QTest.mouseClick(window.canvas.native, LEFT, modifiers, screen_pos(window, row))


def test_opens_the_data_and_reports_the_broken_model(make_window, fixture_root):
    w = make_window(fixture_root)
    s = w.state
    assert list(s.root.models) == ["dmd2", "edm"]
    assert s.model_name == "dmd2" and s.num_points == 60
    assert w.canvas.point_count == 60
    assert w.banner.isVisible() and w.banner.level == "warning"
    banner = w.banner.text.text()
    assert "broken" in banner and "batch_000000.npy" in banner and "truncated" in banner
    assert [w.view_dock.model_combo.itemText(i) for i in range(w.view_dock.model_combo.count())] == ["dmd2", "edm"]
    legend = w.classes_dock.class_rows()
    counts = np.bincount(s.model.samples.class_label, minlength=4)
    assert sorted(legend) == [c for c in range(4) if counts[c]]
    assert legend[1].text(0) == "1: goldfish, Carassius auratus" and legend[1].text(1) == str(counts[1])
    assert "60 samples (dmd2)" in w.view_dock.summary.text()


def test_the_classes_legend_is_made_when_its_dock_is_first_seen(qtbot, make_window):
    """A thousand classes are ~45 ms of legend widgets: behind another tab (Qt's ``isVisible`` is True there) or
    closed, they wait to be seen. The dock's title and status are there at once; a search typed meanwhile filters the
    rows when they are made."""
    from diffviews_app.options import demo_data_dir

    w = make_window(demo_data_dir())
    dock = w.classes_dock
    assert w.tabifiedDockWidgets(dock) == [w.view_dock]  # the default layout
    w.view_dock.raise_()  # Classes behind Model & view's tab
    qtbot.waitUntil(lambda: not w.view_dock.visibleRegion().isEmpty())
    w.state.set_color_by("label_mode")  # another legend while not seen
    assert dock.isVisible() and dock.legend.topLevelItemCount() == 0
    values = sorted(set(map(str, w.state.model.samples.columns["label_mode"])))
    assert dock.windowTitle() == "Legend: label_mode"
    assert dock.status.text() == f"Colour: label_mode, {len(values)} values, {w.state.num_points} samples"
    dock.search.setText(values[0])
    dock.raise_()  # its tab brought to the front
    qtbot.waitUntil(lambda: dock.legend.topLevelItemCount() == len(values), timeout=3000)
    shown = [item.text(0) for item in dock.items() if not item.isHidden()]
    assert shown == [v for v in values if values[0] in v]
    dock.hide()  # closed
    w.state.set_color_by("class")
    assert dock.legend.topLevelItemCount() == 0
    dock.show()
    qtbot.waitUntil(lambda: dock.legend.topLevelItemCount() == 10, timeout=3000)


def test_a_seen_legend_makes_its_first_rows_at_once_and_the_rest_one_chunk_per_turn(qtbot, make_window, monkeypatch):
    """A thousand classes in one turn were a ~45 ms stall of a launch, a model switch or a tab switch. Rows made in
    later turns get the search's filter and the theme's swatch colours like the first ones."""
    from diffviews_app.colors import for_background
    from diffviews_app.docks import classes_dock
    from diffviews_app.options import demo_data_dir
    from PySide6.QtWidgets import QApplication

    monkeypatch.setattr(classes_dock, "FIRST_ROWS", 3)
    monkeypatch.setattr(classes_dock, "ROWS_PER_TURN", 2)
    w = make_window(demo_data_dir())
    dock, s = w.classes_dock, w.state
    dock.raise_()
    qtbot.waitUntil(lambda: dock.legend.topLevelItemCount() == 10, timeout=3000)
    dock.set_dark(True)
    dock.search.setText("sneaker")  # the demo (Fashion-MNIST): class 7, a row made in a later turn
    added = []  # rows per addTopLevelItems call, and the event-loop turn it came in
    turn = [0]
    add = dock.legend.addTopLevelItems
    monkeypatch.setattr(
        dock.legend, "addTopLevelItems", lambda items: (added.append((turn[0], len(items))), add(items))
    )
    s.set_color_by("image_index")  # another legend: the classes again, without colours
    s.set_color_by("class")
    assert dock.legend.topLevelItemCount() == 3
    while dock.legend.topLevelItemCount() < 10:
        turn[0] += 1
        QApplication.processEvents()  # one turn: the chunk posted in the last one runs
    assert added[-5:] == [(0, 3), (1, 2), (2, 2), (3, 2), (4, 1)]  # one chunk per turn
    shown = [dock.legend.topLevelItem(i) for i in range(10)]
    assert [item.data(0, Qt.ItemDataRole.UserRole) for item in shown if not item.isHidden()] == [7]
    last = shown[-1]
    rgb = last.data(1, Qt.ItemDataRole.UserRole)
    want = for_background(np.asarray([rgb], np.float32), True)[0]
    got = last.icon(0).pixmap(14, 14).toImage().pixelColor(7, 7)
    assert np.allclose([got.redF(), got.greenF(), got.blueF()], want, atol=1 / 255)


def test_once_the_map_has_settled_the_decoders_and_the_plot_module_are_imported_on_a_thread(
    qtbot, make_window, fixture_root, monkeypatch
):
    from diffviews_app import main_window
    from diffviews_app.docks.trajectory_dock import PLOT_MODULE

    from diffviews_core.images import DECODER_MODULES

    started = []
    monkeypatch.setattr(main_window, "import_in_background", lambda *names: started.append(names))
    w = make_window(fixture_root)
    qtbot.waitUntil(lambda: w.canvas.is_warm, timeout=20000)  # every ring style drawn once after the first frame
    assert started == [(*DECODER_MODULES, PLOT_MODULE)]


def test_once_its_module_is_imported_the_trajectory_plot_is_made_hidden_and_the_first_curve_shows_it(
    qtbot, make_window, fixture_root
):
    from pyqtgraph import PlotWidget

    w = make_window(fixture_root)
    dock = w.generation.trajectory_dock
    qtbot.waitUntil(lambda: bool(dock.findChildren(PlotWidget)), timeout=30000)  # after the warm-up and the import
    [made] = dock.findChildren(PlotWidget)
    assert made.isHidden() and dock.placeholder.isVisibleTo(dock)
    w.gen.add_trajectory(run=0, sample=0, masked=True, class_label=None, class_text="", map_key=("m", "l"),
                         num_steps=2)  # fmt: skip
    dock.flush()
    assert dock.findChildren(PlotWidget) == [made] and dock.plot is made
    assert made.isVisibleTo(dock) and not dock.placeholder.isVisibleTo(dock)


def test_the_window_settles_once_after_its_warm_up_and_run_app_then_keeps_what_the_warm_up_added(
    qtbot, make_window, fixture_root, monkeypatch
):
    """Once the warm-up's imports have landed and the plot is made, what they added (~50 k objects) is moved out of
    the collector's walks like the start-up's objects; a young collection walked it on the UI thread before."""
    from diffviews_app import app as app_module
    from diffviews_app.background_import import settled
    from diffviews_app.docks.trajectory_dock import PLOT_MODULE

    from diffviews_core.images import DECODER_MODULES

    w = make_window(fixture_root)
    dock = w.generation.trajectory_dock
    kept = []  # whether the plot existed at each keep_start_up_objects call
    monkeypatch.setattr(app_module, "keep_start_up_objects", lambda: kept.append(dock.plot_made))
    app_module.keep_long_lived_objects(w)
    emitted = []
    w.settled.connect(lambda: emitted.append(all(settled(name) for name in (*DECODER_MODULES, PLOT_MODULE))))
    qtbot.waitUntil(lambda: bool(emitted), timeout=30000)
    assert emitted == [True] and dock.plot_made
    assert kept == [False, True]  # when the window is built, and once settled
    w.canvas.request_draw()
    qtbot.wait(300)  # more frames: no second ``settled``
    assert emitted == [True] and kept == [False, True]


def test_hover_shows_the_sample_in_the_preview(qtbot, make_window, fixture_root):
    w = make_window(fixture_root)
    row = isolated_rows(w, 1)[0]
    hover(qtbot, w, row)
    samples = w.state.model.samples
    assert w.preview_dock.title.text() == f"sample_{int(samples.sample_id[row]):06d}"
    details = w.preview_dock.details.text()
    label = int(samples.class_label[row])
    assert f"Class {label}: {CLASS_NAMES[label]}" in details
    assert f"σ = {float(samples.conditioning_sigma[row]):.4g}" in details
    x, y = w.state.coords()[row]
    assert f"({x:.2f}, {y:.2f})" in details
    assert w.preview_dock.image.pixmap() is not None and not w.preview_dock.image.pixmap().isNull()
    assert list(w.canvas.ring_rows("hover")) == [row]


def test_click_selects_and_further_clicks_toggle_manual_neighbours(qtbot, make_window, fixture_root):
    w = make_window(fixture_root)
    a, b, c, d = isolated_rows(w, 4)
    click(qtbot, w, a)
    assert w.state.selected == a and list(w.canvas.ring_rows("selection")) == [a]
    click(qtbot, w, b)
    click(qtbot, w, c)
    assert w.state.neighbours == [(b, None), (c, None)]
    assert list(w.canvas.ring_rows("neighbours")) == [b, c]
    assert [cap.splitlines()[-1] for cap in w.neighbours_dock.captions()] == ["(manual)", "(manual)"]
    assert w.neighbours_dock.summary.text() == "2 neighbours (0 KNN, 2 manual)"
    click(qtbot, w, b)  # toggles it off again
    assert w.state.neighbours == [(c, None)]
    click(qtbot, w, d, CTRL)  # Ctrl+click: select another sample, neighbours dropped
    assert w.state.selected == d and w.state.neighbours == []
    click(qtbot, w, d)  # the selected sample again: deselect
    assert w.state.selected == -1


def test_suggest_knn_in_activation_and_map_space(qtbot, make_window, fixture_root):
    w = make_window(fixture_root)
    row = isolated_rows(w, 1)[0]
    click(qtbot, w, row)
    dock = w.neighbours_dock
    dock.k_spin.setValue(3)
    assert w.state.k == 3
    qtbot.mouseClick(dock.knn_button, LEFT)
    acts = expected_activations(fixture_root, "dmd2")
    dist = np.linalg.norm(acts - acts[row], axis=1)
    dist[row] = np.inf
    want = np.argsort(dist)[:3]
    assert [r for r, _ in w.state.neighbours] == want.tolist()
    np.testing.assert_allclose([d for _, d in w.state.neighbours], dist[want], rtol=1e-5)
    assert [cap.splitlines()[-1] for cap in dock.captions()] == [f"(d={v:.2f})" for v in dist[want]]
    xy = w.state.coords()
    dmap = np.linalg.norm(xy - xy[row], axis=1)
    spread = np.median(dmap[want]) / np.median(np.sort(dmap)[1:4])
    assert f"they lie {spread:.1f}× as far as the map's own nearest" in dock.summary.text()
    assert w.state.knn_spread[1:] == (row, tuple(want.tolist()), pytest.approx(spread))  # measured with the search
    rows = want[::-1].tolist()  # another KNN result whose spread came with it: the dock shows that one, unmeasured
    w.state.set_knn(rows, dist[rows].tolist(), (xy, row, tuple(rows), 7.25))
    assert "they lie 7.2× as far" in dock.summary.text()

    dock.space_combo.setCurrentIndex(dock.space_combo.findData("map"))
    assert w.state.knn_space == "map"
    QTest.keyClick(w, Qt.Key.Key_K)  # the shortcut
    dmap[row] = np.inf
    want = np.argsort(dmap)[:3]
    assert [r for r, _ in w.state.neighbours] == want.tolist()
    assert list(w.canvas.ring_rows("neighbours")) == want.tolist()
    assert dock.summary.text() == "3 neighbours (3 KNN, 0 manual)"


def test_neighbour_search_is_warm_before_the_first_click(qtbot, make_window, fixture_root, monkeypatch):
    w = make_window(fixture_root)
    key = (str(w.state.model.path), tuple(w.controller.knn_layers()))
    qtbot.waitUntil(lambda: w.controller._indexes.peek(key) is not None, timeout=10000)  # built after opening
    warmed = w.controller._indexes.peek(key)

    def built_on_the_click(*_args, **_kwargs):
        raise AssertionError("the index was built again on the click")

    def read_on_the_click(*_args, **_kwargs):
        raise AssertionError("the activations were read on the click (the index holds what the search needs)")

    monkeypatch.setattr("diffviews_core.knn_index.dataset_index", built_on_the_click)
    monkeypatch.setattr(type(w.state.model), "activations", read_on_the_click)
    row = isolated_rows(w, 1)[0]
    click(qtbot, w, row)
    w.neighbours_dock.k_spin.setValue(3)
    qtbot.mouseClick(w.neighbours_dock.knn_button, LEFT)
    acts = expected_activations(fixture_root, "dmd2")
    dist = np.linalg.norm(acts - acts[row], axis=1)
    dist[row] = np.inf
    assert [r for r, _ in w.state.neighbours] == np.argsort(dist)[:3].tolist()
    assert w.controller._indexes.peek(key) is warmed


def test_class_highlight_and_search(qtbot, make_window, fixture_root):
    w = make_window(fixture_root)
    dock = w.classes_dock
    labels = w.state.model.samples.class_label
    dock.highlight([1, 2])
    assert w.state.highlight_classes == {1, 2}
    want = np.flatnonzero(np.isin(labels, [1, 2]))
    assert np.array_equal(np.sort(w.canvas.ring_rows("highlight")), want)
    assert dock.status.text().startswith(f"2 classes highlighted: {want.size} samples")

    qtbot.mouseClick(dock.clear_button, LEFT)
    assert w.state.highlight_classes == frozenset() and w.canvas.ring_rows("highlight").size == 0

    # live search: typing highlights the matches after a short pause, with their count
    goldfish = np.flatnonzero(labels == 1)
    QTest.keyClicks(dock.search, "goldf")
    qtbot.waitUntil(lambda: w.state.search_rows.tolist() == goldfish.tolist())
    assert dock.search.text() == "goldf" and w.state.tool == "point"  # typed "l" is text, not the lasso shortcut
    assert np.array_equal(np.sort(w.canvas.ring_rows("highlight")), goldfish)
    assert dock.matches.isVisible() and dock.matches.text() == f"{goldfish.size} matches (class name {goldfish.size}), " \
        "highlighted"  # fmt: skip
    assert [label for label, item in dock.class_rows().items() if not item.isHidden()] == [1]
    QTest.keyClick(dock.search, Qt.Key.Key_Return)
    assert w.state.highlight_classes == {1}

    row = 7
    sid = int(w.state.model.samples.sample_id[row])
    dock.search.setText(str(sid))
    qtbot.waitUntil(lambda: w.state.search_rows.tolist() == [row])
    assert row in w.canvas.ring_rows("highlight")
    assert dock.matches.text() == f"sample_{sid:06d} found (Enter selects it)"
    QTest.keyClick(dock.search, Qt.Key.Key_Return)
    assert w.state.selected == row

    # an id that does not exist says so, and highlights nothing
    dock.search.setText("99999")
    qtbot.waitUntil(lambda: dock.matches.text() == "No match for “99999”")
    assert w.state.search_rows.size == 0  # only the highlighted class stays ringed
    assert np.array_equal(np.sort(w.canvas.ring_rows("highlight")), goldfish)
    QTest.keyClick(dock.search, Qt.Key.Key_Return)
    assert w.state.selected == row  # nothing found, nothing changed


def _drag(canvas, points, modifiers=Qt.KeyboardModifier.NoModifier) -> None:
    QTest.mousePress(canvas, LEFT, modifiers, QPoint(*map(int, points[0])))
    for x, y in points[1:]:
        QTest.mouseMove(canvas, QPoint(int(x), int(y)))
    QTest.mouseRelease(canvas, LEFT, modifiers, QPoint(*map(int, points[-1])))


def _rows_in(w, x0, y0, x1, y1) -> set[int]:
    xy = w.canvas.data_to_screen(w.state.coords())
    return set(np.flatnonzero((xy[:, 0] > x0) & (xy[:, 0] < x1) & (xy[:, 1] > y0) & (xy[:, 1] < y1)).tolist())


def test_shift_lasso_makes_a_selection_set_without_a_hidden_first_sample(qtbot, make_window, fixture_root):
    w = make_window(fixture_root)
    canvas = w.canvas.native
    cx, cy = canvas.width() / 2, canvas.height() / 2
    x0, y0, x1, y1 = cx - 120, cy - 90, cx + 120, cy + 90
    inside = _rows_in(w, x0, y0, x1, y1)
    assert len(inside) >= 3
    before = w.canvas.camera_state()
    _drag(canvas, [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0 + 1)], SHIFT)  # the point tool's Shift+drag
    qtbot.waitUntil(lambda: w.state.has_selection, timeout=3000)
    assert w.state.selected == -1 and set(w.state.selection_set) == inside and w.state.neighbours == []
    assert set(w.canvas.ring_rows("set").tolist()) == inside  # every member is ringed
    assert w.canvas.ring_rows("selection").size == 0
    assert w.canvas.camera_state() == before
    assert f"{len(inside)} samples" in w.neighbours_dock.selected_label.text()
    assert w.neighbours_dock.captions() == [c for c in w.neighbours_dock.captions() if c.endswith("(in set)")]
    assert len(w.neighbours_dock.captions()) == len(inside)


def test_box_tool_by_key_makes_sets_and_generation_exports_and_knn_use_them(qtbot, make_window, fixture_root,
                                                                            tmp_path):  # fmt: skip
    w = make_window(fixture_root)
    s, canvas = w.state, w.canvas.native
    w.canvas.widget.setFocus()
    QTest.keyClick(w, Qt.Key.Key_B)
    assert s.tool == "box" and w.selection_tools.actions_by_tool["box"].isChecked()
    cx, cy = canvas.width() // 2, canvas.height() // 2  # whole pixels: the drag's corners are where the box is
    before = w.canvas.camera_state()
    _drag(canvas, [(cx - 100, cy - 80), (cx, cy), (cx + 100, cy + 80)])  # a plain drag: the box, not the camera
    box = _rows_in(w, cx - 100, cy - 80, cx + 100, cy + 80)
    assert len(box) >= 3
    qtbot.waitUntil(lambda: s.has_selection, timeout=3000)
    assert set(s.selection_set) == box and s.selected == -1 and w.canvas.camera_state() == before

    # Shift+box adds to the set
    _drag(canvas, [(cx + 110, cy - 80), (cx + 250, cy + 80)], SHIFT)
    more = _rows_in(w, cx + 110, cy - 80, cx + 250, cy + 80)
    qtbot.waitUntil(lambda: len(s.selection_set) == len(box | more), timeout=3000)
    assert set(s.selection_set) == box | more

    # a session keeps the set
    members = s.selection_set
    path = w.save_session(tmp_path / "s.json")
    s.clear_selection()
    restorer = w.open_session(path)
    qtbot.waitUntil(lambda: restorer.finished, timeout=30000)
    assert s.selection_set == members and s.selected == -1

    # KNN of the set: K neighbours, none of them a member
    s.set_k(4)
    w.controller.suggest_knn()
    assert len(s.neighbours) == 4 and not set(s.neighbour_rows()) & set(s.selection_set)

    # generation averages the set and its neighbours; the class is the one most common in the set
    runner = w.generation.runner
    request = runner.request()
    samples = s.model.samples
    assert list(request.sample_ids) == [samples.sample_key(r) for r in [*s.selection_set, *s.neighbour_rows()]]
    labels = np.asarray(samples.class_label)[list(s.selection_set)]
    values, counts = np.unique(labels, return_counts=True)
    assert request.class_label == int(values[np.argmax(counts)])
    assert w.generation.generation_dock.generate_button.isEnabled()
    n = len(s.selection_set) + 4
    assert f"{n} samples" in w.generation.generation_dock.status.text()

    from diffviews_app.exports import selection_rows

    exported = selection_rows(s)
    assert [e["role"] for e in exported] == ["selected"] * len(s.selection_set) + ["knn"] * 4

    # L switches to the lasso; Esc clears; S back to the point tool, where a click selects one sample
    QTest.keyClick(w, Qt.Key.Key_L)
    assert s.tool == "lasso" and w.canvas.input.drag_selects and w.canvas.lasso_mode == "lasso"
    QTest.keyClick(w, Qt.Key.Key_Escape)
    assert not s.has_selection
    QTest.keyClick(w, Qt.Key.Key_S)
    assert s.tool == "point" and not w.canvas.input.drag_selects
    row = isolated_rows(w, 1)[0]
    click(qtbot, w, row)
    assert s.selected == row and s.selection_set == ()


def test_model_switch_resets_the_view_and_keeps_the_window_usable(qtbot, make_window, fixture_root):
    w = make_window(fixture_root)
    click(qtbot, w, isolated_rows(w, 1)[0])
    combo = w.view_dock.model_combo
    combo.setCurrentIndex(combo.findData("edm"))
    qtbot.waitUntil(lambda: w.state.model_name == "edm", timeout=5000)
    wait_drawn(qtbot, w)
    assert w.state.selected == -1 and w.state.neighbours == []
    assert w.canvas.point_count == 60
    assert "edm" in w.windowTitle()
    assert len(w.classes_dock.class_rows()) == len(np.unique(w.state.model.samples.class_label))
    hover(qtbot, w, isolated_rows(w, 1)[0])


def test_2d_3d_switch_keeps_each_camera(qtbot, make_window, fixture_root):
    w = make_window(fixture_root)
    assert w.state.has_3d() and w.view_dock.button_3d.isEnabled()
    cam2d = w.canvas.camera_state()["2d"]
    QTest.keyClick(w, Qt.Key.Key_3)
    assert w.state.mode == "3d" and w.canvas.mode == "3d"
    assert w.state.coords().shape == (60, 3)
    wait_drawn(qtbot, w)
    row = isolated_rows(w, 1)[0]
    click(qtbot, w, row)  # 3D is clickable too
    assert w.state.selected == row
    qtbot.mouseClick(w.view_dock.button_2d, LEFT)
    assert w.state.mode == "2d" and w.canvas.mode == "2d"
    assert w.canvas.camera_state()["2d"] == cam2d
    assert w.state.selected == row and list(w.canvas.ring_rows("selection")) == [row]
    before = w.canvas.camera_state()
    click(qtbot, w, isolated_rows(w, 1)[0])
    assert w.canvas.camera_state() == before  # a click never moves the view


def test_layer_switch_to_a_stored_map_keeps_the_selection(qtbot, make_window, fixture_root):
    w = make_window(fixture_root)
    row = isolated_rows(w, 1)[0]
    click(qtbot, w, row)
    combo = w.view_dock.layer_combo
    keys = [combo.itemData(i) for i in range(combo.count())]
    assert keys[0] == "demo_embeddings" and "layer_cache/encoder_block_0" in keys
    assert {"encoder_bottleneck", "midblock"} <= set(keys)  # stored layers, embedded on demand
    combo.setCurrentIndex(keys.index("layer_cache/encoder_block_0"))
    qtbot.waitUntil(lambda: w.state.layer == "layer_cache/encoder_block_0", timeout=5000)
    expected = w.state.model.embedding("layer_cache/encoder_block_0").coords2d
    assert np.array_equal(w.state.coords(), expected)
    assert w.state.selected == row
    assert "encoder_block_0" in w.view_dock.summary.text()


def test_export_png_about_and_drop_a_folder(qtbot, make_window, fixture_root, tmp_path):
    w = make_window()
    assert w.state.model is None
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(fixture_root / "edm"))])
    event = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime, LEFT, Qt.KeyboardModifier.NoModifier)
    w.dropEvent(event)
    qtbot.waitUntil(lambda: w.state.model_name == "edm", timeout=10000)
    wait_drawn(qtbot, w)
    out = w.export_view(tmp_path / "view.png")
    from PIL import Image

    with Image.open(out) as im:
        assert im.size[0] > 150 and im.size[1] > 150
        assert np.asarray(im.convert("RGB")).std() > 2  # points drawn, not a blank image
    about = w.about_text()
    assert "PySide6" in about and "vispy" in about and "Device" in about
    assert str(fixture_root / "edm") in w.recent_folders()


def test_unusable_folder_gives_a_message_and_keeps_the_data(qtbot, make_window, fixture_root, tmp_path):
    w = make_window(fixture_root)
    missing = tmp_path / "nowhere"
    w.open_folder(missing)
    qtbot.waitUntil(lambda: w.banner.level == "error", timeout=5000)
    assert str(missing) in w.banner.text.text() and "no such folder" in w.banner.text.text()
    assert w.state.model_name == "dmd2" and w.canvas.point_count == 60


def test_dock_layout_and_window_state_are_remembered(qtbot, make_window, fixture_root, tmp_path):
    settings = tmp_path / "layout.ini"
    w = make_window(settings_file=settings)
    w.classes_dock.hide()
    w.resize(720, w.height())
    qtbot.waitUntil(lambda: w.width() == 720, timeout=3000)
    w.close()
    w2 = create_window(LaunchOptions(), QSettings(str(settings), QSettings.Format.IniFormat))
    try:
        assert not w2.classes_dock.isVisibleTo(w2) and w2.preview_dock.isVisibleTo(w2)
        assert w2.width() == 720  # heights depend on the docks' minimum sizes
    finally:
        w2.close()
        w2.deleteLater()


def test_colour_by_any_column_shows_a_colour_bar_or_a_legend(qtbot, make_window):
    from diffviews_app.options import demo_data_dir

    w = make_window(demo_data_dir())
    s, dock, bar = w.state, w.classes_dock, w.color_bar
    samples = s.model.samples
    assert not bar.isVisible() and dock.windowTitle() == "Classes"  # by class: the classes are the legend

    # a numeric column: the colour bar under the map reads its name and range
    combo = w.view_dock.color_combo
    combo.setCurrentIndex(combo.findData("image_index"))
    assert s.color_by == "image_index"
    qtbot.waitUntil(bar.isVisible)
    values = np.asarray(samples.columns["image_index"])
    assert bar.value_range == (float(values.min()), float(values.max()))
    assert bar.labels() == ("<b>image_index</b>", f"{values.min():.4g}", f"{values.max():.4g}")
    assert all(item.icon(0).isNull() for item in dock.items())  # the classes, without colours they do not have now

    # the noise level: log scale
    s.set_color_by("noise")
    assert bar.isVisible() and "(log scale)" in bar.labels()[0] and bar.labels()[1] == f"{samples.conditioning_sigma.min():.4g}"

    # a text column: a legend of its values in the Classes dock, no colour bar; a value highlights its samples
    s.set_color_by("label_mode")
    assert not bar.isVisible() and dock.windowTitle() == "Legend: label_mode"
    modes = np.asarray(samples.columns["label_mode"]).astype(str)
    want = {v: int((modes == v).sum()) for v in np.unique(modes)}
    assert {k: int(item.data(0, Qt.ItemDataRole.UserRole + 2)) for k, item in dock.class_rows().items()} == want
    assert all(not item.icon(0).isNull() for item in dock.items())
    value = sorted(want)[0]
    dock.highlight([value])
    assert s.highlight_values == {value}
    assert np.array_equal(np.sort(w.canvas.ring_rows("highlight")), np.flatnonzero(modes == value))
    assert dock.status.text().startswith(f"1 value of label_mode highlighted: {want[value]} samples")
    assert "label_mode" in [a.text() for a in w.color_menu.actions()]


def test_a_window_grab_shows_the_map_drawn_on_its_native_surface(qtbot, make_window, fixture_root):
    from PySide6.QtCore import QPoint

    w = make_window(fixture_root)
    wait_drawn(qtbot, w)
    area = w.canvas.widget
    frame = w.canvas.native.grabFramebuffer()
    shot = w.grab_with_map().toImage()
    ratio = shot.devicePixelRatio()
    origin = area.mapTo(w, QPoint(0, 0))
    for row in isolated_rows(w, 3):  # every point's pixel in the grab is the GL frame's, not the blank widget's
        x, y = w.canvas.data_to_screen(w.state.coords()[row])[0]
        on_map = frame.pixelColor(round(x * ratio), round(y * ratio))
        in_grab = shot.pixelColor(round((origin.x() + x) * ratio), round((origin.y() + y) * ratio))
        assert on_map.getRgb()[:3] != (255, 255, 255)  # a point, on the white map
        assert in_grab.getRgb()[:3] == on_map.getRgb()[:3]
