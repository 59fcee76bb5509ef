"""Garbage collection on the UI thread only.

Python runs its cyclic collector in whichever thread happens to allocate. When a worker thread (loading a model,
fitting a projection) collects a cycle that holds Qt or vispy GL objects, their destructors run off the UI thread
and Qt aborts. The automatic collector is switched off and the same thresholds are checked on a UI-thread timer.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 1000


class UIThreadGarbageCollector(QObject):
    """Created on the UI thread; collects generation 0/1/2 when the counts pass the usual thresholds."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self.threshold = gc.get_threshold()
        gc.disable()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.check)
        self.timer.start(interval_ms)

    def check(self) -> None:
        counts = gc.get_count()
        for generation in (2, 1, 0):  # the oldest due generation, which also collects the younger ones
            if all(counts[g] > self.threshold[g] for g in range(generation + 1)):
                gc.collect(generation)
                return


def keep_start_up_objects() -> None:
    """Move every object alive now (modules, classes, the window and its widgets: there for the whole run) out of
    the collector's reach. With automatic collection off, the first collection otherwise walks everything made
    since start-up, ~0.3 M objects (30-60 ms, inside the launch), and every full one walks them again.

    ``run_app`` calls it when the window is built and once more when its warm-up has settled: the modules imported
    in the background meanwhile (pyqtgraph, the image decoders) and the trajectory plot are ~50 k objects more,
    whose walk made a collection on the UI thread take 47 ms (young) or 39 ms (full) in a soak; 4-9 ms with them
    kept. The objects of the data open then are kept too: should they end in a reference cycle when other data is
    opened, that cycle is never freed (once per run, not per switch; the soak's resident memory did not grow)."""
    gc.freeze()
