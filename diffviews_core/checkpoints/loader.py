"""Load an EDMPrecond from any supported checkpoint: EDM persistence pickle, torch state dict or safetensors.

The network is built on the meta device and takes the loaded tensors as its own (``assign=True``), so loading
never holds a second full copy of the weights.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

from ..errors import CheckpointError, DataError
from ..safe_io import regular_file
from .edm_pickle import read_edm_snapshot
from .messages import one_line
from .state_dict import TORCH_SUFFIXES, config_beside, read_state_dict

PICKLE_SUFFIXES = (".pkl", ".pickle")


def checkpoint_format(path: Path) -> str:
    """``'persistence'``, ``'torch'`` or ``'safetensors'``, from the suffix (a zip-format .pkl is a torch file)."""
    suffix = path.suffix.lower()
    if suffix == ".safetensors":
        return "safetensors"
    if suffix in TORCH_SUFFIXES:
        return "torch"
    if suffix in PICKLE_SUFFIXES:
        return "torch" if zipfile.is_zipfile(path) else "persistence"
    raise CheckpointError(path, f"unsupported checkpoint type {path.suffix!r} (.pkl, .pt, .pth, .bin, .safetensors)")


def check_checkpoint_file(path: Path) -> None:
    """A CheckpointError unless ``path`` is a regular file (a FIFO or device would block or never end)."""
    try:
        regular_file(path)
    except DataError as exc:
        raise CheckpointError(path, "no such file" if exc.reason == "missing file" else exc.reason) from None


def checked_config(path: Path, config: Any) -> dict:
    """The network kwargs, checked (types, ranges, parameter count) before anything is allocated."""
    from ..networks.limits import check_network_config

    try:
        check_network_config(config)
    except ValueError as exc:
        raise CheckpointError(path, f"network config refused: {exc}") from None
    return config


def build_from_state_dict(path: Path, sd: dict[str, Any], config: dict) -> Any:
    """An EDMPrecond of ``config`` that owns the tensors of ``sd``; strict names, shapes and dtypes."""
    import torch

    from ..networks import build_edm

    checked_config(path, config)
    try:
        net = build_edm(dict(config), device="meta")
    except (TypeError, ValueError, RuntimeError, ZeroDivisionError) as exc:
        raise CheckpointError(path, f"network config does not fit EDMPrecond: {one_line(exc)}") from None
    expected = net.state_dict()
    missing = sorted(set(expected) - set(sd))
    extra = sorted(set(sd) - set(expected))
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing keys (e.g. {missing[0]})")
        if extra:
            parts.append(f"{len(extra)} unexpected keys (e.g. {extra[0]})")
        raise CheckpointError(path, "weights do not match the network: " + ", ".join(parts))
    for k, v in expected.items():
        if tuple(v.shape) != tuple(sd[k].shape):
            raise CheckpointError(path, f"shape mismatch at {k}: file {tuple(sd[k].shape)}, network {tuple(v.shape)}")
        if not sd[k].is_floating_point() or sd[k].device.type != "cpu":
            raise CheckpointError(path, f"tensor {k} is {sd[k].dtype} on {sd[k].device}, not floating point on cpu")
    with torch.no_grad():
        net.load_state_dict(sd, strict=True, assign=True)
    return net.eval()


def load_network(path: Path, default_config: dict | None = None) -> tuple[Any, dict]:
    """Load an EDMPrecond safely (nothing stored in the file runs); returns (network, info).

    A persistence pickle carries its own architecture; a state dict takes it from a JSON file beside it, else
    from ``default_config`` (the adapter's).
    """
    path = Path(path)
    check_checkpoint_file(path)
    fmt = checkpoint_format(path)
    info: dict[str, Any] = {"format": fmt}
    if fmt == "persistence":
        snapshot = read_edm_snapshot(path)
        config, sd = snapshot.config, snapshot.tensors
        info["top_level"] = snapshot.top_level
        checked_config(path, config)
    else:
        config = config_beside(path) or default_config
        if config is None:
            raise CheckpointError(path, "no network config: put <name>.json beside the weights or choose an adapter")
        checked_config(path, config)  # before the weights are read: a config that cannot be built ends here
        sd = read_state_dict(path)
    net = build_from_state_dict(path, sd, config)
    info["config"] = dict(config)
    return net, info
