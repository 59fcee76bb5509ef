"""Build the application and its window, open the start data, and run it (or take a screenshot and exit)."""

from __future__ import annotations

import gc
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QSettings, QTimer
from PySide6.QtWidgets import QApplication

from diffviews_core.errors import DiffViewsError

from .gc_guard import UIThreadGarbageCollector, keep_start_up_objects
from .options import LaunchOptions, default_data_dir
from .workers import abandoned_running, close_worker_processes

log = logging.getLogger(__name__)

ORGANIZATION = "DiffViews"
APPLICATION = "DiffViews Desktop"
SCREENSHOT_SETTLE_MS = 400  # after the first full frame: let the docks' images and the GL frame land
SCREENSHOT_TIMEOUT_MS = 60000


SETTINGS_FILE = "diffviews-desktop.ini"
# Qt delivers a window's update request this many ms after it is asked for, where the platform has no vsync signal
# to wait for (X11): 5 by default, idle time "to gather system events". Every frame of the canvas (a native
# QOpenGLWindow) waited for it: a click's or hover's frame was 5 ms later for nothing. The user's value is kept.
UPDATE_IDLE_MS = "0"
# Mesa's software OpenGL (llvmpipe): how many rasterizer threads it starts; GPU drivers ignore it
SOFTWARE_GL_THREADS = "LP_NUM_THREADS"


def user_settings() -> QSettings:
    """The user's settings (window layout, recent folders): an INI file in ``$DIFFVIEWS_CONFIG_DIR`` when that is set,
    else Qt's native place for this organisation and application."""
    from diffviews_core.paths import CONFIG_ENV, config_dir

    if os.environ.get(CONFIG_ENV, "").strip():
        return QSettings(str(config_dir() / SETTINGS_FILE), QSettings.Format.IniFormat)
    return QSettings(ORGANIZATION, APPLICATION)


def software_gl_threads() -> int:
    """Rasterizer threads for software OpenGL: the cores left by the worker processes' threads (``default_threads``)
    and the UI thread; 0 draws on the UI thread itself. llvmpipe's default, a thread per core, made its threads
    compete with the workers' on a small machine, and the UI thread waited for them and for a core in every frame:
    on two cores, UI stalls over 50 ms while jobs ran, in 2,000-action soaks, were 4-8 with its default and 0-3 with 0;
    quiet, a 100k-point click's frame costs ~3 ms more with 0."""
    from diffviews_core.device import default_threads

    return max(0, (os.cpu_count() or 1) - default_threads() - 1)


def application() -> QApplication:
    """The QApplication (created once, with the names QSettings uses)."""
    from .qt_imports import skip_feature_scan

    skip_feature_scan()  # before the window's modules (numpy, vispy, the docks) are imported
    app = QApplication.instance()
    if app is None:
        os.environ.setdefault("QT_QPA_UPDATE_IDLE_TIME", UPDATE_IDLE_MS)  # read once, at the first update request
        os.environ.setdefault(SOFTWARE_GL_THREADS, str(software_gl_threads()))  # read when the first GL context is made
        app = QApplication(sys.argv[:1])
        app.setOrganizationName(ORGANIZATION)
        app.setApplicationName(APPLICATION)
        app.setApplicationDisplayName(APPLICATION)
        app.gc_guard = UIThreadGarbageCollector(app)  # Qt objects must never be collected by a worker thread
    return app


def create_window(options: LaunchOptions | None = None, settings: QSettings | None = None):
    """The composition root: the explorer and generation states, the one worker pool, the model cache, the
    controller, the canvas and the window that assembles them (not shown; ``options.data_dir``, unless a session
    is to be restored, is already being read in the background for the ``open_folder`` of it that follows)."""
    from diffviews_core.model_cache import ModelCache

    from .controller import ExplorerController
    from .state import ExplorerState
    from .state.generation_state import GenerationState
    from .workers import WorkerPool

    options = options or LaunchOptions()
    state, gen = ExplorerState(), GenerationState()
    pool = WorkerPool()
    cache = ModelCache(device=options.device, adapter_name=options.adapter, checkpoint=options.checkpoint_path)
    controller = ExplorerController(state, pool, cache, options)
    if options.data_dir is not None and options.session is None:
        controller.prefetch(options.data_dir)  # read while the window is built; open_start_data takes it over
    from .canvas import PointCloudCanvas  # the window's modules (vispy): imported while the data is read
    from .main_window import MainWindow

    canvas = PointCloudCanvas(pool=pool)
    controller.after_drawn = canvas.when_drawn
    window = MainWindow(state, gen, canvas, pool, cache, controller, settings or user_settings())
    for obj in (state, gen, pool, controller):
        obj.setParent(window)
    return window


