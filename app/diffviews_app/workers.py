"""Run slow work off the UI thread, with progress, cancel, live partial results and errors relayed to one place.

The app's only way to run background work. Every long job is a function ``fn(*args, progress=cb, cancel=event)``
following the ``diffviews_core.jobs`` contract (``cb(fraction or None, message)``, ``event`` a ``threading.Event``;
each passed only if ``fn`` takes it). A job that produces results while it runs (generation's live steps) also takes
``publish(item)``: items wait in the job and reach ``on_partial(items)`` on the UI thread in batches, at most one
batch per ``partial_interval_ms`` however fast they come, and always before the final result.
``WorkerPool.submit`` wraps the function once in a ``Job`` (a QThread) whose signals arrive on the UI thread. An
exception travels as the exception object to ``WorkerPool._failed``, which turns it into a message (and logs the
traceback of anything that is not a ``DiffViewsError``). The pool tracks running jobs so the status bar can show them
and the window can cancel and wait for all of them on close.

CPU-heavy jobs (UMAP fits, extraction, checkpoints, generation) go to ``submit_to_process``: a thread job that relays
a call in one of the pool's worker processes (``diffviews_core.process_jobs``), so numba compiling or torch holding
the GIL there cannot stall the UI thread, and a cancel inside an uninterruptible call ends the child instead of
leaving a thread running. The worker processes live as long as the app (``close_worker_processes``).

A QThread object destroyed while its thread runs aborts the process, so a ``Job`` is owned by no Qt parent: the
module keeps every started job referenced until its thread has ended (``_LIVE``). On close the window cancels the
pool and waits a bounded time (``CLOSE_GRACE_MS``); a job still inside a call that cannot see its cancel flag (a UMAP
fit, an import, a long native section) is then ``abandon``ed: its signals are blocked, so nothing it produces reaches
the window, and it stays referenced. ``abandoned_running`` tells the app whether such a thread outlives the event loop;
then it exits without finalising the interpreter (``app.run_app``).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, QTimer, Signal
from shiboken6 import isValid

from diffviews_core.errors import CancelledError, DiffViewsError
from diffviews_core.jobs import accepts_keyword, check_cancelled

from .progress_text import RemainingTime

log = logging.getLogger(__name__)

MAPS, MODELS = "maps", "models"  # the worker processes' lanes (see ``WorkerPool.process``)
WORKER_NICENESS = 5  # the worker processes yield CPU to the window (see ``worker_niceness``)
NICENESS_VARIABLE = "DIFFVIEWS_WORKER_NICENESS"  # overrides WORKER_NICENESS (0-19)
CLOSE_GRACE_MS = 1000  # how long closing the window waits for cancelled jobs before abandoning them

_PROCESSES: dict[str, Any] = {}  # lane -> the process's one ProcessWorker (see ``worker_process``)
_LIVE: set[Job] = set()  # every started Job until its thread ended (never destroyed while running)
_ABANDONED: list[Job] = []  # jobs cut loose on close that were still running then


def error_message(exc: BaseException) -> str:
    """A one-line message for people: project errors already name the file and the problem."""
    if isinstance(exc, DiffViewsError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


class Job(QThread):
    """One call of ``fn`` on its own thread. Exactly one of succeeded/failed/cancelled fires, then ``ended``."""

    progressed = Signal(float, str)  # fraction done (0..1, or -1 when unknown), message
    published = Signal()  # items wait in ``take_published`` (one signal per batch, however many items)
    succeeded = Signal(object)
    failed = Signal(object)  # the exception
    cancelled = Signal()
    cancel_requested = Signal()  # at once, on the UI thread: the job is asked to stop (it ends at its next check)
    ended = Signal()

    def __init__(self, name: str, fn: Callable, args: tuple, kwargs: dict, parent: QObject | None = None,
                 quiet: bool = False) -> None:  # fmt: skip
        super().__init__(parent)  # the pool passes none: see the module doc
        self.name = name
        self.quiet = quiet  # housekeeping (e.g. the map's picking index): not listed in the status bar
        self._fn, self._args, self._kwargs = fn, args, dict(kwargs)
        self._cancel = threading.Event()
        self._last_progress = 0.0
        self._items_lock = threading.Lock()
        self._items: list = []
        for param, value in (("progress", self._report), ("cancel", self._cancel), ("publish", self._publish)):
            if accepts_keyword(fn, param):
                self._kwargs.setdefault(param, value)
        self.fraction = -1.0
        self.message = ""
        self.submitted = time.monotonic()  # the status bar lists a job only once it has run a while
        self.remaining = RemainingTime()
        self.seconds_left: float | None = None

    def cancel(self) -> None:
        """Ask the function to stop at its next check; its result, if it still finishes, is dropped."""
        if not self._cancel.is_set():
            self._cancel.set()
            self.cancel_requested.emit()

    @property
    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    def _report(self, fraction: float | None, message: str) -> None:
        """The ``progress(fraction or None, message)`` handed to the job, throttled to ~20 Hz; it raises
        CancelledError once the job is cancelled, so a job that only reports progress stops too."""
        value = -1.0 if fraction is None else min(1.0, max(0.0, float(fraction)))
        now = time.monotonic()
        if value >= 1.0 or now - self._last_progress > 0.05:
            self._last_progress = now
            self.progressed.emit(value, str(message))
        check_cancelled(self._cancel, f"{self.name} cancelled")

    def _publish(self, item: Any) -> None:
        """The ``publish(item)`` handed to the job (worker thread): keep the item, signal only the first of a batch."""
        with self._items_lock:
            first = not self._items
            self._items.append(item)
        if first:
            self.published.emit()

    def take_published(self) -> list:
        """Every item published since the last call, oldest first (UI thread)."""
        with self._items_lock:
            items, self._items = self._items, []
        return items

    def run(self) -> None:  # runs on the worker thread
        try:
            result = self._fn(*self._args, **self._kwargs)
        except CancelledError:
            self.cancelled.emit()
        except Exception as exc:  # relayed to the UI thread as the exception object, never a crash
            if self._cancel.is_set():
                self.cancelled.emit()
            else:
                self.failed.emit(exc)
        else:
            if self._cancel.is_set():
                self.cancelled.emit()
            else:
                self.succeeded.emit(result)
        finally:
            self.ended.emit()


class WorkerPool(QObject):
    """Starts jobs, keeps them alive while they run, and cancels/waits for them all on close."""

    jobs_changed = Signal()
    job_progressed = Signal(object, float, str)  # job, fraction, message
    job_failed = Signal(str, str)  # job name, message
    job_cancelled = Signal(str)  # job name, as soon as the cancel is asked for (a superseded job is not reported)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._jobs: list[Job] = []
        self._by_key: dict[str, Job] = {}

    def process(self, lane: str = MAPS) -> Any:
        """The app's worker process for ``lane`` (see ``worker_process``)."""
        return worker_process(lane)

    def process_pids(self) -> list[int]:
        """Ids of the worker processes running now."""
        return [pid for pid in (w.pid for w in _PROCESSES.values()) if pid is not None]

    def submit(
        self,
        name: str,
        fn: Callable,
        *args: Any,
        on_result: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        on_partial: Callable[[list], None] | None = None,
        partial_interval_ms: int = 100,
        key: str | None = None,
        quiet: bool = False,
        **kwargs: Any,
    ) -> Job:
        """Run ``fn(*args, **kwargs)`` on a worker thread; ``on_result`` gets the value on the UI thread.

        A job submitted with the ``key`` of a running job supersedes it: the older one is cancelled and its result
        (and any partial results still waiting) dropped (a new layer or KNN request replaces the pending one). An
        error becomes a message (``_failed``) for ``on_error``, or else for ``job_failed``. ``on_partial`` receives
        what ``fn`` publishes, in batches (see the module doc). A ``quiet`` job is housekeeping the status bar does
        not list.
        """
        if key is not None and key in self._by_key:
            older = self._by_key.pop(key)
            older.superseded = True
            older.cancel()
        job = Job(name, fn, args, kwargs, quiet=quiet)
        batches = _Batches(job, on_partial, partial_interval_ms) if on_partial is not None else None

        def succeeded(value: Any, j: Job = job) -> None:
            if batches is not None:
                batches.deliver()  # items published before the result land first
            if on_result is not None and not j.is_cancelled:
                on_result(value)

        # A job outlives its pool when the window is deleted right after closing: what it sent before it was
        # cancelled may still be queued, so nothing below reaches a cancelled job's callbacks or a deleted pool.
        job.succeeded.connect(succeeded)
        job.failed.connect(lambda exc, j=job: None if j.is_cancelled else self._failed(j, exc, on_error))
        job.progressed.connect(lambda f, m, j=job: self._progress(j, f, m) if isValid(self) else None)
        job.ended.connect(lambda j=job, k=key: self._ended(j, k))
        job.cancel_requested.connect(lambda j=job: self._cancel_requested(j) if isValid(self) else None)
        self._jobs.append(job)
        if key is not None:
            self._by_key[key] = job
        _LIVE.add(job)
        job.start()
        self.jobs_changed.emit()
        return job

    def submit_to_process(self, name: str, fn: Callable, *args: Any, lane: str = MAPS, job_kwargs: dict | None = None,
                          **options: Any) -> Job:  # fmt: skip
        """``submit`` of a CPU-heavy job that runs in the worker process (``process``), relayed by a worker thread:
        progress, cancel (answered within half a second), errors and partial results (what ``fn`` passes to its
        ``emit``, for ``on_partial``) arrive exactly as a thread job's. ``fn`` is a module-level function taking
        ``progress``/``cancel``/``emit`` if it wants them; ``args`` and ``job_kwargs`` travel
        pickled (paths, not arrays); ``options`` are ``submit``'s."""
        return self.submit(name, _in_process, self.process(lane), fn, args, job_kwargs or {}, **options)

    def _failed(self, job: Job, exc: BaseException, on_error: Callable[[str], None] | None) -> None:
        """The one place a job's exception arrives (UI thread): a project error is a message for people; anything
        else is a bug, logged with its traceback, and still only a message, never a crash."""
        if isinstance(exc, DiffViewsError):
            log.warning("job %r: %s", job.name, exc)
        else:
            log.error("job %r failed", job.name, exc_info=(type(exc), exc, exc.__traceback__))
        message = error_message(exc)
        if on_error is not None:
            on_error(message)
        else:
            self.job_failed.emit(job.name, message)

    def _cancel_requested(self, job: Job) -> None:
        if not getattr(job, "superseded", False) and not job.quiet:
            self.job_cancelled.emit(job.name)
        self.jobs_changed.emit()

    def _progress(self, job: Job, fraction: float, message: str) -> None:
        job.fraction, job.message = fraction, message
        job.seconds_left = job.remaining.update(fraction)
        self.job_progressed.emit(job, fraction, message)

    def _ended(self, job: Job, key: str | None) -> None:
        job.wait()  # ``ended`` is the thread's last signal: returns at once
        _LIVE.discard(job)
        if not isValid(self):
            job.deleteLater()
            return
        if job in self._jobs:
            self._jobs.remove(job)
        if key is not None and self._by_key.get(key) is job:
            del self._by_key[key]
        job.deleteLater()
        self.jobs_changed.emit()

    def running(self) -> list[Job]:
        return list(self._jobs)

    def cancel_all(self) -> None:
        for job in self._jobs:
            job.cancel()

    def cancel_keys(self, *keys: str) -> None:
        """Cancel the running jobs submitted with any of ``keys`` (their results are dropped)."""
        for key in keys:
            job = self._by_key.pop(key, None)
            if job is not None:
                job.cancel()

    def wait_all(self, timeout_ms: int | None = 30000) -> bool:
        """Block until every job's thread has finished (True) or the timeout passed (False); None waits as long as
        it takes."""
        deadline = None if timeout_ms is None else time.monotonic() + timeout_ms / 1000
        for job in list(self._jobs):
            if deadline is None:
                job.wait()
            elif not job.wait(max(0, int((deadline - time.monotonic()) * 1000))):
                return False
        return True

    def shutdown(self, timeout_ms: int | None = 30000) -> bool:
        """Cancel and wait for everything (window close; a job in a worker process that cannot stop ends with its
        process); True when no thread is left running. The worker processes themselves end with the app
        (``close_worker_processes``)."""
        self.cancel_all()
        return self.wait_all(timeout_ms)

    def abandon(self) -> list[Job]:
        """Cut loose the jobs still running (after ``shutdown`` timed out): cancelled, their signals blocked (no
        result, error or progress arrives anywhere), kept referenced until the process exits. Returns them."""
        left = [job for job in self._jobs if job.isRunning()]
        for job in left:
            job.cancel()
            job.blockSignals(True)
            _ABANDONED.append(job)
            log.warning("closing while %r still runs (it cannot be interrupted); it is abandoned", job.name)
        self._jobs.clear()
        self._by_key.clear()
        self.jobs_changed.emit()
        return left


