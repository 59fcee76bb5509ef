"""The whole flow in the real window: select -> KNN -> generate -> live trajectory (2D and 3D), steps gallery,
generated point, lineage replay bit for bit, session round trip, an event loop that keeps turning, the map's one
input path for samples, steps and generated images, and one model cache for generation and extraction."""

from __future__ import annotations

import numpy as np
import pytest
from diffviews_app import exports
from diffviews_app.targets import Target
from PySide6.QtCore import Qt, QTimer

from diffviews_core.lineage import Lineage

pytestmark = [pytest.mark.gui, pytest.mark.gl]


def _generate(qtbot, parts, compare: bool = False, timeout: int = 60000) -> None:
    gen = parts.gen
    assert parts.runner.generate(compare)
    assert gen.running
    qtbot.waitUntil(lambda: not gen.running, timeout=timeout)


def _select_with_knn(parts, row: int = 2, k: int = 3) -> None:
    s = parts.state
    s.select(row)
    s.set_k(k)
    parts.controller.suggest_knn()
    assert len(s.neighbours) == k


def test_generate_from_neighbours_draws_a_live_trajectory(qtbot, window_parts, tmp_path):
    parts = window_parts
    s, gen, layer = parts.state, parts.gen, parts.trajectories.layer
    _select_with_knn(parts)
    gen.update_settings(num_steps=5, mask_steps=2, seed=7)
    steps_seen = []
    gen.trajectory_stepped.connect(lambda tid: steps_seen.append(len(gen.trajectories[tid].sigmas)))
    _generate(qtbot, parts)

    traj = gen.current_trajectory()
    assert traj.finished and traj.masked and steps_seen == [1, 2, 3, 4, 5]  # live, one step at a time
    assert len(traj.sigmas) == len(traj.coords2d) == len(traj.coords3d) == len(traj.distances) == 5
    assert traj.sigmas == sorted(traj.sigmas, reverse=True)
    assert traj.class_label == int(s.model.samples.class_label[2])
    pos2d = layer.drawn_positions(traj.id)
    assert pos2d.shape == (5, 3) and np.all(pos2d[:, 2] == 0)
    np.testing.assert_allclose(pos2d[:, :2], np.asarray(traj.coords2d))
    # projected points lie within the map's extent
    lo, hi = s.embedding.coords2d.min(0), s.embedding.coords2d.max(0)
    assert np.all(pos2d[:, :2] >= lo - 1e-4) and np.all(pos2d[:, :2] <= hi + 1e-4)

    s.set_mode("3d")
    pos3d = layer.drawn_positions(traj.id)
    assert pos3d.shape == (5, 3) and np.any(pos3d[:, 2] != 0)
    np.testing.assert_allclose(pos3d, np.asarray(traj.coords3d))
    s.set_mode("2d")

    # gallery: one frame per step with the original's captions; the final image large
    assert len(parts.steps_dock.captions()) == 5
    assert parts.steps_dock.captions()[0] == f"{traj.class_text}\nStep 1/5\nsigma={traj.sigmas[0]:.3g}"
    assert gen.step == 4 and not parts.steps_dock.large.pixmap().isNull()
    qtbot.waitUntil(lambda: 4 in parts.steps_dock.gallery.visible_rows())  # the step shown is in view
    parts.steps_dock.previous()
    assert gen.step == 3
    # the generated image is an overlay point on the map, at the trajectory's end
    assert "generated" in parts.canvas.overlay_names()
    ids, pts = parts.trajectories.generated_points()
    assert ids == [traj.id]
    # the distance plot has one point per step
    sig, dist = parts.trajectory_dock.curve_data(traj.id)
    np.testing.assert_allclose(sig, traj.sigmas)
    np.testing.assert_allclose(dist, traj.distances)

    # lineage -> replay gives identical image bytes
    path = exports.export_lineage(gen.current_trajectory(), tmp_path / "lineage.json")
    lineage = Lineage.load(path)
    assert lineage.source_sample_ids == [int(s.model.samples.sample_id[r]) for r in [2, *s.neighbour_rows()]]
    original = traj.image.copy()
    assert parts.runner.replay(lineage)
    qtbot.waitUntil(lambda: not gen.running, timeout=60000)
    replayed = gen.current_trajectory()
    assert replayed.id != traj.id and replayed.image.tobytes() == original.tobytes()
    assert len(replayed.coords2d) == 5
    np.testing.assert_allclose(replayed.coords2d, traj.coords2d)


