"""Progress as people read it: a percentage and the time left, estimated from how fast the fraction has grown."""

from __future__ import annotations

import time
from collections.abc import Callable

MIN_ELAPSED_S = 0.5  # before this, a rate is noise: no estimate yet


class RemainingTime:
    """Time left of a job from its reported fractions: the average rate since the first fraction above zero, or
    since ``restart`` (a slow start, such as loading a model, does not count against the rest). Until the fractions
    give a rate, an expected duration handed to ``reset`` (the previous run's pace) counts down instead."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._start: tuple[float, float] | None = None
        self._expected: tuple[float, float] | None = None  # (seconds in all, when the job began)

    def reset(self, expected_seconds: float | None = None) -> None:
        """A new job begins now; ``expected_seconds``: how long it should take in all, if known."""
        self._start = None
        self._expected = None if expected_seconds is None else (float(expected_seconds), self._clock())

    def restart(self) -> None:
        """The job's work proper begins now (its preparation ended): the rate counts from here, at 0."""
        self._start = (0.0, self._clock())

    def update(self, fraction: float | None) -> float | None:
        """Seconds left after reaching ``fraction`` (None or negative: unknown), or None while there is no estimate."""
        own = self._from_rate(fraction)
        if own is not None or self._expected is None:
            return own
        total, began = self._expected
        return max(0.0, total - (self._clock() - began))

    def _from_rate(self, fraction: float | None) -> float | None:
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
    """``"42%"``, or ``"42% · 1 min 05 s left"`` once there is an estimate; while the fraction is unknown (a job's
    preparation), ``"about 12 s left"`` with an estimate and ``""`` without."""
    if fraction < 0:
        return f"about {format_duration(seconds_left)} left" if seconds_left is not None else ""
    text = f"{fraction:.0%}"
    if seconds_left is not None and fraction < 1:
        text += f" · {format_duration(seconds_left)} left"
    return text
