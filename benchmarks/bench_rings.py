"""What rings cost every frame: a hover frame over a selection set of N samples, rings as one pass of GL points
(``RingsVisual``) against vispy's markers (a halo and a ring per sample, the way they were drawn before).

Rings are drawn over the cached image of the points on every frame, so they are the part of a hover, click or camera
frame that grows with the selection; on software GL their fragments are shaded on the UI thread (the app draws with
no rasterizer threads on a small machine). One PointCloudCanvas (no app window) of 800x600 holding 10,000 clustered
points; N of them are a selection set, 10 are neighbours; the hover ring moves to another sample and the time runs
until the frame is painted and swapped: UI thread CPU and wall, median of ``--repeat``. The baseline, in the same run,
is a second canvas whose rings are vispy ``Markers`` pairs as before. Needs a GL context:

    xvfb-run -a -s "-screen 0 1600x1000x24" python3 benchmarks/bench_rings.py [--sets 100 400 1600] [--repeat 15]

``--smoke``: one set of 50, 3 repeats (CI keeps it working; its figures mean nothing).
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
from bench_pan import paint_now  # noqa: E402
from harness import gui_app, print_table  # noqa: E402

SIZE = (800, 600)
POINTS = 10_000
NEIGHBOURS = 10


def marker_rings(canvas) -> None:
    """Give ``canvas`` rings drawn as they were before ``RingsVisual``: per style, a vispy ``Markers`` halo (the edge
    2 px wider) under a ``Markers`` ring, both hollow discs of the same size (the baseline)."""
    from diffviews_app.canvas.overlays import TRANSPARENT, Rings
    from vispy.scene.visuals import Markers

    class MarkerRings(Rings):
        def __init__(self, rings: Rings) -> None:
            super().__init__(rings._parent, rings.color, rings.extra_size, rings.width, rings._order)
            self.pair = []
            for order in (2 * self._order, 2 * self._order + 1):
                m = Markers(parent=self._parent, scaling="fixed")
                m.order = order
                m.set_gl_state("translucent", depth_test=False)
                m.visible = False
                self.pair.append(m)

        def refresh(self, positions: np.ndarray, point_size: float) -> None:
            rows = self.rows[(self.rows >= 0) & (self.rows < len(positions))]
            for m in self.pair:
                m.visible = len(rows) > 0
            if not len(rows):
                return
            size, pos = point_size + self.extra_size, positions[rows]
            halo, ring = self.pair
            halo.set_data(pos, size=size, edge_width=self.width + 2.0, face_color=TRANSPARENT,
                          edge_color=(*self.halo_rgb, 0.85 * self.color[3]))  # fmt: skip
            ring.set_data(pos, size=size, edge_width=self.width, face_color=TRANSPARENT, edge_color=self.color)

    for name, rings in list(canvas._rings.items()):
        if rings._visual is not None:
            rings.visual.visible = False
        canvas._rings[name] = MarkerRings(rings)


def make_canvas(coords: np.ndarray, rgba: np.ndarray, markers: bool):
    from diffviews_app.canvas.canvas import PointCloudCanvas
    from PySide6.QtWidgets import QApplication

    canvas = PointCloudCanvas(None)
    canvas.widget.resize(*SIZE)
    canvas.widget.show()
    if markers:
        marker_rings(canvas)
    canvas.set_points(coords)
    canvas.set_colors(rgba)
    deadline = time.monotonic() + 30
    while not canvas.scene_canvas.full_detail_drawn and time.monotonic() < deadline:
        paint_now(canvas)
        QApplication.processEvents()
    return canvas


def hover_frames(canvas, set_size: int, repeat: int, rng: np.random.Generator) -> tuple[float, float]:
    """(UI thread CPU, wall) in seconds of a hover frame over a set of ``set_size`` rings, medians."""
    rows = rng.choice(POINTS, set_size + NEIGHBOURS + repeat + 2, replace=False)
    canvas.set_selection_rows(rows[:set_size].tolist(), is_set=True)
    canvas.set_neighbours(rows[set_size : set_size + NEIGHBOURS].tolist())
    hover = rows[set_size + NEIGHBOURS :]
    canvas.set_hover(int(hover[-1]))
    for _ in range(2):  # shaders built, buffers sized
        paint_now(canvas)
    cpu, wall = [], []
    for row in hover[:repeat]:
        c0, t0 = time.thread_time(), time.perf_counter()
        canvas.set_hover(int(row))
        paint_now(canvas)
        cpu.append(time.thread_time() - c0)
        wall.append(time.perf_counter() - t0)
    return statistics.median(cpu), statistics.median(wall)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, nargs="+", default=[100, 400, 1600])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--smoke", action="store_true", help="one set of 50, 3 repeats (CI)")
    args = parser.parse_args()
    if args.smoke:
        args.sets, args.repeat = [50], 3
    from diffviews_app.app import application

    gui_app(application)  # the app's GL settings: software GL draws on the UI thread of a small machine, as there
    coords, _labels, rgba = make_cloud(POINTS, 2)
    canvases = {kind: make_canvas(coords, rgba, kind == "markers") for kind in ("points", "markers")}
    rows = []
    for n in args.sets:
        got = {kind: hover_frames(c, n, args.repeat, np.random.default_rng(n)) for kind, c in canvases.items()}
        for column, label in ((0, "UI thread CPU"), (1, "wall")):
            rows.append((f"hover frame, {n} set rings: {label}", got["points"][column], got["markers"][column]))
    print_table(f"rings as GL points vs vispy markers (baseline), {POINTS:,} points, {SIZE[0]}x{SIZE[1]}, median of "
                f"{args.repeat}, load {os.getloadavg()[0]:.2f}", rows)  # fmt: skip
    for canvas in canvases.values():
        canvas.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
