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
