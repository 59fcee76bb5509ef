"""From the inert records of an EDM snapshot to a network configuration and a flat state dict.

Only allow-listed classes may make up the network; constructor arguments are whitelisted and must be plain values.
Other top-level objects (``loss_fn``, ``augment_pipe``, ``dataset_kwargs``) stay inert and are ignored.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import CheckpointError
from .persistence import ModuleDictRecord, PersistentRecord, TensorShape, read_persistence_pickle

NETWORK_CLASSES = frozenset(
    {"EDMPrecond", "DhariwalUNet", "UNetBlock", "Conv2d", "Linear", "GroupNorm", "PositionalEmbedding"}
)
# EDMPrecond's positional parameters in order, then the DhariwalUNet keyword arguments it passes through.
PRECOND_ARGS = (
    "img_resolution",
    "img_channels",
    "label_dim",
    "use_fp16",
    "sigma_min",
    "sigma_max",
    "sigma_data",
    "model_type",
)
UNET_KWARGS = (
    "model_channels",
    "channel_mult",
    "channel_mult_emb",
    "num_blocks",
    "attn_resolutions",
    "dropout",
    "augment_dim",
    "label_dropout",
)


@dataclass
class EDMSnapshot:
    """What an EDM pickle holds, without a built network."""

    top_level: dict[str, str]  # key -> class name (or Python type) of each top-level object
    config: dict[str, Any]  # EDMPrecond constructor kwargs
    tensors: dict[str, Any]  # dotted name -> torch.Tensor, or TensorShape when storages were not decoded
    class_counts: dict[str, int]  # class name -> number of objects in the network
    tree: list[str]  # indented "name: Class" lines, ModuleDict children summarised


def _describe(obj: Any) -> str:
    if isinstance(obj, PersistentRecord):
        return obj.class_name
    if isinstance(obj, ModuleDictRecord):
        return "ModuleDict"
    return type(obj).__name__


def _plain_value(path: Path, key: str, value: Any) -> Any:
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple) and all(type(v) is int for v in value):
        return list(value)
    raise CheckpointError(path, f"network argument {key!r} is a {type(value).__name__}, not a plain value")


def network_config(path: Path, record: PersistentRecord) -> dict[str, Any]:
    """EDMPrecond kwargs from the record's ``_init_args``/``_init_kwargs``, limited to the known arguments."""
    args = record.state.get("_init_args", ())
    kwargs = record.state.get("_init_kwargs")
    if not isinstance(args, tuple | list) or not isinstance(kwargs, dict):
        raise CheckpointError(path, "the network does not record its constructor arguments (_init_args/_init_kwargs)")
    if len(args) > len(PRECOND_ARGS):
        raise CheckpointError(path, f"EDMPrecond given {len(args)} positional arguments")
    config = {k: _plain_value(path, k, v) for k, v in zip(PRECOND_ARGS, args, strict=False)}
    for key, value in kwargs.items():
        if key not in PRECOND_ARGS and key not in UNET_KWARGS:
            raise CheckpointError(path, f"unsupported network argument {key!r}")
        if key in config:
            raise CheckpointError(path, f"network argument {key!r} given twice")
        config[key] = _plain_value(path, key, value)
    for required in ("img_resolution", "img_channels"):
        if required not in config:
            raise CheckpointError(path, f"network argument {required!r} missing")
    if config.get("model_type", "DhariwalUNet") != "DhariwalUNet":
        raise CheckpointError(path, f"unsupported model_type {config['model_type']!r} (only DhariwalUNet)")
    return config


def flatten_tensors(path: Path, record: PersistentRecord) -> tuple[dict[str, Any], dict[str, int]]:
    """Dotted state-dict names of every non-None parameter and buffer, and the class count of the network."""
    import torch

    tensors: dict[str, Any] = {}
    counts: Counter[str] = Counter()
    seen: set[int] = set()
    stack: list[tuple[Any, str]] = [(record, "")]
    while stack:
        obj, prefix = stack.pop()
        where = f"ema.{prefix[:-1]}" if prefix else "ema"
        if id(obj) in seen:
            raise CheckpointError(path, f"module {where} appears twice in the network")
        seen.add(id(obj))
        if isinstance(obj, PersistentRecord) and obj.class_name not in NETWORK_CLASSES:
            raise CheckpointError(path, f"unknown class {obj.class_name!r} at {where}")
        if not isinstance(obj, PersistentRecord | ModuleDictRecord):
            raise CheckpointError(path, f"unexpected {type(obj).__name__} at {where}")
        counts[_describe(obj)] += 1
        for group in ("_parameters", "_buffers", "_modules"):
            entries = obj.state.get(group, {})
            if not isinstance(entries, dict) or not all(isinstance(k, str) for k in entries):
                raise CheckpointError(path, f"{where}.{group} is not a dict of names")
            for name, value in entries.items():
                if value is None:
                    continue
                if group == "_modules":
                    stack.append((value, f"{prefix}{name}."))
                    continue
                ok = isinstance(value, TensorShape) or (
                    isinstance(value, torch.Tensor) and not getattr(value, "_backward_hooks", None)
                )
                if not ok:
                    raise CheckpointError(path, f"{where}.{name} is a {type(value).__name__}, not a tensor")
                tensors[prefix + name] = value
    return tensors, dict(counts)


def _children(obj: Any) -> dict[str, Any]:
    if isinstance(obj, PersistentRecord | ModuleDictRecord):
        modules = obj.state.get("_modules", {})
        return {k: v for k, v in modules.items() if v is not None} if isinstance(modules, dict) else {}
    return {}


def class_tree(top: dict[str, Any]) -> list[str]:
    """The class tree of the snapshot's modules down to the ModuleDicts, whose children are only counted."""
    lines: list[str] = []

    def visit(name: str, obj: Any, depth: int) -> None:
        children = _children(obj)
        label = f"{'  ' * depth}{name}: {_describe(obj)}"
        if isinstance(obj, ModuleDictRecord) or depth >= 8:
            kinds = Counter(_describe(c) for c in children.values())
            summary = ", ".join(f"{k} x{n}" for k, n in sorted(kinds.items()))
            lines.append(f"{label} ({len(children)} children: {summary})" if children else label)
            return
        lines.append(label)
        for child_name, child in children.items():
            visit(child_name, child, depth + 1)

    for key, obj in top.items():
        visit(str(key), obj, 0)
    return lines


def read_edm_snapshot(path: Path, decode_storages: bool = True) -> EDMSnapshot:
    """Read an EDM ``.pkl`` (``{'ema', 'loss_fn', ...}`` or ``{'ema'}``) safely into config and tensors."""
    path = Path(path)
    top = read_persistence_pickle(path, decode_storages=decode_storages)
    if not isinstance(top, dict) or "ema" not in top:
        found = ", ".join(map(str, top)) if isinstance(top, dict) else type(top).__name__
        raise CheckpointError(path, f"no 'ema' network at the top level (found {found or 'nothing'})")
    ema = top["ema"]
    if not isinstance(ema, PersistentRecord) or ema.class_name != "EDMPrecond":
        raise CheckpointError(path, f"'ema' is a {_describe(ema)}, not an EDMPrecond")
    config = network_config(path, ema)
    tensors, counts = flatten_tensors(path, ema)
    top_level = {str(k): _describe(v) for k, v in top.items()}
    return EDMSnapshot(top_level, config, tensors, counts, class_tree({"ema": ema}))
