"""Interaction latency of the explorer window: click, hover, Suggest KNN, launch and a frame at rest, at 1,168 /
10k / 100k / 1M points of a synthetic model in the original DiffViews layout (``synthetic.py``).

Each figure is the median of ``--repeat`` runs, timed from the input to the end of the frame that shows it: the
event loop has run until the canvas has drawn the change and the panel that shows it (preview dock, neighbour
gallery) has painted, then ``glFinish``. Rows:

- click -> ring + selection panel: a real mouse press/release on a point (picking, state, rings, preview dock);
- hover -> preview: a real mouse move onto another point (hover ring, preview dock);
- click on the hovered point: as a mouse clicks, after its (untimed) move onto the point: the selection's ring and the
  neighbours dock's selection panel (the preview already shows the sample);
- Suggest KNN (activation space) -> rings + gallery: the button's action on a selected sample; "first" is the first
  search in the process (the index is built or loaded), the row is the median of the later ones; likewise the
  first click and hover (the first drawing of a ring style, the first image decoded);
- frame at rest: a redraw with nothing changed; pan -> frame: the camera moves (the points are drawn again);
- launch -> all points drawn (warm): a fresh process from start to the first frame with every point at full detail,
  after one unmeasured launch has warmed the disk cache; beside it, a bare vispy window: a fresh process that imports
  PySide6, numpy and vispy, reads the same points with the same reader and shows them as vispy's default Markers in
  a window of the same size (vispy's defaults, no docks, no state): what the libraries alone cost that way;
- background jobs after opening: until the jobs that opening and a first selection start (picking index, KNN
  warm-up, the generation's model and projection in the worker process) have ended and the canvas has drawn each
  of its visuals once (its warm-up); the interaction rows are measured after them, on a quiet machine;
- floor: an empty GL frame in a docked window of the same size, embedded as vispy does (QOpenGLWidget, the whole
  window composed through GL) against a native child surface (QOpenGLWindow in a window container).

Baseline in the same run: pyqtgraph (a PlotWidget with one ScatterPlotItem of the same points in the same window
size) doing the same: click = ``pointsAt`` + a ring item + a label set, hover likewise, KNN = brute-force search of
the same activations + rings + a label, launch = a fresh process reading the same table and drawing it. Needs X:

    xvfb-run -a -s "-screen 0 1600x1000x24" python3 benchmarks/bench_interaction.py [--sizes 1168 100000] [--smoke]
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

os.environ["QT_QPA_PLATFORM"] = "xcb"  # the offscreen platform has no GL for vispy

sys.path.insert(0, str(Path(__file__).parent))
from harness import add_size_options, first_frame, gui_app, print_table  # noqa: E402
from synthetic import make_original_model  # noqa: E402

WINDOW = (1600, 1000)
MAX_INFO_BYTES = 256 << 20  # what the app reads of a dataset_info.json
TIMEOUT_S = 60.0
OPEN_TIMEOUT_S = 1200.0  # a million rows on a busy machine

LAUNCH_APP = """
import sys
from PySide6.QtCore import QSettings, QTimer
from diffviews_app.app import application, create_window, open_start_data
from diffviews_app.options import LaunchOptions
app = application()
w = create_window(LaunchOptions(data_dir=sys.argv[1]), QSettings(sys.argv[2], QSettings.Format.IniFormat))
try:
    from diffviews_app.gc_guard import keep_start_up_objects  # as run_app does (apps before it had none)
    keep_start_up_objects()
except ImportError:
    pass
w.resize(*WINDOW)
w.show()
open_start_data(w, w.controller.options)
def drawn(_event=None):
    c = w.canvas
    full = c.full_detail_drawn if hasattr(c, "full_detail_drawn") else not c._points.lod_active  # older canvases
    if w.state.model is not None and c.point_count == w.state.num_points and full:
        print("FRAME", w.state.num_points, flush=True)
        QTimer.singleShot(0, app.quit)  # not inside the paint: quitting closes the window
