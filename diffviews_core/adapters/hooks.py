"""Bookkeeping shared by adapters that attach torch forward hooks."""

from __future__ import annotations

from typing import Any

import torch


def _is_live(handle: Any) -> bool:
    """Whether a torch RemovableHandle's hook is still attached; other handle types are trusted."""
    ref = getattr(handle, "hooks_dict_ref", None)
    if ref is None:
        return True
    hooks = ref()
    return hooks is not None and handle.id in hooks


class HookMixin:
    """Keeps hook handles, captured activations and masks, and removes every hook in one call."""

    def __init__(self) -> None:
        self._handles: list[Any] = []
        self._activations: dict[str, torch.Tensor] = {}
        self._masks: dict[str, torch.Tensor] = {}

    def add_handle(self, handle: Any) -> None:
        self._handles = [h for h in self._handles if _is_live(h)]
        self._handles.append(handle)

    def remove_hooks(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    @property
    def num_hooks(self) -> int:
        """Hooks still attached (handles removed by their owner, e.g. an extractor, do not count)."""
        return sum(1 for h in self._handles if _is_live(h))

    def set_mask(self, layer_name: str, value: torch.Tensor) -> None:
        self._masks[layer_name] = value

    def clear_masks(self) -> None:
        self._masks.clear()

    def get_activation(self, layer_name: str) -> torch.Tensor | None:
        return self._activations.get(layer_name)
