"""PNG output for generated images: byte-reproducible (no timestamps or text chunks) and written atomically."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from ..atomic import atomic_write_bytes


def encode_png(image: np.ndarray) -> bytes:
    """H x W x C (C = 1 or 3) or H x W uint8 -> PNG bytes; the same pixels always give the same bytes."""
    from PIL import Image

    array = np.ascontiguousarray(image, dtype=np.uint8)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG", optimize=False, compress_level=9)
    return buf.getvalue()


def write_png(path: Path, image: np.ndarray) -> None:
    """Write one image as PNG, atomically."""
    atomic_write_bytes(Path(path), encode_png(image))


def image_grid(images: np.ndarray, cols: int, pad: int = 2, fill: int = 255) -> np.ndarray:
    """N x H x W x C uint8 -> one image with ``cols`` per row, ``pad`` pixels of ``fill`` between and around."""
    n, h, w, c = images.shape
    rows = -(-n // cols)
    grid = np.full((pad + rows * (h + pad), pad + cols * (w + pad), c), fill, dtype=np.uint8)
    for i, img in enumerate(images):
        r, k = divmod(i, cols)
        top, left = pad + r * (h + pad), pad + k * (w + pad)
        grid[top : top + h, left : left + w] = img
    return grid


def upscale(image: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour enlargement by an integer factor, so tiny images stay crisp in documents."""
    return image.repeat(factor, axis=0).repeat(factor, axis=1) if factor > 1 else image