w.canvas.scene_canvas.events.draw.connect(drawn, position="last")
app.exec()
""".replace("WINDOW", repr(WINDOW))

LAUNCH_PYQTGRAPH = """
import sys
from diffviews_core.formats import open_data
import pyqtgraph as pg
from PySide6.QtCore import QTimer
app = pg.mkQApp()
model = next(iter(open_data(sys.argv[1]).models.values()))
xy = model.embedding().coords2d
w = pg.PlotWidget(background="w"); w.resize(*WINDOW)
w.addItem(pg.ScatterPlotItem(pos=xy, size=4, brush=pg.mkBrush(60, 90, 200, 200), pen=None))
w.show()
QTimer.singleShot(0, lambda: (w.grab(), print("FRAME", len(xy), flush=True), app.quit()))
app.exec()
""".replace("WINDOW", repr(WINDOW))

LAUNCH_BARE_VISPY = """
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
from diffviews_app.qt_imports import skip_feature_scan
skip_feature_scan()  # as the app does: PySide6's import hook would read the source of every module imported next
import vispy.scene
from diffviews_core.formats import open_data
app = QApplication([])
model = next(iter(open_data(sys.argv[1]).models.values()))
xy = model.embedding().coords2d
canvas = vispy.scene.SceneCanvas(bgcolor="white")
view = canvas.central_widget.add_view(camera="panzoom")
vispy.scene.visuals.Markers(parent=view.scene).set_data(xy, size=4, edge_width=0, face_color=(0.24, 0.35, 0.78, 0.8))
view.camera.set_range()
w = QMainWindow(); w.setCentralWidget(canvas.native); w.resize(*WINDOW); w.show()
canvas.events.draw.connect(lambda _e: QTimer.singleShot(0, lambda: (print("FRAME", len(xy), flush=True), app.quit())),
                           position="last")
