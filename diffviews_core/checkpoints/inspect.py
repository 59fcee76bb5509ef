"""Describe a checkpoint without building the network: format, classes, sizes and architecture identity."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from .edm_pickle import read_edm_snapshot
from .loader import check_checkpoint_file, checkpoint_format
from .state_dict import config_beside, state_dict_shapes

BUFFER_SUFFIXES = (".resample_filter",)


def known_architectures() -> dict[str, str]:
    """Key hash -> name of the architectures this project knows."""
    from ..networks.configs import IMAGENET64_KEY_HASH, TINY_KEY_HASH

    return {IMAGENET64_KEY_HASH: "ImageNet-64 ADM (EDM / DMD2)", TINY_KEY_HASH: "tiny test configuration"}


def inspect_checkpoint(path: Path) -> dict[str, Any]:
    """A JSON-ready summary of ``path``; pickled storages are not decoded and no network is built."""
    from ..networks.configs import IMAGENET64_KEY_HASH, key_hash

    path = Path(path)
    check_checkpoint_file(path)
    fmt = checkpoint_format(path)
    summary: dict[str, Any] = {"file": str(path), "format": fmt, "size_bytes": path.stat().st_size}
    if fmt == "persistence":
        snapshot = read_edm_snapshot(path, decode_storages=False)
        shapes = {k: tuple(v.shape) for k, v in snapshot.tensors.items()}
        summary.update(
            top_level=snapshot.top_level,
            class_tree=snapshot.tree,
            class_counts=snapshot.class_counts,
            config=snapshot.config,
            config_source="pickle (_init_kwargs)",
        )
    else:
        shapes = state_dict_shapes(path)
        config = config_beside(path)
        summary.update(config=config, config_source="JSON beside the weights" if config else None)
    digest = key_hash(shapes)
    summary.update(
        tensors=len(shapes),
        parameters=sum(math.prod(s) for k, s in shapes.items() if not k.endswith(BUFFER_SUFFIXES)),
        key_hash=digest,
        architecture=known_architectures().get(digest),
        imagenet64=digest == IMAGENET64_KEY_HASH,
    )
    return summary
