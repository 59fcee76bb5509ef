"""What a generation produces (each step's record, the whole result): plain numpy data, torch-free, so a result
computed in a worker process (``worker_tasks``) can be read in the window's process without importing torch (torch
loads only when the original's tuple of tensors is asked for)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class StepRecord:
    """What one denoising step produced; passed live to ``on_step`` and kept in the result."""

    step: int
    num_steps: int
    sigma: float
    x0: np.ndarray  # N x H x W x C uint8, the step's denoised estimate
    noised: np.ndarray  # N x H x W x C uint8, the step's input scaled to display range
    activations: dict[str, np.ndarray]  # layer -> N x D float32 (the conditional pass when CFG runs both)


@dataclass(eq=False)
class GenerationResult(Sequence):
    """Everything a generation produced; also the original's return tuple.

    As a sequence it is ``(images, labels)`` as torch tensors (uint8 N x H x W x C, int64 N), followed by the
    trajectory (per step an N x D array of the recorded layers in sorted order), the intermediate x0 images and the
    noised inputs (lists of uint8 tensors) for each ``return_*`` flag the call set, in the original's order.
    """

    images: np.ndarray
    labels: np.ndarray
    sigmas: np.ndarray
    trajectory: list[dict[str, np.ndarray]] = field(default_factory=list)
    intermediates: list[np.ndarray] = field(default_factory=list)
    noised_inputs: list[np.ndarray] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    returned: tuple[str, ...] = ()  # which of "trajectory", "intermediates", "noised_inputs" the tuple holds

    def as_tuple(self) -> tuple:
        """The original's return value (tensors share memory with the arrays)."""
        import torch

        from .core.extractor import flatten_activations

        items: list[Any] = [torch.from_numpy(self.images), torch.from_numpy(self.labels)]
        if "trajectory" in self.returned:
            items.append([flatten_activations(step) for step in self.trajectory if step])
        if "intermediates" in self.returned:
            items.append([torch.from_numpy(a) for a in self.intermediates])
        if "noised_inputs" in self.returned:
            items.append([torch.from_numpy(a) for a in self.noised_inputs])
        return tuple(items)

    def __iter__(self):
        return iter(self.as_tuple())

    def __len__(self) -> int:
        return 2 + len(self.returned)

    def __getitem__(self, index):
        return self.as_tuple()[index]

    def trajectory_array(self) -> np.ndarray:
        """steps x N x D float32: the recorded layers of each step, concatenated in sorted layer order."""
        from .core.extractor import flatten_activations

        return np.stack([flatten_activations(step) for step in self.trajectory])
