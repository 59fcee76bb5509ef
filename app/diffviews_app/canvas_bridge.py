"""Wires the explorer state to the point-cloud canvas, both ways, uploading only what changed.

State -> canvas: coordinates once per model/layer/mode, colours once per colouring, and the small hover, selection,
neighbour and highlight visuals on their own. Canvas -> state: the hovered and clicked ``Target`` (whatever layer it
is on: Ctrl+click on a sample selects anew) and the lasso or box, which makes a selection set (Shift adds to it). Its sibling for generation is ``TrajectoryBridge``.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Qt

from .colors import point_colors
from .state import ExplorerState
from .targets import Target


class CanvasBridge(QObject):
    """The only object that talks to both the state and the canvas."""

    def __init__(self, state: ExplorerState, canvas, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.canvas = canvas
        self._rgba: np.ndarray | None = None
        self.dark = False  # the map's theme: point colours are lifted on a dark background
        state.model_changed.connect(self._on_model)
        state.embedding_changed.connect(lambda: self._upload_points(fit=True))  # another layer: fit its map
        state.mode_changed.connect(self._on_mode)
        state.color_by_changed.connect(lambda _c: self._upload_colors())
        state.hovered_changed.connect(lambda row: canvas.set_hover(row if row >= 0 else None))
        state.selection_changed.connect(self._ring_selection)
        state.tool_changed.connect(canvas.set_selection_tool)
        state.neighbours_changed.connect(lambda: canvas.set_neighbours(state.neighbour_rows()))
        state.highlight_changed.connect(lambda: canvas.set_highlight(state.highlight_rows()))
        canvas.hovered.connect(state.set_hover)
        canvas.clicked.connect(self._on_click)
        canvas.lasso_selected.connect(self._on_region)
        canvas.set_selection_tool(state.tool)

    def _on_model(self) -> None:
        self._rgba = None
        self.canvas.set_mode(self.state.mode)
        self._upload_points()
        self.canvas.reset_view()

    def _on_mode(self, mode: str) -> None:
        self.canvas.set_mode(mode)
        self._upload_points()

    def _upload_points(self, fit: bool | None = None) -> None:
        coords = self.state.coords()
        if coords is None:  # a model without a map yet (one is being fitted): nothing to draw
            self.canvas.set_points(np.zeros((0, 3 if self.state.mode == "3d" else 2), dtype=np.float32))
            return
        self.canvas.set_points(np.ascontiguousarray(coords, dtype=np.float32), fit=fit)
        self._upload_colors(recompute=False)
        self._refresh_rings()

    def _refresh_rings(self) -> None:
        s = self.state
        self.canvas.set_hover(s.hovered if s.hovered >= 0 else None)
        self._ring_selection()
        self.canvas.set_neighbours(s.neighbour_rows())
        self.canvas.set_highlight(s.highlight_rows())

    def _ring_selection(self) -> None:
        self.canvas.set_selection_rows(self.state.selection_rows(), is_set=bool(self.state.selection_set))

    def _upload_colors(self, recompute: bool = True) -> None:
        model = self.state.model
        if model is None or self.state.coords() is None:
            return
        if recompute or self._rgba is None:
            self._rgba = point_colors(model.samples.columns, self.state.color_by, model.num_samples, self.dark)
        self.canvas.set_colors(self._rgba)

    def set_dark(self, dark: bool) -> None:
        """Colour the points for a dark (or light) map background."""
        if dark != self.dark:
            self.dark = dark
            self._upload_colors()

    def _on_region(self, rows, modifiers) -> None:
        """A lasso or box: a new selection set, or (Shift, or Shift+drag with the point tool) added to the selection."""
        shift = modifiers is not None and bool(modifiers & Qt.KeyboardModifier.ShiftModifier)
        self.state.select_set(np.asarray(rows, dtype=np.int64).tolist(), add=shift)

    def _on_click(self, target: Target, modifiers) -> None:
        replace = modifiers is not None and bool(modifiers & Qt.KeyboardModifier.ControlModifier)
        add = modifiers is not None and bool(modifiers & Qt.KeyboardModifier.ShiftModifier)
        self.state.click_target(target, replace=replace, add=add)
