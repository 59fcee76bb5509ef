"""Fit the window to the screen it opens on: docks scroll instead of forcing a minimum window size, and each screen
size gets a default dock layout that keeps at least half the width (and most of the height) for the map.

Sizes are in logical pixels, so a 2880 x 1800 screen at scale 2 is laid out as 1440 x 900.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtWidgets import QDockWidget, QFrame, QMainWindow, QScrollArea, QTabBar

WIDE = QSize(1600, 1000)  # at least this big: every dock side by side; smaller screens tab the docks
SHORT_HEIGHT = 800  # below this the trajectory plot and the steps gallery share one tabbed strip
LEFT_SHARE, RIGHT_SHARE, BOTTOM_SHARE = 0.2, 0.24, 0.24  # of the window's width / height
MIN_SIDE_WIDTH = 220
MIN_BOTTOM_HEIGHT = 150

LEFT = Qt.DockWidgetArea.LeftDockWidgetArea
RIGHT = Qt.DockWidgetArea.RightDockWidgetArea
BOTTOM = Qt.DockWidgetArea.BottomDockWidgetArea


@dataclass
class DockSet:
    """The window's docks by place: left column (model & view, preview, classes), right column (neighbours,
    generation), bottom strip (trajectories, steps)."""

    left: list[QDockWidget]
    right: list[QDockWidget]
    bottom: list[QDockWidget]

    def all(self) -> list[QDockWidget]:
        return [*self.left, *self.right, *self.bottom]


def make_scrollable(dock: QDockWidget) -> None:
    """Put the dock's contents in a scroll area, so a tall form or a long label scrolls inside the dock instead of
    raising the window's minimum size past the screen."""
    inner = dock.widget()
    if inner is None or isinstance(inner, QScrollArea):
        return
    area = QScrollArea()
    area.setObjectName(f"{dock.objectName()}Scroll")
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
    area.setWidget(inner)
    dock.setWidget(area)


def is_wide(available: QSize) -> bool:
    return available.width() >= WIDE.width() and available.height() >= WIDE.height()


def window_size(available: QSize) -> QSize:
    """The default window size on a screen with ``available`` room: 1440 x 900 where it fits, else the screen."""
    return QSize(min(1440, available.width()), min(900, available.height()))


def apply_default_layout(window: QMainWindow, docks: DockSet, size: QSize) -> None:
    """Place every dock for a window of ``size``: side by side on wide screens; on smaller ones the left and right
    docks are tabbed (all still one click away in the View menu) and, on short screens, the bottom pair too."""
    window.setCorner(Qt.Corner.BottomLeftCorner, LEFT)  # side columns run the full height; the bottom strip sits
    window.setCorner(Qt.Corner.BottomRightCorner, RIGHT)  # under the map only
    for dock in docks.all():
        dock.setFloating(False)
        dock.show()
    for area, group in ((LEFT, docks.left), (RIGHT, docks.right), (BOTTOM, docks.bottom)):
        for dock in group:
            window.addDockWidget(area, dock)
    if is_wide(size):
        window.splitDockWidget(docks.bottom[0], docks.bottom[1], Qt.Orientation.Horizontal)
    else:
        left_first, left_tab, *_below = docks.left  # model & view tabbed with classes, preview below them
        window.tabifyDockWidget(left_first, left_tab)
        left_first.raise_()
        right_first, *right_rest = docks.right
        for dock in right_rest:
            window.tabifyDockWidget(right_first, dock)
        right_first.raise_()
        if size.height() < SHORT_HEIGHT:
            window.tabifyDockWidget(docks.bottom[0], docks.bottom[1])
            docks.bottom[1].raise_()
        else:
            window.splitDockWidget(docks.bottom[0], docks.bottom[1], Qt.Orientation.Horizontal)
    hide_stale_tab_bars(window)
    size_docks(window, docks, size)


def hide_stale_tab_bars(window: QMainWindow) -> None:
    """Hide the stray copies of the dock areas' tab bars. Qt 6 leaves a second tabbing in a hidden window (and a
    restored state) with an older copy of a group's tab bar shown where the group was first placed: over another
    dock once the window is resized or maximised. The layout moves and uses the newest bar of each group."""
    newest: dict[tuple[str, ...], QTabBar] = {}
    for bar in window.findChildren(QTabBar, options=Qt.FindChildOption.FindDirectChildrenOnly):  # creation order
        tabs = tuple(bar.tabText(i) for i in range(bar.count()))
        if tabs in newest:
            newest[tabs].hide()
        newest[tabs] = bar


def size_docks(window: QMainWindow, docks: DockSet, size: QSize) -> None:
    """Side columns and bottom strip at their shares of a window of ``size`` (call again once a resize landed)."""
    side = [max(MIN_SIDE_WIDTH, int(size.width() * share)) for share in (LEFT_SHARE, RIGHT_SHARE)]
    window.resizeDocks([docks.left[0], docks.right[0]], side, Qt.Orientation.Horizontal)
    bottom = max(MIN_BOTTOM_HEIGHT, int(size.height() * BOTTOM_SHARE))
    window.resizeDocks([docks.bottom[0]], [bottom], Qt.Orientation.Vertical)


def fit_geometry(geometry: QRect, available: QRect) -> QRect:
    """``geometry`` moved and shrunk to lie inside ``available`` (a restored window from a bigger screen)."""
    width = min(geometry.width(), available.width())
    height = min(geometry.height(), available.height())
    x = min(max(geometry.x(), available.x()), available.right() + 1 - width)
    y = min(max(geometry.y(), available.y()), available.bottom() + 1 - height)
    return QRect(x, y, width, height)
