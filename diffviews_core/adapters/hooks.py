"""Bookkeeping shared by adapters that attach torch forward hooks."""

from __future__ import annotations

from typing import Any

import torch


class HookMixin:
    """Keeps hook handles, captured activations and masks, and removes every hook in one call."""

    def __init__(self) -> None:
        self._handles: list[Any] = []
        self._activations: dict[str, torch.Tensor] = {}
        self._masks: dict[str, torch.Tensor] = {}

    def add_handle(self, handle: Any) -> None:
        self._handles.append(handle)

    def remove_hooks(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    @property
    def num_hooks(self) -> int:
        return len(self._handles)

    def set_mask(self, layer_name: str, value: torch.Tensor) -> None:
        self._masks[layer_name] = value

    def clear_masks(self) -> None:
        self._masks.clear()

    def get_activation(self, layer_name: str) -> torch.Tensor | None:
        return self._activations.get(layer_name)
