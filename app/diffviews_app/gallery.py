"""Thumbnail galleries as Qt model/view: a list model that makes each thumbnail only when the view paints it, and an
icon-mode view whose captions are elided to the cell (the full text is the tooltip).

Thousands of items stay cheap: the model holds keys and captions, the pixmaps come from a provider on demand and are
kept in a small LRU cache; the view lays out uniform cells and scrolls.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, QSize, Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QListView, QStyledItemDelegate, QStyleOptionViewItem, QWidget

KeyRole = Qt.ItemDataRole.UserRole  # the item's key (a sample row, a step index, ...)
PIXMAP_CACHE = 512
SINGLE_PASS_MAX = 5000  # items laid out in one pass (about 60 ms at 5,000 on a loaded two-core machine)
LINE_SEPARATOR = "\u2028"

Thumbnail = Callable[[Hashable], "QPixmap | None"]


class ThumbnailModel(QAbstractListModel):
    """Items ``(key, caption, tooltip)``; ``thumbnail(key)`` gives the pixmap when an item is first painted."""

    def __init__(self, thumbnail: Thumbnail, size: int, parent=None) -> None:
        super().__init__(parent)
        self._thumbnail = thumbnail
        self.size = size
        self._keys: list[Hashable] = []
        self._captions: list[str] = []
        self._tips: list[str] = []
        self._pixmaps: OrderedDict[Hashable, QPixmap] = OrderedDict()
        self._blank = QPixmap(size, size)
        self._blank.fill(Qt.GlobalColor.transparent)

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802, B008 (Qt override)
        return 0 if parent.isValid() else len(self._keys)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._keys):
            return None
        i = index.row()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._captions[i]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tips[i] or self._captions[i].replace("\n", "  ")
        if role == Qt.ItemDataRole.DecorationRole:
            return self.pixmap(self._keys[i])
        if role == KeyRole:
            return self._keys[i]
        return None

    def pixmap(self, key: Hashable) -> QPixmap:
        """The thumbnail of ``key``, made on first use and kept while recently used."""
        if key in self._pixmaps:
            self._pixmaps.move_to_end(key)
            return self._pixmaps[key]
        pix = self._thumbnail(key)
        if pix is None or pix.isNull():
            pix = self._blank
        elif max(pix.width(), pix.height()) != self.size:
            big = max(pix.width(), pix.height()) > self.size
            mode = Qt.TransformationMode.SmoothTransformation if big else Qt.TransformationMode.FastTransformation
            pix = pix.scaled(self.size, self.size, Qt.AspectRatioMode.KeepAspectRatio, mode)
        self._pixmaps[key] = pix
        if len(self._pixmaps) > PIXMAP_CACHE:
            self._pixmaps.popitem(last=False)
        return pix

    def made_pixmaps(self) -> int:
        """How many thumbnails exist now (lazy: only those painted or asked for)."""
        return len(self._pixmaps)

    def set_items(self, keys: Sequence[Hashable], captions: Sequence[str], tips: Sequence[str] | None = None) -> None:
        """Replace every item (thumbnails of keys still present are kept); the same items again change nothing (a
        reset would lay the view out again)."""
        keys, captions = list(keys), list(captions)
        tips = list(tips) if tips is not None else [""] * len(keys)
        if (keys, captions, tips) == (self._keys, self._captions, self._tips):
            return
        self.beginResetModel()
        self._keys, self._captions, self._tips = keys, captions, tips
        keep = set(self._keys)
        for key in [k for k in self._pixmaps if k not in keep]:
            del self._pixmaps[key]
        self.endResetModel()

    def append(self, key: Hashable, caption: str, tip: str = "") -> None:
        n = len(self._keys)
        self.beginInsertRows(QModelIndex(), n, n)
        self._keys.append(key)
        self._captions.append(caption)
        self._tips.append(tip)
        self.endInsertRows()

    def clear(self) -> None:
        self.set_items([], [])

    def invalidate(self) -> None:
        """Forget every thumbnail (their images changed)."""
        self._pixmaps.clear()
        if self._keys:
            self.dataChanged.emit(self.index(0), self.index(len(self._keys) - 1), [Qt.ItemDataRole.DecorationRole])

    def keys(self) -> list[Hashable]:
        return list(self._keys)

    def captions(self) -> list[str]:
        return list(self._captions)

    def tooltips(self) -> list[str]:
        return [self.data(self.index(i), Qt.ItemDataRole.ToolTipRole) for i in range(len(self._keys))]


class ElidingDelegate(QStyledItemDelegate):
    """Draws each caption line elided to the cell's width, so no line is cut mid-glyph or wraps into the next."""

    def initStyleOption(self, option: QStyleOptionViewItem, index) -> None:  # noqa: N802 (Qt override)
        super().initStyleOption(option, index)
        width = max(8, option.rect.width() - 6)
        metrics = option.fontMetrics
        lines = option.text.replace(LINE_SEPARATOR, "\n").split("\n")  # Qt turns "\n" into U+2028
        option.text = LINE_SEPARATOR.join(
            metrics.elidedText(line, Qt.TextElideMode.ElideRight, width) for line in lines
        )


class GalleryView(QListView):
    """An icon-mode grid (``rows=None``: wraps and scrolls vertically) or a single row (``rows=1``: scrolls
    horizontally), uniform cells of ``thumb`` px with ``lines`` caption lines under each."""

    def __init__(self, model: ThumbnailModel, lines: int = 2, single_row: bool = False,
                 parent: QWidget | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        thumb = model.size
        self.setModel(model)
        self.setItemDelegate(ElidingDelegate(self))
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setIconSize(QSize(thumb, thumb))
        line_height = self.fontMetrics().lineSpacing()
        self.setGridSize(QSize(thumb + 28, thumb + 12 + lines * line_height))
        self.setMovement(QListView.Movement.Static)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setUniformItemSizes(True)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setVerticalScrollMode(QListView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollMode(QListView.ScrollMode.ScrollPerPixel)
        self._choose_layout()
        model.modelReset.connect(self._choose_layout)
        model.rowsInserted.connect(self._choose_layout)
        if single_row:
            self.setFlow(QListView.Flow.LeftToRight)
            self.setWrapping(False)
            bar = self.horizontalScrollBar().sizeHint().height()
            self.setFixedHeight(self.gridSize().height() + bar + 2 * self.frameWidth() + 4)
        else:
            self.setMinimumHeight(self.gridSize().height() + 2 * self.frameWidth())

    def _choose_layout(self, *_args) -> None:
        """One pass for up to ``SINGLE_PASS_MAX`` items (laid out at once, so ``scrollTo`` works at once); in
        batches above, so tens of thousands never block the window."""
        many = self.model().rowCount() > SINGLE_PASS_MAX
        mode = QListView.LayoutMode.Batched if many else QListView.LayoutMode.SinglePass
        if self.layoutMode() != mode:
            self.setLayoutMode(mode)
            self.setBatchSize(500)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        """Cells reflow with the width; the current item (the step shown) stays in view."""
        super().resizeEvent(event)
        if self.currentIndex().isValid():
            self.scrollTo(self.currentIndex())

    def gallery_model(self) -> ThumbnailModel:
        return self.model()

    def visible_rows(self) -> list[int]:
        """Rows whose cell is inside the viewport now (what a user sees)."""
        area = self.viewport().rect()
        model = self.model()
        return [r for r in range(model.rowCount()) if self.visualRect(model.index(r)).intersects(area)]

    def key_at(self, index: QModelIndex) -> Hashable:
        return self.model().data(index, KeyRole)
