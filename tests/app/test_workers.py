"""The worker pool: results, progress, errors as messages, cancel, superseding by key, nothing left running."""

from __future__ import annotations

import threading
import time

import pytest

from diffviews_core.errors import DataError

pytestmark = pytest.mark.gui


def slow_sum(a, b, progress=None, cancel=None):
    for i in range(5):
        if progress:
            progress((i + 1) / 5, f"step {i + 1}")
        time.sleep(0.01)
    return a + b


def test_result_and_progress_arrive_on_the_ui_thread(qtbot, pool):
    results, seen, threads = [], [], []
    job = pool.submit("sum", slow_sum, 2, 3, on_result=lambda v: (results.append(v), threads.append(threading.get_ident())))
    job.progressed.connect(lambda f, m: seen.append((f, m)))
    qtbot.waitUntil(lambda: not pool.running(), timeout=5000)
    qtbot.waitUntil(lambda: results == [5], timeout=2000)
    assert threads == [threading.get_ident()]
    assert seen[-1] == (1.0, "step 5")
    qtbot.waitUntil(lambda: not pool.running(), timeout=2000)


def test_progress_follows_the_job_contract(qtbot, pool):
    """``progress(fraction or None, message)``: None is shown as unknown (-1), fractions are clamped."""
    from diffviews_core.jobs import count_progress

    def build(progress=None):
        progress(None, "loading")
        count_progress(progress, 3, 4, "batches")
        progress(1.5, "done")

    seen = []
    job = pool.submit("build", build)
    job.progressed.connect(lambda f, m: seen.append((f, m)))
    qtbot.waitUntil(lambda: not pool.running(), timeout=5000)  # the job may end before a signal wait is set up
    qtbot.waitUntil(lambda: len(seen) >= 2, timeout=2000)
    assert seen[0] == (-1.0, "loading") and seen[-1] == (1.0, "done")  # the middle one may be throttled


def test_errors_become_messages_naming_the_file(qtbot, pool):
    def broken():
        raise DataError("/data/dmd2/config.json", "invalid JSON at line 3")

    messages = []
    pool.job_failed.connect(lambda name, msg: messages.append((name, msg)))
    pool.submit("open", broken)
    qtbot.waitUntil(lambda: bool(messages), timeout=5000)
    assert messages == [("open", "/data/dmd2/config.json: invalid JSON at line 3")]

    errors = []
    pool.submit("other", lambda: 1 / 0, on_error=errors.append)
    qtbot.waitUntil(lambda: bool(errors), timeout=5000)
    assert errors[0].startswith("ZeroDivisionError")


def test_a_bug_is_logged_with_its_traceback_a_data_error_is_not(qtbot, pool, caplog):
    def divide():
        return 1 / 0

    errors = []
    with caplog.at_level("WARNING", logger="diffviews_app.workers"):
        pool.submit("bug", divide, on_error=errors.append)
        pool.submit("data", lambda: (_ for _ in ()).throw(DataError("/d/x.json", "bad")), on_error=errors.append)
        qtbot.waitUntil(lambda: len(errors) == 2, timeout=5000)
    records = {r.getMessage(): r for r in caplog.records}
    bug = records["job 'bug' failed"]
    assert bug.exc_info and bug.exc_info[0] is ZeroDivisionError and "divide" in caplog.text  # the traceback
    assert not records["job 'data': /d/x.json: bad"].exc_info


def test_cancel_stops_the_job_and_drops_its_result(qtbot, pool):
    started = threading.Event()

    def forever(progress=None, cancel=None):
        started.set()
        while True:
            progress(None, "working")
            time.sleep(0.005)

    results = []
    job = pool.submit("forever", forever, on_result=results.append)
    assert started.wait(5)
    with qtbot.waitSignal(job.cancelled, timeout=5000):
        job.cancel()
    qtbot.waitUntil(lambda: not pool.running(), timeout=2000)
    assert results == []


def test_a_job_with_the_same_key_supersedes_the_running_one(qtbot, pool):
    gate = threading.Event()

    def first(cancel=None):
        gate.wait(5)
        return "old"

    results = []
    pool.submit("knn", first, key="knn", on_result=results.append)
    pool.submit("knn", lambda: "new", key="knn", on_result=results.append)
    gate.set()
    qtbot.waitUntil(lambda: not pool.running(), timeout=5000)
    assert results == ["new"]


def test_shutdown_waits_for_every_thread(qtbot, pool):
    def sleeper(cancel=None):
        cancel.wait(10)

    jobs = [pool.submit(f"s{i}", sleeper) for i in range(3)]
    assert len(pool.running()) == 3
    assert pool.shutdown(5000)
    assert all(j.isFinished() for j in jobs)


