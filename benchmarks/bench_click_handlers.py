"""UI-thread work of one click, one hover and one KNN result in the explorer window, without any frame: the state's
signal is emitted and every connected handler (rings, preview dock, neighbours dock, generation parts) runs.

The real ``MainWindow`` is opened on a synthetic model in the original layout (``synthetic.py``) at 1,168 / 10k /
100k points. Each row is the median of ``--repeat`` (at least 15) runs of:

- click, nothing selected before: ``state.select(row)`` after an untimed ``clear_selection``;
- click, another sample selected: ``state.select(row)`` while another sample is selected;
- click on the hovered sample: ``state.select(row)`` after an untimed ``set_hover`` onto it, as a mouse clicks (its
  move onto the point has shown the sample);
- hover onto another sample: ``state.set_hover`` onto another sample;
- KNN result applied: ``state.set_knn`` with K rows and distances (what the controller does with a search's result).

Columns: ``emit`` is the emit up to its return; ``+ layout`` adds the layout requests Qt posted meanwhile
(``sendPostedEvents(LayoutRequest)``, three rounds: a layout posts its parent's), i.e. every bit of Python and layout
work the action causes on the UI thread before anything is painted (the GL frame and the docks' paint excluded). The baseline measured in the same run is a bare Qt
signal emit into ``QLabel.setText`` (the least a click can cost); the ratio is against it. ``--profile`` prints
cProfile's top functions (cumulative) of the click and the hover at each size. Needs X:

    xvfb-run -a -s "-screen 0 1600x1000x24" python3 benchmarks/bench_click_handlers.py [--sizes 1168 10000] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

os.environ["QT_QPA_PLATFORM"] = "xcb"  # the offscreen platform has no GL for vispy

sys.path.insert(0, str(Path(__file__).parent))
from harness import add_size_options, gui_app, print_table  # noqa: E402
from synthetic import make_original_model  # noqa: E402

WINDOW = (1600, 1000)
OPEN_TIMEOUT_S = 1200.0
COLUMNS = ("emit", "+ layout")
LAYOUT_ROUNDS = 3
PROFILE_TOP = int(os.environ.get("PROFILE_TOP", "5"))  # rows of --profile after the benchmark's own


def load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def run_until(app, done: Callable[[], bool], what: str, timeout: float = OPEN_TIMEOUT_S) -> None:
    t0 = time.perf_counter()
    while not done():
        app.processEvents()
        if time.perf_counter() - t0 > timeout:
            raise RuntimeError(f"timed out waiting for {what}")


def settle(app, seconds: float = 0.05) -> None:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        app.processEvents()
        time.sleep(0.002)


def time_action(app, action: Callable[[], None]) -> tuple[float, float]:
    """(emit, + layout) seconds of one action."""
    from PySide6.QtCore import QEvent

    def layouts() -> None:  # a layout done may post its parent's: three rounds reach the dock's scroll area
        for _ in range(LAYOUT_ROUNDS):
            app.sendPostedEvents(None, QEvent.Type.LayoutRequest.value)

    t0 = time.perf_counter()
    action()
    t1 = time.perf_counter()
    layouts()
    t2 = time.perf_counter()
    return t1 - t0, t2 - t0


def medians(samples: list[tuple[float, float]]) -> tuple[float, float]:
    return tuple(statistics.median(s[i] for s in samples) for i in range(len(COLUMNS)))  # type: ignore[return-value]


def bench_trivial(app, repeat: int) -> tuple[float, float]:
    """A bare signal emit into QLabel.setText, in a shown widget: the floor any handler chain is compared with."""
    from PySide6.QtCore import QObject, Signal
    from PySide6.QtWidgets import QLabel

    class Source(QObject):
        changed = Signal(str)

    source, label = Source(), QLabel("start")
    source.changed.connect(label.setText)
    label.show()
    settle(app, 0.1)
    samples = []
    for i in range(repeat + 2):
        samples.append(time_action(app, lambda i=i: source.changed.emit(f"sample {i}")))
        settle(app, 0.01)
    label.close()
    return medians(samples[2:])


def profile_top(app, action: Callable[[], None], top: int = PROFILE_TOP) -> str:
    """cProfile's ``top`` functions by cumulative time, after the benchmark's own frames."""
    prof = cProfile.Profile()
    prof.enable()
    time_action(app, action)
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(top + 8)  # 8 rows: the bench's and emit
    lines = [ln for ln in out.getvalue().splitlines() if ln.strip()]
    start = next(i for i, ln in enumerate(lines) if ln.lstrip().startswith("ncalls"))
    return "\n".join(lines[start : start + top + 8])


def bench_window(app, data_dir: Path, repeat: int, profile: bool) -> dict[str, tuple[float, float]]:
    from diffviews_app.app import create_window, open_start_data
    from diffviews_app.options import LaunchOptions
    from diffviews_app.targets import Target
    from PySide6.QtCore import QSettings

    out: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        w = create_window(LaunchOptions(data_dir=data_dir), QSettings(str(Path(tmp) / "s.ini"),
                                                                      QSettings.Format.IniFormat))  # fmt: skip
        w.resize(*WINDOW)
        w.show()
        state = w.state
        open_start_data(w, w.controller.options)
        run_until(app, lambda: state.model is not None and w.canvas.point_count == state.num_points, "the map")
        settle(app, 0.5)
        rng = np.random.default_rng(0)
        rows = iter(rng.permutation(state.num_points).tolist() * 4)

        def run(name: str, prepare: Callable[[], None], action: Callable[[int], None], hovered: bool = False) -> None:
            samples = []
            for _ in range(repeat + 2):  # two warm-up runs: the first images of a size are decoded cold
                prepare()
                row = next(rows)
                if hovered:  # the pointer is on it: its hover has shown it (untimed)
                    state.set_hover(Target.sample(row))
                settle(app)
                samples.append(time_action(app, lambda row=row: action(row)))
                settle(app, 0.02)
            out[name] = medians(samples[2:])
            if profile:
                prepare()
                row = next(rows)
                if hovered:
                    state.set_hover(Target.sample(row))
                settle(app)
                print(f"\n--- cProfile, {state.num_points:,} points, {name} (load {load()})")
                print(profile_top(app, lambda: action(row)))

        run("click, nothing selected before", state.clear_selection, state.select)
        run("click, another sample selected", lambda: state.select(next(rows)), state.select)
        run("click on the hovered sample", state.clear_selection, state.select, hovered=True)
        run("hover onto another sample", lambda: state.set_hover(Target.sample(next(rows))),
            lambda row: state.set_hover(Target.sample(row)))  # fmt: skip
        k = state.k

        def knn(row: int) -> None:
            found = [r for r in (row + np.arange(1, k + 1)) % state.num_points]
            state.set_knn(found, list(np.linspace(0.1, 1.0, k)))

        run("KNN result applied", lambda: (state.select(next(rows)), state.clear_neighbours()), knn)
        w.close()
        w.deleteLater()
        app.processEvents()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_size_options(parser, [1168, 10_000, 100_000], repeat=15)
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions per action")
    parser.add_argument("--smoke", action="store_true", help="one 1,168-point model, 3 repeats (CI)")
    args = parser.parse_args()
    if args.smoke:
        args.sizes, args.repeat = [1168], 3
    from diffviews_app.app import application

    app = gui_app(application)
    print(f"load average {load()}, {os.cpu_count()} CPUs, window {WINDOW}, median of {args.repeat}")
    trivial = bench_trivial(app, args.repeat)
    rows: list[tuple[str, float, float | None]] = []
    for col, value in zip(COLUMNS, trivial, strict=True):
        rows.append((f"baseline: signal -> QLabel.setText, {col}", value, None))
    for n in args.sizes:
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(str(args.data_root / str(n)) if args.data_root else scratch)
            if not (folder / "synthetic").is_dir():
                make_original_model(folder, n)
            timings = bench_window(app, folder, args.repeat, args.profile)
        size_rows = []
        for name, values in timings.items():
            for col, value, base in zip(COLUMNS, values, trivial, strict=True):
                size_rows.append((f"{n:>7,} {name[:30]:30s} {col}", value, base))
        print_table(f"{n:,} points (load average {load()})", size_rows)
        sys.stdout.flush()
        rows += size_rows
    print_table(f"Click handlers, UI thread, no frame; baseline: signal -> QLabel.setText, median of {args.repeat}",
                rows)  # fmt: skip
    print(f"load average {load()}")


if __name__ == "__main__":
    main()
