"""What a message costs the UI thread: the banner floating over the map against the same banner as a row above it.

A banner that is a row of the map's column resizes the map's GL surface whenever it appears, disappears or its text
wraps to another number of lines; on software GL that resize and its redraw held the UI thread for tens of ms, in
the middle of whatever job's result brought the message ("Embedded layer ..."). The window is opened on the embedded
demo; each case is timed from the call to the event loop being idle again (the map's frame included), median of
``--repeat``. The baseline, measured in the same run and window, is the banner put back as a row above the map (how
it was laid out before). Columns: UI thread CPU and wall time, ms. Needs X:

    xvfb-run -a -s "-screen 0 1600x1000x24" python3 benchmarks/bench_banner.py [--repeat 8] [--smoke]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ["QT_QPA_PLATFORM"] = "xcb"  # the offscreen platform has no GL for vispy
sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import print_table, require_display  # noqa: E402

MESSAGES = ("Embedded layer decoder_block_9 (560 samples).",
            "Select samples on the map first (click, lasso or box) or generated images in the gallery.")  # fmt: skip


def open_demo():
    """The app's window on the embedded demo, drawn and settled."""
    scratch = Path(tempfile.mkdtemp(prefix="diffviews-bench-banner-"))
    os.environ["DIFFVIEWS_CONFIG_DIR"] = str(scratch / "config")
    os.environ["DIFFVIEWS_CACHE_DIR"] = str(scratch / "cache")
    from diffviews_app.app import application, create_window
    from diffviews_app.options import LaunchOptions, demo_data_dir
    from PySide6.QtCore import QSettings

    app = application()
    data = demo_data_dir()
    if data is None:
        sys.exit("the embedded demo is not installed (diffviews demo rebuild)")
    settings = QSettings(str(scratch / "settings.ini"), QSettings.Format.IniFormat)
    window = create_window(LaunchOptions(data_dir=data), settings)
    window.resize(1100, 720)
    window.show()
    window.open_folder(data)
    deadline = time.monotonic() + 120
    while not (window.state.model is not None and window.canvas.point_count > 0):
        if time.monotonic() > deadline:
            sys.exit("the demo never opened")
        pump(50)
    pump(3000)  # the launch's warm-up frames
    return app, window


def pump(ms: int) -> None:
    """Run the event loop for ``ms``, asleep between events as the app's own loop is."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def cost(app, fn: Callable[[], None]) -> tuple[float, float]:
    """(UI thread CPU, wall) in seconds from calling ``fn`` to the event loop idle again."""
    cpu0, t0 = time.thread_time(), time.perf_counter()
    fn()
    pump(0)
    app.processEvents()
    return time.thread_time() - cpu0, time.perf_counter() - t0


def cases(app, window, repeat: int) -> dict[str, list[tuple[float, float]]]:
    """Each case ``repeat`` times, the banner hidden before "appears" and shown before the others."""
    banner, out = window.banner, {"appears": [], "new text, other line count": [], "dismissed": []}
    for _ in range(repeat):
        out["appears"].append(cost(app, lambda: window.show_message("info", MESSAGES[0])))
        pump(200)
        out["new text, other line count"].append(cost(app, lambda: window.show_message("info", MESSAGES[1])))
        pump(200)
        out["dismissed"].append(cost(app, banner.hide))
        pump(200)
    return out


def as_row(window) -> None:
    """Put the banner back as a row above the map, as it was laid out before it floated (the baseline)."""
    banner, column = window.banner, window.centralWidget().layout()
    window.centralWidget().removeEventFilter(banner)
    banner._host = None
    column.insertWidget(0, banner)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=8)
    parser.add_argument("--smoke", action="store_true", help="2 repeats (CI)")
    args = parser.parse_args()
    if args.smoke:
        args.repeat = 2
    require_display()
    app, window = open_demo()
    map_size = window.canvas.widget.size().toTuple()
    floating = cases(app, window, args.repeat)
    resized = window.canvas.widget.size().toTuple() != map_size
    as_row(window)
    pump(500)
    row = cases(app, window, args.repeat)
    rows = []
    for name in floating:
        for column, label in ((0, "UI thread CPU"), (1, "wall")):
            value = statistics.median(t[column] for t in floating[name])
            base = statistics.median(t[column] for t in row[name])
            rows.append((f"message {name}: {label}", value, base))
    print_table(f"banner floating over the map vs a row above it (baseline), median of {args.repeat}, "
                f"load {os.getloadavg()[0]:.2f}", rows)  # fmt: skip
    print(f"map resized while the banner floated: {resized}")
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
