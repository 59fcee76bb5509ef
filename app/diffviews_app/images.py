"""Images as Qt pixmaps: numpy -> QImage without copies on the hot path, a small LRU cache of sample images per
model, and the square (optionally inset) pixmaps the docks show generated steps with."""

from __future__ import annotations

import logging
from collections import OrderedDict

import numpy as np
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QPixmap

log = logging.getLogger(__name__)


def to_qimage(image: np.ndarray) -> QImage:
    """An H x W (x 1/3/4) uint8 array as a QImage that owns its pixels."""
    a = np.asarray(image)
    if a.dtype != np.uint8:
        a = np.clip(a, 0, 255).astype(np.uint8)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    a = np.ascontiguousarray(a)
    h, w = a.shape[:2]
    if a.ndim == 2:
        fmt, stride = QImage.Format.Format_Grayscale8, w
    elif a.shape[2] == 3:
        fmt, stride = QImage.Format.Format_RGB888, 3 * w
    else:
        fmt, stride = QImage.Format.Format_RGBA8888, 4 * w
    return QImage(a.data, w, h, stride, fmt).copy()


def scaled(pixmap: QPixmap, size: int) -> QPixmap:
    """Square thumbnail; small images scale with nearest neighbour so pixels stay crisp."""
    mode = Qt.TransformationMode.FastTransformation
    if max(pixmap.width(), pixmap.height()) > size:
        mode = Qt.TransformationMode.SmoothTransformation
    return pixmap.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio, mode)


def image_pixmap(image: np.ndarray, size: int) -> QPixmap:
    """A square pixmap of ``size``; small images scale with nearest neighbour so pixels stay crisp."""
    pix = QPixmap.fromImage(to_qimage(image))
    return pix.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation)


def inset_pixmap(main: np.ndarray, inset: np.ndarray | None, size: int) -> QPixmap:
    """``main`` at ``size`` with ``inset`` (the noised input) at a third of the size in the bottom-right corner."""
    pix = image_pixmap(main, size)
    if inset is None:
        return pix
    small = image_pixmap(inset, max(8, size // 3))
    painter = QPainter(pix)
    x, y = pix.width() - small.width() - 3, pix.height() - small.height() - 3
    painter.drawPixmap(x, y, small)
    painter.setPen(QPen(QColor("white"), 2))
    painter.drawRect(QRect(x - 1, y - 1, small.width() + 1, small.height() + 1))
    painter.end()
    return pix


class ImageCache:
    """The last ``capacity`` sample images of one model as pixmaps; a missing file gives None, not an error."""

    def __init__(self, capacity: int = 256) -> None:
        self.capacity = capacity
        self._items: OrderedDict[tuple[str, int], QPixmap | None] = OrderedDict()

    def get(self, model, row: int) -> QPixmap | None:
        key = (str(model.path), int(row))
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        try:
            pixmap = QPixmap.fromImage(to_qimage(model.image(int(row))))
        except Exception as exc:  # a missing or corrupt PNG must not break hovering
            log.warning("no image for row %d of %s: %s", row, model.name, exc)
            pixmap = None
        self._items[key] = pixmap
        if len(self._items) > self.capacity:
            self._items.popitem(last=False)
        return pixmap
