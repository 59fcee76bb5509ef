"""Replace (or blend) layer outputs with fixed activations during chosen denoising steps and CFG passes.

Also the original DiffViews' mask helpers: ``load_activation_from_npz``, ``compute_mask_dict`` and
``unflatten_activation``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from ..adapters.base import GeneratorAdapter
from ..mask_schedule import masked_steps, step_is_masked
from .extractor import read_npz

CfgPass = Literal["cond", "uncond", "both"]


def fit_mask(layer_name: str, mask: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
    """``mask`` shaped like ``output``: batch 1 (or no batch axis) broadcasts, flattened rows are reshaped.

    Anything else is a ValueError naming the layer, where the original handed a wrongly shaped tensor to the next
    layer and failed there (or, for some shapes, silently broadcast).
    """
    per_sample = tuple(output.shape[1:])
    size = math.prod(per_sample)
    if mask.shape == per_sample:
        mask = mask.unsqueeze(0)
    elif mask.ndim == 1 and mask.numel() == size:  # one flattened activation
        mask = mask.reshape(1, *per_sample)
    elif mask.ndim == 2 and mask.shape[1] == size:  # flattened rows, the stored layout
        mask = mask.reshape(mask.shape[0], *per_sample)
    if tuple(mask.shape[1:]) != per_sample:
        raise ValueError(
            f"mask for layer {layer_name!r} has shape {tuple(mask.shape)}; the layer outputs {tuple(output.shape)}"
        )
    if mask.shape[0] not in (1, output.shape[0]):
        raise ValueError(
            f"mask for layer {layer_name!r} has a batch of {mask.shape[0]}; the layer runs a batch of {output.shape[0]}"
        )
    return mask.to(device=output.device, dtype=output.dtype).expand_as(output)


class ActivationMasker:
    """Forward hooks that swap a layer's output for a mask (``masks``: layer name -> tensor, kept on the CPU).

    Masks of batch 1 (or without a batch axis, or flattened) broadcast to any batch; shapes are checked against
    the layer's real output when it runs. Samplers tell the masker which step and CFG pass runs
    (``set_context``); outside a sampler the mask always applies. ``mask_steps`` = N masks the first N steps
    (None: every step); ``step_range`` = (first, last), 1-based inclusive, overrides it.
    """

    def __init__(
        self,
        adapter: GeneratorAdapter,
        mask_steps: int | None = None,
        step_range: Sequence[int] | None = None,
        cfg_pass: CfgPass = "both",
        blend: float = 1.0,
    ) -> None:
        if cfg_pass not in ("cond", "uncond", "both"):
            raise ValueError(f"cfg_pass must be 'cond', 'uncond' or 'both', not {cfg_pass!r}")
        self.adapter = adapter
        self.masks: dict[str, torch.Tensor] = {}
        self.mask_steps = mask_steps
        self.step_range = tuple(step_range) if step_range is not None else None
        self.cfg_pass = cfg_pass
        self.blend = float(blend)
        self._handles: list = []
        self._step: int | None = None
        self._pass: str | None = None
        self.applications: list[tuple[int | None, str | None, str]] = []

    # --- masks -----------------------------------------------------------------------------------
    def set_mask(self, layer_name: str, activation: torch.Tensor | np.ndarray) -> None:
        """Mask ``layer_name`` with ``activation`` (tensor or array; batch 1, unbatched or flattened)."""
        t = activation if isinstance(activation, torch.Tensor) else torch.from_numpy(np.asarray(activation))
        self.masks[layer_name] = t.detach().cpu()

    def clear_mask(self, layer_name: str) -> None:
        self.masks.pop(layer_name, None)

    def clear_masks(self) -> None:
        self.masks.clear()

    @property
    def layers(self) -> list[str]:
        return sorted(self.masks)

    # --- when to apply ---------------------------------------------------------------------------
    def set_context(self, step: int | None, cfg_pass: str | None) -> None:
        """Called by samplers before each forward: 0-based step index and 'cond' / 'uncond'."""
        self._step, self._pass = step, cfg_pass

    def applies(self, step: int | None, cfg_pass: str | None) -> bool:
        if self.cfg_pass != "both" and cfg_pass is not None and cfg_pass != self.cfg_pass:
            return False
        return step is None or step_is_masked(step, self.mask_steps, self.step_range)

    def masked_steps(self, num_steps: int) -> list[int]:
        """The 0-based steps of a ``num_steps`` run this masker applies to (whatever the CFG pass)."""
        return masked_steps(num_steps, self.mask_steps, self.step_range)

    # --- hooks -----------------------------------------------------------------------------------
    def _make_hook(self, name: str):
        def hook(_module, _inputs, output):
            if name not in self.masks or self.blend == 0.0 or not self.applies(self._step, self._pass):
                return output
            out = output[0] if isinstance(output, tuple) else output
            mask = fit_mask(name, self.masks[name], out)
            new = mask if self.blend == 1.0 else torch.lerp(out, mask, self.blend)
            self.applications.append((self._step, self._pass, name))
            return (new, *output[1:]) if isinstance(output, tuple) else new

        return hook

    def register_hooks(self, layers: Sequence[str] | None = None) -> None:
        """Hook ``layers`` (default: every masked layer), replacing hooks this masker registered before."""
        self.remove_hooks()
        for name in self.masks if layers is None else layers:
            self._handles.extend(self.adapter.register_activation_hooks([name], self._make_hook(name)))

    def remove_hooks(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    @property
    def hooks_registered(self) -> bool:
        return bool(self._handles)

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


def load_activation_from_npz(npz_path: str | Path, layer_name: str) -> torch.Tensor:
    """One layer's activation from an ``.npz`` (arrays only, no pickles), with a batch axis added to a 1-D one."""
    array = read_npz(npz_path, [layer_name])[layer_name]
    activation = torch.from_numpy(array)
    return activation.unsqueeze(0) if activation.ndim == 1 else activation