def test_compare_and_batch(qtbot, window_parts):
    parts = window_parts
    gen = parts.gen
    _select_with_knn(parts, row=5, k=2)
    gen.update_settings(num_steps=3, mask_steps=3, seed=3, num_samples=2)
    _generate(qtbot, parts, compare=True)
    trajs = list(gen.trajectories.values())
    assert [(t.masked, t.sample) for t in trajs] == [(True, 0), (True, 1), (False, 0), (False, 1)]
    masked, plain = gen.compare
    assert gen.trajectories[masked].image.tobytes() != gen.trajectories[plain].image.tobytes()
    assert parts.steps_dock.compare_box.isVisibleTo(parts.steps_dock)
    # two aligned rows of steps, masked over unmasked, that scroll together
    top, bottom = parts.steps_dock.compare_rows
    assert [m.rowCount() for m in parts.steps_dock.compare_models] == [3, 3]
    assert [top.visualRect(top.model().index(i)).x() for i in range(3)] == [
        bottom.visualRect(bottom.model().index(i)).x() for i in range(3)
    ]  # fmt: skip
    assert parts.steps_dock.compare_models[0].captions()[0] == f"Step 1/3\nsigma={gen.trajectories[masked].sigmas[0]:.3g}"
    assert gen.trajectories[plain].label in parts.steps_dock.compare_labels[1].text()
    assert len(parts.trajectories.generated_points()[0]) == 4
    parts.runner.clear()
    assert not gen.trajectories and "generated" not in parts.canvas.overlay_names()
    assert parts.trajectories.layer.ids() == []


def test_a_generated_image_is_a_knn_query_and_joins_a_set(qtbot, window_parts):
    parts = window_parts
    s, gen = parts.state, parts.gen
    _select_with_knn(parts, row=4, k=2)
    gen.update_settings(num_steps=3, seed=5)
    _generate(qtbot, parts)
    traj = gen.current_trajectory()
    star = Target.trajectory_step(traj.id, len(traj.sigmas) - 1, generated=True)
    s.click_target(star, replace=True)  # Ctrl+click on the star: the generated image alone is the selection
    assert s.selected_generated == (traj.id,) and s.selection_rows() == [] and s.neighbours == []
    assert "generated-selection" in parts.canvas.overlay_names()  # ringed on the map
    s.set_knn_space("map")
    s.set_k(3)
    parts.controller.suggest_knn()
    d = np.linalg.norm(s.coords() - traj.points("2d")[-1], axis=1)
    assert s.neighbour_rows() == np.argsort(d, kind="stable")[:3].tolist()
    s.clear_neighbours()
    s.set_knn_space("activation")
    parts.controller.suggest_knn()  # its own activation is the query
    acts = np.asarray(s.model.activations(parts.controller.knn_layers()), dtype=np.float64)
    d = np.linalg.norm(acts - np.asarray(traj.activations[-1], dtype=np.float64).ravel(), axis=1)
    assert s.neighbour_rows() == np.argsort(d, kind="stable")[:3].tolist()
    s.select_set([1, 2], add=True)  # samples join it in a set
    assert s.selection_set == (1, 2) and s.selected_generated == (traj.id,)
    parts.runner.clear()  # its trajectory is gone: it leaves the selection
    assert s.selected_generated == () and s.selection_set == (1, 2)
    assert "generated-selection" not in parts.canvas.overlay_names()


