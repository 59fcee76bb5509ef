"""Job functions for tests/core/test_process_jobs.py: module-level, so a worker process can import them."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from diffviews_core.errors import DataError
from diffviews_core.jobs import check_cancelled, report


def add(a, b):
    return a + b


def whoami():
    return os.getpid()


def counting(n, progress=None, cancel=None):
    for i in range(n):
        check_cancelled(cancel, "counting cancelled")
        report(progress, (i + 1) / n, f"{i + 1} of {n}")
    return n


def bad_data(path):
    raise DataError(path, "broken on purpose")


class Unpicklable(Exception):
    def __init__(self, a, b):
        super().__init__(f"{a}/{b}")


def raise_unpicklable():
    raise Unpicklable(1, 2)


def exit_abruptly():
    os.kill(os.getpid(), signal.SIGKILL)


def until_cancelled(progress=None, cancel=None):
    """Reports once, then waits cooperatively for cancel."""
    report(progress, 0.0, "started")
    while True:
        check_cancelled(cancel, "stopped cooperatively")
        time.sleep(0.005)


def ignoring_cancel(progress=None):
    """Reports once, then never checks cancel (a native call that cannot be interrupted)."""
    report(progress, 0.0, "started")
    time.sleep(600)


def streaming(flag_dir, steps, emit=None):
    """Emits each step; before the next one, waits until the parent has seen this one (it creates a file)."""
    for i in range(steps):
        emit(i)
        seen = Path(flag_dir) / f"seen_{i}"
        deadline = time.monotonic() + 30
        while not seen.exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"the parent never saw step {i}")
            time.sleep(0.01)
    return "done"


def log_something():
    import logging

    logging.getLogger("diffviews_core.test_worker").warning("hello from pid %d", os.getpid())
    return True


def describe_model(model):
    return model.layers, model.layer_shapes, model.activations(["extra_layer", "midblock"])


def cache_dir_now():
    from diffviews_core.paths import cache_dir

    return str(cache_dir())


_UNGATED_BATCH = None


def gate_extraction_batches(gate_dir: str) -> None:
    """In the worker process: each extraction batch first waits until the test creates ``<gate_dir>/batch_<n>``
    (n counts batches from 0), so a test can land a cancel mid-extraction. ``ungate_extraction_batches`` undoes it."""
    global _UNGATED_BATCH
    from diffviews_core.pipelines import layer_extraction

    _UNGATED_BATCH = _UNGATED_BATCH or layer_extraction._Extraction.run_batch
    original, count = _UNGATED_BATCH, [0]

    def gated_batch(self, step):
        flag = Path(gate_dir) / f"batch_{count[0]}"
        count[0] += 1
        deadline = time.monotonic() + 60
        while not flag.exists():
            if time.monotonic() > deadline:
                raise TimeoutError("the test never released the batch")
            time.sleep(0.01)
        original(self, step)

    layer_extraction._Extraction.run_batch = gated_batch


def ungate_extraction_batches() -> None:
    from diffviews_core.pipelines import layer_extraction

    if _UNGATED_BATCH is not None:
        layer_extraction._Extraction.run_batch = _UNGATED_BATCH
