"""Time to first frame of the explorer (fresh process -> the map drawn with every point), goal under 2 s.

Each case is a fresh Python process timed from launch until its first full frame is painted (a frame that drew
every point, not the level-of-detail subset shown while the camera settles); the median of
``--repeat`` runs is shown. Baselines in the same run: a bare PySide6 window (the fixed cost of Python + Qt), and
pyqtgraph's ScatterPlotItem showing the same data folder's points (what a minimal plot of the map costs). The app
row also says whether torch or umap got imported on the way (they must not). Needs an X display:

    xvfb-run -a -s "-screen 0 1600x1000x24" python3 benchmarks/bench_startup.py [--data-dir DIR] [--repeat 5] [--smoke]

``--smoke`` starts each case once (CI runs it so the benchmark keeps working).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from harness import first_frame, print_table, require_display  # noqa: E402

HEAVY = ("torch", "umap", "numba", "sklearn", "ray", "faiss")

APP = """
import sys
from PySide6.QtCore import QSettings, QTimer
from diffviews_app.app import application, create_window
from diffviews_app.options import LaunchOptions
app = application()
w = create_window(LaunchOptions(data_dir=sys.argv[1] or None),
                  QSettings(sys.argv[2], QSettings.Format.IniFormat))
w.resize(1440, 900)
w.show()
from diffviews_app.app import open_start_data
open_start_data(w, w.controller.options)
def drawn(_event=None):  # after the frame is drawn ("last"), and only one with every point (not the LOD subset)
    c = w.canvas
    if w.state.model is not None and c.point_count == w.state.num_points and c.full_detail_drawn:
        heavy = [m for m in HEAVY_MODULES if m in sys.modules]
        print("FRAME", w.state.num_points, ",".join(heavy) or "-", flush=True)
        QTimer.singleShot(0, app.quit)  # not inside the paint: quitting closes the window
w.canvas.scene_canvas.events.draw.connect(drawn, position="last")
app.exec()
""".replace("HEAVY_MODULES", repr(HEAVY))

BARE_QT = """
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow
app = QApplication([])
w = QMainWindow(); w.setCentralWidget(QLabel("hello")); w.resize(1440, 900); w.show()
QTimer.singleShot(0, lambda: (print("FRAME 0 -", flush=True), app.quit()))
app.exec()
"""

PYQTGRAPH = """
import sys
import numpy as np
from diffviews_app.options import default_data_dir
from diffviews_core.formats import open_data
import pyqtgraph as pg
from PySide6.QtCore import QTimer
app = pg.mkQApp()
root = open_data(sys.argv[1] or default_data_dir())
model = next(iter(root.models.values()))
xy = model.embedding().coords2d
labels = model.samples.class_label
colors = [pg.intColor(int(c), hues=10) for c in labels]
w = pg.PlotWidget(); w.resize(1440, 900)
w.addItem(pg.ScatterPlotItem(pos=xy, size=7, brush=colors, pen=None))
w.show()
QTimer.singleShot(0, lambda: (w.grab(), print("FRAME", len(xy), "-", flush=True), app.quit()))
app.exec()
"""


def median_frame(script: str, args: list[str], repeat: int) -> tuple[float, str]:
    runs = [first_frame(script, args) for _ in range(repeat)]
    return statistics.median(t for t, _ in runs), runs[-1][1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="", help="data folder (default: the embedded demo)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="each case once (CI)")
    args = parser.parse_args()
    if args.smoke:
        args.repeat = 1
    require_display()
    with tempfile.TemporaryDirectory() as tmp:
        settings = str(Path(tmp) / "settings.ini")
        bare, _ = median_frame(BARE_QT, [], args.repeat)
        plot, _ = median_frame(PYQTGRAPH, [args.data_dir], args.repeat)
        app, line = median_frame(APP, [args.data_dir, settings], args.repeat)
    _, n, heavy = line.split()
    print_table(
        f"Time to first frame, fresh process, median of {args.repeat} ({n} points; goal < 2 s)",
        [
            ("bare PySide6 window (Python + Qt fixed cost)", bare, None),
            ("pyqtgraph ScatterPlotItem, same points", plot, bare),
            ("diffviews-desktop: window + docks + map drawn", app, bare),
            ("diffviews-desktop vs pyqtgraph", app, plot),
        ],
        unit="s",
    )
    print(f"heavy modules imported before the first frame: {heavy}")


if __name__ == "__main__":
    main()
