"""One terminal progress bar for every long command: a ``diffviews_core.jobs`` progress callback drawn with tqdm."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from ..jobs import Progress


@contextlib.contextmanager
def progress_bar(desc: str) -> Iterator[Progress]:
    """Yield ``progress(fraction, message)`` drawing a percentage bar with the message beside it.

    The bar opens at the first report (a job with nothing to do prints nothing) and closes on exit."""
    from tqdm import tqdm

    bars: list[tqdm] = []

    def update(fraction: float | None, message: str) -> None:
        if not bars:
            bars.append(tqdm(total=100, desc=desc, unit="%", bar_format="{desc}: {percentage:3.0f}%|{bar}| {postfix}"))
        if fraction is not None:
            bars[0].n = round(fraction * 100)
        bars[0].set_postfix_str(message, refresh=True)

    try:
        yield update
    finally:
        for bar in bars:
            bar.close()
