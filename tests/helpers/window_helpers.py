"""Helpers for tests that drive the real window: wait for the map, find a point's screen position."""

from __future__ import annotations

import numpy as np


def wait_drawn(qtbot, window) -> None:
    """Until the canvas holds the state's points, its picking index is ready, a frame with them was drawn and the
    search the controller prepares once the map is drawn is ready (its job no longer runs)."""
    n = window.state.num_points
    qtbot.waitUntil(lambda: window.canvas.point_count == n and window.canvas.index_ready, timeout=10000)
    frames: list[object] = []
    draw = window.canvas.scene_canvas.events.draw
    draw.connect(frames.append)
    try:
        window.canvas.scene_canvas.update()
        qtbot.waitUntil(lambda: bool(frames), timeout=10000)
    finally:
        draw.disconnect(frames.append)
    preparing = lambda: any(j.name == "Preparing search" for j in window.pool.running())  # noqa: E731
    qtbot.waitUntil(lambda: window.state.searcher is not None and not preparing(), timeout=10000)


def screen_pos(window, row: int):
    """Widget position (QPoint) of a row's point on the canvas."""
    from PySide6.QtCore import QPoint

    x, y = window.canvas.data_to_screen(window.state.coords()[row])[0]
    return QPoint(int(round(x)), int(round(y)))


def isolated_rows(window, count: int, min_px: float = 14.0) -> list[int]:
    """Rows whose points are at least ``min_px`` from every other point on screen (unambiguous to point at)."""
    xy = window.canvas.data_to_screen(window.state.coords())
    w, h = window.canvas.native.width(), window.canvas.native.height()
    d = np.linalg.norm(xy[:, None, :] - xy[None, :, :], axis=2)
    np.fill_diagonal(d, np.inf)
    inside = (xy[:, 0] > 20) & (xy[:, 0] < w - 20) & (xy[:, 1] > 20) & (xy[:, 1] < h - 20)
    rows = [int(r) for r in np.flatnonzero((d.min(axis=1) >= min_px) & inside)]
    assert len(rows) >= count, f"only {len(rows)} isolated points on screen"
    return rows[:count]
