"""Record layer outputs during forward passes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ..adapters.base import GeneratorAdapter


def flatten_activations(activations: dict[str, torch.Tensor | np.ndarray]) -> np.ndarray:
    """(B, D) float32: each layer flattened per sample, concatenated in sorted layer-name order (the file layout)."""
    parts = []
    for name in sorted(activations):
        a = activations[name]
        a = a.numpy() if isinstance(a, torch.Tensor) else np.asarray(a)
        parts.append(a.reshape(a.shape[0], -1).astype(np.float32, copy=False))
    return np.concatenate(parts, axis=1)


class ActivationExtractor:
    """Context manager that keeps detached CPU copies of the named layers' latest outputs."""

    def __init__(self, adapter: GeneratorAdapter, layers: Sequence[str]) -> None:
        self.adapter = adapter
        self.layers = list(layers)
        unknown = [n for n in self.layers if n not in adapter.hookable_layers]
        if unknown:
            raise KeyError(f"unknown layers {unknown}; hookable layers: {', '.join(adapter.hookable_layers)}")
        self._activations: dict[str, torch.Tensor] = {}
        self._handles: list = []

    def _make_hook(self, name: str):
        def hook(_module, _inputs, output):
            out = output[0] if isinstance(output, tuple) else output
            self._activations[name] = out.detach().to("cpu", torch.float32).clone()

        return hook

    def register(self) -> None:
        for name in self.layers:
            self._handles.extend(self.adapter.register_activation_hooks([name], self._make_hook(name)))

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def __enter__(self) -> ActivationExtractor:
        self.register()
        return self

    def __exit__(self, *exc) -> None:
        self.remove()

    def get_activations(self) -> dict[str, torch.Tensor]:
        return dict(self._activations)

    def clear(self) -> None:
        self._activations.clear()

    def flatten(self) -> np.ndarray:
        return flatten_activations(self._activations)

    def save(self, path) -> None:
        """Write one (B, C*H*W) array per layer to an .npz, the original tool's batch format."""
        np.savez(path, **{k: v.reshape(v.shape[0], -1).numpy() for k, v in sorted(self._activations.items())})
