"""Generate from neighbours in the real window: click -> first trajectory point on the map, click -> final image.

Cold = the first click (adapter load + projection fit happen in the worker), warm = later clicks. Baseline in the same
run: the core's generate_from_samples with the same sample ids, layers and settings, without any UI. Also reports
the longest event-loop stall seen by a 10 ms timer during a warm run (the figure tests/gl no longer times). Uses the
embedded demo when installed, else (and with ``--smoke``, which also clicks once per case, for CI) a tiny EDM model
folder. Needs an X display for the GL map: run ``xvfb-run -a python3 benchmarks/bench_generation_ui.py``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "helpers"))  # tiny_model.py
from harness import print_table  # noqa: E402


def _data_root(scratch: Path, tiny: bool) -> tuple[Path, str]:
    from diffviews_app.options import demo_data_dir

    demo = None if tiny else demo_data_dir()
    if demo is not None:
        return demo, "embedded demo"
    from tiny_model import seed_like_spec, write_tiny_model

    from diffviews_core.adapters.edm import EDMAdapter
    from diffviews_core.networks import TINY, build_edm

    net = build_edm(TINY).eval()
    seed_like_spec(net)
    write_tiny_model(scratch, net, EDMAdapter(net, device="cpu"), n=200)
    return scratch, "tiny EDM fixture (200 samples)"


def _wait(app, cond, timeout: float = 300.0) -> None:
    """Run the event loop until ``cond()``; it sleeps between events like the real app (no busy polling, which
    would steal the GIL from the worker)."""
    from PySide6.QtCore import QEventLoop, QTimer

    end = time.perf_counter() + timeout
    waker = QTimer(interval=50)  # bounds the wait when nothing else happens
    waker.start()
    while not cond():
        if time.perf_counter() > end:
            raise TimeoutError("timed out")
        app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
    waker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="the tiny model, one click per case (CI)")
    args = parser.parse_args()
    if args.smoke:
        args.repeat = 1
    os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
    import torch

    torch.set_num_threads(1)
    from diffviews_app.app import application, create_window
    from diffviews_app.options import LaunchOptions
    from PySide6.QtCore import QElapsedTimer, QSettings, QTimer

    from diffviews_core.neighbour_generation import generate_from_samples

    app = application()
    with tempfile.TemporaryDirectory() as scratch:
        root, source = _data_root(Path(scratch), tiny=args.smoke)
        settings = QSettings(str(Path(scratch) / "s.ini"), QSettings.Format.IniFormat)
        window = create_window(LaunchOptions(data_dir=root), settings)
        parts = window.generation
        window.resize(1400, 900)
        window.show()
        window.open_folder(root)
        s, gen, layer = parts.state, parts.gen, parts.trajectories.layer
        _wait(app, lambda: s.model is not None and s.embedding is not None)
        s.select(0)
        s.set_k(args.k)
        parts.controller.suggest_knn()
        _wait(app, lambda: len(s.neighbours) >= 1)

        def click() -> tuple[float, float]:
            """Seconds from the click to the first drawn trajectory point, and to the final image in the dock."""
            first: list[float] = []
            t0 = time.perf_counter()
            parts.runner.generate(False)
            tid = gen.current
            _wait(app, lambda: tid in layer._data and len(layer._data[tid][0]) >= 1 and not layer.is_pending(tid))
            first.append(time.perf_counter() - t0)
            _wait(app, lambda: not gen.running and gen.trajectories[tid].finished)
            app.processEvents()
            return first[0], time.perf_counter() - t0

        cold_first, cold_final = click()
        warm = [click() for _ in range(args.repeat)]
        gaps: list[int] = []
        clock = QElapsedTimer()
        timer = QTimer(interval=10)
        timer.timeout.connect(lambda: gaps.append(clock.restart()))
        clock.start()
        timer.start()
        click()
        timer.stop()

        rows_ids = [s.selected, *s.neighbour_rows()]
        ids = [int(s.model.samples.sample_id[r]) for r in rows_ids]
        adapter = window.cache.adapter(s.model)
        layers = list(parts.controller.knn_layers())
        base = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            generate_from_samples(adapter, s.model, ids, layers, gen.settings)
            base.append(time.perf_counter() - t0)
        core = statistics.median(base)
        warm_first = statistics.median(w[0] for w in warm)
        warm_final = statistics.median(w[1] for w in warm)
        st = gen.settings
        print_table(
            f"Generate from neighbours on {source}: {s.num_points} points, {len(ids)} source samples, "
            f"{st.num_steps} steps, sampler {st.sampler or 'adapter default'}, guidance {st.guidance_scale}",
            [
                ("core generate_from_samples, no UI (baseline)", core, None),
                ("click -> first trajectory point, cold", cold_first, core),
                ("click -> final image, cold", cold_final, core),
                ("click -> first trajectory point, warm", warm_first, core),
                ("click -> final image, warm", warm_final, core),
            ],
        )
        print(f"longest event-loop gap during a warm run: {max(gaps[1:], default=0)} ms "
              f"({len(gaps)} ticks of 10 ms)")
        window.pool.shutdown(10000)
        window.close()


if __name__ == "__main__":
    main()