def test_session_round_trip(qtbot, window_parts, tmp_path):
    parts = window_parts
    s, gen = parts.state, parts.gen
    _select_with_knn(parts, row=7, k=3)
    s.toggle_neighbour(11)  # a manual neighbour
    gen.update_settings(num_steps=4, seed=21, guidance_scale=1.5, noise_mode="fixed")
    _generate(qtbot, parts)
    s.set_mode("3d")
    cam = parts.canvas.camera_state()
    cam["3d"]["azimuth"] = 75.0
    parts.canvas.set_camera_state(cam)
    before = {
        "selected": s.selected, "neighbours": list(s.neighbours), "mode": s.mode, "settings": gen.settings,
        "coords": [np.asarray(t.coords3d) for t in gen.trajectories.values()],
        "images": [t.image.tobytes() for t in gen.trajectories.values()],
        "camera": parts.canvas.camera_state(),
    }  # fmt: skip
    path = parts.window.save_session(tmp_path / "s.json")

    s.clear_selection()
    s.set_mode("2d")
    parts.runner.clear()
    gen.update_settings(num_steps=9, seed=1)
    parts.canvas.reset_view()

    restorer = parts.window.open_session(path)
    qtbot.waitUntil(lambda: restorer.finished, timeout=10000)
    assert s.selected == before["selected"] and s.neighbours == before["neighbours"] and s.mode == "3d"
    assert gen.settings == before["settings"]
    after = [np.asarray(t.coords3d) for t in gen.trajectories.values()]
    assert len(after) == len(before["coords"])
    for a, b in zip(after, before["coords"]):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert [t.image.tobytes() for t in gen.trajectories.values()] == before["images"]
    cam, ref = parts.canvas.camera_state()["3d"], before["camera"]["3d"]
    assert cam.keys() == ref.keys()
    for key, value in ref.items():  # approx() of nested lists differs across pytest versions: compare per key
        assert cam[key] is None if value is None else np.allclose(cam[key], value), key
    tid = gen.current
    assert parts.trajectories.layer.drawn_positions(tid).shape == (4, 3)
    assert "generated" in parts.canvas.overlay_names()


def test_the_event_loop_keeps_turning_and_every_step_lands_during_generation(qtbot, window_parts):
    """While a generation runs on the worker, the UI thread keeps serving its events: a 10 ms timer ticks and sees
    the trajectory part-drawn (steps arrive live, not all at the end), and every step reaches the UI.

    Untimed on purpose: how long the loop may stall is a speed goal, measured with painting by
    benchmarks/bench_generation_ui.py ("longest event-loop gap"), not asserted here.
    """
    parts = window_parts
    gen = parts.gen
    _select_with_knn(parts)
    gen.update_settings(num_steps=2, mask_steps=10, seed=5, num_samples=4)
    _generate(qtbot, parts)  # adapter, projection and GL glyphs ready: the measured run is the generation itself
    gen.update_settings(num_steps=40)
    seen: list[int] = []  # steps drawn so far, at each tick of the timer while the generation runs

    def tick() -> None:
        traj = gen.current_trajectory()
        if gen.running and traj is not None:
            seen.append(len(traj.sigmas))

    timer = QTimer(interval=10)
    timer.timeout.connect(tick)
    timer.start()
    try:
        _generate(qtbot, parts)
    finally:
        timer.stop()
    assert len(gen.current_trajectory().sigmas) == 40
    assert len(parts.steps_dock.captions()) == 40  # every step reached the UI
    assert len(seen) >= 2, "the UI thread's timer never fired while the generation ran"
    assert any(0 < n < 40 for n in seen), f"no part-drawn trajectory seen while it ran: {sorted(set(seen))}"


