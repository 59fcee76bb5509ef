"""Small visuals drawn over the main buffer: hover, selection, neighbour and highlight rings, extra points.

Each is its own visual holding only its few points, so changing one never touches the N-point buffer. They ignore
depth so rings stay visible through a 3D cloud.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from vispy.scene.visuals import Markers

from .ring_visual import RingsNode

TRANSPARENT = (0.0, 0.0, 0.0, 0.0)


class _Markers(Markers):
    """Markers that report no bounds while empty (vispy's own raise, and cameras ask on first attach)."""

    def _compute_bounds(self, axis, view):
        return None if self._data is None else super()._compute_bounds(axis, view)


def _markers(parent, order: int) -> Markers:
    m = _Markers(parent=parent, scaling="fixed")
    m.order = order
    m.set_gl_state("translucent", depth_test=False)
    m.visible = False
    return m


class Rings:
    """Hollow rings around some rows of the main point buffer, each over a halo (white on a light map) so it reads on
    any colour: one ``RingsVisual``, drawn in one pass.

    Its visual is made on first use (the canvas's warm-up, or showing rings): each vispy visual costs ~15 ms of
    Python, and a canvas has several to make before its first frame otherwise."""

    def __init__(self, parent, color: Sequence[float], extra_size: float, width: float, order: int) -> None:
        self._parent, self._order = parent, order
        self._visual: RingsNode | None = None
        self.color = tuple(color)
        self.halo_rgb = (1.0, 1.0, 1.0)
        self.extra_size = float(extra_size)
        self.width = float(width)
        self.rows = np.zeros(0, dtype=np.int64)

    @property
    def visual(self) -> RingsNode:
        """The visual (made now, hidden, if it is not made yet)."""
        if self._visual is None:
            self._visual = RingsNode(parent=self._parent)
            self._visual.order = 2 * self._order + 1  # between the layers' orders, as its halo and ring were
            self._visual.visible = False
        return self._visual

    def set_color(self, color: Sequence[float], halo_rgb: Sequence[float] = (1.0, 1.0, 1.0)) -> None:
        """Ring and halo colours (the next ``refresh`` draws them)."""
        self.color, self.halo_rgb = tuple(color), tuple(halo_rgb)

    def set_rows(self, rows, positions: np.ndarray, point_size: float) -> None:
        """Show rings at ``rows`` (None or empty hides them); rows outside the buffer are ignored."""
        self.rows = np.zeros(0, dtype=np.int64) if rows is None else np.atleast_1d(np.asarray(rows, dtype=np.int64))
        self.refresh(positions, point_size)

    def warm_up(self, position: np.ndarray) -> bool:
        """Show one ring of no size and no colour at ``position`` until ``end_warm_up``: the frame that draws it
        makes vispy build the rings' GL program, which their first real use paid. False when rings are shown
        (drawn already)."""
        if self.visual.visible:
            return False
        self.visual.show_at(np.asarray(position, dtype=np.float32).reshape(1, -1), 0.0, 0.0, TRANSPARENT, TRANSPARENT)
        self.visual.visible = True
        return True

    def end_warm_up(self) -> None:
        """Hide the warm-up ring (unless rows were shown meanwhile: they replaced it)."""
        if not len(self.rows):
            self.visual.visible = False

    def refresh(self, positions: np.ndarray, point_size: float) -> None:
        rows = self.rows[(self.rows >= 0) & (self.rows < len(positions))]
        visible = len(rows) > 0
        if not visible and self._visual is None:
            return  # nothing to hide
        self.visual.visible = visible
        if not visible:
            return
        halo = (*self.halo_rgb, 0.85 * self.color[3])
        self.visual.show_at(positions[rows], point_size + self.extra_size, self.width, self.color, halo)


class SpareOverlay:
    """A Markers visual for overlays, made and drawn once with nothing to see before the first overlay needs it (a
    canvas ``WarmUp``), then left in ``spares`` for ``add_overlay_points`` to reuse: making one costs ~15 ms of
    Python and its first frame builds its GL program (~20-50 ms on software GL), which the frame that showed a
    generation's first images paid (its images and the selected ones are two overlays)."""

    def __init__(self, parent, spares: list) -> None:
        self._parent, self._spares = parent, spares
        self._visual: Markers | None = None

    def warm_up(self, position: np.ndarray) -> bool:
        if self._visual is not None:
            return False
        self._visual = _markers(self._parent, order=10)
        self._visual.set_data(np.asarray(position, dtype=np.float32).reshape(1, -1), size=0.0, edge_width=0.0,
                              face_color=TRANSPARENT, edge_color=TRANSPARENT)  # fmt: skip
        self._visual.visible = True
        return True

    def end_warm_up(self) -> None:
        self._visual.visible = False
        self._spares.append(self._visual)


class OverlayPoints:
    """Extra points not in the main buffer (generated samples): filled symbols with a thin white edge; ``targets``
    (one per point, or None) are what pointing at a point reports. ``visual``: a Markers of an overlay removed
    earlier, drawn again (a new one builds its shaders on its first frame: ~50-90 ms on software GL)."""

    def __init__(self, parent, coords: np.ndarray, rgba, symbol: str, size: float, order: int,
                 targets: Sequence | None = None, visual: Markers | None = None) -> None:  # fmt: skip
        coords = np.asarray(coords, dtype=np.float32)
        if coords.ndim != 2 or coords.shape[1] not in (2, 3):
            raise ValueError(f"overlay coordinates must be (M, 2) or (M, 3), got {coords.shape}")
        if targets is not None and len(targets) != len(coords):
            raise ValueError(f"{len(targets)} targets for {len(coords)} overlay points")
        self.coords = coords
        self.targets = list(targets) if targets is not None else None
        self.size = float(size)
        if visual is None:
            visual = _markers(parent, order)
        visual.order = order
        self.visual = visual
        self.style = {"size": size, "edge_width": 1.0, "face_color": rgba, "edge_color": "white", "symbol": symbol}

    def place(self, positions: np.ndarray) -> None:
        """Draw at ``positions``: the overlay's coordinates as the current mode draws them."""
        if len(positions):
            self.visual.set_data(positions, **self.style)
        self.visual.visible = bool(len(positions))
