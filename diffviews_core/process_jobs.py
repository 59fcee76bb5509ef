"""Run CPU-heavy jobs (UMAP fits, layer extraction, builds, CPU generation) in a worker process, so that numba's
compiler or a numpy/torch section holding the GIL there never stalls the caller's process (the app's UI thread).

A job is a module-level function following the ``diffviews_core.jobs`` contract. ``ProcessWorker.run(fn, *args)``
blocks the calling thread (run it from a worker thread) while a child process calls ``fn``, and relays:

- **progress** ``(fraction or None, message)`` to the caller's ``progress`` (about 20 per second at most);
- **streamed values**: a job that takes ``emit`` can call ``emit(value)`` as partial results are computed (each
  denoising step of a generation); the caller's ``on_emit(value)`` gets them in order, before the result;
- **the result**, or **the exception** the job raised, re-raised here with the child's traceback as its cause;
- **cancel**: once the caller's ``cancel`` event is set (or its ``progress`` raises ``CancelledError``, as the app's
  does), the child's event is set so the job stops at its next ``check_cancelled``; a job that has not stopped
  within ``grace`` seconds is terminated (then killed). Either way ``run`` raises ``CancelledError`` within about
  half a second;
- **a crash** (killed, out of memory, a segfault in native code) as ``WorkerCrashedError`` naming the exit status.

Children start with ``spawn`` (a fresh interpreter: no inherited threads, Qt, torch or numba state) or, where asked,
``forkserver``. A worker serves one job at a time and stays up between jobs, so a job may keep expensive state (a
loaded model) in module globals of the child; a worker whose job was terminated or crashed is replaced on the next
``run``. Children are reaped on every path (no zombies) and exit by themselves if the parent dies.

Arguments, results and messages travel pickled over a pipe between our own processes; pass paths, not opened data
(an ``np.memmap`` would be copied whole). Frozen apps must call ``multiprocessing.freeze_support()`` first thing.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import signal
import threading
import time
import traceback
from collections.abc import Callable
from multiprocessing.connection import wait
from typing import Any

from .errors import CancelledError, WorkerCrashedError
from .jobs import Progress, accepts_keyword, check_cancelled

log = logging.getLogger(__name__)

CANCEL_GRACE_S = 0.3  # cooperative stop, then terminate: cancel answers within ~0.5 s
POLL_S = 0.05
PROGRESS_INTERVAL_S = 0.05


class RemoteTraceback(Exception):
    """The formatted traceback of an exception raised in a worker process (the re-raised exception's cause)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return self.text


class RemoteJobError(Exception):
    """An exception from a worker that could not travel as itself (not picklable): its type, message, traceback."""


def _signal_name(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


# ---- the child --------------------------------------------------------------------------------------------------
class _RelayHandler(logging.Handler):
    """Log records of the job, sent to the parent to be logged there."""

    def __init__(self, send: Callable[[tuple], None]) -> None:
        super().__init__()
        self._send = send

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._send(("log", record.name, record.levelno, record.getMessage()))
        except Exception:  # the parent is gone or the message does not pickle: logging must never fail a job
            pass


def _exit_with_parent(alive) -> None:
    """Block until the parent's end of ``alive`` closes (it never writes), then end this process at once."""
    try:
        alive.recv()
    except (EOFError, OSError):
        pass
    os._exit(70)


def _portable(exc: BaseException) -> BaseException:
    """``exc`` if it is an Exception that survives a pickle round trip, else a RemoteJobError with its type and
    message (a job's SystemExit or KeyboardInterrupt must not end the caller's thread)."""
    if not isinstance(exc, Exception):
        return RemoteJobError(f"{type(exc).__qualname__} in the worker: {exc}")
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return RemoteJobError(f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}")


def _child_main(conn, alive, cancel, log_level: int, niceness: int = 0) -> None:
    """The worker's loop: receive a job, run it, send progress/emitted values/log records and its outcome."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C in a terminal is the parent's to handle
    if niceness and hasattr(os, "nice"):
        try:
            os.nice(niceness)
        except OSError:  # not allowed here: the job runs at the parent's priority
            pass
    threading.Thread(target=_exit_with_parent, args=(alive,), daemon=True, name="parent-watch").start()
    lock = threading.RLock()

    def send(message: tuple) -> None:
        with lock:
            conn.send(message)

    root = logging.getLogger()
    root.addHandler(_RelayHandler(send))
    root.setLevel(log_level)
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        _run_job(job, send, cancel)


def _run_job(job: tuple, send: Callable[[tuple], None], cancel) -> None:
    fn, args, kwargs, wants = job
    last = -1.0

    def progress(fraction: float | None, message: str) -> None:
        nonlocal last
        now = time.monotonic()
        if (fraction is not None and fraction >= 1.0) or now - last >= PROGRESS_INTERVAL_S:
            last = now
            send(("progress", fraction, str(message)))

    if wants.get("progress"):
        kwargs["progress"] = progress
    if wants.get("cancel"):
        kwargs["cancel"] = cancel
    if wants.get("emit"):
        kwargs["emit"] = lambda value: send(("emit", value))
    try:
        outcome = ("result", fn(*args, **kwargs))
    except BaseException as exc:  # noqa: BLE001 - every outcome goes back to the parent
        outcome = ("error", _portable(exc), traceback.format_exc())
    try:
        send(outcome)
    except Exception as exc:  # an unpicklable result
        send(("error", RemoteJobError(f"the result could not be sent back: {exc}"), traceback.format_exc()))


# ---- the parent --------------------------------------------------------------------------------------------------
class ProcessWorker:
    """One worker process, started on first use, running one job at a time (see the module docstring)."""

    def __init__(self, start_method: str | None = None, grace: float = CANCEL_GRACE_S, name: str = "worker",
                 niceness: int = 0) -> None:  # fmt: skip
        self.name = name
        self.niceness = niceness  # added to the child's nice value (POSIX): its CPU yields to the caller's process
        self.grace = grace
        self._ctx = multiprocessing.get_context(start_method or "spawn")
        self._lock = threading.Lock()
        self._process = None
        self._conn = None
        self._alive = None
        self._cancel = None
        self._busy = False

    @property
    def pid(self) -> int | None:
        """The worker process's id while one is running (safe to ask from any thread: the process may be
        replaced or dropped meanwhile)."""
        process = self._process
        return process.pid if process is not None and process.is_alive() else None

    def _start(self) -> None:
        parent, child = self._ctx.Pipe()
        alive_r, alive_w = self._ctx.Pipe(duplex=False)
        self._cancel = self._ctx.Event()
        level = logging.getLogger().getEffectiveLevel()
        proc = self._ctx.Process(target=_child_main, args=(child, alive_r, self._cancel, level, self.niceness),
                                 name=f"diffviews-{self.name}", daemon=True)  # fmt: skip
        proc.start()
        log.debug("worker process %s started (pid %s)", proc.name, proc.pid)
        child.close()
        alive_r.close()
        self._process, self._conn, self._alive = proc, parent, alive_w

    def _stop(self, force: bool) -> None:
        """End the worker (politely unless ``force``) and reap it."""
        proc, conn, alive = self._process, self._conn, self._alive
        self._process = self._conn = self._alive = None
        if proc is None:
            return
        if not force and proc.is_alive():
            try:
                conn.send(None)
            except OSError:
                pass
            proc.join(2.0)
        if proc.is_alive():
            proc.terminate()
            proc.join(0.2)
        if proc.is_alive():
            proc.kill()
        proc.join()
        for end in (conn, alive):
            end.close()
        proc.close()

    def close(self, timeout: float | None = None, force: bool = False) -> bool:
        """Stop the worker process (asked to exit, or terminated at once when ``force``: an app closing does not wait
        for the child's interpreter to finalise); True once it is stopped. A job in progress is waited for (as long
        as ``run``'s caller waits for it) for at most ``timeout`` seconds (None: as long as it takes); past that its
        process is killed, the ``run`` in progress then raises WorkerCrashedError (or CancelledError if it was
        cancelled) and reaps it, and False is returned."""
        if not self._lock.acquire(timeout=-1 if timeout is None else max(0.0, timeout)):
            proc = self._process
            if proc is not None:
                try:
                    proc.kill()
                except (OSError, ValueError):  # already reaped by the running job
                    pass
            return False
        try:
            self._stop(force=force)
        finally:
            self._lock.release()
        return True

    def __enter__(self) -> ProcessWorker:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def run(
        self,
        fn: Callable[..., Any],
        *args: Any,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
        on_emit: Callable[[Any], None] | None = None,
        label: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """``fn(*args, **kwargs)`` in the worker process; its result, or its exception raised here.

        ``fn`` gets ``progress``, ``cancel`` and ``emit`` if it takes them (as the app's worker pool does); ``label``
        names the job in messages (default: ``fn``'s name)."""
        wants = {k: accepts_keyword(fn, k) for k in ("progress", "cancel", "emit")}
        job = label or getattr(fn, "__qualname__", "job")
        self._wait_turn(job, progress, cancel)
        try:
            if self._process is None or not self._process.is_alive():
                self._stop(force=True)
                self._start()
            self._cancel.clear()
            self._conn.send((fn, args, kwargs, wants))
            self._busy = True
            try:
                return self._relay(job, progress, cancel, on_emit)
            finally:
                if self._busy:  # left before the job's outcome (a callback raised): the job must not run on
                    self._stop(force=True)
                self._busy = False
        finally:
            self._lock.release()

    def _wait_turn(self, job: str, progress: Progress | None, cancel: threading.Event | None) -> None:
        """Take the worker (one job at a time); waiting for another caller's job ends with CancelledError as soon as
        ``cancel`` is set (or ``progress`` raises it), so a superseded job never queues behind a long one."""
        if self._lock.acquire(blocking=False):
            return
        if progress is not None:
            progress(None, "waiting for the previous job in the worker process")
        while not self._lock.acquire(timeout=POLL_S):
            check_cancelled(cancel, f"{job} cancelled")

    def _relay(self, job: str, progress, cancel, on_emit) -> Any:
        conn, proc = self._conn, self._process
        cancel_at: float | None = None
        while True:
            if cancel_at is None and cancel is not None and cancel.is_set():
                cancel_at = self._ask_to_stop()
            if cancel_at is not None and time.monotonic() - cancel_at > self.grace:
                log.info("%s did not stop within %.1f s of cancel: terminating its worker", job, self.grace)
                self._stop(force=True)
                self._busy = False
                raise CancelledError(f"{job} cancelled")
            ready = wait([conn, proc.sentinel], POLL_S)
            if conn in ready:
                try:
                    message = conn.recv()
                except (EOFError, OSError):  # the child's end closed: it is ending
                    proc.join(1.0)
                    self._ended(job, cancel_at)
                kind = message[0]
                if kind == "progress" and progress is not None and cancel_at is None:
                    try:
                        progress(message[1], message[2])
                    except CancelledError:
                        cancel_at = self._ask_to_stop()
                elif kind == "emit" and on_emit is not None and cancel_at is None:
                    on_emit(message[1])
                elif kind == "log":
                    logging.getLogger(message[1]).log(message[2], "%s", message[3])
                elif kind in ("result", "error"):
                    self._busy = False
                    return self._outcome(job, message, cancel_at is not None)
            elif proc.sentinel in ready:
                self._ended(job, cancel_at)

    def _outcome(self, job: str, message: tuple, cancelled: bool) -> Any:
        if message[0] == "result":
            if cancelled:
                raise CancelledError(f"{job} cancelled")
            return message[1]
        exc, text = message[1], message[2]
        if cancelled and not isinstance(exc, CancelledError):
            raise CancelledError(f"{job} cancelled")
        exc.__cause__ = RemoteTraceback(text)
        raise exc

    def _ended(self, job: str, cancel_at: float | None) -> None:
        """The worker ended without an outcome: reap it and raise CancelledError or WorkerCrashedError."""
        self._process.join(1.0)
        code = self._process.exitcode
        self._stop(force=True)
        self._busy = False
        if cancel_at is not None:
            raise CancelledError(f"{job} cancelled")
        raise WorkerCrashedError(f"the worker process running {job} ended without an answer ({_signal_name(code)})")

    def _ask_to_stop(self) -> float:
        self._cancel.set()
        return time.monotonic()


def run_in_process(
    fn: Callable[..., Any],
    *args: Any,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    on_emit: Callable[[Any], None] | None = None,
    start_method: str | None = None,
    **kwargs: Any,
) -> Any:
    """``fn(*args, **kwargs)`` in a fresh worker process that ends with it (see ``ProcessWorker.run``)."""
    with ProcessWorker(start_method) as worker:
        return worker.run(fn, *args, progress=progress, cancel=cancel, on_emit=on_emit, **kwargs)