def test_a_generation_that_starts_imports_the_plot_module_on_a_thread(window_parts, monkeypatch):
    from diffviews_app.docks import trajectory_dock

    started = []
    monkeypatch.setattr(trajectory_dock, "import_in_background", started.append)
    window_parts.gen.set_running(True)  # the plot is not built yet: pyqtgraph is needed when the first curve lands
    window_parts.gen.set_running(False)
    assert started == ["pyqtgraph"]


def test_generation_docks_can_be_toggled_from_the_view_menu(window_parts):
    titles = [a.text() for a in window_parts.window.view_menu.actions()]
    for dock in (window_parts.generation_dock, window_parts.steps_dock, window_parts.trajectory_dock):
        assert dock.windowTitle() in titles


def test_the_map_has_one_input_path_for_samples_steps_and_generated_images(qtbot, window_parts):
    """Hovering a step shows it in the Preview (not the sample under it), the end of a finished run is its generated
    image, clicks on them make that step current, and leaving the map brings the selected sample back."""
    from diffviews_app.targets import NOTHING, Target
    from PySide6.QtCore import QPoint
    from PySide6.QtTest import QTest

    parts = window_parts
    s, gen, canvas, preview = parts.state, parts.gen, parts.canvas, parts.window.preview_dock
    _select_with_knn(parts)
    gen.update_settings(num_steps=4, mask_steps=1, seed=2)
    _generate(qtbot, parts)
    traj = gen.current_trajectory()
    parts.trajectories.layer.flush()

    screen = canvas.data_to_screen(traj.points("2d"))
    apart = np.linalg.norm(screen[:, None] - screen[None], axis=2) + np.eye(len(screen)) * 1e9
    middle = [k for k in (1, 2) if apart[k].min() > 3]  # a step no other step hides
    assert middle and apart[3].min() > 1, screen
    k = middle[0]

    def point_at(step: int) -> QPoint:
        x, y = screen[step]
        return QPoint(int(round(x)), int(round(y)))

    def hover(pos: QPoint, expected) -> None:
        QTest.mouseMove(canvas.native, pos)
        qtbot.waitUntil(lambda: s.hover == expected, timeout=3000)

    QTest.mouseMove(canvas.native, QPoint(2, 2))
    hover(point_at(k), Target.trajectory_step(traj.id, k))
    assert s.hovered == -1 and canvas.ring_rows("hover").size == 0  # the step, not a sample under it
    assert preview.title.text() == f"Generated {traj.label}" and preview.row == -1
    assert preview.details.text().startswith(f"{traj.caption(k)}\nDistance to selection mean {traj.distances[k]:.4g}")
    with qtbot.waitSignal(canvas.clicked, timeout=3000):
        QTest.mouseClick(canvas.native, Qt.MouseButton.LeftButton, pos=point_at(k))
    assert gen.current == traj.id and gen.step == k and s.selected == 2  # a click on a step shows that step

    hover(point_at(3), Target.trajectory_step(traj.id, 3, generated=True))
    with qtbot.waitSignal(canvas.clicked, timeout=3000):
        QTest.mouseClick(canvas.native, Qt.MouseButton.LeftButton, pos=point_at(3))
    assert gen.step == 3 and s.selected == 2 and s.neighbours  # the generated image, not a new selection

    corner = QPoint(canvas.native.width() - 3, 3)
    QTest.mouseMove(canvas.native, corner)
    qtbot.waitUntil(lambda: s.hover == NOTHING, timeout=3000)
    assert preview.row == 2 and preview.title.text().endswith("(selected)")