app.exec()
""".replace("WINDOW", repr(WINDOW))


# ---- timing ---------------------------------------------------------------------------------------------------------
class PaintWatch:
    """Counts paint events of some widgets (and their children) and draws of a vispy canvas."""

    def __init__(self, app, widgets=(), scene_canvas=None) -> None:
        from PySide6.QtCore import QEvent, QObject

        watch = self

        class _Filter(QObject):
            def eventFilter(self, obj, event):  # noqa: N802 (Qt override)
                if event.type() == QEvent.Type.Paint and any(_within(obj, w) for w in watch.widgets):
                    watch.paints += 1
                return False

        self.widgets = list(widgets)
        self.paints = 0
        self.draws = 0
        self._filter = _Filter()
        app.installEventFilter(self._filter)
        if scene_canvas is not None:
            scene_canvas.events.draw.connect(self._drew, position="last")

    def _drew(self, _event=None) -> None:
        self.draws += 1


def _within(obj, widget) -> bool:
    from PySide6.QtWidgets import QWidget

    return isinstance(obj, QWidget) and (obj is widget or widget.isAncestorOf(obj))


def run_until(app, done: Callable[[], bool], what: str, timeout: float = TIMEOUT_S) -> None:
    """Run the event loop until ``done()``, checked after each batch of events and at least every millisecond.

    The loop waits for events as the app's own does: spinning ``processEvents`` would hold the interpreter nearly
    all the time and make every worker thread wait up to a switch interval (5 ms) at each of its Python steps."""
    from PySide6.QtCore import QEventLoop, Qt, QTimer

    ticker = QTimer(interval=1, timerType=Qt.TimerType.PreciseTimer)  # wakes the wait below
    ticker.start()
    t0 = time.perf_counter()
    try:
        while not done():
            app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
            if time.perf_counter() - t0 > timeout:
                raise RuntimeError(f"timed out waiting for {what}")
    finally:
        ticker.stop()


def gl_finish() -> None:
    from vispy.gloo import gl

    gl.glFinish()


def timed(app, action: Callable[[], None], done: Callable[[], bool], what: str, gl: bool = True) -> float:
    """Seconds from ``action`` until ``done`` holds after a pass of the event loop (and GL has finished)."""
    t0 = time.perf_counter()
    action()
    run_until(app, done, what)
    app.processEvents()  # the window's flush of the repaint that drew it
    if gl:
        gl_finish()
    return time.perf_counter() - t0


def settle(app, seconds: float = 0.3) -> None:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        app.processEvents()
        time.sleep(0.005)


def send_mouse(widget, kind: str, xy) -> None:
    from PySide6.QtCore import QEvent, QPointF, Qt
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    types = {"move": QEvent.Type.MouseMove, "press": QEvent.Type.MouseButtonPress,
             "release": QEvent.Type.MouseButtonRelease}  # fmt: skip
    button = Qt.MouseButton.NoButton if kind == "move" else Qt.MouseButton.LeftButton
    buttons = Qt.MouseButton.LeftButton if kind == "press" else Qt.MouseButton.NoButton
    local = QPointF(float(xy[0]), float(xy[1]))
    event = QMouseEvent(types[kind], local, widget.mapToGlobal(local), button, buttons,
                        Qt.KeyboardModifier.NoModifier)  # fmt: skip
    QApplication.sendEvent(widget, event)


def full_detail(canvas) -> bool:
    """The last frame showed every point (canvases before the cached layer: the level of detail is off)."""
    if hasattr(canvas, "full_detail_drawn"):
        return canvas.full_detail_drawn
    return not canvas._points.lod_active


def click(widget, xy) -> None:
    send_mouse(widget, "press", xy)
    send_mouse(widget, "release", xy)


def visible_rows(screen: np.ndarray, size, count: int, rng) -> np.ndarray:
    """Rows whose points lie well inside the widget."""
    w, h = size
    inside = np.flatnonzero(
        (screen[:, 0] > 40) & (screen[:, 0] < w - 40) & (screen[:, 1] > 40) & (screen[:, 1] < h - 40)
    )
    return rng.choice(inside, size=min(count, len(inside)), replace=False)


# ---- the app ------------------------------------------------------------------------------------------------------
def bench_app(app, data_dir: Path, repeat: int) -> dict[str, float]:
    from diffviews_app.app import create_window, open_start_data
    from diffviews_app.options import LaunchOptions
    from PySide6.QtCore import QSettings

    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        w = create_window(
            LaunchOptions(data_dir=data_dir), QSettings(str(Path(tmp) / "s.ini"), QSettings.Format.IniFormat)
        )
        w.resize(*WINDOW)
        w.show()
        canvas, state = w.canvas, w.state
        t0 = time.perf_counter()
        open_start_data(w, w.controller.options)
        run_until(app, lambda: state.model is not None and canvas.point_count == state.num_points
                  and full_detail(canvas), "the map", OPEN_TIMEOUT_S)  # fmt: skip
        out["open (in process)"] = time.perf_counter() - t0
        run_until(app, lambda: canvas.index_ready, "the picking index", OPEN_TIMEOUT_S)  # built by a worker
        t0 = time.perf_counter()
        state.select(0)  # a first selection starts the generation's preparation (model, projection) in a worker
        warm = lambda: getattr(canvas, "is_warm", True)  # canvases before the warm-up have none
        run_until(app, lambda: not w.pool.running() and warm(), "the background jobs and the warm-up", OPEN_TIMEOUT_S)
        out["background jobs after opening (KNN warm-up, generation prepared)"] = time.perf_counter() - t0
        state.clear_selection()  # measured on a quiet machine, as the figures: nothing else runs
        settle(app, 0.5)
        # and on a map at rest: a message about the generation (a synthetic model has no checkpoint) may have resized
        # the canvas meanwhile, whose new full image (1M points: ~1.5 s of slices) must not run under the rows
        canvas.request_draw()
        run_until(app, lambda: full_detail(canvas) and not getattr(canvas.scene_canvas, "rendering", False),
                  "the map at rest", OPEN_TIMEOUT_S)  # fmt: skip
        preview = PaintWatch(app, [w.preview_dock], canvas.scene_canvas)
        gallery = PaintWatch(app, [w.neighbours_dock])
        size = (canvas.native.width(), canvas.native.height())
        rng = np.random.default_rng(0)
        screen = canvas.data_to_screen(state.coords())
        rows = visible_rows(screen, size, 4 * repeat + 8, rng)
        targets = iter(rows)

        def until_drawn_and_painted(watch, panel):
            d, p = watch.draws, panel.paints
            return lambda: watch.draws > d and panel.paints > p

        # frame at rest: a redraw with nothing changed
        times = []
        for _ in range(repeat + 1):
            d = preview.draws
            times.append(timed(app, canvas.request_draw, lambda d=d: preview.draws > d, "a frame"))
            settle(app, 0.05)
        out["frame at rest"] = statistics.median(times[1:])

        # click -> ring + selection panel (the preview dock shows the selection while nothing is hovered)
        times = []
        for _ in range(repeat + 1):
            state.clear_selection()  # a click with nothing selected selects (later ones toggle neighbours)
            settle(app, 0.1)
            xy = canvas.data_to_screen(state.coords()[int(next(targets))])[0]  # the docks may have resized the map
            row = canvas.pick(*xy)
            done = until_drawn_and_painted(preview, preview)
            times.append(timed(app, functools.partial(click, canvas.native, xy),
                               lambda done=done, row=row: done() and state.selected == row, "a click"))  # fmt: skip
            settle(app, 0.05)
        out["click, first in process"] = times[0]
        out["click -> ring + selection panel"] = statistics.median(times[1:])

        # hover -> preview
        times = []
        for _ in range(repeat + 1):
            xy = canvas.data_to_screen(state.coords()[int(next(targets))])[0]
            done = until_drawn_and_painted(preview, preview)
            before = state.hovered
            times.append(timed(app, functools.partial(send_mouse, canvas.native, "move", xy),
                               lambda done=done, before=before: done() and state.hovered != before,
                               "a hover"))  # fmt: skip
            settle(app, 0.05)
        send_mouse(canvas.native, "move", (2, 2))
        settle(app, 0.1)
        out["hover, first in process"] = times[0]
        out["hover -> preview"] = statistics.median(times[1:])

        # click on the hovered point: a mouse moves onto a point before it clicks it, and its hover has shown the
        # sample (untimed); the click adds the selection's ring and the neighbours dock's selection panel
        times = []
        for _ in range(repeat + 1):
            state.clear_selection()
            xy = canvas.data_to_screen(state.coords()[int(next(targets))])[0]
            row = canvas.pick(*xy)
            send_mouse(canvas.native, "move", xy)
            run_until(app, lambda row=row: state.hovered == row, "the hover before a click")
            settle(app, 0.1)
            done = until_drawn_and_painted(preview, gallery)
            times.append(timed(app, functools.partial(click, canvas.native, xy),
                               lambda done=done, row=row: done() and state.selected == row, "a click"))  # fmt: skip
            settle(app, 0.05)
        send_mouse(canvas.native, "move", (2, 2))
        settle(app, 0.1)
        out["click on the hovered point -> ring + selection panel"] = statistics.median(times[1:])

        # Suggest KNN in activation space -> rings + gallery
        state.set_knn_space("activation")
        times = []
        for _ in range(repeat + 1):
            state.select(int(next(targets)))
            settle(app, 0.1)
            done = until_drawn_and_painted(preview, gallery)
            before = state.neighbour_rows()
            times.append(timed(app, w.controller.suggest_knn,
                               lambda done=done, before=before: done() and state.neighbour_rows() != before,
                               "KNN"))  # fmt: skip
            settle(app, 0.05)
        out["KNN first in process"] = times[0]
        out["Suggest KNN (activation) -> rings + gallery"] = statistics.median(times[1:])

        # pan -> a frame with every point drawn again (the camera changed)
        times = []
        cam = canvas._cameras["2d"]
        for i in range(repeat + 1):
            d = preview.draws
            times.append(timed(app, functools.partial(cam.pan, (cam.rect.width * 0.01 * (1 if i % 2 else -1), 0.0)),
                               lambda d=d: preview.draws > d, "a pan frame"))  # fmt: skip
        out["pan -> frame (moving)"] = statistics.median(times[1:])
        settle(app, 0.4)
        w.close()
        w.deleteLater()
        app.processEvents()
    return out


# ---- the baseline ---------------------------------------------------------------------------------------------------
def bench_pyqtgraph(app, data_dir: Path, repeat: int) -> dict[str, float]:
    import pyqtgraph as pg
    from PySide6.QtWidgets import QHBoxLayout, QLabel, QWidget

    from diffviews_core.formats import open_data

    model = next(iter(open_data(data_dir).models.values()))
    xy = np.asarray(model.embedding().coords2d, dtype=np.float32)
    n = len(xy)
    acts = np.asarray(model.activations(model.default_layers), dtype=np.float32)
    top = QWidget()
    top.resize(*WINDOW)
    lay = QHBoxLayout(top)
    panel = QLabel("nothing")
    panel.setFixedWidth(270)
    plot = pg.PlotWidget(background="w")
    lay.addWidget(panel)
    lay.addWidget(plot, 1)
    size = 7 if n <= 20_000 else 4 if n <= 200_000 else 2.5
    scatter = pg.ScatterPlotItem(pos=xy, size=size, pen=None, brush=pg.mkBrush(60, 90, 200, 200))
    rings = {k: pg.ScatterPlotItem(size=size + 10, pen=pg.mkPen(c, width=2), brush=None)
             for k, c in (("sel", "r"), ("hover", "c"), ("knn", "g"))}  # fmt: skip
    plot.addItem(scatter)
    for r in rings.values():
        plot.addItem(r)
    top.show()
    watch = PaintWatch(app, [plot.viewport()])
    panel_watch = PaintWatch(app, [panel])
    settle(app, 0.5)
    vb = plot.getViewBox()
    rng = np.random.default_rng(0)
    out: dict[str, float] = {}

    def frame_done():
        d = watch.paints
        return lambda: watch.paints > d

    times = []
    for _ in range(repeat + 1):
        done = frame_done()
        times.append(timed(app, plot.viewport().update, done, "pg frame", gl=False))
    out["frame at rest"] = statistics.median(times[1:])

    def point_action(ring: str, row: int) -> None:
        found = scatter.pointsAt(pg.Point(*map(float, xy[row])))
        hit = found[0].index() if len(found) else row
        rings[ring].setData(pos=xy[[hit]])
        panel.setText(f"sample {hit}")

    for name, ring in (("click -> ring + selection panel", "sel"), ("hover -> preview", "hover")):
        times = []
        for _ in range(repeat + 1):
            row = int(rng.integers(n))
            done, p = frame_done(), panel_watch.paints
            times.append(timed(app, functools.partial(point_action, ring, row),
                               lambda p=p, done=done: done() and panel_watch.paints > p, "pg " + name,
                               gl=False))  # fmt: skip
        out[name] = statistics.median(times[1:])

    times = []
    if acts.ndim == 2:
        for _ in range(repeat + 1):
            row = int(rng.integers(n))

            def knn(row=row) -> None:
                d2 = np.einsum("ij,ij->i", acts - acts[row], acts - acts[row])
                found = np.argpartition(d2, 11)[:11]
                rings["knn"].setData(pos=xy[found])
                panel.setText(f"{len(found)} neighbours of {row}")

            done, p = frame_done(), panel_watch.paints
            times.append(timed(app, knn, lambda p=p, done=done: done() and panel_watch.paints > p, "pg knn",
                               gl=False))  # fmt: skip
        out["KNN first in process"] = times[0]
        out["Suggest KNN (activation) -> rings + gallery"] = statistics.median(times[1:])

    times = []
    for i in range(repeat + 1):
        done = frame_done()
        (x0, x1), _ = vb.viewRange()
        step = (x1 - x0) * 0.01 * (1 if i % 2 else -1)
        pan = functools.partial(vb.setXRange, x0 + step, x1 + step, padding=0)
        times.append(timed(app, pan, done, "pg pan", gl=False))
    out["pan -> frame (moving)"] = statistics.median(times[1:])
    top.close()
    top.deleteLater()
    app.processEvents()
    return out


_FLOOR_WINDOWS: list = []


# ---- the floor: one GL frame in a docked window, by how the GL surface is embedded -------------------------------------
def bench_surface_floor(app, repeat: int) -> list[tuple[str, float, float | None]]:
    """An empty GL frame (clear only) in a WINDOW-sized main window with two docks: as vispy embeds it (a
    QOpenGLWidget: Qt composes the whole window through GL on every frame) against a native child surface (a
    QOpenGLWindow in createWindowContainer: only its own region is swapped). Nothing of the app is in either."""
    from PySide6.QtCore import Qt
    from PySide6.QtOpenGL import QOpenGLWindow
    from PySide6.QtOpenGLWidgets import QOpenGLWidget
    from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QWidget
    from vispy.gloo import gl

    def paint(self) -> None:
        gl.glClearColor(1.0, 1.0, 1.0, 1.0)
        gl.glClear(gl.GL_COLOR_BUFFER_BIT)
        self.frames += 1

    widget_cls = type("ClearWidget", (QOpenGLWidget,), {"frames": 0, "paintGL": paint})
    window_cls = type("ClearWindow", (QOpenGLWindow,), {"frames": 0, "paintGL": paint})

    def frame_time(surface, central) -> float:
        top = QMainWindow()
        top.resize(*WINDOW)
        for area in (Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea):
            dock = QDockWidget("panel")
            label = QLabel("a dock's text " * 40)
            label.setWordWrap(True)
            dock.setWidget(label)
            top.addDockWidget(area, dock)
        top.setCentralWidget(central)
        top.show()
        settle(app, 0.5)
        times = []
        for _ in range(repeat + 1):
            n = surface.frames
            times.append(timed(app, surface.update, lambda n=n: surface.frames > n, "an empty GL frame"))
            settle(app, 0.02)
        top.close()
        kept.append(top)  # deleted with the process: deleting a window container's GL window early crashes Qt
        return statistics.median(times[1:])

    kept = _FLOOR_WINDOWS
    widget = widget_cls()
    window = window_cls()
    native = frame_time(window, QWidget.createWindowContainer(window))  # first: a hidden GL widget may still cost
    as_widget = frame_time(widget, widget)
    return [("floor: empty GL frame, QOpenGLWidget (as vispy)", as_widget, native),
            ("floor: empty GL frame, native child surface", native, None)]  # fmt: skip


# ---- launch -------------------------------------------------------------------------------------------------------
def launch(script: str, args: list[str]) -> float:
    return first_frame(script, args)[0]


def median_launch(script: str, args: list[str], repeat: int) -> float:
    launch(script, args)  # warms the disk cache (and any cache the app keeps)
    return statistics.median(launch(script, args) for _ in range(repeat))


def write_model(root: Path, n: int) -> None:
    t0 = time.perf_counter()
    model = make_original_model(root, n)
    info = next((model / "metadata").glob("*/dataset_info.json"))
    if info.stat().st_size > MAX_INFO_BYTES:  # ~900k rows and up: the app refuses it; the CSV has every column
        info.unlink()
        print(f"{n:,} rows: dataset_info.json over the app's limit, removed", flush=True)
    print(f"{n:,} rows written in {time.perf_counter() - t0:.1f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_size_options(parser, [1168, 10_000, 100_000, 1_000_000], repeat=5)
    parser.add_argument("--no-launch", action="store_true", help="skip the launch rows (fresh processes)")
    parser.add_argument("--smoke", action="store_true", help="one 1,168-point model, 2 repeats (CI)")
    args = parser.parse_args()
    if args.smoke:
        args.sizes, args.repeat = [1168], 2
    from diffviews_app.app import application

    app = gui_app(application)
    print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}, {os.cpu_count()} CPUs, window {WINDOW}")
    rows = bench_surface_floor(app, args.repeat)  # ratio: against the native child surface
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as scratch:
            tmp = str(args.data_root / str(n)) if args.data_root else scratch
            if not (Path(tmp) / "synthetic").is_dir():
                write_model(Path(tmp), n)
            mine = bench_app(app, Path(tmp), args.repeat)
            base = bench_pyqtgraph(app, Path(tmp), args.repeat)
            if not args.no_launch:
                settings = str(Path(scratch) / "launch.ini")
                mine["launch -> all points drawn (warm)"] = median_launch(LAUNCH_APP, [tmp, settings], args.repeat)
                base["launch -> all points drawn (warm)"] = median_launch(LAUNCH_PYQTGRAPH, [tmp], args.repeat)
                bare = "launch, bare vispy window, same points"
                mine[bare] = median_launch(LAUNCH_BARE_VISPY, [tmp], args.repeat)
                base[bare] = base["launch -> all points drawn (warm)"]
        size_rows = [(f"{n:>9,} {key}", value, base.get(key)) for key, value in mine.items()]
        print_table(f"{n:,} points (load average {' '.join(f'{v:.2f}' for v in os.getloadavg())})", size_rows)
        sys.stdout.flush()
        rows += size_rows
    print_table(f"Explorer interaction vs pyqtgraph (baseline), median of {args.repeat}, window {WINDOW}", rows)
    print(f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
