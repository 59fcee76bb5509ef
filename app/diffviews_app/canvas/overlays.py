"""Small marker visuals drawn over the main buffer: hover, selection, neighbour and highlight rings, extra points.

Each is its own vispy Markers holding only its few points, so changing one never touches the N-point buffer. They
ignore depth so rings stay visible through a 3D cloud.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from vispy.scene.visuals import Markers

TRANSPARENT = (0.0, 0.0, 0.0, 0.0)


class _Markers(Markers):
    """Markers that report no bounds while empty (vispy's own raise, and cameras ask on first attach)."""

    def _compute_bounds(self, axis, view):
        return None if self._data is None else super()._compute_bounds(axis, view)


def _markers(parent, order: int, kind: type[Markers] = _Markers) -> Markers:
    m = kind(parent=parent, scaling="fixed")
    m.order = order
    m.set_gl_state("translucent", depth_test=False)
    m.visible = False
    return m


class _RingMarkers(_Markers):
    """Hollow markers of one style whose buffer keeps spare, invisible slots (no size, no colour): showing them at
    other rows, or at a few more or fewer, is one upload of the buffer, not ``set_data``'s rebuild and re-binding of
    every attribute. ``_data`` holds the shown markers only."""

    MIN_SLOTS = 8

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.unfreeze()  # vispy visuals refuse new attributes unless asked
        self._slots: np.ndarray | None = None  # the whole buffer: shown markers first, then spare ones
        self._style: tuple | None = None
        self.freeze()

    def show_at(self, pos: np.ndarray, size: float, edge_width: float, edge_rgba: tuple) -> None:
        """Rings of ``size`` and ``edge_width`` pixels in ``edge_rgba`` at ``pos`` ((M, 3), M >= 1)."""
        n, style = len(pos), (size, edge_width, edge_rgba)
        slots = self._slots
        roomy = slots is not None and n <= len(slots) and (len(slots) <= self.MIN_SLOTS or 4 * n >= len(slots))
        if not roomy or style != self._style:  # a new style, too few slots, or far too many: a new buffer
            count = max(self.MIN_SLOTS, 1 << (n - 1).bit_length())
            self.set_data(np.repeat(pos[:1], count, axis=0), size=size, edge_width=edge_width,
                          face_color=TRANSPARENT, edge_color=edge_rgba)  # fmt: skip
            slots, self._slots, self._style = self._data, self._data, style
        slots["a_position"][:n] = pos
        slots["a_position"][n:] = pos[0]
        slots["a_size"][:n], slots["a_size"][n:] = size, 0.0
        slots["a_edgewidth"][:n], slots["a_edgewidth"][n:] = edge_width, 0.0
        slots["a_fg_color"][:n], slots["a_fg_color"][n:] = edge_rgba, 0.0
        self._data = slots[:n]
        self._vbo.set_data(slots)
        self._bounds_changed()
        self.events.data_updated()
        self.update()


class Rings:
    """Hollow rings around some rows of the main point buffer, each over a white halo so it reads on any colour.

    Its two visuals are made on first use (the canvas's warm-up, or showing rings): each vispy visual costs ~15 ms
    of Python, and a canvas has ten of them to make before its first frame otherwise."""

    def __init__(self, parent, color: Sequence[float], extra_size: float, width: float, order: int) -> None:
        self._parent, self._order = parent, order
        self._halo: _RingMarkers | None = None
        self._visual: _RingMarkers | None = None
        self.color = tuple(color)
        self.halo_rgb = (1.0, 1.0, 1.0)
        self.extra_size = float(extra_size)
        self.width = float(width)
        self.rows = np.zeros(0, dtype=np.int64)

    @property
    def halo(self) -> _RingMarkers:
        self._make()
        return self._halo

    @property
    def visual(self) -> _RingMarkers:
        self._make()
        return self._visual

    def _make(self) -> None:
        """Make the visuals now (hidden) if they are not made yet."""
        if self._visual is None:
            self._halo = _markers(self._parent, 2 * self._order, _RingMarkers)
            self._visual = _markers(self._parent, 2 * self._order + 1, _RingMarkers)

    def set_color(self, color: Sequence[float], halo_rgb: Sequence[float] = (1.0, 1.0, 1.0)) -> None:
        """Ring and halo colours (the next ``refresh`` draws them)."""
        self.color, self.halo_rgb = tuple(color), tuple(halo_rgb)

    def set_rows(self, rows, positions: np.ndarray, point_size: float) -> None:
        """Show rings at ``rows`` (None or empty hides them); rows outside the buffer are ignored."""
        self.rows = np.zeros(0, dtype=np.int64) if rows is None else np.atleast_1d(np.asarray(rows, dtype=np.int64))
        self.refresh(positions, point_size)

    def warm_up(self, position: np.ndarray) -> bool:
        """Show one ring of no size and no colour at ``position`` until ``end_warm_up``: the frame that draws it
        makes vispy build the rings' GL programs (~50-90 ms on software GL), which their first real use paid.
        False when rings are shown (drawn already)."""
        if self.visual.visible:
            return False
        pos = np.asarray(position, dtype=np.float32).reshape(1, -1)
        for markers in (self.halo, self.visual):
            markers.show_at(pos, 0.0, 0.0, TRANSPARENT)
            markers.visible = True
        return True

    def end_warm_up(self) -> None:
        """Hide the warm-up ring (unless rows were shown meanwhile: they replaced it)."""
        if not len(self.rows):
            self.visual.visible = self.halo.visible = False

    def refresh(self, positions: np.ndarray, point_size: float) -> None:
        rows = self.rows[(self.rows >= 0) & (self.rows < len(positions))]
        visible = len(rows) > 0
        if not visible and self._visual is None:
            return  # nothing to hide
        self.visual.visible = self.halo.visible = visible
        if not visible:
            return
        size = point_size + self.extra_size
        pos = positions[rows]
        halo = (*self.halo_rgb, 0.85 * self.color[3])
        self.halo.show_at(pos, size, self.width + 2.0, tuple(float(v) for v in halo))
        self.visual.show_at(pos, size, self.width, tuple(float(v) for v in self.color))


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
