"""The job contract: progress as (fraction or None, message), cancel as an event, errors as exceptions."""

from __future__ import annotations

import threading

import pytest

from diffviews_core.errors import CancelledError
from diffviews_core.jobs import check_cancelled, count_progress, report, stage_progress


def test_check_cancelled_raises_only_once_the_event_is_set():
    cancel = threading.Event()
    check_cancelled(None, "never")
    check_cancelled(cancel, "not yet")
    cancel.set()
    with pytest.raises(CancelledError, match="^build cancelled after 3 batches$"):
        check_cancelled(cancel, "build cancelled after 3 batches")


def test_stages_share_one_bar_and_fractions_are_clamped():
    seen = []
    whole = seen.append
    progress = lambda fraction, message: whole((fraction, message))  # noqa: E731
    first, second = stage_progress(progress, 0.0, 0.8), stage_progress(progress, 0.8, 1.0)
    count_progress(first, 2, 4, "batches")
    report(second, None, "fitting")
    report(second, 1.7, "done")
    report(None, 0.5, "nobody listens")
    assert seen == [(0.4, "2 of 4 batches"), (None, "fitting"), (1.0, "done")]
    assert stage_progress(None, 0.0, 1.0) is None
