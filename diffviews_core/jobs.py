"""The contract of every long job in the core, so one worker pool (the app) and one progress bar (the CLI) serve all.

- **progress**: ``progress(fraction, message)``; ``fraction`` is in [0, 1], or None while the amount of work is
  unknown; ``message`` is a short text for people. A job reports through ``report`` (which clamps the fraction) and
  gives each stage its own span of the whole with ``stage_progress``.
- **cancel**: a ``threading.Event``. A job calls ``check_cancelled(cancel, message)`` where stopping is safe; once the
  event is set, that raises ``CancelledError(message)``. A job that can resume says so in the message.
- **errors**: exceptions. ``DiffViewsError`` subclasses carry a message meant for people; anything else is a bug to
  log with its traceback. Nothing is reported as a string or a return code.

A progress callback may itself raise ``CancelledError`` (the app's does once its job is cancelled); jobs let it pass.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable

from .errors import CancelledError

Progress = Callable[[float | None, str], None]
"""``progress(fraction or None, message)``."""


def check_cancelled(cancel: threading.Event | None, message: str = "cancelled") -> None:
    """Raise ``CancelledError(message)`` if ``cancel`` is set; a job calls this between units of work."""
    if cancel is not None and cancel.is_set():
        raise CancelledError(message)


def report(progress: Progress | None, fraction: float | None, message: str) -> None:
    """Call ``progress`` (if any) with ``fraction`` clamped to [0, 1] (None stays None: unknown)."""
    if progress is not None:
        progress(None if fraction is None else min(1.0, max(0.0, float(fraction))), message)


def stage_progress(progress: Progress | None, start: float, end: float) -> Progress | None:
    """A progress callback for one stage of a job: the stage's 0..1 is reported as ``start``..``end`` of the whole."""
    if progress is None:
        return None

    def stage(fraction: float | None, message: str) -> None:
        report(progress, None if fraction is None else start + (end - start) * min(1.0, max(0.0, fraction)), message)

    return stage


def count_progress(progress: Progress | None, done: int, total: int, unit: str) -> None:
    """Report ``done`` of ``total`` units (batches, bytes...) as a fraction and an "N of M unit" message."""
    report(progress, done / total if total else None, f"{done:,} of {total:,} {unit}")


def accepts_keyword(fn: Callable, name: str) -> bool:
    """Whether ``fn`` takes keyword ``name`` (or any keyword): job runners pass ``progress``/``cancel`` only to jobs
    that take them."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