def test_generation_and_layer_extraction_share_the_worker_process_and_its_loaded_model(qtbot, window_parts):
    """Generation, model discovery and extraction run in the window's worker process for models, which loads the
    model once; the window's process loads nothing."""
    from diffviews_app.workers import MODELS

    from diffviews_core import worker_tasks

    parts = window_parts
    window = parts.window
    assert window.controller.cache is window.cache is parts.runner.cache
    _select_with_knn(parts)
    parts.gen.update_settings(num_steps=2)
    _generate(qtbot, parts)
    worker, options = window.pool.process(MODELS), worker_tasks.cache_options(window.cache)
    pid, loaded = worker.pid, worker.run(worker_tasks.loaded_adapters, options)
    assert [key for key in loaded if key[1].endswith(".safetensors")]  # the model generation loaded
    window.controller.switch_layer("+more-layers")  # loads the model to list its layers: the same loaded model
    qtbot.waitUntil(lambda: "+more-layers" not in parts.state.layer_choices, timeout=30000)
    qtbot.waitUntil(lambda: not window.pool.running(), timeout=30000)
    assert worker.run(worker_tasks.loaded_adapters, options)[-1] == loaded[-1]  # nothing new was loaded
    assert sorted(worker.run(worker_tasks.loaded_adapters, options)) == sorted(loaded)
    assert worker.pid == pid and pid is not None
    assert len(window.cache.adapters) == 0  # nothing loaded in the window's process


def test_a_generated_image_chosen_in_the_gallery_seeds_a_generation_is_exported_and_kept(qtbot, window_parts,
                                                                                         tmp_path):  # fmt: skip
    import csv

    parts = window_parts
    s, gen, steps = parts.state, parts.gen, parts.steps_dock
    _select_with_knn(parts, row=4, k=2)
    gen.update_settings(num_steps=3, seed=5)
    _generate(qtbot, parts)
    first = gen.current_trajectory()
    assert steps.select_button.isEnabled() and steps.select_button.text() == "Add to selection"
    qtbot.mouseClick(steps.select_button, Qt.MouseButton.LeftButton)  # the steps gallery's image joins the selection
    assert s.selected_generated == (first.id,) and s.selection_rows() == [4] and len(s.neighbours) == 2
    assert steps.select_button.text() == "Remove from selection"
    assert "+ 1 generated image" in parts.generation_dock.status.text()

    path = exports.export_selection_csv(s, tmp_path / "sel.csv", [first])
    rows = list(csv.DictReader(path.open()))
    assert [r["role"] for r in rows] == ["selected", "generated", "knn", "knn"]
    assert rows[1]["sample_id"] == "generated:1.1:masked" and rows[1]["class_name"] == first.class_text
    assert [float(rows[1]["x"]), float(rows[1]["y"])] == pytest.approx(first.points("2d")[-1].tolist(), abs=1e-5)

    request = parts.runner.request()
    assert [seed.source.lineage for seed in request.seeds] == [first.lineage]
    np.testing.assert_array_equal(request.seeds[0].activation, first.activations[-1])
    _generate(qtbot, parts)  # the sample, its neighbours and the generated image in one mask
    second = gen.current_trajectory()
    assert second.id != first.id and second.lineage.source_generated[0].lineage == first.lineage
    assert second.lineage.source_sample_ids == [s.model.samples.sample_key(r) for r in s.generation_rows()]

    s.click_target(Target.trajectory_step(second.id, 2, generated=True), replace=True)  # the star alone (Ctrl)
    assert s.selected_generated == (second.id,) and s.selection_rows() == []
    _generate(qtbot, parts)  # a generated image alone seeds a generation, conditioned on its class
    third = gen.current_trajectory()
    assert third.lineage.source_sample_ids == [] and third.lineage.source_generated[0].lineage == second.lineage
    assert third.class_label == second.class_label and s.selected_generated == (second.id,)
    path = parts.window.save_session(tmp_path / "s.json")
    s.clear_selection()
    restorer = parts.window.open_session(path)
    qtbot.waitUntil(lambda: restorer.finished, timeout=10000)
    (restored,) = (gen.trajectories[t] for t in s.selected_generated)
    assert restored.image.tobytes() == second.image.tobytes() and restored.lineage == second.lineage
    assert parts.runner.request() is None  # restored images kept no activation: they cannot seed a mask
