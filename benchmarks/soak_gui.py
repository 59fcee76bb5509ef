"""A seeded soak of the real window on the embedded demo: N random user actions, then a clean close and exit.

Actions, drawn with weights from ``--seed``: hover, click (and Ctrl+click), Shift+drag lasso, suggest KNN (map or
activation space), 2D/3D, layer switch (stored maps, stored layers to embed, "More layers", layers to extract),
generate, compare, cancel, clear, clear the selection, save and restore the session, and waiting for the jobs to
finish. Between actions the event loop runs for ``--pace-ms``; jobs run on concurrently, as they do for a user.

Figures: actions per second, the window's process's CPU time over the actions (against their wall time: the event loop
sleeps between events, as the app's does), the CPU time a hypervisor took from the machine meanwhile (Linux's steal
time: on a virtual machine, stalls no program on it caused), RSS at start / peak / end of the window's process (sampled
on a thread every 0.2 s) and the peak RSS of its worker process (where UMAP fits, extraction and builds run), the UI
thread's stalls (a 10 ms heartbeat timer on the event loop: the longest, and how many over 50 / 200 ms while jobs ran,
each split into the UI thread's own CPU, its wait for a core and the machine's steal; and the same for the window at
rest for 10 s before the first action, the floor the machine's load sets), whether umap, numba or pynndescent were
imported in the window's process (a failure), the caches' bytes at the end, threads left after closing, uncaught
exceptions (``sys.excepthook``, which also receives exceptions raised in Qt slots), bugs logged by the worker pool,
error messages the window showed. The baseline is the RSS with the demo open before the first action. Exit
status 1 when a check fails (an uncaught exception or logged bug, RSS over ``--max-rss-mb``, a thread left running), 0
otherwise; the interpreter then shuts down normally, so a crash at exit shows as a signal exit status. Needs an X
display: ``xvfb-run -a python benchmarks/soak_gui.py``.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import math
import os
import random
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import stolen_cpu_s  # noqa: E402

SAMPLE_EVERY = 25  # actions between RSS samples
WEIGHTS = {
    "hover": 20, "click": 14, "lasso": 5, "knn": 8, "mode": 5, "layer": 7, "generate": 7, "compare": 3,
    "cancel": 5, "clear": 3, "deselect": 4, "session": 3, "wait": 2,
}  # fmt: skip
WAIT_JOBS_S = 20.0  # the "wait" action: at most this long for running jobs to end
END_WAIT_S = 60.0  # after the last action: jobs still running are cancelled by the close
HEARTBEAT_MS = 10  # the stall meter's timer on the UI thread's event loop
STALL_MS = 50  # a beat later than due by more than this is a stall (the longest and the count are reported)
HEAVY_MODULES = ("umap", "numba", "pynndescent")  # must never be imported in the window's process
IDLE_FLOOR_S = 10.0  # the stall meter on the window at rest, before the first action
IDLE_LABELS = ("between actions", "wait", "waiting for the last jobs")  # the stall meter's labels of an idle loop


def demo_with_stored_maps(demo: Path, scratch: Path) -> Path:
    """A copy of the demo whose stored layers each have a stored map (PCA coordinates, written in the project's
    format), so layer switches change maps without fitting UMAP: what ``--maps-only`` soaks (CI's bounded run)."""
    import shutil

    import numpy as np

    from diffviews_core.formats import open_data
    from diffviews_core.formats.embedding import write_embedding_files

    root = scratch / "data"
    shutil.copytree(demo, root)
    for weights in demo.parent.glob("model.*"):  # the models' config.json name their checkpoint relative to them
        shutil.copy2(weights, scratch / weights.name)
    for model in open_data(root).models.values():
        for layer in model.layers:
            x = np.asarray(model.activations([layer]), dtype=np.float64)
            x = x - x.mean(axis=0)
            u, sv, _vt = np.linalg.svd(x, full_matrices=False)
            coords = (u[:, :3] * sv[:3]).astype(np.float32)
            write_embedding_files(model.path / "embeddings" / f"{layer}.csv", model.samples, coords[:, :2], coords,
                                  {"layers": [layer], "method": "PCA (soak)"})  # fmt: skip
    return root


def rss_parts() -> dict[str, int]:
    """Resident memory by kind (Linux /proc: RssAnon, RssFile, RssShmem), in bytes."""
    out = {}
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(("RssAnon", "RssFile", "RssShmem")):
                    key, value, _unit = line.split()
                    out[key.rstrip(":")] = int(value) * 1024
    except OSError:
        pass
    return out


def rss_bytes() -> int:
    """Resident set size of this process now (Linux /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def rss_of(pid: int | None) -> int:
    """Resident set size of process ``pid`` now (0 when there is none or it is gone)."""
    if pid is None:
        return 0
    try:
        with open(f"/proc/{pid}/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


class MemorySampler:
    """Peak RSS of the app's process and of its worker processes (their sum), sampled on a thread every ``every_s``
    (the UI thread may be busy exactly when memory peaks). Reading /proc holds the GIL for microseconds."""

    def __init__(self, pool, every_s: float = 0.2) -> None:
        self.pool, self.every_s = pool, every_s
        self.app_peak = self.worker_peak = 0
        self.worker_pids: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="soak-memory", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def sample(self) -> None:
        pids = self.pool.process_pids() if hasattr(self.pool, "process_pids") else []
        self.app_peak = max(self.app_peak, rss_bytes())
        self.worker_pids.update(pids)
        self.worker_peak = max(self.worker_peak, sum(rss_of(pid) for pid in pids))  # every worker, together

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            self.sample()


class ThreadWaits:
    """Where a thread's wall time went besides its own CPU, on Linux: its wait for a core while runnable (the
    scheduler's ``run_delay``, ``/proc/thread-self/schedstat``) and the CPU time the hypervisor took from the machine
    (all CPUs, in clock ticks). Made on the thread it measures; zeros where the files are missing."""

    def __init__(self) -> None:
        self._schedstat = self._open("/proc/thread-self/schedstat")
        self._stat = self._open("/proc/stat")
        self._tick_s = 1.0 / os.sysconf("SC_CLK_TCK")

    @staticmethod
    def _open(path: str) -> int | None:
        try:
            return os.open(path, os.O_RDONLY)
        except OSError:
            return None

    def read(self) -> tuple[float, float]:
        """(seconds this thread has waited for a core, seconds stolen from the machine), since boot."""
        wait = steal = 0.0
        try:
            if self._schedstat is not None:
                wait = int(os.pread(self._schedstat, 100, 0).split()[1]) / 1e9
            if self._stat is not None:
                steal = int(os.pread(self._stat, 200, 0).split(b"\n", 1)[0].split()[8]) * self._tick_s
        except (OSError, ValueError, IndexError):
            pass
        return wait, steal

    def close(self) -> None:
        for fd in (self._schedstat, self._stat):
            if fd is not None:
                os.close(fd)
        self._schedstat = self._stat = None


class StallMeter:
    """The UI thread's stalls: a ``HEARTBEAT_MS`` timer on the event loop; each beat later than due by more than
    ``STALL_MS`` is a stall, recorded with the action running, the jobs running (in the pool) meanwhile, and where the
    gap's time went: the CPU time the UI thread itself spent in it, the time it waited for a core (``ThreadWaits``),
    the CPU time the hypervisor took from the machine meanwhile, and the time the garbage collector ran. The rest of a
    gap the thread was blocked (sleeping until the beat, or on a lock) or its CPU was stolen while it ran. The longest
    lateness of any beat (a stall or not) is kept too."""

    def __init__(self, pool, soak) -> None:
        from PySide6.QtCore import Qt, QTimer

        self.pool, self.soak = pool, soak
        # (ms late, action, jobs, UI CPU ms, GC ms, core wait ms, machine steal ms)
        self.stalls: list[tuple[float, str, tuple[str, ...], float, float, float, float]] = []
        self.beats = 0
        self.longest_ms = 0.0  # the most late beat, stall or not (a run without stalls still tells how close it came)
        self.longest_during_jobs_ms = 0.0
        self._waits = ThreadWaits()
        self._last = time.perf_counter()
        self._last_cpu = time.thread_time()
        self._last_wait, self._last_steal = self._waits.read()
        self._gc_s = 0.0  # collector time since the last beat
        self._gc_started = 0.0
        self._jobs_at_last: tuple[str, ...] = ()
        self._timer = QTimer()
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(HEARTBEAT_MS)
        self._timer.timeout.connect(self._beat)

    def start(self) -> None:
        self._last, self._last_cpu, self._gc_s = time.perf_counter(), time.thread_time(), 0.0
        self._last_wait, self._last_steal = self._waits.read()
        gc.callbacks.append(self._on_gc)
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        self._waits.close()
        if self._on_gc in gc.callbacks:
            gc.callbacks.remove(self._on_gc)

    def _on_gc(self, phase: str, _info: dict) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # the UI thread's collections only
        if phase == "start":
            self._gc_started = time.perf_counter()
        elif self._gc_started:
            self._gc_s += time.perf_counter() - self._gc_started
            self._gc_started = 0.0

    def _beat(self) -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        wait, steal = self._waits.read()
        late_ms = (now - self._last) * 1000 - HEARTBEAT_MS
        jobs = tuple(sorted({j.name for j in self.pool.running()} | set(self._jobs_at_last)))
        self.longest_ms = max(self.longest_ms, late_ms)
        if jobs:
            self.longest_during_jobs_ms = max(self.longest_during_jobs_ms, late_ms)
        if late_ms > STALL_MS:
            self.stalls.append((late_ms, self.soak.current, jobs, (cpu - self._last_cpu) * 1000, self._gc_s * 1000,
                                (wait - self._last_wait) * 1000, (steal - self._last_steal) * 1000))  # fmt: skip
        self.beats += 1
        self._last, self._last_cpu, self._gc_s = now, cpu, 0.0
        self._last_wait, self._last_steal = wait, steal
        self._jobs_at_last = tuple(j.name for j in self.pool.running())

    def summary(self) -> dict:
        in_jobs = [stall for stall in self.stalls if stall[2]]
        during = [stall[0] for stall in in_jobs]
        # the event loop idle between the soak's actions: what a stall there costs is the jobs' (or their results'
        # redraws), not the handling of an input event
        idle = [stall[0] for stall in in_jobs if stall[1] in IDLE_LABELS]
        worst = sorted(self.stalls, reverse=True)[:8]
        own = [stall[3] for stall in in_jobs]  # the UI thread's own CPU in each stall
        return {
            "stalls_during_jobs_with_over_50ms_of_ui_cpu": sum(cpu > 50 for cpu in own),
            "most_ui_cpu_in_a_stall_during_jobs_ms": round(max(own, default=0.0), 1),
            # where the stalls' time went, summed over the stalls during jobs: the UI thread's CPU, its wait for a
            # core, and the machine's steal meanwhile (ms)
            "stalls_during_jobs_split_ms": {
                "late": round(sum(s[0] for s in in_jobs)),
                "ui_cpu": round(sum(s[3] for s in in_jobs)),
                "core_wait": round(sum(s[5] for s in in_jobs)),
                "steal": round(sum(s[6] for s in in_jobs)),
            },
            "longest_stall_between_actions_during_jobs_ms": round(max(idle, default=0.0), 1),
            "stalls_between_actions_during_jobs_over_50ms": sum(ms > 50 for ms in idle),
            "stalls_between_actions_during_jobs_over_200ms": sum(ms > 200 for ms in idle),
            "beats": self.beats,
            "longest_stall_ms": round(self.longest_ms, 1),
            "longest_stall_during_jobs_ms": round(self.longest_during_jobs_ms, 1),
            "stalls_over_50ms_during_jobs": sum(ms > 50 for ms in during),
            "stalls_over_200ms_during_jobs": sum(ms > 200 for ms in during),
            "stalls_over_50ms": sum(s[0] > 50 for s in self.stalls),
            "stalls_over_200ms": sum(s[0] > 200 for s in self.stalls),
            "worst_stalls": [[round(ms), action, list(jobs), round(cpu), round(wait), round(steal), round(gc_ms)]
                             for ms, action, jobs, cpu, gc_ms, wait, steal in worst],  # fmt: skip
        }


class Watch:
    """Counts what must never happen: uncaught exceptions and bugs the worker pool logged, and the error messages
    the window showed (expected ones too: they are listed, not failed on)."""

    def __init__(self) -> None:
        self.exceptions: list[str] = []
        self.bugs: list[str] = []
        self.errors: Counter[str] = Counter()
        self._previous_hook = sys.excepthook
        sys.excepthook = self._hook
        threading.excepthook = lambda args: self._hook(args.exc_type, args.exc_value, args.exc_traceback)
        handler = logging.Handler(logging.ERROR)
        handler.emit = lambda record: self.bugs.append(record.getMessage() + (
            "\n" + "".join(traceback.format_exception(*record.exc_info)) if record.exc_info else ""))
        logging.getLogger("diffviews_app").addHandler(handler)
        logging.getLogger("diffviews_core").addHandler(handler)

    def _hook(self, exc_type, exc, tb) -> None:
        self.exceptions.append("".join(traceback.format_exception(exc_type, exc, tb)))
        print(self.exceptions[-1], file=sys.stderr, flush=True)

    def message(self, level: str, text: str) -> None:
        if level == "error":
            self.errors[text.splitlines()[0][:120]] += 1


class Soak:
    """Drives one window with seeded random actions."""

    def __init__(self, app, window, rng: random.Random, scratch: Path, pace_ms: int) -> None:
        self.app, self.w, self.rng, self.scratch, self.pace_ms = app, window, rng, scratch, pace_ms
        self.counts: Counter[str] = Counter()
        self.seconds: Counter[str] = Counter()  # time spent in each kind of action (waits included)
        self.verbose = False
        self.maps_only = False  # layer switches only between stored maps (no UMAP fit, no extraction)
        self.watch: Watch | None = None
        self.current = "idle"  # the action running now (for the stall meter)

    # ---- event loop -----------------------------------------------------------------------------------------
    def pump(self, ms: int) -> None:
        """Run the event loop for ``ms`` as the app's own loop runs: asleep until the next event. (Not ``QTest.qWait``:
        vispy's Qt backend replaces it with a loop of ``processEvents`` that spins, which made the measured UI thread
        a busy program competing with the workers for the CPU and holding the interpreter from the window's other
        threads for the whole soak; a window sleeps between events.)"""
        from PySide6.QtCore import QEventLoop, QTimer

        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    def wait_until(self, condition, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while not condition():
            if time.monotonic() > deadline:
                return False
            self.pump(20)
        return True

    # ---- where things are on screen ---------------------------------------------------------------------------
    def row_pos(self):
        from PySide6.QtCore import QPoint

        s = self.w.state
        if s.num_points == 0:
            return self.any_pos()
        row = self.rng.randrange(s.num_points)
        x, y = self.w.canvas.data_to_screen(s.coords()[row : row + 1])[0]
        if not (math.isfinite(x) and math.isfinite(y)):  # 3D: a point at the camera's eye has no screen position
            return self.any_pos()
        return QPoint(int(round(x)), int(round(y)))

    def any_pos(self):
        from PySide6.QtCore import QPoint

        native = self.w.canvas.native
        return QPoint(self.rng.randrange(5, max(6, native.width() - 5)), self.rng.randrange(5, max(6, native.height() - 5)))

    # ---- actions ------------------------------------------------------------------------------------------------
    def act(self, name: str) -> None:
        """One action; an exception it raises (the app's, through a direct call) is counted, and the soak goes on."""
        before, t0 = rss_bytes(), time.perf_counter()
        self.current = name
        try:
            getattr(self, "do_" + name)()
        except Exception:
            self.watch._hook(*sys.exc_info())
        finally:
            self.current = "between actions"
        self.counts[name] += 1
        self.seconds[name] += time.perf_counter() - t0
        if self.verbose and rss_bytes() - before > 20 << 20:
            parts = {k: round(v / 2**20) for k, v in rss_parts().items()}
            print(f"  {name}: rss +{(rss_bytes() - before) / 2**20:.0f} MB -> {parts} jobs "
                  f"{[j.name for j in self.w.pool.running()]}", flush=True)  # fmt: skip

    def do_hover(self) -> None:
        from PySide6.QtTest import QTest

        QTest.mouseMove(self.w.canvas.native, self.row_pos() if self.rng.random() < 0.8 else self.any_pos())

    def do_click(self) -> None:
        from PySide6.QtCore import Qt
        from PySide6.QtTest import QTest

        mods = Qt.KeyboardModifier.ControlModifier if self.rng.random() < 0.2 else Qt.KeyboardModifier.NoModifier
        QTest.mouseClick(self.w.canvas.native, Qt.MouseButton.LeftButton, mods, self.row_pos())

    def do_lasso(self) -> None:
        from PySide6.QtCore import QPoint, Qt
        from PySide6.QtTest import QTest

        native, shift, left = self.w.canvas.native, Qt.KeyboardModifier.ShiftModifier, Qt.MouseButton.LeftButton
        centre, r = self.row_pos(), self.rng.randrange(15, 120)
        path = [QPoint(centre.x() + dx * r, centre.y() + dy * r) for dx, dy in ((-1, -1), (1, -1), (1, 1), (-1, 1))]
        QTest.mousePress(native, left, shift, path[0])
        for p in path[1:]:
            QTest.mouseMove(native, p)
        QTest.mouseRelease(native, left, shift, path[0] + QPoint(0, 1))

    def do_knn(self) -> None:
        s = self.w.state
        if s.selected < 0 and s.num_points:
            s.select(self.rng.randrange(s.num_points))
        s.set_knn_space(self.rng.choice(["map", "activation"]))
        self.w.controller.suggest_knn()

    def do_mode(self) -> None:
        action = self.w.action_3d if self.rng.random() < 0.5 and self.w.action_3d.isEnabled() else self.w.action_2d
        action.trigger()

    def do_layer(self) -> None:
        kinds = ("embedding", "discover") if self.maps_only else ("embedding", "activations", "discover", "extract")
        choices = [key for key, (_label, how) in self.w.state.layer_choices.items() if how in kinds]
        if choices:
            self.w.controller.switch_layer(self.rng.choice(choices))

    def do_generate(self) -> None:
        s = self.w.state
        if s.selected < 0 and s.num_points:
            s.select(self.rng.randrange(s.num_points))
        self.w.generation.runner.generate()

    def do_compare(self) -> None:
        self.w.generation.runner.generate(compare=True)

    def do_cancel(self) -> None:
        self.w.generation.runner.cancel()

    def do_clear(self) -> None:
        self.w.generation.runner.clear()

    def do_deselect(self) -> None:
        (self.w.state.clear_selection if self.rng.random() < 0.5 else self.w.state.clear_neighbours)()

    def do_session(self) -> None:
        if self.w.state.model is None:
            return
        path = self.scratch / "soak-session.json"
        self.w.save_session(path)
        restorer = self.w.open_session(path)
        self.wait_until(lambda: restorer.finished, 30.0)

    def do_wait(self) -> None:
        self.wait_until(lambda: not self.w.pool.running(), WAIT_JOBS_S)


def cache_bytes(window) -> dict[str, int]:
    c = window.controller
    return {"embeddings": c._computed.nbytes, "knn_indexes": c._indexes.nbytes, "adapters": window.cache.adapters.nbytes,
            "projectors": window.cache.projectors_cache.nbytes}  # fmt: skip


def run(args: argparse.Namespace, scratch: Path) -> dict:
    os.environ["DIFFVIEWS_CONFIG_DIR"] = str(scratch / "config")
    os.environ["DIFFVIEWS_CACHE_DIR"] = str(scratch / "cache")
    from diffviews_core.device import limit_blas_threads

    limit_blas_threads()
    from diffviews_app.app import application, create_window, keep_long_lived_objects
    from diffviews_app.options import LaunchOptions, demo_data_dir
    from diffviews_app.workers import abandoned_running, wait_abandoned
    from PySide6.QtCore import QSettings

    data = demo_data_dir()
    if data is None:
        raise SystemExit("the embedded demo is not installed (diffviews demo rebuild)")
    if args.maps_only:
        data = demo_with_stored_maps(data, scratch)
    watch = Watch()
    app = application()
    settings = QSettings(str(scratch / "settings.ini"), QSettings.Format.IniFormat)
    window = create_window(LaunchOptions(data_dir=data), settings)
    keep_long_lived_objects(window)  # as run_app does: the collector's walks skip what lives for the whole run
    window.gen.update_settings(num_steps=args.steps, num_samples=1)
    window.controller.message.connect(watch.message)
    window.generation.runner.message.connect(watch.message)
    window.resize(1100, 720)
    window.show()
    threads_before = {t for t in threading.enumerate()}
    soak = Soak(app, window, random.Random(args.seed), scratch, args.pace_ms)
    soak.verbose, soak.maps_only, soak.watch = args.verbose, args.maps_only, watch
    window.open_folder(data)
    if not soak.wait_until(lambda: window.state.model is not None and window.canvas.point_count > 0, 120.0):
        raise SystemExit("the demo never opened")
    soak.pump(200)
    window.gen.update_settings(num_steps=args.steps, num_samples=1)  # the model's defaults replaced them on open
    rss_start = peak = rss_bytes()
    samples = [rss_start]
    names, weights = zip(*WEIGHTS.items())
    rng = random.Random(args.seed + 1)
    memory, stalls = MemorySampler(window.pool), StallMeter(window.pool, soak)
    memory.start()
    floor = StallMeter(window.pool, soak)  # the window at rest, no job: what the machine's load alone costs
    soak.current = "at rest"
    floor.start()
    soak.wait_until(lambda: False, IDLE_FLOOR_S)
    floor.stop()
    soak.current = "between actions"
    stalls.start()
    started, cpu_started, stolen_started = time.perf_counter(), time.process_time(), stolen_cpu_s()
    try:
        done = 0
        for i in range(args.actions):
            if args.max_minutes and time.perf_counter() - started > 60 * args.max_minutes:
                break
            soak.act(rng.choices(names, weights)[0])
            done += 1
            soak.pump(args.pace_ms)
            if i % SAMPLE_EVERY == 0:
                samples.append(rss_bytes())
                peak = max(peak, samples[-1])
                if args.verbose and i % (SAMPLE_EVERY * 20) == 0:
                    print(f"{i:6d} actions  rss {samples[-1] / 2**20:7.1f} MB  caches {cache_bytes(window)}",
                          flush=True)  # fmt: skip
        elapsed = time.perf_counter() - started
        window_cpu = time.process_time() - cpu_started
        stolen = stolen_cpu_s()
        stolen = None if stolen is None or stolen_started is None else stolen - stolen_started
        soak.current = "waiting for the last jobs"
        soak.wait_until(lambda: not window.pool.running(), END_WAIT_S)
        stalls.stop()
        memory.sample()
        memory.stop()
        rss_end, rss_end_parts = rss_bytes(), rss_parts()
        peak = max(peak, rss_end, memory.app_peak)
        heavy = [name for name in HEAVY_MODULES if name in sys.modules]
        caches = cache_bytes(window)
        trajectories = len(window.gen.trajectories)
    finally:  # a failing action still closes the window as a user would (its jobs cancelled) before the exit
        window.close()
        window.deleteLater()
        soak.pump(50)
        abandoned = not wait_abandoned(60000)
    time.sleep(0)  # let finished threads leave threading.enumerate
    left = [t.name for t in set(threading.enumerate()) - threads_before if t.is_alive() and not t.daemon
            and not isinstance(t, threading._DummyThread)]  # fmt: skip
    return {
        "actions": done, "seed": args.seed, "seconds": round(elapsed, 1),
        "actions_per_s": round(done / elapsed, 2),
        "rss_start_mb": round(rss_start / 2**20, 1), "rss_peak_mb": round(peak / 2**20, 1),
        "rss_end_mb": round(rss_end / 2**20, 1), "caches_mb": {k: round(v / 2**20, 2) for k, v in caches.items()},
        "trajectories_at_end": trajectories, "threads_left": left,
        "abandoned_jobs_running": [j.name for j in abandoned_running()] if abandoned else [],
        "uncaught_exceptions": len(watch.exceptions), "bugs_logged": len(watch.bugs),
        "bug_messages": watch.bugs[:5], "error_messages": dict(watch.errors.most_common(10)),
        "actions_done": dict(soak.counts), "seconds_per_action_kind": {k: round(v, 1) for k, v in soak.seconds.items()},
        "rss_parts_end_mb": {k: round(v / 2**20, 1) for k, v in rss_end_parts.items()}, "load_average": [round(x, 2) for x in os.getloadavg()],
        "max_rss_mb": args.max_rss_mb, "maps_only": args.maps_only,
        "worker_rss_peak_mb": round(memory.worker_peak / 2**20, 1), "worker_processes": len(memory.worker_pids),
        "heavy_modules_in_app": heavy, "ui_stalls": stalls.summary(), "ui_stalls_at_rest": floor.summary(),
        "window_cpu_s": round(window_cpu, 1), "cpu_stolen_s": None if stolen is None else round(stolen, 1),
    }


def failures(result: dict) -> list[str]:
    out = []
    if result["uncaught_exceptions"] or result["bugs_logged"]:
        out.append(f"{result['uncaught_exceptions']} uncaught exception(s), {result['bugs_logged']} bug(s) logged")
    if result["rss_peak_mb"] > result["max_rss_mb"]:
        out.append(f"peak RSS {result['rss_peak_mb']} MB over {result['max_rss_mb']} MB")
    if result["heavy_modules_in_app"]:
        out.append(f"the window's process imported {', '.join(result['heavy_modules_in_app'])}")
    if result["threads_left"] or result["abandoned_jobs_running"]:
        out.append(f"threads left: {result['threads_left'] + result['abandoned_jobs_running']}")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actions", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=4, help="denoising steps per generation")
    parser.add_argument("--pace-ms", type=int, default=5, help="event loop time between actions")
    parser.add_argument("--max-rss-mb", type=float, default=1024.0)
    parser.add_argument("--max-minutes", type=float, default=0.0, help="stop drawing actions after this long")
    parser.add_argument("--maps-only", action="store_true",
                        help="switch layers only between stored maps (the demo's layers get PCA maps): no UMAP fits")
    parser.add_argument("--smoke", action="store_true", help="100 actions, --maps-only")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    if args.smoke:
        args.actions, args.maps_only = min(args.actions, 100), True
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    with tempfile.TemporaryDirectory(prefix="diffviews-soak-", ignore_cleanup_errors=True) as scratch:
        result = run(args, Path(scratch))
    mb = result
    kind = "stored maps only" if mb["maps_only"] else "UMAP fits and extraction included"
    print(f"\nGUI soak on the demo ({kind}): {mb['actions']:,} actions, seed {mb['seed']}, "
          f"load average {mb['load_average']}")  # fmt: skip
    print(f"{'case':40s} {'value':>12s} {'baseline':>10s} {'ratio':>7s}")
    print(f"{'actions per second':40s} {mb['actions_per_s']:12.1f} {'-':>10s} {'-':>7s}")
    for label, key in (("RSS peak (MB)", "rss_peak_mb"), ("RSS at the end (MB)", "rss_end_mb")):
        print(f"{label:40s} {mb[key]:12.1f} {mb['rss_start_mb']:10.1f} {mb[key] / mb['rss_start_mb']:7.2f}")
    print(f"{'window process CPU during the actions (s)':40s} {mb['window_cpu_s']:12.1f} {mb['seconds']:10.1f} "
          f"{mb['window_cpu_s'] / mb['seconds']:7.2f}")  # fmt: skip
    if mb["cpu_stolen_s"] is not None:
        print(f"{'CPU taken by the hypervisor meanwhile (s)':40s} {mb['cpu_stolen_s']:12.1f} {mb['seconds']:10.1f} "
              f"{mb['cpu_stolen_s'] / mb['seconds']:7.2f}")  # fmt: skip
    print(f"{'worker processes RSS peak, summed (MB)':40s} {mb['worker_rss_peak_mb']:12.1f} {'-':>10s} {'-':>7s}")
    st = mb["ui_stalls"]
    print(f"{'UI thread: longest stall (ms)':40s} {st['longest_stall_ms']:12.1f} {'-':>10s} {'-':>7s}")
    print(f"{'UI thread: longest stall in a job (ms)':40s} {st['longest_stall_during_jobs_ms']:12.1f} {'-':>10s} {'-':>7s}")
    print(f"UI stalls while jobs ran: {st['stalls_over_50ms_during_jobs']} over 50 ms, "
          f"{st['stalls_over_200ms_during_jobs']} over 200 ms (all: {st['stalls_over_50ms']}, {st['stalls_over_200ms']})")
    print(f"  of which between actions (no input handled): {st['stalls_between_actions_during_jobs_over_50ms']} over "
          f"50 ms, {st['stalls_between_actions_during_jobs_over_200ms']} over 200 ms, longest "
          f"{st['longest_stall_between_actions_during_jobs_ms']} ms")  # fmt: skip
    print(f"  of which the window's own work (UI thread CPU) over 50 ms: "
          f"{st['stalls_during_jobs_with_over_50ms_of_ui_cpu']}, the most {st['most_ui_cpu_in_a_stall_during_jobs_ms']}"
          " ms (the rest of a stall waited: for a core, the interpreter or the hypervisor)")  # fmt: skip
    split = st["stalls_during_jobs_split_ms"]
    print(f"  their {split['late']} ms late in all: the UI thread's CPU {split['ui_cpu']} ms, its wait for a core "
          f"{split['core_wait']} ms, the hypervisor's steal (both CPUs) {split['steal']} ms")
    print("worst stalls [ms late, action, jobs running, UI thread's CPU ms, its wait for a core ms, steal ms, "
          f"collector ms]: {st['worst_stalls']}")
    rest = mb["ui_stalls_at_rest"]
    print(f"at rest for {IDLE_FLOOR_S:.0f} s before the first action (the machine's load alone): "
          f"{rest['stalls_over_50ms']} stalls over 50 ms, {rest['stalls_over_200ms']} over 200 ms, longest "
          f"{rest['longest_stall_ms']} ms")  # fmt: skip
    print(f"umap/numba/pynndescent in the window's process: {mb['heavy_modules_in_app'] or 'none'}")
    print(f"caches at the end (MB): {mb['caches_mb']}")
    print(f"actions: {mb['actions_done']}")
    print(f"seconds per kind of action: {mb['seconds_per_action_kind']}")
    print(f"resident memory at the end by kind (MB): {mb['rss_parts_end_mb']}")
    print(f"uncaught exceptions: {mb['uncaught_exceptions']}, bugs logged: {mb['bugs_logged']}, "
          f"threads left after close: {len(mb['threads_left']) + len(mb['abandoned_jobs_running'])}")  # fmt: skip
    print(f"error messages shown: {mb['error_messages']}")
    print("SOAK " + json.dumps(result), flush=True)
    bad = failures(result)
    for line in bad:
        print(f"FAILED: {line}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
