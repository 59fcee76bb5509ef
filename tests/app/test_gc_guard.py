"""The UI-thread garbage collector: automatic collection off, cycles still collected, on the UI thread."""

from __future__ import annotations

import gc
import threading
import weakref

from diffviews_app.gc_guard import UIThreadGarbageCollector, keep_start_up_objects


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


def test_start_up_objects_are_never_walked_again_and_new_cycles_still_go():
    """``run_app`` keeps what exists once the window is built out of every later collection's walk."""
    kept = _Node()
    kept.itself = kept
    keep_start_up_objects()
    try:
        assert gc.get_freeze_count() > 0
        assert not any(o is kept for o in gc.get_objects())  # no generation holds it: no collection walks it
        later = _Node()
        later.itself = later
        gone = []
        weakref.finalize(later, lambda: gone.append(True))
        del later
        gc.collect()
        assert gone == [True]
    finally:
        gc.unfreeze()
