"""Replace (or blend) layer outputs with fixed activations during chosen denoising steps and CFG passes."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch

from ..adapters.base import GeneratorAdapter

CfgPass = Literal["cond", "uncond", "both"]


class ActivationMasker:
    """Forward hooks that swap a layer's output for a mask.

    Masks of batch 1 (or without a batch axis, or flattened) broadcast to any batch. Samplers tell the masker
    which step and CFG pass runs (``set_context``); outside a sampler the mask always applies.
    ``mask_steps`` = N masks the first N steps; ``step_range`` = (first, last), 1-based inclusive, overrides it.
    """

    def __init__(
        self,
        adapter: GeneratorAdapter,
        mask_steps: int | None = 1,
        step_range: Sequence[int] | None = None,
        cfg_pass: CfgPass = "both",
        blend: float = 1.0,
    ) -> None:
        if cfg_pass not in ("cond", "uncond", "both"):
            raise ValueError(f"cfg_pass must be 'cond', 'uncond' or 'both', not {cfg_pass!r}")
        self.adapter = adapter
        self.mask_steps = mask_steps
        self.step_range = tuple(step_range) if step_range is not None else None
        self.cfg_pass = cfg_pass
        self.blend = float(blend)
        self._masks: dict[str, torch.Tensor] = {}
        self._handles: list = []
        self._step: int | None = None
        self._pass: str | None = None
        self.applications: list[tuple[int | None, str | None, str]] = []

    # --- masks -----------------------------------------------------------------------------------
    def set_mask(self, layer_name: str, activation: torch.Tensor | np.ndarray) -> None:
        shape = tuple(self.adapter.get_layer_shapes()[layer_name])
        t = torch.as_tensor(np.asarray(activation) if not isinstance(activation, torch.Tensor) else activation)
        t = t.detach().to(torch.float32)
        if t.ndim == 1 or (t.ndim == 2 and t.shape[-1] == math.prod(shape)):
            t = t.reshape(-1, *shape)
        elif t.shape == shape:
            t = t.unsqueeze(0)
        if tuple(t.shape[1:]) != shape:
            raise ValueError(f"mask for {layer_name} has shape {tuple(t.shape)}, layer output is {shape}")
        self._masks[layer_name] = t

    def clear_masks(self) -> None:
        self._masks.clear()

    @property
    def layers(self) -> list[str]:
        return sorted(self._masks)

    # --- when to apply ---------------------------------------------------------------------------
    def set_context(self, step: int | None, cfg_pass: str | None) -> None:
        """Called by samplers before each forward: 0-based step index and 'cond' / 'uncond'."""
        self._step, self._pass = step, cfg_pass

    def applies(self, step: int | None, cfg_pass: str | None) -> bool:
        if self.cfg_pass != "both" and cfg_pass is not None and cfg_pass != self.cfg_pass:
            return False
        if step is None:
            return True
        if self.step_range is not None:
            first, last = self.step_range
            return first - 1 <= step <= last - 1
        return self.mask_steps is None or step < self.mask_steps

    # --- hooks -----------------------------------------------------------------------------------
    def _make_hook(self, name: str):
        def hook(_module, _inputs, output):
            if not self.applies(self._step, self._pass) or self.blend == 0.0:
                return None
            out = output[0] if isinstance(output, tuple) else output
            mask = self._masks[name].to(device=out.device, dtype=out.dtype)
            if mask.shape[0] not in (1, out.shape[0]):
                raise ValueError(f"mask batch {mask.shape[0]} does not match batch {out.shape[0]} at {name}")
            mask = mask.expand_as(out)
            new = mask if self.blend == 1.0 else torch.lerp(out, mask, self.blend)
            self.applications.append((self._step, self._pass, name))
            return (new, *output[1:]) if isinstance(output, tuple) else new

        return hook

    def register_hooks(self) -> None:
        self.remove_hooks()
        for name in self._masks:
            self._handles.extend(self.adapter.register_activation_hooks([name], self._make_hook(name)))

    def remove_hooks(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def __enter__(self) -> ActivationMasker:
        self.register_hooks()
        return self

    def __exit__(self, *exc) -> None:
        self.remove_hooks()

    def settings(self) -> dict:
        """What lineage records about this mask."""
        return {
            "layers": self.layers,
            "mask_steps": self.mask_steps,
            "step_range": list(self.step_range) if self.step_range else None,
            "cfg_pass": self.cfg_pass,
            "blend": self.blend,
        }
