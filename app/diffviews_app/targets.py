"""What the mouse is on: a sample, a step of a generation's trajectory, or a generated image.

The canvas's one input path picks a ``Target`` (its layers are asked in z-order) and the state holds the hovered one;
docks render whichever kind it is. Plain values, no Qt: safe to compare, log and test.
"""

from __future__ import annotations

from dataclasses import dataclass

KINDS = ("none", "sample", "step", "generated")


@dataclass(frozen=True)
class Target:
    """``kind`` is "none", "sample" (``row`` of the model's table), "step" (``step`` of trajectory ``trajectory``) or
    "generated" (the final step of a finished trajectory: a generated image)."""

    kind: str = "none"
    row: int = -1
    trajectory: int = -1
    step: int = -1

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"target kind must be one of {KINDS}, not {self.kind!r}")

    @classmethod
    def sample(cls, row: int) -> Target:
        return cls("sample", row=int(row)) if row >= 0 else NOTHING

    @classmethod
    def trajectory_step(cls, trajectory: int, step: int, generated: bool = False) -> Target:
        return cls("generated" if generated else "step", trajectory=int(trajectory), step=int(step))

    @property
    def on_trajectory(self) -> bool:
        """A step or a generated image (something of the generation side)."""
        return self.kind in ("step", "generated")

    def __bool__(self) -> bool:
        return self.kind != "none"


NOTHING = Target()
