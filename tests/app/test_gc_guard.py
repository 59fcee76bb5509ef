"""The UI-thread garbage collector: automatic collection off, cycles still collected, on the UI thread."""

from __future__ import annotations

import gc
import threading
import weakref

from diffviews_app.gc_guard import UIThreadGarbageCollector


class _Node:
    pass


def test_cycles_are_collected_by_the_ui_thread_timer(qtbot):
    guard = UIThreadGarbageCollector(interval_ms=10)
    try:
        assert not gc.isenabled()
        collected_in = []
        a, b = _Node(), _Node()
        a.other, b.other = b, a
        weakref.finalize(a, lambda: collected_in.append(threading.get_ident()))
        del a, b
        garbage = [[i] for i in range(gc.get_threshold()[0] + 10)]  # enough allocations to pass the threshold
        qtbot.waitUntil(lambda: bool(collected_in), timeout=3000)
        assert collected_in == [threading.get_ident()]
        del garbage
    finally:
        guard.timer.stop()
