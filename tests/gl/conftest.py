"""GL tests: a real OpenGL context (Qt's xcb platform on the X display pytest-xvfb starts), for the vispy canvas and
the real main window.

The top-level conftest switches Qt to xcb when a display exists; the ``gl_display`` fixture (tests/helpers/require_gl.py)
skips with a reason where that cannot work, or fails under ``--require-gl``. The window factory fails a test at
teardown if a worker thread still runs or a top-level widget outlived the window.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from data_fixtures import make_original_layout
from tiny_model import seed_like_spec, write_tiny_model
from window_helpers import wait_drawn

CANVAS_SIZE = (640, 480)
WINDOW_SIZE = (1280, 800)


@pytest.fixture(autouse=True)
def _needs_gl_display(gl_display):
    """Every test here draws with GL."""


@pytest.fixture
def make_canvas(qtbot):
    """Factory: ``make_canvas(size=CANVAS_SIZE, **options)`` -> a shown PointCloudCanvas, exposed (its GL context
    made), closed (worker joined) at teardown."""
    from diffviews_app.canvas import PointCloudCanvas

    made = []

    def factory(size: tuple[int, int] = CANVAS_SIZE, **options):
        c = PointCloudCanvas(**options)
        made.append(c)
        c.widget.resize(*size)
        with qtbot.waitExposed(c.native):
            c.widget.show()
        return c

    yield factory
    for c in made:
        c.close()


@pytest.fixture
def canvas(make_canvas):
    """A shown PointCloudCanvas of a fixed size, closed (worker joined) at teardown."""
    return make_canvas()


@pytest.fixture(scope="session")
def fixture_root(tmp_path_factory) -> Path:
    """dmd2 (npy, layer_cache, aligned 3D), edm (npz) and a broken model, 60 samples each."""
    return make_original_layout(tmp_path_factory.mktemp("data"), n_per_model=60)


@pytest.fixture
def make_window(qtbot, tmp_path):
    """Factory: ``make_window(data_dir=None, **options)`` -> a shown MainWindow (data opened when given)."""
    from diffviews_app.app import create_window
    from diffviews_app.options import LaunchOptions
    from diffviews_app.workers import wait_abandoned
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
    # closing abandons a job still inside an uninterruptible call (the app then exits without waiting); a test
    # process goes on, so let such a thread end before checking that nothing is left running
    assert wait_abandoned(120000), "an abandoned worker never ended"
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


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory):
    """A data root holding the tiny model (built once per session: the network runs once)."""
    from diffviews_core.adapters.edm import EDMAdapter
    from diffviews_core.networks import TINY, build_edm

    net = build_edm(TINY).eval()
    seed_like_spec(net)
    root = tmp_path_factory.mktemp("data")
    write_tiny_model(root, net, EDMAdapter(net, device="cpu"))
    return root


@pytest.fixture
def window_parts(qtbot, tmp_path, tiny_root):
    """The explorer window with generation installed, the tiny model open and shown."""
    from diffviews_app.app import create_window
    from diffviews_app.options import LaunchOptions
    from PySide6.QtCore import QSettings

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = create_window(LaunchOptions(data_dir=tiny_root), settings)
    parts = window.generation
    window.resize(1300, 850)
    window.show()
    qtbot.waitExposed(window)
    with qtbot.waitSignal(window.state.model_changed, timeout=20000):
        window.open_folder(tiny_root)
    yield parts
    window.pool.shutdown(10000)
    window.close()
