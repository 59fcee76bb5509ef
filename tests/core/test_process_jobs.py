"""Jobs in a worker process: results, exceptions, progress, streamed values, cancel (cooperative, then terminate),
crashes, and no process left behind."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time

import process_job_fixtures as jobs
import pytest

from diffviews_core.errors import CancelledError, DataError, WorkerCrashedError
from diffviews_core.process_jobs import ProcessWorker, RemoteJobError, RemoteTraceback, run_in_process


def gone(pid: int) -> bool:
    """True once ``pid`` is neither running nor a zombie (reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def wait_until(condition, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


@pytest.fixture(scope="module")
def worker():
    with ProcessWorker(name="tests") as w:
        yield w


def test_result_progress_and_the_same_worker_for_the_next_job(worker):
    seen = []
    assert worker.run(jobs.counting, 5, progress=lambda f, m: seen.append((f, m))) == 5
    assert seen[-1] == (1.0, "5 of 5") and [f for f, _ in seen] == sorted(f for f, _ in seen)
    pid = worker.run(jobs.whoami)
    assert pid != os.getpid() and worker.run(jobs.whoami) == pid == worker.pid
    assert worker.run(jobs.add, 2, b=3) == 5


def test_a_project_error_comes_back_as_itself_with_the_childs_traceback(worker):
    with pytest.raises(DataError) as info:
        worker.run(jobs.bad_data, "/data/x.csv")
    assert (info.value.path, info.value.reason) == ("/data/x.csv", "broken on purpose")
    assert isinstance(info.value.__cause__, RemoteTraceback) and "bad_data" in str(info.value.__cause__)


def test_an_unpicklable_exception_is_named(worker):
    with pytest.raises(RemoteJobError, match="Unpicklable: 1/2"):
        worker.run(jobs.raise_unpicklable)
    assert worker.run(jobs.add, 1, 1) == 2


def test_log_records_are_relayed(worker, caplog):
    with caplog.at_level(logging.WARNING, logger="diffviews_core.test_worker"):
        assert worker.run(jobs.log_something)
    assert any(r.name == "diffviews_core.test_worker" and "hello from pid" in r.getMessage() for r in caplog.records)


def test_streamed_values_arrive_while_the_job_runs(worker, tmp_path):
    seen = []

    def on_emit(step):  # the job waits for this file before computing the next step
        seen.append(step)
        (tmp_path / f"seen_{step}").touch()

    assert worker.run(jobs.streaming, str(tmp_path), 4, on_emit=on_emit) == "done"
    assert seen == [0, 1, 2, 3]


def cancel_after_start(run, job, *args):
    """Run ``job`` with a cancel event set from the first progress report; (exception, seconds from cancel)."""
    cancel = threading.Event()
    set_at = []

    def progress(fraction, message):
        if not cancel.is_set():
            set_at.append(time.monotonic())
            cancel.set()

    with pytest.raises(CancelledError) as info:
        run(job, *args, progress=progress, cancel=cancel)
    return info.value, time.monotonic() - set_at[0]


def test_cooperative_cancel_keeps_the_worker(worker):
    pid = worker.run(jobs.whoami)
    exc, _seconds = cancel_after_start(worker.run, jobs.until_cancelled)
    assert str(exc) == "stopped cooperatively"
    assert worker.run(jobs.whoami) == pid


def test_a_job_that_ignores_cancel_is_terminated_and_reaped(worker):
    pid = worker.run(jobs.whoami)
    exc, _seconds = cancel_after_start(worker.run, jobs.ignoring_cancel)
    assert "cancelled" in str(exc)
    assert gone(pid)  # terminated and reaped at once, not left as a zombie
    assert worker.run(jobs.whoami) not in (pid, None)  # a new worker serves the next job


def test_progress_that_raises_cancelled_cancels(worker):
    def progress(fraction, message):
        raise CancelledError("the app cancelled it")

    with pytest.raises(CancelledError):
        worker.run(jobs.until_cancelled, progress=progress)
    assert worker.run(jobs.add, 1, 2) == 3


def test_a_crash_is_a_clear_error_and_leaves_no_zombie(worker):
    pid = worker.run(jobs.whoami)
    with pytest.raises(WorkerCrashedError, match=r"exit_abruptly ended without an answer \(signal SIGKILL\)"):
        worker.run(jobs.exit_abruptly)
    assert gone(pid)
    assert worker.run(jobs.add, 2, 2) == 4


def test_closing_with_a_job_inside_a_native_call_kills_its_worker_within_the_timeout():
    worker = ProcessWorker(name="closing")
    started, outcome = threading.Event(), []

    def run():
        try:
            worker.run(jobs.ignoring_cancel, progress=lambda f, m: started.set())
        except Exception as exc:  # noqa: BLE001 - the test looks at it
            outcome.append(exc)

    caller = threading.Thread(target=run)
    caller.start()
    assert started.wait(60)
    pid = worker.pid
    assert worker.close(timeout=0.1, force=True) is False  # the job held the worker: its process was killed
    caller.join(10)
    assert not caller.is_alive() and isinstance(outcome[0], WorkerCrashedError)
    assert wait_until(lambda: gone(pid), 5) and worker.pid is None
    assert worker.close(timeout=0.1) is True


@pytest.mark.skipif(not hasattr(os, "nice"), reason="POSIX niceness")
def test_a_worker_can_run_at_a_lower_priority_than_its_caller():
    with ProcessWorker(name="nice", niceness=5) as worker:
        assert worker.run(os.nice, 0) == min(19, os.nice(0) + 5)


def test_one_shot_run_ends_its_process():
    pid = run_in_process(jobs.whoami)
    assert gone(pid)
    with pytest.raises(DataError):
        run_in_process(jobs.bad_data, "x")


def test_forkserver_works_too():
    if sys.platform == "win32":
        pytest.skip("no forkserver on Windows")
    assert run_in_process(jobs.add, 20, 22, start_method="forkserver") == 42


PARENT = """
import sys, time
sys.path.insert(0, {helpers!r})
import process_job_fixtures as jobs
from diffviews_core.process_jobs import ProcessWorker
import threading
w = ProcessWorker()
print(w.run(jobs.whoami), flush=True)
threading.Thread(target=w.run, args=(jobs.ignoring_cancel,), daemon=True).start()
time.sleep(0.5)
import os; os._exit(0)  # the parent dies abruptly, no cleanup
"""


def test_a_worker_ends_when_its_parent_dies():
    helpers = os.path.join(os.path.dirname(os.path.dirname(__file__)), "helpers")
    out = subprocess.run([sys.executable, "-c", PARENT.format(helpers=helpers)], capture_output=True, text=True,
                         timeout=120, check=True)  # fmt: skip
    child = int(out.stdout.split()[0])
    assert wait_until(lambda: not os.path.exists(f"/proc/{child}") or "Z" in _state(child))


def _state(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0]
    except OSError:
        return "gone"


def test_an_opened_model_travels_as_its_folder(tmp_path, monkeypatch):
    """A job on a ModelData gets the same model, re-opened in the worker (no arrays pickled), attached layers too."""
    import pickle

    import numpy as np
    from data_fixtures import make_original_layout

    from diffviews_core.formats import open_data

    monkeypatch.setenv("DIFFVIEWS_CACHE_DIR", str(tmp_path / "cache"))
    root = make_original_layout(tmp_path / "data", n_per_model=12, models=("dmd2",), broken=False)
    model = open_data(root).models["dmd2"]
    extra = tmp_path / "extra.npy"
    np.save(extra, np.arange(12 * 3, dtype=np.float32).reshape(12, 3))
    model.attach_layers({"extra_layer": extra}, {"extra_layer": [3, 1, 1]})
    model.activations(["midblock"])  # memory-mapped now: still not pickled
    assert len(pickle.dumps(model)) < 2000
    layers, shapes, acts = run_in_process(jobs.describe_model, model)
    assert layers == model.layers and shapes == model.layer_shapes
    np.testing.assert_array_equal(acts, model.activations(["extra_layer", "midblock"]))