def compute_mask_dict(
    activations: np.ndarray,
    neighbor_indices: Sequence[int],
    layer_shapes: Mapping[str, tuple[int, ...]],
    layers: Sequence[str] | None = None,
) -> dict[str, np.ndarray]:
    """Per layer, the mean of ``activations[neighbor_indices]`` as a (1, *shape) float32 array.

    ``activations`` is (N, D) with the layers concatenated in sorted name order; ``layers`` (default: every layer
    of ``layer_shapes``) says which layers it holds; names missing from ``layer_shapes`` are skipped. A width that
    does not match those layers is an error: the original split it anyway and returned wrong activations.
    """
    if len(neighbor_indices) == 0:
        return {}
    names = [n for n in sorted(layers if layers is not None else layer_shapes) if n in layer_shapes]
    sizes = [math.prod(layer_shapes[n]) for n in names]
    if activations.ndim != 2 or activations.shape[1] != sum(sizes):
        raise ValueError(
            f"activations of shape {tuple(activations.shape)} do not hold layers {names} "
            f"({sum(sizes)} values per sample, concatenated in sorted order)"
        )
    center = np.mean(activations[list(neighbor_indices)], axis=0, keepdims=True)
    out, start = {}, 0
    for name, size in zip(names, sizes):
        out[name] = center[:, start : start + size].reshape(1, *layer_shapes[name]).astype(np.float32)
        start += size
    return out


def unflatten_activation(flat_activation: torch.Tensor, target_shape: Sequence[int]) -> torch.Tensor:
    """(B, prod(shape)) or (prod(shape),) -> (B, *target_shape); a size that does not fit is a ValueError."""
    if flat_activation.ndim == 1:
        flat_activation = flat_activation.unsqueeze(0)
    shape = tuple(int(s) for s in target_shape)
    if flat_activation[0].numel() != math.prod(shape):
        raise ValueError(f"activation of shape {tuple(flat_activation.shape)} does not unflatten to {shape} per sample")
    return flat_activation.reshape(flat_activation.shape[0], *shape)
