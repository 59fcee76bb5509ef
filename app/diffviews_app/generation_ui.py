"""One call that adds generation to the explorer window: its state, controller, docks, menu, and step previews.

``install_generation(window)`` needs only what the main window already holds (state, canvas, worker pool, explorer
controller, preview dock, status messages), so the window gains generation without knowing any of its parts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMainWindow

from diffviews_core.errors import DiffViewsError
from diffviews_core.lineage import Lineage

from . import exports, session
from .docks.generation_dock import GenerationDock
from .docks.preview_dock import IMAGE_SIZE
from .docks.steps_dock import StepsDock, inset_pixmap, step_caption
from .docks.trajectory_dock import TrajectoryDock
from .generation_controller import GenerationController, ModelResources
from .state.generation_state import GenerationState


@dataclass
class GenerationParts:
    """Everything install_generation created, plus the window parts it uses (for tests, sessions, screenshots)."""

    window: QMainWindow
    state: object  # ExplorerState
    canvas: object  # PointCloudCanvas
    controller: object  # ExplorerController
    gen: GenerationState
    generation: GenerationController
    generation_dock: GenerationDock
    steps_dock: StepsDock
    trajectory_dock: TrajectoryDock

    def save_session(self, path: Path | str) -> Path:
        return session.save_session(self, path)

    def open_session(self, path: Path | str) -> session.SessionRestore:
        """Restore a session file (data, model, layer, selection, trajectories, camera); see ``done``."""
        restorer = session.restore_session(self, path)
        restorer.done.connect(lambda ok, text: self.window.show_message("info" if ok else "error", text))
        return restorer


def _show_step_in_preview(window, gen: GenerationState, tid: int, step: int) -> None:
    """Hovering a trajectory step shows its x0 (noised input inset) in the Preview dock; leaving restores it."""
    dock = window.preview_dock
    traj = gen.trajectories.get(tid)
    if traj is None or not (0 <= step < len(traj.sigmas)):
        window.state.hovered_changed.emit(window.state.hovered)  # the dock re-reads the hovered/selected sample
        return
    if step < len(traj.frames):
        frame = traj.frames[step]
        final = step == len(traj.frames) - 1 and traj.finished
        dock.image.setPixmap(inset_pixmap(traj.image if final else frame.x0, frame.noised, IMAGE_SIZE))
        caption = step_caption(traj.class_text, frame)
    elif traj.image is not None:  # restored from a session: only the final image is kept
        dock.image.setPixmap(inset_pixmap(traj.image, None, IMAGE_SIZE))
        caption = f"{traj.class_text} | Step {step + 1}/{traj.num_steps} | sigma={traj.sigmas[step]:.3g}"
    else:
        dock.image.setText("step image not kept")
        caption = ""
    dock.title.setText(f"Generated {traj.label}")
    coords = traj.points(window.state.mode)[step]
    dock.details.setText(f"{caption}\nDistance to selection mean {traj.distances[step]:.4g}\n"
                         "Coordinates (" + ", ".join(f"{v:.2f}" for v in coords) + ")")  # fmt: skip


def _build_menu(window, parts: GenerationParts) -> None:
    menu = window.menuBar().addMenu("&Generate")
    gen, ctl = parts.gen, parts.generation

    def action(text: str, slot, shortcut=None) -> QAction:
        a = QAction(text, window)
        if shortcut:
            a.setShortcut(QKeySequence(shortcut))
        a.triggered.connect(slot)
        menu.addAction(a)
        return a

    def ask_save(title: str, name: str, filt: str) -> str:
        return QFileDialog.getSaveFileName(window, title, name, filt)[0]

    def guarded(fn):
        def run(*_args) -> None:
            try:
                fn()
            except (OSError, ValueError, DiffViewsError) as exc:
                window.show_message("error", str(exc))

        return run

    def export_lineage() -> None:
        path = ask_save("Export lineage", "lineage.json", "JSON (*.json)")
        if path:
            ctl.export_lineage(path)
            window.show_message("info", f"Saved lineage to {path}")

    def replay_lineage() -> None:
        path = QFileDialog.getOpenFileName(window, "Replay lineage", "", "JSON (*.json)")[0]
        if path:
            ctl.replay(Lineage.load(path))

    def export_images() -> None:
        folder = QFileDialog.getExistingDirectory(window, "Export generated images and step strips")
        if folder:
            written = exports.export_images(list(gen.trajectories.values()), folder)
            window.show_message("info", f"Wrote {len(written)} PNG file(s) to {folder}")

    def export_selection() -> None:
        path = ask_save("Export selection and neighbours", "selection.csv", "CSV (*.csv)")
        if path:
            exports.export_selection_csv(parts.state, path)

    def export_npz() -> None:
        traj = gen.current_trajectory()
        if traj is None:
            raise ValueError("no trajectory is selected")
        path = ask_save("Export trajectory activations", f"trajectory_{traj.run}_{traj.sample + 1}.npz", "NPZ (*.npz)")
        if path:
            exports.export_trajectory_npz(traj, path)

    def save_session() -> None:
        path = ask_save("Save session", "session.json", "Session (*.json)")
        if path:
            parts.save_session(path)
            window.show_message("info", f"Saved session to {path}")

    def open_session() -> None:
        path = QFileDialog.getOpenFileName(window, "Open session", "", "Session (*.json)")[0]
        if path:
            parts.open_session(path)

    action("&Generate from neighbours", lambda: ctl.generate(False), "Ctrl+G")
    action("&Compare unmasked", lambda: ctl.generate(True), "Ctrl+Shift+G")
    action("C&ancel generation", ctl.cancel)
    action("Clear &trajectories", ctl.clear)
    menu.addSeparator()
    action("Export &lineage (JSON)…", guarded(export_lineage))
    action("&Replay lineage…", guarded(replay_lineage))
    menu.addSeparator()
    action("Export generated &images and step strips…", guarded(export_images))
    action("Export &selection and neighbours (CSV)…", guarded(export_selection))
    action("Export trajectory &activations (NPZ)…", guarded(export_npz))
    menu.addSeparator()
    action("Sa&ve session…", guarded(save_session), "Ctrl+Shift+S")
    action("&Open session…", guarded(open_session), "Ctrl+Shift+O")


def install_generation(window) -> GenerationParts:
    """Create the generation state, controller and docks on ``window`` (a MainWindow) and wire them."""
    state, canvas, controller = window.state, window.canvas, window.controller
    options = controller.options
    gen = GenerationState(window)
    overrides = {"num_steps": options.num_steps, "guidance_scale": options.guidance_scale}
    resources = ModelResources(options.device, options.adapter, options.checkpoint_path)
    generation = GenerationController(state, gen, window.pool, canvas, controller.knn_layers, resources,
                                      {k: v for k, v in overrides.items() if v is not None}, window)  # fmt: skip
    gen_dock = GenerationDock(state, gen, window)
    steps_dock = StepsDock(gen, window)
    traj_dock = TrajectoryDock(gen, window)
    # Right column: neighbours above the generation controls; bottom strip: trajectory plot beside the steps gallery,
    # so the default layout fits a 1440 x 900 window.
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, gen_dock)
    window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, traj_dock)
    window.splitDockWidget(traj_dock, steps_dock, Qt.Orientation.Horizontal)
    for dock in (gen_dock, steps_dock, traj_dock):
        window.view_menu.addAction(dock.toggleViewAction())
    gen_dock.generate_requested.connect(generation.generate)
    gen_dock.cancel_requested.connect(generation.cancel)
    traj_dock.clear_requested.connect(generation.clear)
    generation.message.connect(window.show_message)
    gen.step_hovered.connect(lambda tid, step: _show_step_in_preview(window, gen, tid, step))
    parts = GenerationParts(window, state, canvas, controller, gen, generation, gen_dock, steps_dock, traj_dock)
    _build_menu(window, parts)
    return parts
