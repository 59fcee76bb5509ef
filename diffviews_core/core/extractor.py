"""Record layer outputs during forward passes, and the original DiffViews' activation file helpers."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..adapters.base import GeneratorAdapter


def flatten_activations(activations: dict[str, torch.Tensor | np.ndarray]) -> np.ndarray:
    """(B, D) float32: each layer flattened per sample, concatenated in sorted layer-name order (the file layout)."""
    parts = []
    for name in sorted(activations):
        a = activations[name]
        a = a.numpy() if isinstance(a, torch.Tensor) else np.asarray(a)
        parts.append(a.reshape(a.shape[0], -1).astype(np.float32, copy=False))
    return np.concatenate(parts, axis=1)


class ActivationExtractor:
    """Context manager that keeps detached CPU copies of the named layers' latest outputs (``activations``)."""

    def __init__(self, adapter: GeneratorAdapter, layers: Sequence[str] | None = None) -> None:
        """``layers`` defaults to the adapter's first two hookable layers, as in the original."""
        self.adapter = adapter
        self.layers = list(layers) if layers else list(adapter.hookable_layers[:2])
        unknown = [n for n in self.layers if n not in adapter.hookable_layers]
        if unknown:
            raise KeyError(f"unknown layers {unknown}; hookable layers: {', '.join(adapter.hookable_layers)}")
        self.activations: dict[str, torch.Tensor] = {}
        self._handles: list = []

    def _make_hook(self, name: str):
        def hook(_module, _inputs, output):
            out = output[0] if isinstance(output, tuple) else output
            self.activations[name] = out.detach().to("cpu", torch.float32).clone()

        return hook

    def register_hooks(self) -> None:
        for name in self.layers:
            self._handles.extend(self.adapter.register_activation_hooks([name], self._make_hook(name)))

    def remove_hooks(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def __enter__(self) -> ActivationExtractor:
        self.register_hooks()
        return self

    def __exit__(self, *exc) -> None:
        self.remove_hooks()

    def get_activations(self) -> dict[str, torch.Tensor]:
        return dict(self.activations)

    def clear(self) -> None:
        self.activations.clear()

    def flatten(self) -> np.ndarray:
        return flatten_activations(self.activations)

    def save(self, output_path: str | Path, metadata: dict[str, Any] | None = None) -> None:
        """``output_path`` .npz with one (B, C*H*W) array per layer, and ``metadata`` as .json beside it."""
        from ..atomic import atomic_path, atomic_write_text

        output_path = Path(output_path)
        arrays = {
            k: v.reshape(v.shape[0], -1).numpy() if v.ndim == 4 else v.numpy() for k, v in self.activations.items()
        }
        with atomic_path(output_path.with_suffix(".npz"), suffix=".npz") as tmp:
            np.savez_compressed(tmp, **arrays)
        if metadata:
            atomic_write_text(output_path.with_suffix(".json"), json.dumps(metadata, indent=2))


def read_npz(path: str | Path, names: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """The named arrays (default: all) of an .npz, never unpickling; problems are a ValueError naming the file."""
    try:
        with np.load(path, allow_pickle=False) as data:
            available = list(data.keys())
            wanted = list(names) if names is not None else available
            missing = [n for n in wanted if n not in available]
            arrays = {} if missing else {n: data[n] for n in wanted}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise ValueError(f"{path}: cannot read: {exc}") from None
    if missing:
        quoted = ", ".join(f"'{n}'" for n in missing)
        raise ValueError(f"{path}: layer {quoted} not found. Available: {available}")
    return arrays


def load_activations(activation_path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """(layer -> array, metadata) from ``activation_path`` .npz and its optional .json, as ``save`` writes them."""
    from ..formats.files import read_json

    activation_path = Path(activation_path)
    activations = read_npz(activation_path.with_suffix(".npz"))
    meta_path = activation_path.with_suffix(".json")
    metadata = read_json(meta_path) if meta_path.exists() else {}
    return activations, metadata


def convert_to_fast_format(
    npz_path: str | Path, output_path: str | Path | None = None, layers: Sequence[str] | None = None
) -> Path:
    """Concatenate an .npz's layers (sorted unless ``layers`` gives the order) into one float32 (N, D) .npy.

    Writes ``<output>.npy`` (default: beside the .npz) and ``<output>.npy.json`` with layers, shapes, total_features
    and num_samples, the original's memory-mappable layout; returns the .npy path.
    """
    from ..atomic import atomic_path, atomic_write_text

    npz_path = Path(npz_path)
    output_path = Path(output_path) if output_path is not None else npz_path.with_suffix(".npy")
    arrays = read_npz(npz_path, list(layers) if layers else None)
    if not layers:
        arrays = {n: arrays[n] for n in sorted(arrays)}
    names = list(arrays)
    rows = {a.shape[0] for a in arrays.values()}
    if len(rows) != 1:
        raise ValueError(f"{npz_path}: layers have different sample counts {sorted(rows)}")
    combined = np.concatenate([a.reshape(a.shape[0], -1) for a in arrays.values()], axis=1).astype(np.float32)
    with atomic_path(output_path, suffix=".npy") as tmp:
        np.save(tmp, combined)
    info = {
        "layers": names,
        "shapes": {n: list(a.shape) for n, a in arrays.items()},
        "total_features": int(combined.shape[1]),
        "num_samples": int(combined.shape[0]),
    }
    atomic_write_text(output_path.with_suffix(".npy.json"), json.dumps(info, indent=2))
    return output_path


def load_fast_activations(npy_path: str | Path, mmap_mode: str | None = "r") -> np.ndarray:
    """The (N, D) matrix of a ``convert_to_fast_format`` file, memory-mapped unless ``mmap_mode`` is None."""
    return np.load(npy_path, mmap_mode=mmap_mode, allow_pickle=False)
