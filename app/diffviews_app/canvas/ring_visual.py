"""Rings of one style (selection, hover, neighbours...) each over a halo, in one cheap pass of GL points.

Rings are drawn over the cached image of the points on every frame (a hover, a click, a camera move), so their
cost is paid per frame. vispy's ``Markers`` drew each ring twice (its halo, then the ring) with its general marker
shader (a branch per symbol) on a square of ``size + 4 * (edge + 1.5)`` px: a set ring of 12 px shaded 1,600
fragments for ~250 px that show. On software GL that rasterization ran on the UI thread: a frame with 400 selected
samples cost ~30 ms more than one without. This visual shades a square just large enough for the halo (ring, halo
and a pixel of antialiasing), once per ring, with a few instructions per fragment; the style is uniforms, so the
buffer holds positions only (``benchmarks/bench_rings.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from vispy import gloo
from vispy.scene.visuals import create_visual_node
from vispy.visuals import Visual

HALO_PX = 1.0  # the halo shows this much on each side of the ring

_VERT = """
uniform float u_extent;  // side of each ring's square, framebuffer px
attribute vec3 a_position;
void main() {
    gl_Position = $visual_to_render(vec4(a_position, 1.0));
    gl_PointSize = u_extent;
}
"""

_FRAG = """
uniform float u_extent;  // framebuffer px, as above
uniform float u_radius;  // of the ring's centre line
uniform float u_half;  // half the ring's width
uniform float u_halo;  // the halo's width beyond the ring, each side
uniform vec4 u_color;
uniform vec4 u_halo_color;
void main() {
    float d = abs(length(gl_PointCoord - vec2(0.5)) * u_extent - u_radius);  // px from the centre line
    float ring = clamp(u_half + 0.5 - d, 0.0, 1.0) * u_color.a;  // coverage, one px of antialiasing
    float halo = clamp(u_half + u_halo + 0.5 - d, 0.0, 1.0) * u_halo_color.a * (1.0 - ring);
    float alpha = ring + halo;
    if (alpha <= 0.0)
        discard;
    gl_FragColor = vec4((u_color.rgb * ring + u_halo_color.rgb * halo) / alpha, alpha);
}
"""


class RingsVisual(Visual):
    """Hollow rings of one size, width and colour, each over a halo, at some positions; they ignore depth, so rings
    stay visible through a 3D cloud. ``positions`` is what is shown."""

    def __init__(self) -> None:
        self._vbo = gloo.VertexBuffer(np.zeros((1, 3), dtype=np.float32))
        self.positions = np.zeros((0, 3), dtype=np.float32)
        self._style = (0.0, 0.0, (0.0, 0.0, 0.0, 0.0), (0.0, 0.0, 0.0, 0.0))
        super().__init__(vcode=_VERT, fcode=_FRAG)
        self._draw_mode = "points"
        self.shared_program["a_position"] = self._vbo
        self.set_gl_state("translucent", depth_test=False)
        self.freeze()

    def show_at(self, pos: np.ndarray, size: float, width: float, color: Sequence[float],
                halo_color: Sequence[float]) -> None:  # fmt: skip
        """Rings of ``size`` px across (their centre line) and ``width`` px in ``color``, each over a halo of
        ``halo_color``, at ``pos`` ((M, 3)); one upload of M positions."""
        self.positions = np.ascontiguousarray(pos, dtype=np.float32).reshape(-1, 3)
        if len(self.positions):
            self._vbo.set_data(self.positions)
        self._style = (float(size), float(width), tuple(map(float, color)), tuple(map(float, halo_color)))
        self.shared_program["u_color"] = self._style[2]
        self.shared_program["u_halo_color"] = self._style[3]
        self._bounds_changed()
        self.update()

    def _prepare_transforms(self, view) -> None:
        view.view_program.vert["visual_to_render"] = view.get_transform("visual", "render")

    def _prepare_draw(self, view) -> bool | None:
        if not len(self.positions):
            return False
        size, width, _color, _halo = self._style
        scale = view.transforms.pixel_scale
        program = view.view_program
        program["u_radius"] = 0.5 * size * scale
        program["u_half"] = 0.5 * width * scale
        program["u_halo"] = HALO_PX * scale
        program["u_extent"] = (size + width + 2 * HALO_PX + 2.0) * scale  # the halo's outer edge and 1 px of fade
        return None

    def _compute_bounds(self, axis: int, view):
        if not len(self.positions):
            return None
        column = self.positions[:, axis]
        return float(column.min()), float(column.max())


RingsNode = create_visual_node(RingsVisual)
