"""The floors under the GUI soak's UI-thread stalls: what no window's UI thread gets below on this machine while the
worker processes compute, measured without the app.

- Sharing the CPU: worker processes as busy as a UMAP fit, an extraction and a generation (pure Python loops, at the
  app's worker niceness unless ``--niceness``) run while the main thread (a) beats a bare Qt event loop every 4 ms: the longest gap and
  the 99th percentile, and (b) spends 30 ms of CPU (a handler or a frame of that size): its wall time, median and
  longest. Baseline: the same with no worker running. ``--threads N`` adds N busy job threads in the main
  thread's own process (numpy work that releases the GIL, like the app's neighbour index read ahead), at the main
  thread's priority as the app's job threads run, or ``--thread-niceness`` nicer (Linux: per thread).
- A new shader program on this GL: the frame in which a new vispy visual (Markers, 1 point) is first drawn, whose
  program the GL driver compiles on the UI thread then (llvmpipe: tens of ms). The app draws each of its visuals
  once after launch for this (the warm-up, one program per frame); baseline: the same canvas's frame without a new
  visual.

Needs X (the GL row; the rest only Qt):

    xvfb-run -a -s "-screen 0 1600x1000x24" python3 benchmarks/bench_stall_floor.py [--workers 3] [--seconds 10]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import threading
import time
from pathlib import Path

os.environ["QT_QPA_PLATFORM"] = "xcb"  # the offscreen platform has no GL for vispy

sys.path.insert(0, str(Path(__file__).parent))
from harness import gui_app, print_table, stolen_cpu_s  # noqa: E402

BEAT_MS = 4
CPU_MS = 30
TASKS = 20


def _busy(niceness: int, stop) -> None:
    """A worker process's CPU-bound job: a pure-Python loop until ``stop``."""
    if niceness and hasattr(os, "nice"):
        os.nice(niceness)
    total = 0
    while not stop.is_set():
        for i in range(100_000):
            total += i


def _busy_thread(niceness: int, stop) -> None:
    """A job thread of the window's process: numpy passes that release the GIL, ``niceness`` nicer than the main
    thread (Linux: ``setpriority`` of a thread id renices that thread alone)."""
    import numpy as np

    if niceness and sys.platform.startswith("linux"):
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + niceness)
    data = np.ones(1 << 22, dtype=np.float32)
    while not stop.is_set():
        np.multiply(data, 1.0000001, out=data)


def _spend_cpu(ms: float) -> None:
    start = time.thread_time()
    while (time.thread_time() - start) * 1000 < ms:
        pass


def beat_gaps(app, seconds: float) -> list[float]:
    """Gaps (s) between the beats of a 4 ms precise timer in the event loop, over ``seconds``."""
    from PySide6.QtCore import QEventLoop, Qt, QTimer

    gaps, last = [], [time.perf_counter()]

    def beat() -> None:
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer(timerType=Qt.TimerType.PreciseTimer, interval=BEAT_MS)
    timer.timeout.connect(beat)
    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    timer.start()
    loop.exec()
    timer.stop()
    return gaps[1:]


def cpu_walls(tasks: int) -> list[float]:
    """Wall times (s) of ``tasks`` spans of 30 ms of this thread's CPU, 50 ms apart."""
    walls = []
    for _ in range(tasks):
        t0 = time.perf_counter()
        _spend_cpu(CPU_MS)
        walls.append(time.perf_counter() - t0)
        time.sleep(0.05)
    return walls