def worker_process(lane: str = MAPS) -> Any:
    """The app's worker process for ``lane`` (a ``diffviews_core.process_jobs.ProcessWorker``, started by its first
    job), where CPU-heavy jobs run so that numba, numpy or torch holding the GIL never stalls the UI thread. Two
    lanes, so a generation never queues behind a minutes-long map fit: ``MAPS`` (UMAP fits, builds) and ``MODELS``
    (loading checkpoints, extraction, generation: they share the loaded model). Each runs one job at a time. One per
    process, long-lived: what a worker compiled (numba) or loaded (a checkpoint) serves every later job and window;
    the app ends them on exit (``close_worker_processes``)."""
    if lane not in _PROCESSES:
        from diffviews_core.process_jobs import ProcessWorker

        _PROCESSES[lane] = ProcessWorker(name=lane, niceness=worker_niceness())
    return _PROCESSES[lane]


def worker_niceness() -> int:
    """How much nicer than the window the worker processes run: ``DIFFVIEWS_WORKER_NICENESS`` (0-19), else
    ``WORKER_NICENESS``.

    Niceness weighs processes in the same scheduling group (a session's autogroup, a desktop app's cgroup): against
    its own busy workers the window's UI thread gets ~60 % of a core at 2, ~75 % at 5, ~90 % at 10 (measured on two
    cores, ``benchmarks/bench_stall_floor.py``). Against two other busy programs in the same group a job ran 1-1.6x
    (at 2), 2.4x (at 5) or 9x (at 10) slower than at 0; against programs in other groups it costs nothing."""
    value = os.environ.get(NICENESS_VARIABLE, "").strip()
    if not value:
        return WORKER_NICENESS
    try:
        return min(19, max(0, int(value)))
    except ValueError:
        log.warning("%s=%r is not a whole number; the worker processes run at niceness %d", NICENESS_VARIABLE,
                    value, WORKER_NICENESS)  # fmt: skip
        return WORKER_NICENESS


