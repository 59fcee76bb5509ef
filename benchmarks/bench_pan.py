"""Moving the camera over a big cloud: the frame after a pan, zoom or orbit step, and the longest UI-thread block while
the full-detail image is drawn again at rest.

One PointCloudCanvas (no app window) of 1280x800 holding N clustered random points. A step changes the camera (the 2D
rect, or the 3D azimuth) and the time runs until the frame is painted and glFinish returns; median of 10 steps. Then
the camera rests: a QTimer ticking every 5 ms measures the longest gap between ticks until a full-detail frame is on
screen (every point drawn where the camera is), and the time to that frame from the last step. "hover ring -> frame"
is the floor of any frame (the widget's paint and composite, the cached image copied, a ring drawn).

Baseline in the same run: the same canvas with ``progressive = False`` (the behaviour before: the level-of-detail
subset drawn on each moving frame, every point drawn in one pass at rest). Needs a GL context:

    xvfb-run -a -s "-screen 0 1600x1000x24" python3 benchmarks/bench_pan.py [--sizes 100000 1000000]

``--smoke`` runs one 20,000-point cloud with a 5,000-point subset (CI keeps it working; its figures mean nothing).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

os.environ["QT_QPA_PLATFORM"] = "xcb"  # the offscreen platform has no GL for vispy

sys.path.insert(0, str(Path(__file__).parent))
from bench_canvas import make_cloud  # noqa: E402
from harness import gui_app, print_table  # noqa: E402

SIZE = (1280, 800)
STEPS = 10
TICK_MS = 5
REST_TIMEOUT_S = 60.0


def paint_now(canvas) -> None:
    """Ask the canvas's surface for a frame and run the event loop until it is drawn (a native GL surface paints
    on its next update request, never synchronously)."""
    from PySide6.QtWidgets import QApplication

    drawn: list[object] = []
    draw = canvas.scene_canvas.events.draw
    draw.connect(drawn.append, position="last")
    try:
        canvas.scene_canvas.update()
        while not drawn:
            QApplication.processEvents()
    finally:
        draw.disconnect(drawn.append)


def painted(canvas) -> float:
    """Paint the canvas now and wait for GL: seconds."""
    t0 = time.perf_counter()
    paint_now(canvas)
    canvas.scene_canvas.context.finish()
    return time.perf_counter() - t0


def time_draws(canvas) -> list[float]:
    """Record the seconds of each scene draw (the canvas's own GL work of a frame, without the widget's composite)."""
    sc = canvas.scene_canvas
    draws: list[float] = []
    draw_scene = sc._draw_scene

    def timed(bgcolor=None) -> None:
        t0 = time.perf_counter()
        draw_scene(bgcolor)
        sc.context.finish()
        draws.append(time.perf_counter() - t0)

    sc._draw_scene = timed
    return draws


def step_frames(canvas, draws: list[float], step) -> tuple[float, float, float]:
    """Median seconds from a camera step to its frame painted and of the scene draw in it, and when the last step
    changed the camera (the camera rests REST_DELAY_MS after that)."""
    times, drawn = [], []
    for i in range(STEPS):
        last_step = time.perf_counter()
        step(i)
        del draws[:]
        times.append(painted(canvas))
        drawn.append(sum(draws))
    return statistics.median(times), statistics.median(drawn), last_step


def rest_redraw(app, canvas, last_step: float) -> tuple[float, float]:
    """Let the camera rest: (seconds from the last camera step to the full-detail frame, longest gap between 5 ms
    ticks meanwhile)."""
    from PySide6.QtCore import QEventLoop, QTimer

    ticks = [time.perf_counter()]
    loop = QEventLoop()

    def tick() -> None:
        ticks.append(time.perf_counter())
        if canvas.full_detail_drawn or ticks[-1] - ticks[0] > REST_TIMEOUT_S:
            loop.quit()

    timer = QTimer(interval=TICK_MS)
    timer.timeout.connect(tick)
    timer.start()
    loop.exec()
    timer.stop()
    if not canvas.full_detail_drawn:
        raise RuntimeError("no full-detail frame after the camera came to rest")
    return ticks[-1] - last_step, float(np.diff(ticks).max())


def settle(app, canvas) -> None:
    """Until a frame painted after the last change shows every point and no render is under way."""
    paint_now(canvas)
    deadline = time.perf_counter() + REST_TIMEOUT_S
    while not canvas.full_detail_drawn or canvas.scene_canvas.rendering:
        if time.perf_counter() > deadline:
            raise RuntimeError("no full-detail frame")
        app.processEvents()
        time.sleep(0.005)


def bench_mode(app, n: int, lod_points: int, progressive: bool) -> dict[str, float]:
    from diffviews_app.canvas import PointCloudCanvas
    from vispy.geometry import Rect

    coords3, _labels, rgba = make_cloud(n, 3)
    canvas = PointCloudCanvas(lod_points=lod_points)
    canvas.scene_canvas.progressive = progressive
    canvas.widget.resize(*SIZE)
    canvas.widget.show()
    app.processEvents()
    canvas.set_points(coords3[:, :2].copy())
    canvas.set_colors(rgba)
    settle(app, canvas)
    draws = time_draws(canvas)
    out = {}
    hover = lambda i: canvas.set_hover(i % 2 or None)  # noqa: E731  a ring on, then off: the points stay cached
    out["hover ring -> frame (floor)"], out["  its scene draw (hover)"], _ = step_frames(canvas, draws, hover)

    cam = canvas._cameras["2d"]
    r0 = cam.rect

    def pan(i: int) -> None:
        r = cam.rect
        cam.rect = Rect(r.left + 0.02 * r.width * (1 if i % 4 < 2 else -1), r.bottom, r.width, r.height)

    out["2D pan step -> frame"], out["  its scene draw (2D pan)"], last = step_frames(canvas, draws, pan)
    out["2D last step -> full frame at rest"], out["2D longest UI block at rest"] = rest_redraw(app, canvas, last)
    zoom = lambda i: cam.zoom(0.9 if i % 2 else 1 / 0.9)  # noqa: E731
    out["2D zoom step -> frame"], out["  its scene draw (2D zoom)"], last = step_frames(canvas, draws, zoom)
    rest_redraw(app, canvas, last)
    cam.rect = r0

    canvas.set_mode("3d")
    canvas.set_points(coords3)
    canvas.set_colors(rgba)
    settle(app, canvas)
    cam3 = canvas._cameras["3d"]

    def orbit(_i: int) -> None:
        cam3.azimuth = cam3.azimuth + 2.0

    out["3D orbit step -> frame"], out["  its scene draw (3D orbit)"], last = step_frames(canvas, draws, orbit)
    lod = canvas._points.lod_rows
    print(f"{n:,} points, progressive {progressive}: subset while orbiting {0 if lod is None else len(lod):,}")
    out["3D last step -> full frame at rest"], out["3D longest UI block at rest"] = rest_redraw(app, canvas, last)
    canvas.close()
    app.processEvents()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--lod-points", type=int, default=50_000, help="the canvas's level-of-detail cap")
    parser.add_argument("--smoke", action="store_true", help="one 20,000-point cloud (CI)")
    args = parser.parse_args()
    if args.smoke:
        args.sizes, args.lod_points = [20_000], 5_000
    app = gui_app()
    rows = []
    for n in args.sizes:
        base = bench_mode(app, n, args.lod_points, progressive=False)
        new = bench_mode(app, n, args.lod_points, progressive=True)
        rows += [(f"{n:>9,} {label}", new[label], base[label]) for label in new]
    load = os.getloadavg()
    print_table(f"Camera steps and rest redraws, canvas {SIZE[0]}x{SIZE[1]} (baseline: progressive off); "
                f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}", rows)  # fmt: skip


if __name__ == "__main__":
    main()
