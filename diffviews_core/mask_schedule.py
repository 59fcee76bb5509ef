"""Which denoising steps an activation mask applies to: the one rule ``ActivationMasker`` follows.

Kept torch-free so the app can list a run's masked steps (the trajectory plot marks them) on the UI thread without
loading torch, and so the list always agrees with what the masker does.
"""

from __future__ import annotations

from collections.abc import Sequence


def step_is_masked(step: int, mask_steps: int | None, step_range: Sequence[int] | None) -> bool:
    """True when the mask applies at 0-based ``step``: ``step_range`` (first, last), 1-based inclusive, wins over
    ``mask_steps`` (the first N steps; None: every step; 0: none)."""
    if step_range is not None:
        first, last = step_range
        return first - 1 <= step <= last - 1
    return mask_steps is None or step < mask_steps


def masked_steps(num_steps: int, mask_steps: int | None, step_range: Sequence[int] | None) -> list[int]:
    """The 0-based steps of a ``num_steps`` run that the mask applies to."""
    return [i for i in range(int(num_steps)) if step_is_masked(i, mask_steps, step_range)]
