"""Progress and cancellation for long embedding jobs, in the form the GUI's worker wrapper expects."""

from __future__ import annotations

import threading
from collections.abc import Callable

from ..errors import CancelledError

ProgressFn = Callable[[float, str], None]
CancelFlag = threading.Event | Callable[[], bool] | None


class Job:
    """Reports ``progress(fraction, message)`` and raises CancelledError once ``cancel`` is set."""

    def __init__(self, progress: ProgressFn | None = None, cancel: CancelFlag = None, what: str = "embedding") -> None:
        self._progress = progress
        self._cancel = cancel
        self._what = what

    def report(self, fraction: float, message: str) -> None:
        self.check()
        if self._progress is not None:
            self._progress(min(1.0, max(0.0, float(fraction))), message)

    def check(self) -> None:
        if self._cancel is None:
            return
        flag = self._cancel.is_set() if isinstance(self._cancel, threading.Event) else self._cancel()
        if flag:
            raise CancelledError(f"{self._what} cancelled")
