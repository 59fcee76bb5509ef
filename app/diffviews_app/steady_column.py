"""A column of widgets laid out by hand that stops a child's new text from laying the whole dock out again.

``QLabel.setText`` invalidates its parent's layout every time (unless the label has a fixed size), so a dock whose
labels change on every hover or click re-ran its layout and its scroll area's on each one: milliseconds per event on
the UI thread. Children of a ``SteadyColumn`` are only moved inside it; the column asks its parent for a new layout
only when its own height for its width, or a minimum width beyond its width, changed.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, QRect, QSize
from PySide6.QtWidgets import QSizePolicy, QWidget


class SteadyColumn(QWidget):
    """``widgets`` stacked top to bottom at the column's width, ``spacing`` pixels apart. ``grow_only``: the column
    keeps the tallest height it has needed at its width, so shorter texts never lay the parent out again (for a column
    above a stretch, where the room below is empty either way)."""

    def __init__(self, widgets: Sequence[QWidget], spacing: int = 6, grow_only: bool = False,
                 parent: QWidget | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        self._grow_only = grow_only  # keep the tallest height seen at this width (for a column over a stretch)
        self._tallest = 0
        self._widgets = list(widgets)
        self._spacing = spacing
        for widget in self._widgets:
            widget.setParent(self)
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self._extent: tuple[int, int] | None = None  # (height, width needed) the parent's layout last saw
        self._heights: dict[int, int] = {}  # width -> height the children need, until one of them changes

    def _shown(self) -> list[QWidget]:
        return [w for w in self._widgets if not w.isHidden()]

    @staticmethod
    def _height(widget: QWidget, width: int) -> int:
        return widget.heightForWidth(width) if widget.hasHeightForWidth() else widget.sizeHint().height()

    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt override)
        return True

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        width = max((w.minimumSizeHint().width() for w in self._shown()), default=0)
        return QSize(width, self.heightForWidth(max(width, self.width())))

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        width = max((w.sizeHint().width() for w in self._shown()), default=0)
        return QSize(width, self.heightForWidth(width))

    def _arrange(self) -> tuple[int, int]:
        """Place the children at the column's width; returns what the column needs now: (height for its width, its
        width or a wider minimum). Each child's height is measured once (a wrapped label lays its text out for it)."""
        width, y, needed = self.width(), 0, 0
        for widget in self._shown():
            height = self._height(widget, width)
            widget.setGeometry(QRect(0, y, width, height))
            y += height + self._spacing
            needed = max(needed, widget.minimumSizeHint().width())
        height = self._heights[width] = max(0, y - self._spacing)
        if self._grow_only:
            self._tallest = height = max(height, self._tallest)
        return height, max(needed, width)

    def heightForWidth(self, width: int) -> int:  # noqa: N802 (Qt override)
        """Measured once per width until a child changes (layouts ask many times; a wrapped label's answer costs)."""
        height = self._heights.get(width)
        if height is None:
            shown = self._shown()
            height = sum(self._height(w, width) for w in shown) + self._spacing * max(0, len(shown) - 1)
            self._heights[width] = height
        return max(height, self._tallest) if width == self.width() else height

    def _settle(self) -> None:
        """Tell the parent's layout only when what the column needs changed."""
        self._heights.clear()
        extent = self._arrange()
        if extent != self._extent:
            self._extent = extent
            self.updateGeometry()

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.LayoutRequest:  # a child's text or size changed
            self._settle()
            return True
        return super().event(event)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self._tallest = 0
        self._extent = self._arrange()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        """Texts set while hidden post nothing: catch up."""
        super().showEvent(event)
        self._settle()
