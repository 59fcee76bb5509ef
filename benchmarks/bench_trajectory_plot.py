"""What the trajectories dock's distance plot costs the UI thread when the current trajectory changes or a run is
cancelled, with N trajectories plotted: curves set again only where they changed, against every curve set again
(the baseline, measured in the same run on the same dock: how it replotted before).

Each case is timed from the state's change to the plot repainted (``flush`` and the paint events it queued), as UI
thread CPU, median of ``--repeat``. The dock is shown on Qt's offscreen platform (pyqtgraph paints in software
either way):

    python3 benchmarks/bench_trajectory_plot.py [--sizes 12 50] [--repeat 9] [--smoke]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import print_table  # noqa: E402

STEPS = 8


def record(run: int, sample: int) -> dict:
    rng = np.random.default_rng(run * 1000 + sample)
    return {"run": run, "sample": sample, "masked": True, "mask_steps": [0, 1, 2], "class_label": None,
            "class_text": "?", "map_key": ("m", "d"), "num_steps": STEPS,
            "sigmas": list(np.geomspace(80.0, 0.002, STEPS)), "coords2d": [np.zeros(2)] * STEPS,
            "distances": list(rng.random(STEPS) * 10), "image": np.zeros((4, 5, 1), np.uint8)}  # fmt: skip


def ui_cpu(app, dock, change: Callable[[], None], everything: bool) -> float:
    """UI thread CPU (s) from ``change`` to the plot repainted; ``everything``: every curve is set again."""
    if everything:
        dock._drawn.clear()
    cpu0 = time.thread_time()
    change()
    dock.flush()
    app.processEvents()
    return time.thread_time() - cpu0


def one_size(app, n: int, repeat: int) -> list[tuple[str, float, float]]:
    """The table's rows for a dock over ``n`` finished trajectories."""
    from diffviews_app.docks.trajectory_dock import TrajectoryDock
    from diffviews_app.state.generation_state import GenerationState

    gen = GenerationState()
    dock = TrajectoryDock(gen)
    dock.resize(420, 300)
    dock.show()
    ids = gen.restore([record(1, i) for i in range(n)], current=0)
    dock.flush()
    app.processEvents()
    turn = [0]

    def new_current() -> None:
        turn[0] += 1
        gen.set_current(ids[turn[0] % n])

    def cancelled_run() -> None:
        live = gen.add_trajectory(run=2, sample=0, masked=False, class_label=None, class_text="?",
                                  map_key=("m", "d"), num_steps=STEPS)  # fmt: skip
        dock.flush()
        gen.discard([live.id])

    rows = []
    for label, change in (("current trajectory changed", new_current), ("a run cancelled", cancelled_run)):
        cases = {}
        for everything in (False, True):
            ui_cpu(app, dock, change, everything)  # warm-up
            cases[everything] = statistics.median(ui_cpu(app, dock, change, everything) for _ in range(repeat))
        rows.append((f"{n} trajectories: {label}", cases[False], cases[True]))
    dock.close()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[12, 50])
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--smoke", action="store_true", help="4 trajectories, 2 repeats (CI)")
    args = parser.parse_args()
    if args.smoke:
        args.sizes, args.repeat = [4], 2
    from diffviews_app.app import application

    app = application()
    rows = [row for n in args.sizes for row in one_size(app, n, args.repeat)]
    print_table(f"distance plot, UI thread CPU, changed curves only vs every curve (baseline), median of "
                f"{args.repeat}, load {os.getloadavg()[0]:.2f}", rows)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
