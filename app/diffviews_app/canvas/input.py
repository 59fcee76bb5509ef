"""The canvas's one mouse handler: hover, clicks and the lasso / box drag, read by a single event filter.

Whatever is under the mouse is asked of the canvas (``pick_target``, which asks its layers in z-order), so a
hover or a click reports exactly one ``Target`` however many layers are drawn. A selecting drag (Shift+drag, or any
drag while ``drag_selects``: the lasso and box tools) never reaches the camera.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPointF, Qt, QTimer

from ..targets import NOTHING, Target
from .lasso import box_polygon

HOVER_INTERVAL_MS = 16  # at most one pick per frame while the mouse moves (the first move of a burst picks at once)
CLICK_SLOP_PX = 4.0  # a press and release closer than this is a click, not a drag


class CanvasInput(QObject):
    """Turns the native widget's mouse events into the canvas's ``hovered``, ``clicked`` and ``lasso_selected``."""

    def __init__(self, canvas) -> None:
        super().__init__(canvas)
        self.canvas = canvas
        self.lasso_mode = "lasso"  # or "box"
        self.drag_selects = False  # True: a plain drag draws the lasso/box (else only Shift+drag does)
        self._hover_timer = QTimer(self, singleShot=True, interval=HOVER_INTERVAL_MS)
        self._hover_timer.timeout.connect(self._hover_timeout)
        self._hover_pos: QPointF | None = None
        self._hover_pending = False  # the mouse moved since the last pick
        self._last_hover: Target = NOTHING
        self._press_pos: QPointF | None = None
        self._lasso_path: list[tuple[float, float]] | None = None
        canvas.native.setMouseTracking(True)
        canvas.native.installEventFilter(self)

    def stop(self) -> None:
        self._hover_timer.stop()

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt override)
        t = event.type()
        if t == QEvent.Type.MouseMove:
            return self._mouse_move(event)
        if t == QEvent.Type.MouseButtonPress and event.button() == Qt.MouseButton.LeftButton:
            return self._mouse_press(event)
        if t == QEvent.Type.MouseButtonRelease and event.button() == Qt.MouseButton.LeftButton:
            return self._mouse_release(event)
        if t == QEvent.Type.Leave:
            self._hover_pos = None
            self._hover_pending = False
            self._hover_timer.stop()
            self._set_hover(NOTHING)
        return False

    def _mouse_move(self, event) -> bool:
        pos = event.position()
        if self._lasso_path is not None:
            self._lasso_path.append((pos.x(), pos.y()))
            self.canvas.set_lasso_path(self._polygon(self._lasso_path))
            return True
        if event.buttons() == Qt.MouseButton.NoButton:
            self._hover_pos = pos
            if not self._hover_timer.isActive():  # the first move picks at once; later ones wait for the timer
                self._emit_hover()
                self._hover_timer.start()
            else:
                self._hover_pending = True
        return False

    def _mouse_press(self, event) -> bool:
        self._press_pos = event.position()
        if self.drag_selects or event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self._lasso_path = [(self._press_pos.x(), self._press_pos.y())]
            return True  # the camera never sees a selecting drag
        return False

    def _mouse_release(self, event) -> bool:
        pos, press = event.position(), self._press_pos
        self._press_pos = None
        lasso, self._lasso_path = self._lasso_path, None
        if lasso is not None:
            lasso.append((pos.x(), pos.y()))
            self.canvas.set_lasso_path(None)
            if np.ptp(np.asarray(lasso), axis=0).max() > CLICK_SLOP_PX:
                rows = self.canvas.rows_in_polygon(self._polygon(lasso))
                self.canvas.lasso_selected.emit(rows, event.modifiers())
                return True
        if press is not None and (pos - press).manhattanLength() <= CLICK_SLOP_PX:
            self.canvas.clicked.emit(self.canvas.pick_target(pos.x(), pos.y()), event.modifiers())
        return lasso is not None

    def _polygon(self, path: list[tuple[float, float]]) -> np.ndarray:
        if self.lasso_mode == "box":
            return box_polygon(path[0], path[-1])
        return np.asarray(path, dtype=np.float64)

    def _hover_timeout(self) -> None:
        if self._hover_pending:
            self._emit_hover()
            self._hover_timer.start()

    def _emit_hover(self) -> None:
        self._hover_pending = False
        if self._hover_pos is not None:
            self._set_hover(self.canvas.pick_target(self._hover_pos.x(), self._hover_pos.y()))

    def forget_hover(self) -> None:
        """New points under the mouse: the next move reports what it is on, even the same row as before."""
        self._last_hover = NOTHING

    def _set_hover(self, target: Target) -> None:
        if target != self._last_hover:
            self._last_hover = target
            self.canvas.hovered.emit(target)
