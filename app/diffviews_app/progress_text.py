"""Progress as people read it: a percentage and the time left, estimated from how fast the fraction has grown."""

from __future__ import annotations

import time
from collections.abc import Callable

MIN_ELAPSED_S = 0.5  # before this, a rate is noise: no estimate yet


class RemainingTime:
    """Time left of a job from its reported fractions: the average rate since the first fraction above zero (a
    slow start, such as loading a model, does not count against the rest)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._start: tuple[float, float] | None = None

    def reset(self) -> None:
        self._start = None

    def update(self, fraction: float | None) -> float | None:
        """Seconds left after reaching ``fraction`` (None or negative: unknown), or None while there is no estimate."""
        if fraction is None or fraction <= 0:
            return None
        now = self._clock()
        if self._start is None or fraction < self._start[0]:
            self._start = (fraction, now)
            return None
        f0, t0 = self._start
        elapsed = now - t0
        if fraction <= f0 or elapsed < MIN_ELAPSED_S:
            return None
        return max(0.0, (1.0 - fraction) * elapsed / (fraction - f0))


def format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


def progress_text(fraction: float, seconds_left: float | None) -> str:
    """``"42%"``, or ``"42% · 1 min 05 s left"`` once there is an estimate; ``""`` when the fraction is unknown."""
    if fraction < 0:
        return ""
    text = f"{fraction:.0%}"
    if seconds_left is not None and fraction < 1:
        text += f" · {format_duration(seconds_left)} left"
    return text
