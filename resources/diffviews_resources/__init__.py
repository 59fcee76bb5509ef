"""Data shipped with DiffViews Desktop: the embedded Fashion-MNIST demo (model weights and data directory)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path


@dataclass(frozen=True)
class DemoPaths:
    """Where the shipped demo files are: ``model`` (safetensors; its config is ``model.json`` beside it),
    ``data_dir`` (a data root holding one model folder), ``license`` (the Fashion-MNIST notice) and ``full_images``
    (an .npz of 40 Fashion-MNIST test images per class that the full demo is built from on demand)."""

    root: Path
    model: Path
    model_config: Path
    data_dir: Path
    license: Path
    full_images: Path

    def exists(self) -> bool:
        return self.model.is_file() and self.model_config.is_file() and self.data_dir.is_dir()


def package_dir() -> Path:
    """This package's folder on disk (wheels and editable installs both install it as plain files)."""
    return Path(str(resources.files(__name__)))


def demo_paths() -> DemoPaths:
    """The demo's file locations inside the installed package (they may be absent in a bare checkout)."""
    base = package_dir()
    demo = base / "demo"
    return DemoPaths(
        root=demo,
        model=demo / "model.safetensors",
        model_config=demo / "model.json",
        data_dir=demo / "data",
        license=base / "LICENSE-fashion-mnist.txt",
        full_images=demo / "full_images.npz",
    )
