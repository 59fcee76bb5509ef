"""Percent and time left from reported fractions (a fake clock: no waiting)."""

from __future__ import annotations

import pytest
from diffviews_app.progress_text import RemainingTime, format_duration, progress_text


def test_time_left_follows_the_rate_since_the_first_real_progress():
    now = [100.0]
    remaining = RemainingTime(clock=lambda: now[0])
    assert remaining.update(None) is None and remaining.update(0.0) is None  # loading: no rate yet
    now[0] = 130.0  # a slow start (loading a model) does not count against the rest
    assert remaining.update(0.1) is None
    now[0] = 132.0
    assert remaining.update(0.2) == pytest.approx(16.0)  # 0.1 per 2 s, 0.8 to go
    now[0] = 136.0
    assert remaining.update(0.5) == pytest.approx(7.5)  # 0.4 in 6 s
    remaining.reset()
    assert remaining.update(0.5) is None


def test_progress_text():
    assert progress_text(-1, None) == ""
    assert progress_text(0.42, None) == "42%"
    assert progress_text(0.42, 65) == "42% · 1 min 05 s left"
    assert progress_text(1.0, 3) == "100%"
    assert format_duration(3725) == "1 h 02 min"


@pytest.mark.gui
def test_the_status_bar_shows_the_percentage_and_a_cancel_says_so_at_once(qtbot):
    from diffviews_app.widgets import JobsIndicator
    from diffviews_app.workers import WorkerPool
    from PySide6.QtCore import Qt

    from diffviews_core.errors import CancelledError

    def job(progress=None, cancel=None):
        progress(0.25, "quarter")
        cancel.wait(10)  # a job between two checks: it sees the cancel only later
        raise CancelledError("stopped")

    pool = WorkerPool()
    indicator = JobsIndicator(pool)
    qtbot.addWidget(indicator)
    indicator.show()
    cancelled = []
    pool.job_cancelled.connect(cancelled.append)
    pool.submit("Embedding midblock", job)
    qtbot.waitUntil(lambda: indicator.detail.text() == "25%", timeout=5000)
    assert indicator.label.text() == "Embedding midblock: quarter"
    qtbot.mouseClick(indicator.cancel_button, Qt.MouseButton.LeftButton)
    assert cancelled == ["Embedding midblock"] and not indicator.isVisible()  # at once, before the job ends
    assert pool.shutdown(5000)
    qtbot.waitUntil(lambda: not pool.running(), timeout=2000)


@pytest.mark.gui
def test_a_long_job_message_is_elided_not_widening_the_status_bar(qtbot):
    import threading

    from diffviews_app.widgets import LABEL_WIDTH, JobsIndicator
    from diffviews_app.workers import WorkerPool

    long = "batch 3 of 40 in " + "a/very/long/layer/name/" * 10
    stop = threading.Event()

    def job(progress=None):
        progress(0.5, long)
        stop.wait(10)

    pool = WorkerPool()
    indicator = JobsIndicator(pool)
    qtbot.addWidget(indicator)
    indicator.show()
    pool.submit("Extracting", job)
    qtbot.waitUntil(lambda: indicator.detail.text() == "50%", timeout=5000)
    assert indicator.label.toolTip() == f"Extracting: {long}"
    assert "…" in indicator.label.text() and indicator.label.sizeHint().width() <= LABEL_WIDTH + 10
    stop.set()
    assert pool.shutdown(5000)
    qtbot.waitUntil(lambda: not pool.running(), timeout=2000)


def test_time_left_is_known_from_the_start_with_an_earlier_runs_pace():
    now = [10.0]
    remaining = RemainingTime(clock=lambda: now[0])
    remaining.reset(expected_seconds=20.0)  # the last run of this model took 20 s for as many steps
    assert remaining.update(-1) == pytest.approx(20.0)  # "Starting…": an estimate already
    now[0] = 14.0
    assert remaining.update(None) == pytest.approx(16.0)  # loading the model: it counts down
    remaining.restart()  # the steps begin: their own rate takes over once there is one
    now[0] = 15.0
    assert remaining.update(0.25) == pytest.approx(3.0)  # 0.25 in 1 s since the steps began
    remaining.reset()
    assert remaining.update(-1) is None  # no earlier run: no estimate until the steps give one
    assert progress_text(-1, 16) == "about 16 s left" and progress_text(-1, None) == ""
