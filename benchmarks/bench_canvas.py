"""Point-cloud canvas speed: frame time (full and level-of-detail) and pick latency at 1e5 and 1e6 points, 2D and 3D.

Baseline in the same run: pyqtgraph's ScatterPlotItem on the same points, colours and dot size (frame = grab() of
its PlotWidget; pick = ScatterPlotItem.pointsAt). pyqtgraph has no 3D scatter without PyOpenGL, so the 3D rows
compare against it drawing the same points' (x, y). Vispy frames are SceneCanvas.render() (draw into an offscreen
buffer and read it back), the same work as a grab. Needs a GL context:

    xvfb-run -a -s "-screen 0 1600x1000x24" python3 benchmarks/bench_canvas.py [--sizes 100000 1000000] [--png DIR]

``--smoke`` runs one 2,000-point cloud (CI runs it so the benchmark keeps working; its figures mean nothing).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ["QT_QPA_PLATFORM"] = "xcb"  # the offscreen platform has no GL for vispy

sys.path.insert(0, str(Path(__file__).parent))
from harness import gui_app, measure, print_table  # noqa: E402

SIZE = (1000, 700)
N_QUERIES = 200


def make_cloud(n: int, dims: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ten Gaussian clusters like a UMAP map: coordinates, labels and RGBA (class colour, alpha by a fake sigma)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    centres = rng.normal(size=(10, dims)) * 6
    coords = (centres[labels] + rng.normal(size=(n, dims))).astype(np.float32)
    palette = np.array(
        [[31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189],
         [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207]],
        dtype=np.float32,
    ) / 255  # fmt: skip
    alpha = rng.uniform(0.4, 1.0, n).astype(np.float32)
    return coords, labels, np.c_[palette[labels], alpha].astype(np.float32)


def pyqtgraph_scatter(coords: np.ndarray, labels: np.ndarray, rgba: np.ndarray, size: float):
    """A shown PlotWidget holding one ScatterPlotItem with per-point brushes of the class colours."""
    import pyqtgraph as pg
    from PySide6.QtGui import QBrush, QColor

    brushes = [QBrush(QColor.fromRgbF(*map(float, rgba[np.argmax(labels == k)][:3]), 0.8)) for k in range(10)]
    widget = pg.PlotWidget(background="w")
    widget.resize(*SIZE)
    scatter = pg.ScatterPlotItem(pos=coords[:, :2], size=size, pen=None, brush=[brushes[k] for k in labels])
    widget.addItem(scatter)
    widget.show()
    return widget, scatter


def bench_size(app, n: int, png_dir: Path | None) -> list[tuple[str, float, float | None]]:
    from diffviews_app.canvas import PointCloudCanvas
    from diffviews_app.canvas.picking import PointIndex, nearest_brute, project_to_screen
    from PySide6.QtCore import QPointF

    rows: list[tuple[str, float, float | None]] = []
    reps = 5 if n <= 100_000 else 3
    coords3, labels, rgba = make_cloud(n, 3)
    coords2 = coords3[:, :2].copy()

    canvas = PointCloudCanvas()
    canvas.widget.resize(*SIZE)
    canvas.widget.show()
    app.processEvents()
    t0 = time.perf_counter()
    canvas.set_points(coords2)
    canvas.set_colors(rgba)
    upload = time.perf_counter() - t0

    t0 = time.perf_counter()
    widget, scatter = pyqtgraph_scatter(coords2, labels, rgba, canvas._points.size)
    pg_setup = time.perf_counter() - t0
    app.processEvents()
    rows.append((f"{n:>9,} set points + colours (vs pyqtgraph setData)", upload, pg_setup))

    pg_frame = measure(lambda: widget.grab(), repeat=reps)
    rows += frame_rows(canvas, n, "2D", reps, pg_frame)

    # 2D picking: queries at real points (dense regions, the hard case), in widget pixels and in data units.
    rng = np.random.default_rng(1)
    targets = coords2[rng.integers(0, n, N_QUERIES)]
    screen = canvas.data_to_screen(targets)
    t0 = time.perf_counter()
    index = PointIndex(coords2)
    build_2d = time.perf_counter() - t0
    while not canvas.index_ready:
        app.processEvents()
    radius = float(canvas._cameras["2d"].rect.width) / SIZE[0] * 6
    qpoints = [QPointF(float(x), float(y)) for x, y in targets]
    pg_pick = measure(lambda: [scatter.pointsAt(q) for q in qpoints], repeat=3) / N_QUERIES
    rows.append((f"{n:>9,} 2D pick: index query", measure(lambda: [index.nearest(t, radius) for t in targets], repeat=3) / N_QUERIES, pg_pick))  # fmt: skip
    rows.append((f"{n:>9,} 2D pick: canvas.pick (pixels -> row)", measure(lambda: [canvas.pick(x, y) for x, y in screen], repeat=3) / N_QUERIES, pg_pick))  # fmt: skip
    rows.append((f"{n:>9,} 2D pick: brute force (fallback)", measure(lambda: [nearest_brute(coords2, t, radius) for t in targets[:20]], repeat=3) / 20, pg_pick))  # fmt: skip
    rows.append((f"{n:>9,} 2D index build (worker thread)", build_2d, None))

    if png_dir is not None and n == 100_000:
        decorate(canvas, labels)
        save_png(canvas.render_image(), png_dir / "canvas_2d_100k.png")

    canvas.set_mode("3d")
    canvas.set_points(coords3)
    canvas.set_colors(rgba)
    app.processEvents()
    rows += frame_rows(canvas, n, "3D", reps, pg_frame)
    matrix = canvas._matrix()
    rest = measure(lambda: PointIndex(project_to_screen(canvas._pos, matrix)), repeat=3)
    rows.append((f"{n:>9,} 3D rest: projection + index build (worker)", rest, None))
    while not canvas.index_ready:
        app.processEvents()
    screen3 = canvas.data_to_screen(coords3[rng.integers(0, n, N_QUERIES)])
    rows.append((f"{n:>9,} 3D pick at rest: canvas.pick (screen index)", measure(lambda: [canvas.pick(x, y) for x, y in screen3], repeat=3) / N_QUERIES, pg_pick))  # fmt: skip
    moving = measure(lambda: [nearest_brute(project_to_screen(canvas._pos, matrix), p, 6.0) for p in screen3[:5]], repeat=3)  # fmt: skip
    rows.append((f"{n:>9,} 3D pick while moving: projection + argmin", moving / 5, pg_pick))

    if png_dir is not None and n == 100_000:
        decorate(canvas, labels)
        save_png(canvas.render_image(), png_dir / "canvas_3d_100k.png")

    canvas.close()
    widget.close()
    widget.deleteLater()
    app.processEvents()
    return rows


def frame_rows(canvas, n: int, mode: str, reps: int, pg_frame: float) -> list[tuple[str, float, float | None]]:
    """Frame time at rest (every point) and while moving (the level-of-detail subset), LOD set explicitly."""
    layer = canvas._points
    layer.set_lod(False)
    rows = [(f"{n:>9,} {mode} frame, all points" + (" (pyqtgraph: 2D)" if mode == "3D" else ""), measure(lambda: canvas.scene_canvas.render(), repeat=reps), pg_frame)]  # fmt: skip
    if layer.lod_rows is not None:
        layer.set_lod(True)
        rows.append((f"{n:>9,} {mode} frame while moving (LOD {len(layer.lod_rows):,})", measure(lambda: canvas.scene_canvas.render(), repeat=reps), pg_frame))  # fmt: skip
        layer.set_lod(False)
    return rows


def decorate(canvas, labels: np.ndarray) -> None:
    """Rings and an overlay, as the explorer would show them, for the saved pictures."""
    canvas.set_selection(0)
    canvas.set_neighbours(list(range(1, 6)))
    canvas.set_hover(6)
    canvas.set_highlight(np.flatnonzero(labels == 3)[:300])
    canvas.add_overlay_points("generated", canvas._coords[7:9] + 0.5, (1.0, 0.5, 0.0, 1.0))


def save_png(img: np.ndarray, path: Path) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(path)
    print(f"saved {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--png", type=Path, default=None, help="save 2D and 3D renders of the 100k cloud here")
    parser.add_argument("--smoke", action="store_true", help="one 2,000-point cloud (CI)")
    args = parser.parse_args()
    if args.smoke:
        args.sizes = [2000]
    app = gui_app()
    rows = []
    for n in args.sizes:
        rows += bench_size(app, n, args.png)
    print_table(f"Point-cloud canvas vs pyqtgraph ScatterPlotItem (baseline), widget {SIZE[0]}x{SIZE[1]}", rows)


if __name__ == "__main__":
    main()
