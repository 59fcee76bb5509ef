"""The adapter interface: everything the rest of DiffViews needs from a diffusion model."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn


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
    def _wrapped_model(self) -> nn.Module | None:
        """The torch module this adapter wraps: ``_model`` (the original's convention), else the first one it holds."""
        held = vars(self)
        if isinstance(held.get("_model"), nn.Module):
            return held["_model"]
        return next((v for v in held.values() if isinstance(v, nn.Module)), None)

    @property
    def device(self) -> torch.device:
        """``_device`` if the adapter keeps one (as the original's adapters do), else where its model's weights are."""
        declared = vars(self).get("_device")
        if declared is not None:
            return torch.device(declared)
        model = self._wrapped_model()
        tensor = next(iter(model.parameters()), None) if model is not None else None
        if tensor is None and model is not None:
            tensor = next(iter(model.buffers()), None)
        return tensor.device if tensor is not None else torch.device("cpu")

    @property
    def img_channels(self) -> int:
        """The model's ``img_channels``, else ``channels`` / ``img_channels`` from the adapter's config (the original
        README's custom adapter declares ``'channels'`` in ``get_default_config``), else 3."""
        model = self._wrapped_model()
        if model is not None and isinstance(getattr(model, "img_channels", None), int):
            return model.img_channels
        for config in (getattr(self, "config", None), self.get_default_config()):
            if isinstance(config, dict):
                for key in ("channels", "img_channels"):
                    if config.get(key) is not None:
                        return int(config[key])
        return 3

    def to(self, device: str | torch.device) -> GeneratorAdapter:
        """Move the wrapped model (and the recorded device) to ``device``."""
        model = self._wrapped_model()
        if model is not None:
            model.to(device)
        if "_device" in vars(self):
            self._device = device
        return self

    def eval(self) -> GeneratorAdapter:
        model = self._wrapped_model()
        if model is not None:
            model.eval()
        return self

    def __call__(self, x, sigma, class_labels=None, **kwargs):
        return self.forward(x, sigma, class_labels, **kwargs)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(model_type='{self.model_type}', resolution={self.resolution}, "
            f"num_classes={self.num_classes}, layers={len(self.hookable_layers)})"
        )
