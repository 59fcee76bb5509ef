"""Fixtures of the app's tests that need no window."""

from __future__ import annotations

import pytest


@pytest.fixture
def pool(qtbot):
    """A WorkerPool shut down (every job ended) after the test."""
    from diffviews_app.workers import WorkerPool

    p = WorkerPool()
    yield p
    assert p.shutdown(5000)
    qtbot.waitUntil(lambda: not p.running(), timeout=2000)
