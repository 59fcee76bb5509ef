"""The Generate menu: run, compare, cancel, clear; lineage export and replay; image, selection and trajectory exports.

Each action asks for a file where it needs one and calls the runner or ``exports``; a problem becomes the window's
error message, never a dialog that blocks work.
"""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog

from diffviews_core.errors import DiffViewsError
from diffviews_core.lineage import Lineage

from . import exports


def build_generate_menu(window, runner, gen) -> None:
    """Add the Generate menu to ``window`` (a MainWindow) for ``runner`` (GenerationRunner) and ``gen``."""
    menu = window.menuBar().addMenu("&Generate")

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
            exports.export_selection_csv(window.state, path)

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
    action("Export &lineage (JSON)…", guarded(export_lineage))
    action("&Replay lineage…", guarded(replay_lineage))
    menu.addSeparator()
    action("Export generated &images and step strips…", guarded(export_images))
    action("Export &selection and neighbours (CSV)…", guarded(export_selection))
    action("Export trajectory &activations (NPZ)…", guarded(export_npz))
