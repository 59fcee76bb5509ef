"""The main window: the map in the centre, docks around it, menus, shortcuts, status bar, settings, drag-and-drop,
and sessions (File > Save / Open session).

The window receives its parts (states, canvas, worker pool, model cache, controller) instead of creating them
(``app.create_window`` is the composition root), so tests and the screenshot mode build exactly the same window
and can reach every part.
"""

from __future__ import annotations

import logging
import platform
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPoint, QRect, QSettings, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence, QPainter, QPixmap
from PySide6.QtWidgets import QFileDialog, QLabel, QMainWindow, QMessageBox, QVBoxLayout, QWidget

from diffviews_core.errors import DiffViewsError
from diffviews_core.images import DECODER_MODULES
from diffviews_core.model_cache import ModelCache

from . import __version__, session
from .background_import import import_in_background, settled
from .canvas_bridge import CanvasBridge
from .color_bar import ColorBar
from .colors import color_options, unavailable_color_options
from .controller import ExplorerController
from .docks.classes_dock import ClassesDock
from .docks.neighbours_dock import NeighboursDock
from .docks.preview_dock import PreviewDock
from .docks.trajectory_dock import PLOT_MODULE
from .docks.view_dock import COLOR_LABELS, ViewDock
from .exports import save_png
from .generation_ui import install_generation
from .images import ImageCache
from .selection_tools import SelectionTools
from .state import ExplorerState
from .state.generation_state import GenerationState
from .theme import CHOICES as THEME_CHOICES
from .theme import Theme, ThemeController
from .widgets import JobsIndicator, MessageBanner
from .window_layout import (
    DockSet,
    apply_default_layout,
    fit_geometry,
    hide_stale_tab_bars,
    make_scrollable,
    size_docks,
    window_size,
)
from .workers import CLOSE_GRACE_MS, MODELS, WorkerPool

log = logging.getLogger(__name__)

MAX_RECENT = 8
TITLE = "DiffViews Desktop"
SETTLE_RETRY_MS = 100  # ``settled`` is looked for again this much later while the warm-up's imports run
FULL_DEMO_HINT = "Compact demo (560 samples). File > Build the full demo for 3,200."


