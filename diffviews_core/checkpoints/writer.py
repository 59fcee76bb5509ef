"""Write networks as safetensors plus a JSON architecture, so later loads need no pickle at all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..atomic import atomic_path, atomic_write_text
from ..errors import CheckpointError


def save_network(net: Any, path: Path, config: dict) -> None:
    """Write weights as safetensors and the architecture as ``<stem>.json`` (``{"network": config}``), atomically."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sd = {k: v.detach().contiguous().cpu() for k, v in net.state_dict().items()}
    with atomic_path(path) as tmp:
        save_file(sd, str(tmp), metadata={"format": "diffviews-edm", "version": "1"})
    atomic_write_text(path.with_suffix(".json"), json.dumps({"network": config}, indent=2))


def convert_checkpoint(source: Path, out: Path, default_config: dict | None = None) -> dict[str, Any]:
    """Load ``source`` safely and write it as ``out`` (.safetensors) plus ``out``'s .json; returns the load info."""
    from .loader import load_network

    source, out = Path(source), Path(out)
    if out.is_dir():
        out = out / f"{source.stem}.safetensors"
    if out.suffix != ".safetensors":
        raise CheckpointError(out, "the converted checkpoint must end in .safetensors")
    net, info = load_network(source, default_config=default_config)
    save_network(net, out, info["config"])
    return {**info, "output": str(out), "config_file": str(out.with_suffix(".json"))}
