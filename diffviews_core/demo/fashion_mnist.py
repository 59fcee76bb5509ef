"""Fashion-MNIST from its idx files (gzip or plain), read locally: the demo never touches the network."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from ..errors import DataError

CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
DEFAULT_DIR = Path("/usr/share/datasets/fashion-mnist")  # Debian package dataset-fashion-mnist
ENV_DIR = "DIFFVIEWS_FASHION_MNIST"
_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_DTYPES = {0x08: np.uint8}


def dataset_dir(path: str | os.PathLike | None = None) -> Path:
    """The idx folder: an explicit path, else $DIFFVIEWS_FASHION_MNIST, else Debian's install location."""
    return Path(path or os.environ.get(ENV_DIR) or DEFAULT_DIR)


def read_idx(path: Path) -> np.ndarray:
    """Parse one idx file (magic 0x0000 <dtype> <ndim>, big-endian uint32 dims, raw data)."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as exc:
        raise DataError(path, f"cannot read idx file: {exc}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DataError(path, "not an idx file (bad magic number)")
    dtype = _DTYPES.get(raw[2])
    if dtype is None:
        raise DataError(path, f"unsupported idx element type 0x{raw[2]:02x}")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(path, "truncated idx header")
    dims = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    count = int(np.prod(dims)) if dims else 0
    if len(raw) - header != count * np.dtype(dtype).itemsize:
        raise DataError(path, f"idx data size {len(raw) - header} does not match dimensions {dims}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims).copy()


def _find(folder: Path, stem: str) -> Path:
    for name in (stem + ".gz", stem):
        if (folder / name).is_file():
            return folder / name
    raise DataError(folder / (stem + ".gz"), "Fashion-MNIST idx file not found (install dataset-fashion-mnist)")


def load_fashion_mnist(split: str = "train", path: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 28, 28) uint8 and labels (N,) int64 of one split ('train' or 'test')."""
    if split not in _FILES:
        raise ValueError(f"split must be 'train' or 'test', not {split!r}")
    folder = dataset_dir(path)
    img_path, lbl_path = (_find(folder, stem) for stem in _FILES[split])
    images, labels = read_idx(img_path), read_idx(lbl_path)
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DataError(img_path, f"images {images.shape} and labels {labels.shape} do not pair up")
    if labels.max(initial=0) >= len(CLASS_NAMES):
        raise DataError(lbl_path, f"label {labels.max()} out of range 0..9")
    return images, labels.astype(np.int64)


def balanced_subset(labels: np.ndarray, per_class: int, seed: int = 0) -> np.ndarray:
    """Sorted indices of ``per_class`` random examples of every class (reproducible for a seed)."""
    rng = np.random.default_rng(seed)
    picks = [rng.permutation(np.flatnonzero(labels == c))[:per_class] for c in np.unique(labels)]
    return np.sort(np.concatenate(picks))


def to_model_range(images: np.ndarray, resolution: int = 32) -> np.ndarray:
    """uint8 (N, 28, 28) -> float32 (N, 1, R, R) in [-1, 1], zero-padded (black = -1) to the model resolution."""
    n, h, w = images.shape
    if resolution < max(h, w):
        raise ValueError(f"resolution {resolution} is smaller than the images ({h}x{w})")
    out = np.full((n, 1, resolution, resolution), -1.0, dtype=np.float32)
    top, left = (resolution - h) // 2, (resolution - w) // 2
    out[:, 0, top : top + h, left : left + w] = images.astype(np.float32) / 127.5 - 1.0
    return out