def close_worker_processes(timeout_s: float = 1.0) -> bool:
    """End the worker processes (a job still in one is killed after ``timeout_s``); True when all ended cleanly."""
    started, ok = time.monotonic(), True
    for worker in _PROCESSES.values():
        ok = worker.close(max(0.0, timeout_s - (time.monotonic() - started)), force=True) and ok
    return ok


def _in_process(worker, fn: Callable, args: tuple, kwargs: dict, progress=None, cancel=None, publish=None) -> Any:
    """The thread job of ``submit_to_process``: ``fn(*args, **kwargs)`` in ``worker``, relaying progress, cancel
    and what ``fn`` emits (published as a thread job's items). The app's ``DIFFVIEWS_*`` settings of now travel with
    the job (a worker started earlier has older ones)."""
    from diffviews_core.worker_tasks import SETTINGS_PREFIX, with_settings

    settings = {k: v for k, v in os.environ.items() if k.startswith(SETTINGS_PREFIX)}
    return worker.run(with_settings, settings, fn, args, kwargs, progress=progress, cancel=cancel, on_emit=publish,
                      label=getattr(fn, "__qualname__", "job"))  # fmt: skip


def abandoned_running() -> list[Job]:
    """Abandoned jobs whose threads still run: the interpreter must not be finalised under them."""
    return [job for job in _ABANDONED if job.isRunning()]