def test_published_items_arrive_in_order_in_few_batches_and_before_the_result(qtbot, pool):
    first_seen = threading.Event()
    events: list[tuple[str, object]] = []

    def stream(publish=None, cancel=None):
        publish(0)
        assert first_seen.wait(10)
        for i in range(1, 50):
            publish(i)
        return "done"

    def partial(items):
        events.append(("partial", list(items)))
        first_seen.set()

    pool.submit("stream", stream, on_partial=partial, on_result=lambda v: events.append(("result", v)))
    qtbot.waitUntil(lambda: bool(events) and events[-1][0] == "result", timeout=5000)
    batches = [items for kind, items in events if kind == "partial"]
    assert batches[0] == [0] and sum(batches, []) == list(range(50))
    assert len(batches) <= 4  # coalesced: at most one batch per 100 ms, plus the one flushed with the result
    assert events[-1] == ("result", "done")


def test_items_published_after_a_cancel_never_arrive(qtbot, pool):
    first_seen = threading.Event()
    batches = []

    def stream(publish=None, cancel=None):
        publish("before")
        assert first_seen.wait(10)
        cancel.wait(10)
        publish("after")
        return "ignored"

    job = pool.submit("stream", stream, on_partial=lambda items: (batches.append(items), first_seen.set()),
                      on_result=batches.append)  # fmt: skip
    qtbot.waitUntil(lambda: batches == [["before"]], timeout=5000)
    with qtbot.waitSignal(job.ended, timeout=5000):
        job.cancel()
    assert batches == [["before"]]


def test_quiet_jobs_stay_out_of_the_status_bar(qtbot, pool):
    from diffviews_app.widgets import JobsIndicator

    indicator = JobsIndicator(pool)
    qtbot.addWidget(indicator)
    gate = threading.Event()
    quiet = pool.submit("index", lambda: gate.wait(10), quiet=True)
    assert quiet in pool.running() and indicator.isHidden()
    loud = pool.submit("Opening data", lambda: gate.wait(10))
    qtbot.waitUntil(lambda: not indicator.isHidden(), timeout=5000)
    assert indicator.label.text() == "Opening data"
    gate.set()
    qtbot.waitUntil(lambda: not pool.running(), timeout=5000)
    assert indicator.isHidden() and loud.name == "Opening data"


def test_a_quick_job_never_shows_in_the_status_bar_a_slow_one_does_once_old_enough(qtbot, pool):
    from diffviews_app.widgets import SHOW_AFTER_MS, JobsIndicator
    from PySide6.QtCore import QEvent, QObject

    indicator = JobsIndicator(pool)
    qtbot.addWidget(indicator)
    indicator.show()
    indicator.hide()  # as in an idle window: it shows again only for a job worth listing
    shows = []

    class Watch(QObject):
        def eventFilter(self, obj, event):  # noqa: N802 (Qt override)
            if event.type() == QEvent.Type.Show:
                shows.append(obj)
            return False

    watch = Watch()
    indicator.installEventFilter(watch)
    gate = threading.Event()
    quick = pool.submit("Nearest neighbours", lambda: None)
    qtbot.waitUntil(lambda: quick not in pool.running(), timeout=5000)
    qtbot.wait(SHOW_AFTER_MS + 100)  # past the moment it would have been listed
    assert shows == [] and indicator.isHidden()
    slow = pool.submit("Opening data", lambda: gate.wait(10))
    assert indicator.isHidden()  # not yet: it has only just started
    qtbot.waitUntil(lambda: not indicator.isHidden(), timeout=5000)
    assert time.monotonic() - slow.submitted >= SHOW_AFTER_MS / 1000 and shows == [indicator]
    gate.set()
    qtbot.waitUntil(lambda: not pool.running(), timeout=5000)
    assert indicator.isHidden()


def test_cancel_keys_cancels_only_the_jobs_of_those_keys(qtbot, pool):
    def waiter(cancel=None):
        cancel.wait(10)
        return "late"

    results = []
    view = pool.submit("view", waiter, key="view", on_result=results.append)
    other = pool.submit("other", waiter, key="other", on_result=results.append)
    pool.cancel_keys("view", "missing")
    assert view.is_cancelled and not other.is_cancelled
    other.cancel()
    qtbot.waitUntil(lambda: not pool.running(), timeout=5000)
    assert results == []  # cancelled results are dropped


def test_a_job_that_ignores_cancel_is_abandoned_not_waited_for(qtbot, pool):
    """Closing waits a bounded time; a job inside a call that never checks cancel is cut loose: no signal of it
    arrives, it is no longer the pool's, and it stays referenced until its thread ends (never destroyed running)."""
    from diffviews_app import workers

    release = threading.Event()
    results, errors = [], []
    job = pool.submit("native call", release.wait, 30, on_result=results.append, on_error=errors.append)
    qtbot.waitUntil(job.isRunning, timeout=5000)
    started = time.monotonic()
    assert not pool.shutdown(200)
    assert time.monotonic() - started < 2.0
    assert pool.abandon() == [job]
    assert not pool.running() and workers.abandoned_running() == [job]
    release.set()
    assert workers.wait_abandoned(5000)
    from PySide6.QtCore import QCoreApplication

    QCoreApplication.processEvents()  # queued signals, had any been sent, would land here
    assert results == [] and errors == [] and workers.abandoned_running() == []

