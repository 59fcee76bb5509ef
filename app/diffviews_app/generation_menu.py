"""The Generate menu (run, compare, cancel, clear, replay a lineage) and generation's entries of File > Export
(lineage, images and step strips, selection, trajectory activations).

Each action asks for a file where it needs one and calls the runner or ``exports``; a problem becomes the window's
error message, never a dialog that blocks work.
"""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QMenu

from diffviews_core.errors import DiffViewsError
from diffviews_core.lineage import Lineage

from . import exports


def build_generate_menu(window, runner, gen) -> None:
    """Add the Generate menu (before Help) and the export entries (to File > Export) of ``window`` (a MainWindow) for
    ``runner`` (GenerationRunner) and ``gen``."""
    menu = QMenu("&Generate", window)
    window.menuBar().insertMenu(window.help_menu.menuAction(), menu)

    def action(text: str, slot, shortcut=None, where: QMenu = menu) -> QAction:
        a = QAction(text, window)
        if shortcut:
            a.setShortcut(QKeySequence(shortcut))
        a.triggered.connect(slot)
        where.addAction(a)
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
        traj = gen.current_trajectory()
        exports.lineage_of(traj)  # nothing to export: say so before asking where
        path = ask_save("Export lineage", "lineage.json", "JSON (*.json)")
        if path:
            exports.export_lineage(traj, path)
            window.show_message("info", f"Saved lineage to {path}")

    def replay_lineage() -> None:
        path = QFileDialog.getOpenFileName(window, "Replay lineage", "", "JSON (*.json)")[0]
        if path:
            runner.replay(Lineage.load(path))

    def export_images() -> None:
        folder = QFileDialog.getExistingDirectory(window, "Export generated images and step strips")
        if folder:
            written = exports.export_images(list(gen.trajectories.values()), folder)
            window.show_message("info", f"Wrote {len(written)} PNG file(s) to {folder}")

    def export_selection() -> None:
        path = ask_save("Export selection and neighbours", "selection.csv", "CSV (*.csv)")
        if path:
            chosen = [gen.trajectories[t] for t in window.state.selected_generated if t in gen.trajectories]
            exports.export_selection_csv(window.state, path, chosen)

    def export_npz() -> None:
        traj = gen.current_trajectory()
        if traj is None:
            raise ValueError("no trajectory is selected")
        path = ask_save("Export trajectory activations", f"trajectory_{traj.run}_{traj.sample + 1}.npz", "NPZ (*.npz)")
        if path:
            exports.export_trajectory_npz(traj, path)

    action("&Generate from neighbours", lambda: runner.generate(False), "Ctrl+G")
    action("&Compare unmasked", lambda: runner.generate(True), "Ctrl+Shift+G")
    action("C&ancel generation", runner.cancel)
    action("Clear &trajectories", runner.clear)
    menu.addSeparator()
    action("&Replay lineage…", guarded(replay_lineage))
    exports_menu = window.export_menu
    exports_menu.addSeparator()
    action("Generation &lineage (JSON)…", guarded(export_lineage), where=exports_menu)
    action("Generated &images and step strips…", guarded(export_images), where=exports_menu)
    action("&Selection and neighbours (CSV)…", guarded(export_selection), where=exports_menu)
    action("Trajectory &activations (NPZ)…", guarded(export_npz), where=exports_menu)
