"""Fit a map of the demo's stored layer through the app's worker pool, as the window does, in a fresh interpreter
(so what this process imported is its own), then cancel a second fit inside UMAP. Prints one ``RESULT <json>`` line.

``python fit_in_worker_process.py LAYER``: the fit runs in the pool's worker process (``submit_to_process`` of
``worker_tasks.embed_layer``); reported are the map's shapes, the progress messages the UI thread received, the
worker's pid, the seconds from cancel to the cancelled job's signal, and which of umap/numba/pynndescent this process
imported.
"""

from __future__ import annotations

import json
import os
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main(layer: str) -> int:
    from diffviews_app.workers import WorkerPool, close_worker_processes
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtTest import QTest

    from diffviews_core import worker_tasks
    from diffviews_core.demo import demo_paths
    from diffviews_core.formats import open_data

    app = QCoreApplication(sys.argv[:1])
    model = next(iter(open_data(demo_paths().data_dir).models.values()))
    pool = WorkerPool()
    out: dict = {"messages": [], "errors": []}

    def wait(condition, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while not condition():
            if time.monotonic() > deadline:
                return False
            QTest.qWait(10)
        return True

    fitted = []
    job = pool.submit_to_process("Embedding", worker_tasks.embed_layer, worker_tasks.model_ref(model), layer,
                                 on_result=fitted.append, on_error=out["errors"].append)  # fmt: skip
    job.progressed.connect(lambda fraction, message: out["messages"].append(message))
    ok = wait(lambda: fitted or out["errors"], 600)
    out["fitted"] = ok and bool(fitted)
    if fitted:
        emb = fitted[0]
        out["shapes"] = [list(emb.coords2d.shape), list(emb.coords3d.shape)]
        out["rows"] = model.num_samples
    out["worker_pid"] = pool.process().pid
    out["own_pid"] = os.getpid()
    wait(lambda: not pool.running(), 10)

    # a second fit, cancelled once it is inside UMAP (which cannot see the cancel flag: the worker is ended)
    cancelled_at: list[float] = []
    second = pool.submit_to_process("Embedding again", worker_tasks.embed_layer, worker_tasks.model_ref(model), layer,
                                    on_error=out["errors"].append)  # fmt: skip
    inside = []
    second.progressed.connect(lambda fraction, message: inside.append(message.startswith("UMAP")))
    second.cancelled.connect(lambda: cancelled_at.append(time.monotonic()))
    out["reached_umap"] = wait(lambda: any(inside), 600)
    asked = time.monotonic()
    second.cancel()
    wait(lambda: cancelled_at, 10)
    out["cancel_s"] = round(cancelled_at[0] - asked, 3) if cancelled_at else None
    wait(lambda: not pool.running(), 10)
    out["heavy_modules"] = [name for name in ("umap", "numba", "pynndescent") if name in sys.modules]
    pool.shutdown(2000)
    close_worker_processes()
    del app
    print("RESULT " + json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
