"""The adapter interface: everything the rest of DiffViews needs from a diffusion model."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

import torch


class GeneratorAdapter(ABC):
    """A denoiser D(x, sigma, labels) with named, hookable layers.

    ``forward`` returns the denoised estimate (x0 prediction) for noisy input ``x`` at noise level ``sigma``.
    """

    @property
    @abstractmethod
    def model_type(self) -> str: ...

    @property
    @abstractmethod
    def resolution(self) -> int: ...

    @property
    @abstractmethod
    def num_classes(self) -> int: ...

    @property
    @abstractmethod
    def hookable_layers(self) -> list[str]: ...

    @abstractmethod
    def forward(self, x: torch.Tensor, sigma: torch.Tensor | float, class_labels: torch.Tensor | None = None, **kwargs):
        ...

    @abstractmethod
    def register_activation_hooks(self, layer_names: Sequence[str], hook_fn: Callable) -> list:
        """Attach ``hook_fn(module, inputs, output)`` as a forward hook on each named layer; return the handles."""

    @abstractmethod
    def get_layer_shapes(self) -> dict[str, tuple[int, ...]]: ...

    @classmethod
    @abstractmethod
    def from_checkpoint(cls, checkpoint_path, device: str = "cuda", **kwargs) -> GeneratorAdapter: ...

    @classmethod
    @abstractmethod
    def get_default_config(cls) -> dict[str, Any]: ...

    # Concrete defaults, overridable by adapters that know better.
    @property
    def device(self) -> torch.device:
        return torch.device("cpu")

    @property
    def img_channels(self) -> int:
        return 3

    def __call__(self, x, sigma, class_labels=None, **kwargs):
        return self.forward(x, sigma, class_labels, **kwargs)