def wait_abandoned(timeout_ms: int) -> bool:
    """Wait (bounded) for abandoned threads to end; True when none runs. For tests and orderly exits."""
    deadline = time.monotonic() + timeout_ms / 1000
    for job in abandoned_running():
        if not job.wait(max(0, int((deadline - time.monotonic()) * 1000))):
            return False
    return True


class _Batches(QObject):
    """Hands a job's published items to ``deliver_to`` on the UI thread: one call per batch, at most one batch per
    ``interval_ms`` (each batch usually redraws parts of the window), never after the job was cancelled."""

    def __init__(self, job: Job, deliver_to: Callable[[list], None], interval_ms: int) -> None:
        super().__init__(job)
        self.job, self.deliver_to, self.interval_ms = job, deliver_to, interval_ms
        self._last = 0.0
        self._timer = QTimer(self, singleShot=True)
        self._timer.timeout.connect(self.deliver)
        job.published.connect(self._ready)
        job.failed.connect(self._drop)
        job.cancelled.connect(self._drop)

    def _ready(self) -> None:
        wait_ms = self.interval_ms - (time.monotonic() - self._last) * 1000
        if wait_ms <= 0:
            self.deliver()
        elif not self._timer.isActive():
            self._timer.start(int(wait_ms) + 1)

    def deliver(self) -> None:
        """Hand over everything published so far (dropped once the job is cancelled)."""
        self._timer.stop()
        self._last = time.monotonic()
        items = self.job.take_published()
        if items and not self.job.is_cancelled:
            self.deliver_to(items)

    def _drop(self, *_args) -> None:
        self._timer.stop()
        self.job.take_published()
