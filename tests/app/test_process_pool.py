"""CPU-heavy jobs in the app's worker process (``WorkerPool.submit_to_process``): a real UMAP fit of the demo layer
with progress on the UI thread, cancel inside UMAP answered within half a second, a crashed worker as a message, a
waiting job that stops on cancel, and no umap/numba/pynndescent in the window's process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import process_job_fixtures as fixtures
import pytest

from diffviews_core.demo import demo_paths

pytestmark = pytest.mark.gui

FIT_DRIVER = Path(__file__).parents[1] / "helpers" / "fit_in_worker_process.py"
# The status bar says "cancelled" at once; this bounds the job's end: the worker's cooperative stop (0.3 s grace),
# then its termination and reaping. Measured 0.47-0.52 s at load 2 on two cores; the bound leaves room for load.
CANCEL_BOUND_S = 1.0


def stretched(bound_s: float) -> float:
    """``bound_s`` stretched by how many runnable processes share each core now (a shared CI box)."""
    return bound_s * max(1.0, os.getloadavg()[0] / (os.cpu_count() or 1))


def test_the_worker_processes_end_when_the_app_closes_them(qtbot, pool):
    from diffviews_app.workers import close_worker_processes

    results = []
    pool.submit_to_process("Adding", fixtures.add, 2, 3, on_result=results.append)
    qtbot.waitUntil(lambda: results == [5], timeout=60000)
    pids = pool.process_pids()
    assert pids and os.getpid() not in pids
    assert close_worker_processes() and pool.process_pids() == []


def test_a_job_runs_under_the_callers_settings_of_when_it_was_asked(qtbot, pool, monkeypatch, tmp_path):
    """A long-lived worker started earlier still uses the user folders the app has now."""
    results = []
    pool.submit_to_process("Adding", fixtures.add, 1, 1, on_result=results.append)
    qtbot.waitUntil(lambda: results == [2], timeout=60000)
    monkeypatch.setenv("DIFFVIEWS_CACHE_DIR", str(tmp_path / "cache"))
    pool.submit_to_process("Where", fixtures.cache_dir_now, on_result=results.append)
    qtbot.waitUntil(lambda: len(results) == 2, timeout=60000)
    assert results[1] == str(tmp_path / "cache")


def test_a_crashed_worker_process_is_a_message_and_the_next_job_gets_a_new_one(qtbot, pool):
    errors, results = [], []
    pool.submit_to_process("Crashing", fixtures.exit_abruptly, on_error=errors.append)
    qtbot.waitUntil(lambda: bool(errors), timeout=60000)
    assert "ended without an answer" in errors[0] and "SIGKILL" in errors[0]
    pool.submit_to_process("Adding", fixtures.add, 2, 3, on_result=results.append)
    qtbot.waitUntil(lambda: results == [5], timeout=60000)


def test_a_job_waiting_for_the_worker_stops_at_once_on_cancel(qtbot, pool):
    """One job at a time in the worker process; a superseded one that waits for its turn never queues."""
    started, results = [], []
    first = pool.submit_to_process("Running", fixtures.until_cancelled)
    first.progressed.connect(lambda fraction, message: started.append(message))
    qtbot.waitUntil(lambda: bool(started), timeout=60000)
    waiting = pool.submit_to_process("Waiting", fixtures.add, 1, 2, on_result=results.append)
    with qtbot.waitSignal(waiting.cancelled, timeout=5000):
        waiting.cancel()
    assert first.isRunning()
    with qtbot.waitSignal(first.cancelled, timeout=5000):
        first.cancel()
    qtbot.waitUntil(lambda: not pool.running(), timeout=5000)
    assert results == []


@pytest.mark.slow  # imports umap in a worker process and fits the demo's layer twice
@pytest.mark.skipif(not demo_paths().exists(), reason="demo not built (diffviews demo rebuild)")
def test_a_real_fit_runs_in_the_worker_process_and_cancel_inside_umap_answers_promptly(tmp_path):
    env = dict(os.environ, DIFFVIEWS_CACHE_DIR=str(tmp_path / "cache"), QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run([sys.executable, str(FIT_DRIVER), "encoder_bottleneck"], capture_output=True, text=True,
                          timeout=900, env=env)  # fmt: skip
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = json.loads(lines[-1].removeprefix("RESULT "))
    assert out["fitted"] and out["errors"] == [], out
    assert out["shapes"] == [[out["rows"], 2], [out["rows"], 3]]
    assert any(m.startswith("UMAP 2D") for m in out["messages"]) and out["messages"][-1] == "embedding done"
    assert out["worker_pid"] not in (None, out["own_pid"])
    assert out["reached_umap"] and out["cancel_s"] is not None
    bound = stretched(CANCEL_BOUND_S)
    print(f"cancel inside UMAP answered in {out['cancel_s']:.3f} s (load {os.getloadavg()[0]:.2f}, bound {bound:.2f})")
    assert out["cancel_s"] < bound
    assert out["heavy_modules"] == []  # the window's process never imports them
    assert "leaked semaphore" not in proc.stderr  # the worker ended inside UMAP left no named semaphore behind


def test_the_worker_processes_run_nicer_than_the_window_by_the_setting(qtbot, pool, monkeypatch):
    from diffviews_app import workers

    monkeypatch.setattr(workers, "_PROCESSES", {})  # new workers, started under the setting below
    monkeypatch.setenv(workers.NICENESS_VARIABLE, "7")
    results = []
    try:
        pool.submit_to_process("Niceness", os.nice, 0, on_result=results.append)
        qtbot.waitUntil(lambda: bool(results), timeout=60000)
    finally:
        workers.close_worker_processes()
    assert results == [min(19, os.nice(0) + 7)]


@pytest.mark.parametrize(("value", "niceness"), [("", None), ("0", 0), ("12", 12), ("40", 19), ("-3", 0), ("x", None)])
def test_the_worker_niceness_setting_is_clamped_and_a_bad_value_falls_back(monkeypatch, value, niceness):
    from diffviews_app import workers

    monkeypatch.setenv(workers.NICENESS_VARIABLE, value)
    assert workers.worker_niceness() == (workers.WORKER_NICENESS if niceness is None else niceness)