class MainWindow(QMainWindow):
    """Assembles the explorer; owns no data logic (that is the controller's and the state's)."""

    # once per window: the launch's warm-up is over (the canvas's visuals drawn once, the modules imported ahead of
    # use landed, the trajectory plot made): what exists now lives as long as the window
    settled = Signal()

    def __init__(self, state: ExplorerState, gen: GenerationState, canvas, pool: WorkerPool, cache: ModelCache,
                 controller: ExplorerController, settings: QSettings, parent: QWidget | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        self.state, self.gen, self.canvas, self.pool, self.cache = state, gen, canvas, pool, cache
        self.controller, self.settings = controller, settings
        self.setWindowTitle(TITLE)
        self.setAcceptDrops(True)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)
        self.bridge = CanvasBridge(state, canvas, self)
        self.images = ImageCache()
        # once the launch has settled: the first image (~60 ms) and the trajectory plot's module (most of a second),
        # then the plot itself
        canvas.warmed_up.connect(lambda: import_in_background(*DECODER_MODULES, PLOT_MODULE))
        canvas.warmed_up.connect(lambda: self.generation.trajectory_dock.warm_up())
        canvas.warmed_up.connect(self._settle)
        self._settled = False

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(canvas.widget, 1)
        self.color_bar = ColorBar(state)  # under the map, while a numeric column colours it
        layout.addWidget(self.color_bar)
        self.setCentralWidget(central)
        self.banner = MessageBanner()
        self.banner.float_over(central)  # over the map, not a row of its own: a message never resizes the map

        self.view_dock = ViewDock(state, self)
        self.preview_dock = PreviewDock(state, gen, self.images, self)
        self.classes_dock = ClassesDock(state, self)
        self.neighbours_dock = NeighboursDock(state, self.images, self)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.view_dock)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.preview_dock)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.classes_dock)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.neighbours_dock)
        self.resizeDocks([self.view_dock, self.neighbours_dock], [270, 300], Qt.Orientation.Horizontal)

        self.view_dock.model_requested.connect(controller.switch_model)
        self.view_dock.layer_requested.connect(controller.switch_layer)
        self.neighbours_dock.knn_requested.connect(controller.suggest_knn)
        controller.message.connect(self.show_message)
        pool.job_failed.connect(lambda name, text: self.show_message("error", f"{name} failed: {text}"))
        pool.job_cancelled.connect(lambda name: self.statusBar().showMessage(f"{name}: cancelled", 10000))

        self.points_label = QLabel()
        self.jobs = JobsIndicator(pool)
        self.statusBar().addPermanentWidget(self.jobs)
        self.statusBar().addPermanentWidget(self.points_label)
        self.theme = ThemeController(settings, self)
        if controller.options.theme:
            self.theme.choice = controller.options.theme  # this run only: applied below, not remembered
        self._build_menus()
        for signal in (state.model_changed, state.embedding_changed, state.mode_changed, state.root_changed):
            signal.connect(self._refresh_title)
        state.model_changed.connect(self._refresh_color_menu)
        state.mode_changed.connect(self._refresh_mode_actions)
        state.model_changed.connect(self._refresh_mode_actions)
        state.embedding_changed.connect(self._refresh_mode_actions)
        state.color_by_changed.connect(self._refresh_color_menu)
        state.root_changed.connect(self._remember_root)
        self._hinted_full_demo = False
        self._sizing_docks_for: QSize | None = None
        self._found_device: str | None = None
        self._about_box: QMessageBox | None = None
        state.root_changed.connect(self._hint_full_demo)
        self.generation = install_generation(self, controller.options)  # before restoring: the layout holds its docks
        self.selection_tools = SelectionTools(state, self)
        self.selection_tools_bar = self.selection_tools.add_to(self.selection_menu, self)
        self._restore_settings()
        self.theme.changed.connect(self._apply_theme)
        self.theme.apply()
        self._refresh_title()
        self._refresh_mode_actions()

    # ---- menus ----------------------------------------------------------------------------------------------------
    def grab_with_map(self) -> QPixmap:
        """The window as a pixmap with the map in it: the map is a native GL surface, which a widget grab leaves
        blank, so its frame is read from GL and painted over its place."""
        pixmap = self.grab()
        area = self.canvas.widget
        if area.isVisible():
            painter = QPainter(pixmap)
            painter.drawImage(QRect(area.mapTo(self, QPoint(0, 0)), area.size()), self.canvas.native.grabFramebuffer())
            painter.end()
        return pixmap

    def _action(self, menu, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if tip:
            action.setStatusTip(tip)
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file = bar.addMenu("&File")
        self._action(file, "&Open data folder…", self.choose_folder, QKeySequence.StandardKey.Open,
                     "open a data root (one folder per model) or a model folder")  # fmt: skip
        self.recent_menu = file.addMenu("Open &recent")
        self._action(file, "&Import data folder…", lambda: self.choose_import(folder=True),
                     tip="copy a data folder into your data root (checkpoints it points at come along), then open "
                     "it")  # fmt: skip
        self._action(file, "Import data &archive…", lambda: self.choose_import(folder=False),
                     tip="unpack a .zip or .tar(.gz) of data into your data root, then open it")  # fmt: skip
        self.full_demo_action = self._action(file, "Build the &full demo (3,200 samples)", self.build_full_demo,
                                             tip="the demo model on 400 images, built once into the user cache "
                                             "(about a minute; cancel resumes later), then opened")  # fmt: skip
        file.addSeparator()
        self._action(file, "Sa&ve session…", self.choose_session_file, "Ctrl+Shift+S",
                     "data, view, selection, generation settings and generated images, as one JSON file")  # fmt: skip
        self._action(file, "Open &session…", self.choose_session_to_open, "Ctrl+Shift+O")
        file.addSeparator()
        self.export_menu = file.addMenu("&Export")
        self.export_action = self._action(self.export_menu, "&View as PNG…", self.choose_export, "Ctrl+E",
                                          "save the map as it is drawn now")  # fmt: skip
        file.addSeparator()
        self._action(file, "&Quit", self.close, QKeySequence.StandardKey.Quit)

        view = self.view_menu = bar.addMenu("&View")
        modes = QActionGroup(self)
        self.action_2d = self._action(view, "&2D map", lambda: self.state.set_mode("2d"), "2")
        self.action_3d = self._action(view, "&3D map", lambda: self.state.set_mode("3d"), "3")
        for a in (self.action_2d, self.action_3d):
            a.setCheckable(True)
            modes.addAction(a)
        self._action(view, "Re&set view", self.canvas.reset_view, "Home", "fit all points in the view")
        self._action(view, "Reset &layout", lambda: self.reset_layout(), tip="put every dock back in its default place "
                     "for this window's size")  # fmt: skip
        self.color_menu = view.addMenu("&Colour by")
        self.color_group = QActionGroup(self)
        self._build_theme_menu(view.addMenu("&Theme"))
        view.addSeparator()
        for dock in (self.view_dock, self.preview_dock, self.classes_dock, self.neighbours_dock):
            view.addAction(dock.toggleViewAction())

        select = self.selection_menu = bar.addMenu("&Selection")
        self._action(select, "Suggest &KNN", self.controller.suggest_knn, "K",
                     "nearest neighbours of the selected sample")  # fmt: skip
        self._action(select, "Clear &neighbours", self.state.clear_neighbours, "Shift+Esc")
        self._action(select, "Clear &selection", self.state.clear_selection, "Esc")
        self._action(select, "&Find class or sample…", self.focus_search, QKeySequence.StandardKey.Find)
        self._action(select, "Clear &highlight", self.state.clear_highlight, "Ctrl+Shift+H")

        help_menu = self.help_menu = bar.addMenu("&Help")  # stays last: later menus are inserted before it
        self._action(help_menu, "&Controls", self.show_controls, QKeySequence.StandardKey.HelpContents)
        self._action(help_menu, "&About DiffViews Desktop", self.show_about)
        self._refresh_recent()

    def _build_theme_menu(self, menu) -> None:
        group = QActionGroup(self)
        self.theme_actions = {}
        for key, label in THEME_CHOICES.items():
            action = self._action(menu, label, lambda _c=False, k=key: self.theme.set_choice(k))
            action.setCheckable(True)
            action.setChecked(key == self.theme.choice)
            group.addAction(action)
            self.theme_actions[key] = action

    def _apply_theme(self, theme: Theme) -> None:
        """The parts that draw their own colours: the map, the trajectory plot, the banner."""
        self.canvas.set_background(theme.map_background)
        self.bridge.set_dark(theme.dark)
        self.classes_dock.set_dark(theme.dark)
        self.color_bar.set_dark(theme.dark)
        self.banner.set_theme(theme)
        self.generation.trajectory_dock.set_theme(theme)

    def _refresh_color_menu(self, *_args) -> None:
        self.color_menu.clear()
        for action in self.color_group.actions():
            self.color_group.removeAction(action)
        model = self.state.model
        for option in color_options(model.samples.columns) if model is not None else []:
            action = QAction(COLOR_LABELS.get(option, option), self, checkable=True)
            action.setChecked(option == self.state.color_by)
            action.triggered.connect(lambda _c=False, o=option: self.state.set_color_by(o))
            self.color_group.addAction(action)
            self.color_menu.addAction(action)
        for option, note in unavailable_color_options(model.samples.columns).items() if model is not None else []:
            action = QAction(f"{COLOR_LABELS.get(option, option)} (unavailable: {note})", self)
            action.setEnabled(False)
            self.color_menu.insertAction(self.color_menu.actions()[0] if self.color_menu.actions() else None, action)

    def _refresh_mode_actions(self, *_args) -> None:
        self.action_3d.setEnabled(self.state.has_3d())
        (self.action_3d if self.state.mode == "3d" else self.action_2d).setChecked(True)

    def _refresh_title(self, *_args) -> None:
        s = self.state
        if s.model is None:
            self.setWindowTitle(TITLE)
            self.points_label.setText("no data")
            return
        self.setWindowTitle(f"{s.model_name} · {s.layer_label()} — {TITLE}")
        self.points_label.setText(f"{s.num_points:,} points · {s.mode.upper()}")

    def _settle(self) -> None:
        """Emit ``settled`` (once) when the warm-up's imports have landed and the trajectory plot is made, looking
        again every ``SETTLE_RETRY_MS`` until then."""
        if self._settled:
            return
        imported = all(settled(name) for name in (*DECODER_MODULES, PLOT_MODULE))
        if not (imported and self.generation.trajectory_dock.plot_made):
            QTimer.singleShot(SETTLE_RETRY_MS, self, self._settle)
            return
        self._settled = True
        self.settled.emit()

    # ---- actions ----------------------------------------------------------------------------------------------------
    def show_message(self, level: str, text: str) -> None:
        """Banner over the map plus the status bar; errors never interrupt with a modal dialog."""
        (log.warning if level != "info" else log.info)("%s", text)
        self.banner.show_message(level, text)
        lines = text.splitlines()
        more = f" ({len(lines) - 1} more lines over the map)" if len(lines) > 1 else ""
        self.statusBar().showMessage(lines[0].rstrip(":") + more, 10000)

    def open_folder(self, path: Path | str) -> None:
        self.controller.open_folder(Path(path))

    def build_full_demo(self) -> None:
        """Build the full demo in a job (progress and cancel in the status bar), then open it; instant once built."""
        from diffviews_core.pipelines import demo_build

        self.full_demo_action.setEnabled(False)  # one build at a time: two would share the work folder
        # in the worker process; where and how much is decided here (this process's settings and cache folder)
        where, per_class = demo_build.full_demo_root(), demo_build.FULL_PER_CLASS
        job = self.pool.submit_to_process("Building the full demo", demo_build.build_full_demo, where,
                                          job_kwargs={"per_class": per_class}, on_result=self.open_folder,
                                          on_error=lambda text: self.show_message("error", f"Full demo not built: {text}"))  # fmt: skip
        job.ended.connect(lambda: self.full_demo_action.setEnabled(True))

    def _hint_full_demo(self) -> None:
        """Once per window, when the compact demo opens, point at the full one (never in a screenshot); the hint
        goes when another folder opens."""
        root = self.state.root
        if root is None:
            return
        from .options import demo_data_dir

        demo = demo_data_dir()
        is_demo = demo is not None and Path(root.path).resolve() == demo.resolve()
        if not is_demo and self.banner.isVisible() and self.banner.text.text() == FULL_DEMO_HINT:
            self.banner.hide()
        if self._hinted_full_demo or not is_demo or self.controller.options.screenshot is not None:
            return
        self._hinted_full_demo = True
        self.show_message("info", FULL_DEMO_HINT)

    def choose_folder(self) -> None:
        start = self.state.root.path if self.state.root is not None else Path.home()
        path = QFileDialog.getExistingDirectory(self, "Open data folder", str(start))
        if path:
            self.open_folder(path)

    def choose_import(self, folder: bool) -> None:
        if folder:
            path = QFileDialog.getExistingDirectory(self, "Import data folder", str(Path.home()))
        else:
            path = QFileDialog.getOpenFileName(self, "Import data archive", str(Path.home()),
                                               "Archives (*.zip *.tar *.tar.gz *.tgz)")[0]  # fmt: skip
        if path:
            self.import_data(path)

    def import_data(self, source: Path | str, data_root: Path | str | None = None):
        """Copy or unpack ``source`` into the data root in a job (as ``diffviews import`` does), then open it there."""
        from diffviews_core.importer import import_data
        from diffviews_core.paths import data_root as user_data_root

        target = Path(data_root) if data_root is not None else user_data_root()

        def imported(models: list[Path]) -> None:
            self.show_message("info", f"Imported {', '.join(m.name for m in models)} into {target}")
            self.controller.open_folder(target, models[0].name)

        return self.pool.submit(f"Importing {Path(source).name}", import_data, Path(source), target,
                                on_result=imported,
                                on_error=lambda text: self.show_message("error", f"Import failed: {text}"))  # fmt: skip

    def export_view(self, path: Path | str) -> Path:
        """Save the map as drawn (vispy render at full detail) as a PNG."""
        path = save_png(np.asarray(self.canvas.render_image()), path)
        self.statusBar().showMessage(f"Saved {path}", 5000)
        return path

    def choose_export(self) -> None:
        name = f"{self.state.model_name or 'view'}-{self.state.layer or 'map'}.png".replace("/", "_")
        path, _ = QFileDialog.getSaveFileName(self, "Export view as PNG", name, "PNG images (*.png)")
        if path:
            try:
                self.export_view(path)
            except OSError as exc:
                self.show_message("error", str(exc))

    # ---- sessions -------------------------------------------------------------------------------------------------
    def save_session(self, path: Path | str) -> Path:
        """Write the session (data, model, layer, view, selection, camera, generation) as JSON, atomically."""
        return session.save_session(self, path)

    def open_session(self, path: Path | str) -> session.SessionRestore:
        """Restore a session file in the background; a problem is a message naming the file, never a crash."""
        restorer = session.restore_session(self, path)
        restorer.done.connect(lambda ok, text: self.show_message("info" if ok else "error", text))
        return restorer

    def choose_session_file(self) -> None:
        path = QFileDialog.getSaveFileName(self, "Save session", "session.json", "Session (*.json)")[0]
        if path and self._reported(lambda: self.save_session(path)):
            self.show_message("info", f"Saved session to {path}")

    def choose_session_to_open(self) -> None:
        path = QFileDialog.getOpenFileName(self, "Open session", "", "Session (*.json)")[0]
        if path:
            self._reported(lambda: self.open_session(path))

    def _reported(self, action) -> bool:
        """Run ``action``; a problem with a file becomes an error message (False), never an exception."""
        try:
            action()
        except (OSError, ValueError, DiffViewsError) as exc:
            self.show_message("error", str(exc))
            return False
        return True

    def focus_search(self) -> None:
        self.classes_dock.show()
        self.classes_dock.raise_()
        self.classes_dock.search.setFocus()
        self.classes_dock.search.selectAll()

    def show_controls(self) -> None:
        QMessageBox.information(self, "Controls", (
            "Mouse: hover a point to preview it; click to select; click more points to add or remove neighbours; "
            "Ctrl+click selects another sample; click the selected sample to deselect it.\n"
            "Tools: S point, L lasso, B box. A lasso or box makes the points inside the selection set (Shift adds "
            "to it); with the point tool Shift+drag lassos. A generated star: click shows its steps, Shift+click adds it "
            "to the selection, Ctrl+click selects it alone (a KNN query).\n"
            "2D: drag to pan, wheel to zoom. 3D: drag to rotate, wheel to zoom.\n"
            "Keys: 2 / 3 switch the map, Home resets the view, K suggests neighbours, Esc clears the selection, "
            "Ctrl+F finds a class or sample id, Ctrl+O opens a folder, Ctrl+E exports the view."))  # fmt: skip

    def device_in_use(self) -> str | None:
        """The device the models run on (in the worker process): the one generations ran on, else the one
        ``--device`` named or was found; None until known."""
        devices = sorted(self.generation.runner.devices)
        if devices:
            return ", ".join(devices)
        asked = self.controller.options.device
        return asked if asked and asked != "auto" else self._found_device

    def about_text(self) -> str:
        import PySide6
        import vispy

        device = self.device_in_use() or "finding out…"
        lines = [
            f"DiffViews Desktop {__version__}",
            "Explore what a diffusion model's layers encode.",
            "",
            f"Python {platform.python_version()} · PySide6 {PySide6.__version__} · Qt {PySide6.QtCore.qVersion()}",
            f"vispy {vispy.__version__} · numpy {np.__version__}",
            f"Device: {device}",
        ]
        if self.state.root is not None:
            lines.append(f"Data: {self.state.root.path}")
        return "\n".join(lines)

    def show_about(self) -> QMessageBox:
        """The About box (not modal to the app's work); the device is found in the background (torch's import is
        slow) when no model has run yet."""
        if self._about_box is None:
            self._about_box = QMessageBox(QMessageBox.Icon.Information, "About DiffViews Desktop", "",
                                          QMessageBox.StandardButton.Close, self)  # fmt: skip
        box = self._about_box
        box.setText(self.about_text())
        box.open()
        if self.device_in_use() is None:
            from diffviews_core.device import pick_device

            def found(device: str) -> None:
                self._found_device = device
                box.setText(self.about_text())

            self.pool.submit_to_process("Finding the device", pick_device, self.controller.options.device,
                                        lane=MODELS, on_result=found, quiet=True)  # fmt: skip
        return box

    # ---- settings, recent folders, drag-and-drop, close ------------------------------------------------------------
    def dock_set(self) -> DockSet:
        g = self.generation
        return DockSet(
            left=[self.view_dock, self.classes_dock, self.preview_dock],
            right=[self.neighbours_dock, g.generation_dock],
            bottom=[g.trajectory_dock, g.steps_dock],
        )

    def reset_layout(self, size: QSize | None = None) -> None:
        """The default dock layout for ``size`` (default: the window's size now); the window is resized to it."""
        if size is not None:
            self.resize(size)
        apply_default_layout(self, self.dock_set(), size or self.size())
        self.layout().activate()  # place the docks now, not at the next turn of the event loop
        self._sizing_docks_for = size if size is not None and self.size() != size else None

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        if self._sizing_docks_for is not None and event.size() == self._sizing_docks_for:
            self._sizing_docks_for = None  # a shown window's resize lands later: size the docks for it now
            size_docks(self, self.dock_set(), event.size())

    def _restore_settings(self) -> None:
        """The saved geometry and layout, kept inside the screen; without them, the default layout for the screen."""
        for dock in self.dock_set().all():
            make_scrollable(dock)  # no dock's contents may force the window past the screen
        available = self.screen().availableGeometry()
        geometry = self.settings.value("window/geometry")
        if geometry is not None and self.restoreGeometry(geometry):
            self.setGeometry(fit_geometry(self.geometry(), available))
        state = self.settings.value("window/state")
        if state is None or not self.restoreState(state):
            self.reset_layout(window_size(available.size()) if geometry is None else None)
        else:
            hide_stale_tab_bars(self)

    def save_settings(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.sync()

    def recent_folders(self) -> list[str]:
        value = self.settings.value("recent/folders") or []
        return [value] if isinstance(value, str) else [str(v) for v in value]

    def _remember_root(self) -> None:
        if self.state.root is None:
            return
        path = str(self.state.root.path)
        folders = [path] + [p for p in self.recent_folders() if p != path]
        self.settings.setValue("recent/folders", folders[:MAX_RECENT])
        self._refresh_recent()

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        folders = self.recent_folders()
        for i, folder in enumerate(folders):
            action = self.recent_menu.addAction(f"&{i + 1} {folder}")
            action.triggered.connect(lambda _c=False, f=folder: self.open_folder(f))
        self.recent_menu.setEnabled(bool(folders))

    @staticmethod
    def _dropped_folder(mime) -> Path | None:
        for url in mime.urls() if mime.hasUrls() else []:
            if url.isLocalFile() and Path(url.toLocalFile()).is_dir():
                return Path(url.toLocalFile())
        return None

    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt override)
        if self._dropped_folder(event.mimeData()) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 (Qt override)
        folder = self._dropped_folder(event.mimeData())
        if folder is not None:
            event.acceptProposedAction()
            self.open_folder(folder)

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        """Save the layout, cancel every job and wait for them at most ``CLOSE_GRACE_MS``; one still inside a call
        that cannot be interrupted is abandoned (see ``workers``), so closing never hangs."""
        self.save_settings()
        self.hide()  # the wait below is short, and nothing on screen looks frozen meanwhile
        if not self.pool.shutdown(CLOSE_GRACE_MS):
            self.pool.abandon()
        self.canvas.close()
        super().closeEvent(event)
