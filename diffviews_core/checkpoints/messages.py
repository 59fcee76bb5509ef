"""One-line reasons from the multi-line exceptions torch and pickle raise."""

from __future__ import annotations


def one_line(exc: BaseException) -> str:
    """The informative line of an exception (for torch's weights-only errors, the line after its preamble)."""
    text = str(exc)
    if "WeightsUnpickler error:" in text:
        text = text.split("WeightsUnpickler error:", 1)[1]
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return lines[0][:200] if lines else type(exc).__name__
