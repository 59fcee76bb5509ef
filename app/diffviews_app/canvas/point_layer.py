"""The main point buffer: a lean GL_POINTS visual with round antialiased sprites and a level-of-detail subset.

vispy's Markers runs a heavy per-fragment symbol shader; on software GL this visual draws the same cloud about
three times faster. Positions and colours live in two vertex buffers, so a colour change uploads one buffer only;
the level of detail is an index buffer over a fixed random subset of the same vertices (no re-upload to switch), and a
progressive render draws the rows in consecutive slices (views on the same buffers) so that its image is the one a
single pass draws.
"""

from __future__ import annotations

import numpy as np
from vispy import gloo
from vispy.scene.visuals import create_visual_node
from vispy.visuals import Visual

_VERT = """
uniform float u_size;
attribute vec3 a_position;
attribute vec4 a_color;
varying vec4 v_color;
void main() {
    gl_Position = $transform(vec4(a_position, 1.0));
    gl_PointSize = u_size;
    v_color = a_color;
}
"""

_FRAG = """
uniform float u_size;
uniform float u_cutoff;  // with depth test on, faint edge pixels would hide points behind them: drop those
varying vec4 v_color;
void main() {
    float r = length(gl_PointCoord - vec2(0.5)) * u_size;  // distance from the centre in pixels
    float coverage = clamp(0.5 * u_size - r, 0.0, 1.0);
    if (coverage <= u_cutoff) discard;
    gl_FragColor = vec4(v_color.rgb, v_color.a * coverage);
}
"""


class PointLayerVisual(Visual):
    """N points of one size; ``set_lod(True)`` draws only the subset chosen at ``set_positions``. ``version`` counts
    the changes to its full-detail image (the canvas caches that image by it; switching the level of detail is not
    one); ``skip_draw`` leaves it out of a frame; ``draw_rows`` / ``draw_lod`` draw a slice of rows / the subset."""

    def __init__(self, size: float = 5.0, lod_points: int = 100_000, seed: int = 0) -> None:
        super().__init__(vcode=_VERT, fcode=_FRAG)
        self._draw_mode = "points"
        self._size = float(size)
        self._lod_points = int(lod_points)  # the subset's cap
        self._lod_limit = self._lod_points  # its size for the GL at hand (``set_lod_limit``)
        self._lod_order = np.zeros(0, dtype=np.uint32)  # random rows in random order: any prefix is a fair subset
        self._rng = np.random.default_rng(seed)
        self._n = 0
        self._pos: np.ndarray = np.zeros((0, 3), dtype=np.float32)
        self._pos_vbo = gloo.VertexBuffer(np.zeros((1, 3), dtype=np.float32))
        self._col_vbo = gloo.VertexBuffer(np.zeros((1, 4), dtype=np.float32))
        self._lod_ibo: gloo.IndexBuffer | None = None
        self.lod_rows: np.ndarray | None = None
        self.lod_active = False
        self._cutoff = 0.0
        self.version = 0
        self.skip_draw = False
        self.shared_program["a_position"] = self._pos_vbo
        self.shared_program["a_color"] = self._col_vbo
        self.set_gl_state("translucent", depth_test=False)

    @property
    def count(self) -> int:
        return self._n

    @property
    def size(self) -> float:
        return self._size

    def set_size(self, size: float) -> None:
        self._size = float(size)
        self.version += 1
        self.update()

    def set_positions(self, pos: np.ndarray) -> None:
        """Upload (N, 3) float32 positions; picks the level-of-detail subset when N exceeds ``lod_points``."""
        pos = np.ascontiguousarray(pos, dtype=np.float32)
        self._pos = pos
        n_old, self._n = self._n, len(pos)
        if self._n:
            self._pos_vbo.set_data(pos)
        if self._n != n_old:
            # Colours must match the vertex count; neutral grey until the caller sets its own.
            self._col_vbo.set_data(np.tile(np.float32([0.4, 0.4, 0.4, 1.0]), (max(self._n, 1), 1)))
        self._lod_order = self._rng.choice(self._n, min(self._n, self._lod_points), replace=False).astype(np.uint32)
        self._choose_lod()
        self.version += 1
        self.update()

    def set_colors(self, rgba: np.ndarray) -> None:
        """Replace the (N, 4) colour buffer: the only upload a recolouring costs."""
        rgba = np.ascontiguousarray(rgba, dtype=np.float32)
        if rgba.shape != (self._n, 4):
            raise ValueError(
                f"colours have shape {rgba.shape}, the canvas holds {self._n} points (needs ({self._n}, 4))"
            )
        if self._n:
            self._col_vbo.set_data(rgba)
        self.version += 1
        self.update()

    def set_lod_limit(self, points: int) -> None:
        """Make the subset at most ``points`` (what one moving frame can draw on this GL) and at most the cap."""
        points = max(1, int(points))
        if points != self._lod_limit:
            self._lod_limit = points
            self._choose_lod()

    def _choose_lod(self) -> None:
        size = min(self._lod_points, self._lod_limit)
        if self._n > size:
            self.lod_rows = np.sort(self._lod_order[:size])
            self._lod_ibo = gloo.IndexBuffer(self.lod_rows)
        else:
            self.lod_rows = None
            self._lod_ibo = None
        self.set_lod(self.lod_active)

    def set_lod(self, active: bool) -> None:
        """Draw the subset (while the camera moves) or every point (at rest)."""
        self.lod_active = bool(active)
        self._index_buffer = self._lod_ibo if (self.lod_active and self._lod_ibo is not None) else None
        self.update()

    def draw_rows(self, start: int, stop: int) -> None:
        """Draw rows ``start:stop`` at full detail, in their order (one slice of a progressive render; inside a draw:
        the context current, the target framebuffer bound). Slices drawn in order give the single pass's image."""
        program = self.shared_program
        lod_ibo, self._index_buffer = self._index_buffer, None
        program["a_position"] = self._pos_vbo[start:stop]
        program["a_color"] = self._col_vbo[start:stop]
        try:
            self.draw()
        finally:
            program["a_position"] = self._pos_vbo
            program["a_color"] = self._col_vbo
            self._index_buffer = lod_ibo

    def draw_lod(self) -> None:
        """Draw the level-of-detail subset (every point when there is none), whatever ``lod_active`` says."""
        index, self._index_buffer = self._index_buffer, self._lod_ibo
        try:
            self.draw()
        finally:
            self._index_buffer = index

    def set_depth_test(self, enabled: bool) -> None:
        """Depth-test for 3D (points occlude those behind); antialiased edges then become hard to keep it clean."""
        self._cutoff = 0.5 if enabled else 0.0
        self.set_gl_state("translucent", depth_test=bool(enabled))
        self.version += 1
        self.update()

    def _prepare_transforms(self, view) -> None:
        view.view_program.vert["transform"] = view.get_transform()

    def _prepare_draw(self, view) -> bool:
        if self._n == 0 or self.skip_draw:
            return False
        view.view_program["u_size"] = self._size * view.transforms.pixel_scale
        view.view_program["u_cutoff"] = self._cutoff
        return True

    def _compute_bounds(self, axis: int, view):
        if self._n == 0:
            return None
        col = self._pos[:, axis]
        return float(np.nanmin(col)), float(np.nanmax(col))


PointLayer = create_visual_node(PointLayerVisual)
