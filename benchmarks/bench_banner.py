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
import shutil
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


def open_demo(scratch: Path):
    """The app's window on the embedded demo, drawn, its opening jobs done and settled."""
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
    while not (window.state.model is not None and window.canvas.point_count > 0 and not window.pool.running()):
        if time.monotonic() > deadline:
            sys.exit("the demo never opened, or its opening jobs never ended")
        pump(50)
    pump(3000)  # the launch's warm-up frames
    return app, window


def close(window) -> None:
    """Close the window as the app does at exit: its jobs end (none is left running under the interpreter's exit)
    and its worker processes stop."""
    from diffviews_app.workers import close_worker_processes, wait_abandoned

    window.close()
    window.deleteLater()
    pump(50)
    wait_abandoned(60000)
    close_worker_processes(5)


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


def cases(app, banner, repeat: int) -> dict[str, list[tuple[float, float]]]:
    """Each case ``repeat`` times, the banner hidden before "appears" and shown before the others."""
    out = {"appears": [], "new text, other line count": [], "dismissed": []}
    for _ in range(repeat):
        out["appears"].append(cost(app, lambda: banner.show_message("info", MESSAGES[0])))
        pump(200)
        out["new text, other line count"].append(cost(app, lambda: banner.show_message("info", MESSAGES[1])))
        pump(200)
        out["dismissed"].append(cost(app, banner.hide))
        pump(200)
    return out


def as_row(window):
    """A banner as it was laid out before it floated (the baseline): a plain widget, the first row of the map's
    column. The floating banner stays hidden."""
    from diffviews_app.widgets import MessageBanner
    from PySide6.QtCore import Qt

    window.banner.hide()
    row = MessageBanner()
    row.setAttribute(Qt.WidgetAttribute.WA_NativeWindow, False)
    row.styles = window.banner.styles
    row.hide()
    window.centralWidget().layout().insertWidget(0, row)
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=8)
    parser.add_argument("--smoke", action="store_true", help="2 repeats (CI)")
    args = parser.parse_args()
    if args.smoke:
        args.repeat = 2
    require_display()
    scratch = Path(tempfile.mkdtemp(prefix="diffviews-bench-banner-"))
    try:
        app, window = open_demo(scratch)
        map_size = window.canvas.widget.size().toTuple()
        floating = cases(app, window.banner, args.repeat)
        resized = window.canvas.widget.size().toTuple() != map_size
        row_banner = as_row(window)
        pump(500)
        row = cases(app, row_banner, args.repeat)
        close(window)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    rows = []
    for name in floating:
        for column, label in ((0, "UI thread CPU"), (1, "wall")):
            value = statistics.median(t[column] for t in floating[name])
            base = statistics.median(t[column] for t in row[name])
            rows.append((f"message {name}: {label}", value, base))
    print_table(f"banner floating over the map vs a row above it (baseline), median of {args.repeat}, "
                f"load {os.getloadavg()[0]:.2f}", rows)  # fmt: skip
    print(f"map resized while the banner floated: {resized}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
