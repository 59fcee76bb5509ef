"""Window fixtures: the real main window (real vispy canvas) on a generated original-layout data folder.

The canvas needs GL, so these tests run on Qt's xcb platform on the X display pytest-xvfb starts. The window factory
fails a test at teardown if a worker thread still runs or a top-level widget outlived the window.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/data_fixtures.py

from data_fixtures import make_original_layout  # noqa: E402
from window_helpers import wait_drawn  # noqa: E402

WINDOW_SIZE = (1280, 800)


@pytest.fixture(scope="session")
def fixture_root(tmp_path_factory) -> Path:
    """dmd2 (npy, layer_cache, aligned 3D), edm (npz) and a broken model, 60 samples each."""
    return make_original_layout(tmp_path_factory.mktemp("data"), n_per_model=60)


@pytest.fixture
def make_window(qtbot, tmp_path, gl_display):
    """Factory: ``make_window(data_dir=None, **options)`` -> a shown MainWindow (data opened when given)."""
    from diffviews_app.app import create_window
    from diffviews_app.options import LaunchOptions
    from PySide6.QtCore import QCoreApplication, QEvent, QSettings
    from PySide6.QtWidgets import QApplication

    before_widgets = set(QApplication.topLevelWidgets())
    before_threads = set(threading.enumerate())
    windows, jobs = [], []

    def factory(data_dir: Path | None = None, settings_file: Path | None = None, **options):
        settings = QSettings(str(settings_file or tmp_path / "settings.ini"), QSettings.Format.IniFormat)
        window = create_window(LaunchOptions(data_dir=data_dir, **options), settings)
        window.pool.jobs_changed.connect(lambda: jobs.extend(j for j in window.pool.running() if j not in jobs))
        # Inside the X screen: pointer events beyond its edge are clamped (pytest-xvfb's default screen is 800x600).
        screen = window.screen().availableGeometry()
        window.setGeometry(screen.x(), screen.y(), min(WINDOW_SIZE[0], screen.width()),
                           min(WINDOW_SIZE[1], screen.height()))
        window.show()
        qtbot.waitExposed(window)
        window.activateWindow()  # menu shortcuts need the active window
        qtbot.waitActive(window)
        windows.append(window)
        if data_dir is not None:
            window.open_folder(data_dir)
            qtbot.waitUntil(lambda: window.state.model is not None, timeout=10000)
            wait_drawn(qtbot, window)
        return window

    yield factory

    for window in windows:
        window.close()
        window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QCoreApplication.processEvents()
    for job in jobs:
        try:
            running = job.isRunning()
        except RuntimeError:  # deleted after it finished and was waited for
            running = False
        assert not running, f"worker {job.name!r} still running after the window closed"
    # Python threads the window started (the canvas's index worker): QThreads appear as _DummyThread and are
    # checked above; daemon monitors of libraries (tqdm's, once umap is imported) live for the process.
    leaked_threads = [t for t in set(threading.enumerate()) - before_threads
                      if t.is_alive() and not t.daemon and not isinstance(t, threading._DummyThread)]
    assert not leaked_threads, f"threads left running: {leaked_threads}"
    leaked = [w for w in set(QApplication.topLevelWidgets()) - before_widgets if w.isVisible()]
    assert not leaked, f"top-level widgets leaked: {leaked}"
