"""Bookkeeping shared by adapters that attach torch forward hooks."""

from __future__ import annotations

from collections.abc import Callable
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

    # --- hook factories --------------------------------------------------------------------------
    def make_extraction_hook(self, layer_name: str) -> Callable:
        """A forward hook that stores a detached CPU copy of the layer's output under ``layer_name``."""

        def forward_hook(_module, _inputs, output):
            out = output[0] if isinstance(output, tuple) else output
            self._activations[layer_name] = out.detach().cpu()

        return forward_hook

    def make_mask_hook(self, layer_name: str, mask: torch.Tensor) -> Callable:
        """A forward hook that replaces the layer's output with ``mask`` (batch 1 broadcasts; shapes are checked)."""
        from ..core.masking import fit_mask

        def forward_hook(_module, _inputs, output):
            out = output[0] if isinstance(output, tuple) else output
            new = fit_mask(layer_name, mask, out)
            return (new, *output[1:]) if isinstance(output, tuple) else new

        return forward_hook

    # --- handles ---------------------------------------------------------------------------------
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

    # --- stored masks and activations ------------------------------------------------------------
    def set_mask(self, layer_name: str, value: torch.Tensor) -> None:
        self._masks[layer_name] = value

    def get_mask(self, layer_name: str) -> torch.Tensor | None:
        return self._masks.get(layer_name)

    def clear_mask(self, layer_name: str) -> None:
        self._masks.pop(layer_name, None)

    def clear_masks(self) -> None:
        self._masks.clear()

    def get_activations(self) -> dict[str, torch.Tensor]:
        return dict(self._activations)

    def get_activation(self, layer_name: str) -> torch.Tensor | None:
        return self._activations.get(layer_name)

    def clear_activations(self) -> None:
        self._activations.clear()
