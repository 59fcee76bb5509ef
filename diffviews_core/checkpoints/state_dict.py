"""State-dict checkpoints: safetensors or torch.save files read with ``weights_only=True``.

The architecture comes from a JSON file beside the weights (``<stem>.json`` or ``config.json``), or from the
adapter's default configuration.
"""

from __future__ import annotations

import os
import warnings
import zipfile
from pathlib import Path
from typing import Any

from ..errors import CheckpointError, DataError
from ..safe_io import read_json_file
from .messages import one_line

TORCH_SUFFIXES = (".pt", ".pth", ".bin")
MAX_CONFIG_BYTES = 1 << 20


def config_beside(path: Path) -> dict | None:
    """The network kwargs from ``<stem>.json`` or ``config.json`` next to the weights, if there is one."""
    for candidate in (path.with_suffix(".json"), path.parent / "config.json"):
        if os.path.lexists(candidate):
            try:
                data = read_json_file(candidate, MAX_CONFIG_BYTES)
            except DataError as exc:
                raise CheckpointError(candidate, f"unusable network config: {exc.reason}") from None
            config = data.get("network", data) if isinstance(data, dict) else None
            if not isinstance(config, dict):
                raise CheckpointError(candidate, "network config is not a JSON object")
            return config
    return None


def strip_prefix(sd: dict[str, Any]) -> dict[str, Any]:
    """DMD2's pytorch_model.bin may prefix every key with ``model.`` (its wrapper) on top of EDMPrecond's own."""
    if sd and all(k.startswith("model.model.") for k in sd):
        return {k[len("model.") :]: v for k, v in sd.items()}
    return sd


def _torch_load(path: Path, mmap: bool) -> dict:
    import torch

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sd = torch.load(str(path), map_location="cpu", weights_only=True, mmap=mmap)
    except Exception as exc:  # torch raises many kinds; the user needs one line
        raise CheckpointError(path, f"not a loadable weights-only torch file: {one_line(exc)}") from None
    if not isinstance(sd, dict) or not all(isinstance(k, str) for k in sd):
        raise CheckpointError(path, f"expected a state dict, found {type(sd).__name__}")
    bad = next((k for k, v in sd.items() if not isinstance(v, torch.Tensor)), None)
    if bad is not None:
        raise CheckpointError(path, f"entry {bad!r} is a {type(sd[bad]).__name__}, not a tensor")
    return sd


def read_state_dict(path: Path) -> dict:
    """All tensors of a safetensors or torch.save file, on the CPU, keys as EDMPrecond names them."""
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return strip_prefix(load_file(str(path)))
        except (SafetensorError, OSError, ValueError, TypeError, OverflowError, RuntimeError) as exc:
            raise CheckpointError(path, f"unreadable safetensors file: {one_line(exc)}") from None
    return strip_prefix(_torch_load(path, mmap=False))


def state_dict_shapes(path: Path) -> dict[str, tuple[int, ...]]:
    """Tensor shapes without reading the weights (safetensors header, or a memory-mapped zip torch file)."""
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError, safe_open

        try:
            with safe_open(str(path), framework="pt") as f:
                return strip_prefix({k: tuple(f.get_slice(k).get_shape()) for k in f.keys()})  # noqa: SIM118
        except (SafetensorError, OSError, ValueError, TypeError, OverflowError, RuntimeError) as exc:
            raise CheckpointError(path, f"unreadable safetensors file: {one_line(exc)}") from None
    sd = _torch_load(path, mmap=zipfile.is_zipfile(path))
    return strip_prefix({k: tuple(v.shape) for k, v in sd.items()})