def start_folder(window, options: LaunchOptions) -> Path | None:
    """--data-dir, else the folder opened last (while it still exists), else the demo, else the user data root."""
    if options.data_dir is not None:
        return options.data_dir
    last = window.recent_folders()[:1]
    if last and Path(last[0]).is_dir():
        return Path(last[0])
    return default_data_dir()


def open_start_data(window, options: LaunchOptions) -> bool:
    """Open the start folder (``start_folder``); without any, say how to get data."""
    path = start_folder(window, options)
    if path is None:
        window.show_message("info", "No data yet. Open a data folder (File > Open, Ctrl+O), drop one on the window, "
                            "or download data with `diffviews download`.")  # fmt: skip
        return False
    window.open_folder(path)
    return True


def _save_window_png(window, path: Path) -> bool:
    """Grab ``window`` (with its map) as a PNG written atomically; False if it could not be encoded or written."""
    from diffviews_core.atomic import atomic_write_bytes

    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not window.grab_with_map().save(buffer, "PNG"):
        return False
    try:
        atomic_write_bytes(path, bytes(data))
    except OSError as exc:
        log.error("screenshot %s: %s", path, exc)
        return False
    return True


def _screenshot_when_ready(window, path: Path, app: QApplication, started: float, restorer=None) -> None:
    """Save the window once the first map is drawn (or the session is restored, or no data loaded), then quit."""
    state = window.state
    done = {"saved": False}

    def save() -> None:
        if done["saved"]:
            return
        done["saved"] = True
        app.processEvents()
        ok = _save_window_png(window, path)
        log.info("screenshot %s after %.2f s: %s", path, time.perf_counter() - started, "saved" if ok else "failed")
        if not ok:
            print(f"diffviews-desktop: could not write {path}", file=sys.stderr)
        app.exit(0 if ok else 1)

    def settle() -> None:
        QTimer.singleShot(SCREENSHOT_SETTLE_MS, save_when_idle)

    def save_when_idle() -> None:
        """A restored selection prepares generation (loads the model) in the background: the picture waits for it,
        so it shows the window at rest rather than a busy status bar (the timeout still saves whatever is there)."""
        if any(not job.quiet for job in window.pool.running()):
            QTimer.singleShot(100, save_when_idle)
        else:
            save()

    if restorer is not None:  # a session's layer switch lands after its model: wait for the whole restore
        restorer.done.connect(lambda ok, text: settle())
        QTimer.singleShot(SCREENSHOT_TIMEOUT_MS, save)
        return
    state.model_changed.connect(settle)
    window.controller.busy_changed.connect(lambda busy: None if busy or state.model is not None else settle())
    QTimer.singleShot(SCREENSHOT_TIMEOUT_MS, save)
    if not window.pool.running() and not window.controller.handing_over:  # nothing is being opened
        settle()


def keep_long_lived_objects(window) -> None:
    """Keep what lives as long as ``window`` out of the collector's walks: now, and what its warm-up adds (pyqtgraph,
    the image decoders, the trajectory plot) once it has settled."""
    keep_start_up_objects()
    window.settled.connect(keep_start_up_objects)


def run_app(options: LaunchOptions) -> int:
    """Run the explorer until the window closes; in screenshot mode, until the PNG is written."""
    started = time.perf_counter()
    app = application()
    with tempfile.TemporaryDirectory(prefix="diffviews-") as scratch:
        if options.screenshot is not None:  # a fixed, fresh layout: screenshots do not depend on the user's settings
            settings = QSettings(str(Path(scratch) / "settings.ini"), QSettings.Format.IniFormat)
        else:
            settings = user_settings()
        window = create_window(options, settings)
        keep_long_lived_objects(window)
        window.show()
        restorer = None
        if options.session:
            try:
                restorer = window.open_session(options.session)
            except DiffViewsError as exc:  # one line naming the file; the start data opens instead
                window.show_message("error", str(exc))
        if restorer is None:
            open_start_data(window, options)
        if options.screenshot is not None:
            _screenshot_when_ready(window, options.screenshot, app, started, restorer)
        code = app.exec()
        if window.isVisible():
            window.close()
    close_worker_processes(0.5)  # a job still in one (its thread abandoned) is killed
    stuck = abandoned_running()
    if stuck:
        _exit_under_running_threads(code, [job.name for job in stuck])
    # The interpreter's last collections would traverse every object torch, numba and Qt made: 2-3 s of the exit
    # once torch is loaded, 0.6 s without them (2 cores under load). What is left is freed with the process; objects
    # dropped by reference counting are still finalised as usual.
    gc.freeze()
    return code


def _exit_under_running_threads(code: int, names: list[str]) -> None:
    """End the process now, without finalising the interpreter: a thread still inside an uninterruptible call
    (abandoned on close) would otherwise abort it ("QThread: Destroyed while thread is still running") or hold it.
    Settings were synced on close and every file the app writes is written atomically; logs and output are flushed."""
    log.warning("exiting while %s still run(s); nothing they produce is kept", ", ".join(names))
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)
