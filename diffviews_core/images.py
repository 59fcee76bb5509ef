"""Decoding images from data folders and session files: bounded in bytes and pixels, any decoder failure a
DataError naming the file, results always H x W x C uint8 with C = 1 (grayscale) or 3."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from .errors import DataError
from .safe_io import read_regular_bytes

MAX_IMAGE_BYTES = 64 << 20
MAX_PIXELS = 32 << 20
# what the first decode in a process imports (PIL and the plugins its ``preinit`` loads): ~60 ms, which an app can
# spend ahead of its first image
DECODER_MODULES = ("PIL.Image", "PIL.BmpImagePlugin", "PIL.GifImagePlugin", "PIL.JpegImagePlugin",
                   "PIL.PpmImagePlugin", "PIL.PngImagePlugin")  # fmt: skip


def decode_image(data: bytes, source: Path | str) -> np.ndarray:
    """H x W x C uint8 of an encoded image (PNG, JPEG, ...); a corrupt or oversized one is a DataError."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as im:
            width, height = im.size
            if width * height > MAX_PIXELS or not width or not height:
                raise DataError(source, f"image of {width} x {height} pixels (at most {MAX_PIXELS:,} are read)")
            mode = "L" if im.mode in ("L", "I", "I;16", "1") else "RGB"
            arr = np.asarray(im.convert(mode))
    except DataError:
        raise
    except Exception as exc:  # PIL's decoders raise many kinds for corrupt data; the user needs one line
        raise DataError(
            source, f"unreadable image ({type(exc).__name__}: {' '.join(str(exc).split())[:120]})"
        ) from None
    return arr[:, :, None] if arr.ndim == 2 else arr


def read_image(path: Path) -> np.ndarray:
    """H x W x C uint8 of an image file (a regular file of at most MAX_IMAGE_BYTES)."""
    return decode_image(read_regular_bytes(path, MAX_IMAGE_BYTES), path)
