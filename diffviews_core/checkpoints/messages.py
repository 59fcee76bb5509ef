"""One-line reasons from the multi-line exceptions torch and pickle raise."""

from __future__ import annotations

# Boilerplate paragraphs of torch's weights-only errors, around the line that says what was refused.
_TORCH_PREAMBLES = ("Weights only load failed", "Please file an issue", "Check the documentation")


def one_line(exc: BaseException) -> str:
    """The informative line of an exception (for torch's weights-only errors, the line naming what was refused)."""
    text = str(exc)
    if "WeightsUnpickler error:" in text:
        text = text.split("WeightsUnpickler error:", 1)[1]
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    informative = [ln for ln in lines if not ln.startswith(_TORCH_PREAMBLES)]
    lines = informative or lines
    return lines[0][:200] if lines else type(exc).__name__