def sharing(app, workers: int, niceness: int, seconds: float, tasks: int, threads: int = 0,
            thread_niceness: int = 0) -> dict[str, float]:  # fmt: skip
    ctx = multiprocessing.get_context("spawn")
    stop = ctx.Event()
    procs = [ctx.Process(target=_busy, args=(niceness, stop), daemon=True) for _ in range(workers)]
    procs += [threading.Thread(target=_busy_thread, args=(thread_niceness, stop), daemon=True) for _ in range(threads)]
    for proc in procs:
        proc.start()
    try:
        time.sleep(1.0 if procs else 0.0)  # the workers are computing
        t0, stolen0 = time.perf_counter(), stolen_cpu_s()
        gaps = sorted(beat_gaps(app, seconds))
        walls = cpu_walls(tasks)
        stolen1, elapsed = stolen_cpu_s(), time.perf_counter() - t0
    finally:
        stop.set()
        for proc in procs:
            proc.join(10)
    return {
        "4 ms beats: longest gap": gaps[-1],
        "4 ms beats: 99th percentile gap": gaps[int(0.99 * (len(gaps) - 1))],
        "30 ms of UI CPU: wall time, median": statistics.median(walls),
        "30 ms of UI CPU: wall time, longest": max(walls),
        "steal": None if stolen0 is None else (stolen1 - stolen0, elapsed),
    }


def new_program_frames(app, repeat: int) -> tuple[float, float]:
    """(median frame with a new Markers visual drawn first, median frame with nothing new), vispy's default canvas."""
    import numpy as np
    import vispy.scene
    from vispy.gloo import gl

    canvas = vispy.scene.SceneCanvas(size=(800, 600), show=True)
    view = canvas.central_widget.add_view(camera="panzoom")
    draws = [0]
    canvas.events.draw.connect(lambda _e: draws.__setitem__(0, draws[0] + 1), position="last")

    def frame(before=None) -> float:
        if before is not None:
            before()
        n = draws[0]
        t0 = time.perf_counter()
        canvas.update()
        while draws[0] == n:
            app.processEvents()
        gl.glFinish()
        return time.perf_counter() - t0

    for _ in range(3):  # the context, the first frames
        frame()
    plain, fresh = [], []
    for i in range(repeat):
        plain.append(frame())
        visual = vispy.scene.visuals.Markers(parent=view.scene)
        fresh.append(frame(lambda v=visual, i=i: v.set_data(np.array([[0.1 * i, 0.0]], np.float32), size=5)))
    canvas.close()
    app.processEvents()
    return statistics.median(fresh), statistics.median(plain)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=3, help="busy worker processes (the soak runs up to 3)")
    parser.add_argument("--threads", type=int, default=0, help="busy job threads in this process (default: none)")
    parser.add_argument("--niceness", type=int, default=None, help="the workers' niceness (default: the app's)")
    parser.add_argument("--thread-niceness", type=int, default=0, help="the threads' niceness (default: 0, the app's)")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long the event loop beats, per case")
    parser.add_argument("--repeat", type=int, default=5, help="new visuals drawn (median)")
    parser.add_argument("--smoke", action="store_true", help="1 worker, 1 s, 2 visuals (CI)")
    args = parser.parse_args()
    tasks = TASKS
    if args.smoke:
        args.workers, args.seconds, args.repeat, tasks = 1, 1.0, 2, 3
    if args.niceness is None:
        from diffviews_app.workers import worker_niceness

        args.niceness = worker_niceness()
    app = gui_app()
    load = lambda: " ".join(f"{v:.2f}" for v in os.getloadavg())  # noqa: E731
    print(f"load average {load()}, {os.cpu_count()} CPUs, {args.workers} busy worker processes at niceness "
          f"{args.niceness}, {args.threads} busy threads at {args.thread_niceness}", flush=True)  # fmt: skip
    idle = sharing(app, 0, args.niceness, args.seconds, tasks)
    busy = sharing(app, args.workers, args.niceness, args.seconds, tasks, args.threads, args.thread_niceness)
    label = f"{args.workers} busy" + (f" + {args.threads} threads" if args.threads else "")
    rows = [(f"{name}, {label}", busy[name], idle[name]) for name in idle if name != "steal"]
    fresh, plain = new_program_frames(app, args.repeat)
    rows.append(("frame with a new shader program (vispy Markers)", fresh, plain))
    print_table(f"Stall floors; baseline: no worker busy / a frame with no new program (load average {load()})", rows)
    for name, case in (("no worker busy", idle), (label, busy)):
        if case["steal"] is not None:  # a virtual machine's hypervisor taking its CPUs: a floor no program sets
            stolen, elapsed = case["steal"]
            print(f"hypervisor steal, {name}: {stolen:.1f} s of {elapsed:.1f} s x {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
