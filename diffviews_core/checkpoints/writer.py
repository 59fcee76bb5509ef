"""Write networks as safetensors plus a JSON architecture, so later loads need no pickle at all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..atomic import atomic_path, atomic_write_text
from ..errors import CheckpointError, DiskFullError
from ..safe_io import disk_full_as_error, ensure_free_space
from .messages import one_line


def save_network(net: Any, path: Path, config: dict) -> None:
    """Write weights as safetensors and the architecture as ``<stem>.json`` (``{"network": config}``), atomically."""
    from safetensors import SafetensorError
    from safetensors.torch import save_file

    path = Path(path)
    with disk_full_as_error(path):
        path.parent.mkdir(parents=True, exist_ok=True)
    sd = {k: v.detach().contiguous().cpu() for k, v in net.state_dict().items()}
    ensure_free_space(path.parent, sum(t.nbytes for t in sd.values()), f"writing {path.name}")
    try:
        with atomic_path(path) as tmp:  # a full disk while writing is a DiskFullError naming the file
            save_file(sd, str(tmp), metadata={"format": "diffviews-edm", "version": "1"})
    except SafetensorError as exc:  # safetensors reports a full disk as its own error
        if "StorageFull" in str(exc) or "No space left" in str(exc):
            raise DiskFullError(path) from None
        raise CheckpointError(path, f"cannot write: {one_line(exc)}") from None
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
