"""State-dict checkpoints: safetensors or torch.save files read with ``weights_only=True``.

The architecture comes from a JSON file beside the weights (``<stem>.json`` or ``config.json``), or from the
adapter's default configuration.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import torch

from ..errors import CheckpointError
from ..networks import EDMPrecond, build_edm

STATE_DICT_SUFFIXES = (".pt", ".pth", ".bin")


def _config_beside(path: Path) -> dict | None:
    for candidate in (path.with_suffix(".json"), path.parent / "config.json"):
        if candidate.is_file():
            try:
                data = json.loads(candidate.read_text(encoding="utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise CheckpointError(candidate, f"invalid JSON network config: {exc}") from None
            return data.get("network", data)
    return None


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except (SafetensorError, OSError) as exc:
            raise CheckpointError(path, f"unreadable safetensors file: {exc}") from None
    try:
        sd = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds; the user needs one line
        raise CheckpointError(path, f"not a loadable weights-only torch file: {str(exc).splitlines()[0]}") from None
    if not isinstance(sd, dict):
        raise CheckpointError(path, f"expected a state dict, found {type(sd).__name__}")
    return sd


def _strip_prefix(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """DMD2's pytorch_model.bin prefixes every key with ``model.`` (its wrapper) on top of EDMPrecond's own."""
    if all(k.startswith("model.model.") for k in sd):
        return {k[len("model.") :]: v for k, v in sd.items()}
    return sd


def build_from_state_dict(path: Path, sd: dict[str, torch.Tensor], config: dict) -> EDMPrecond:
    try:
        with torch.device("meta"):
            net = EDMPrecond(**config)
    except TypeError as exc:
        raise CheckpointError(path, f"network config does not fit EDMPrecond: {exc}") from None
    net = net.to_empty(device="cpu")
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
    net.load_state_dict(sd, strict=True, assign=True)
    return net.eval()


def load_network(path: Path, default_config: dict | None = None) -> tuple[EDMPrecond, dict]:
    """Load an EDMPrecond from a safetensors or weights-only torch file; returns (network, info)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(path, "no such file")
    if path.suffix not in (".safetensors", *STATE_DICT_SUFFIXES):
        raise CheckpointError(path, f"unsupported checkpoint type {path.suffix!r}")
    config = _config_beside(path) or default_config
    if config is None:
        raise CheckpointError(path, "no network config: put <name>.json beside the weights or choose an adapter")
    sd = _strip_prefix(_read_state_dict(path))
    net = build_from_state_dict(path, sd, dict(config))
    return net, {"format": "safetensors" if path.suffix == ".safetensors" else "state_dict", "config": dict(config)}


def save_network(net: EDMPrecond, path: Path, config: dict) -> None:
    """Write weights as safetensors and the architecture as ``<stem>.json``, atomically."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sd = {k: v.detach().contiguous().cpu() for k, v in net.state_dict().items()}
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    try:
        save_file(sd, tmp, metadata={"format": "diffviews-edm", "version": "1"})
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    cfg_tmp = path.with_suffix(".json.tmp")
    cfg_tmp.write_text(json.dumps({"network": config}, indent=2), encoding="utf-8")
    os.replace(cfg_tmp, path.with_suffix(".json"))
