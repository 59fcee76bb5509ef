"""The map's selection tools as actions: point (S), lasso (L) and box (B), one checked at a time, in the Selection
menu and on a small toolbar; they write ``ExplorerState.tool`` and follow it, so any other writer is shown too."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu, QToolBar

from .state import SELECTION_TOOLS, ExplorerState

TOOLS = {  # tool -> (label, shortcut, what it does)
    "point": ("&Point", "S", "click selects a sample, further clicks add or remove neighbours; Shift+drag lassos"),
    "lasso": ("&Lasso", "L", "drag a free-hand outline: the points inside become the selection set (Shift adds)"),
    "box": ("&Box", "B", "drag a rectangle: the points inside become the selection set (Shift adds)"),
}


class SelectionTools(QActionGroup):
    """Exclusive, checkable actions for the selection tools; ``actions_by_tool`` for menus, toolbars and tests."""

    def __init__(self, state: ExplorerState, window: QMainWindow) -> None:
        super().__init__(window)
        self.state = state
        self.actions_by_tool: dict[str, QAction] = {}
        for tool in SELECTION_TOOLS:
            label, key, tip = TOOLS[tool]
            action = QAction(f"{label} tool", window, checkable=True)
            action.setShortcut(QKeySequence(key))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.setToolTip(f"{label.replace('&', '')} ({key}): {tip}")
            action.setStatusTip(tip)
            action.triggered.connect(lambda _c=False, t=tool: state.set_tool(t))
            self.addAction(action)
            self.actions_by_tool[tool] = action
        state.tool_changed.connect(self._follow)
        self._follow(state.tool)

    def _follow(self, tool: str) -> None:
        self.actions_by_tool[tool].setChecked(True)

    def add_to(self, menu: QMenu, window: QMainWindow) -> QToolBar:
        """List the tools at the top of ``menu`` and on a toolbar above the map."""
        first = menu.actions()[0] if menu.actions() else None
        for action in self.actions():
            menu.insertAction(first, action)
        menu.insertSeparator(first)
        bar = QToolBar("Selection tools", window)
        bar.setObjectName("SelectionToolsBar")
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        for action in self.actions():
            bar.addAction(action)
        window.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        return bar
