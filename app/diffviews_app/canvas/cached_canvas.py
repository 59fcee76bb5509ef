"""A SceneCanvas that draws its big point layer once per change into a texture and copies that under every frame.

On software GL a million points cost ~1 s to draw; copying a window-sized texture costs a few milliseconds. So a
hover, click or lasso frame draws the cached image of the points and then only the small visuals over it. The cache
is keyed on everything the points' image depends on (canvas size, background, camera transform, the layer's own
``version``: positions, colours, size, depth test), so no caller has to remember to invalidate it. Offscreen renders
(``render()``: exports, screenshots of the view) draw the points directly, as before.

The full-detail image is drawn progressively: slices of rows (each sized to take about ``SLICE_S`` of GL time) go
into a back framebuffer, one per event-loop turn, in the rows' order, so the finished image is the single pass's
pixel for pixel; input is handled between slices, and the front image is swapped in when the last slice is done.
Meanwhile, and while the camera moves, frames show the front image: in 2D moved with the camera (pan and zoom are
affine, so it is a textured quad with the change since it was drawn) and the strips it no longer covers filled with
the level-of-detail subset; in 3D (an orbit is not affine on the image) the subset is drawn instead, sized to what
this GL draws in a moving frame's budget (``points_within``, from the timed slices).

It also hands every mouse event straight to ``mouse_target`` (the view, whose camera pans, zooms and orbits): vispy
would find the visual under the mouse by drawing the whole scene, every point, in picking mode and reading it back, on
each press and each wheel step. Nothing in this scene takes mouse events itself (picking is the app's own).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import shiboken6
from PySide6.QtCore import QTimer
from vispy import gloo, scene
from vispy.color import Color

from .picking import transform_matrix

SLICE_S = 0.05  # GL time one slice of a progressive render may take: the longest wait it adds to input
FIRST_COST_S = 1.2e-6  # seconds per point before a slice was timed (2.5 px dots on llvmpipe, 1280x800)
ONE_PASS_S = 0.15  # a full image this quick is drawn in one pass, in its frame: slicing would delay it by a frame
MIN_SLICE = 20_000  # rows: smaller slices would spend their time on per-slice overhead (a flush of the whole image)
MIN_TIMED_SUBSET = 5_000  # a subset smaller than this is not timed (the draw's fixed cost would dominate)

_BLIT_VERT = """
attribute vec2 a_position;
attribute vec2 a_uv;
varying vec2 v_uv;
void main() {
    v_uv = a_uv;
    gl_Position = vec4(a_position, 0.0, 1.0);
}
"""

_BLIT_FRAG = """
uniform sampler2D u_image;
varying vec2 v_uv;
void main() {
    gl_FragColor = texture2D(u_image, v_uv);
}
"""

_FULL_QUAD = np.float32([[-1, -1], [1, -1], [-1, 1], [1, 1]])  # NDC corners; the texture's uv are these / 2 + 0.5


@dataclass
class _Image:
    """A framebuffer holding one image of the layer and what it shows (``key`` None: nothing yet)."""

    fbo: gloo.FrameBuffer | None = None
    texture: gloo.Texture2D | None = None
    key: tuple | None = None
    matrix: np.ndarray | None = None  # data -> canvas pixels when it was drawn
    size: tuple[int, int] = (0, 0)  # the canvas's logical size then
    full: bool = False  # every point (not the level-of-detail subset)


class CachedSceneCanvas(scene.SceneCanvas):
    """``cached_node`` (a visual with ``version``, ``skip_draw``, ``count``, ``draw_rows``, ``draw_lod``,
    ``lod_active`` and ``lod_rows``) is drawn into a texture when its image changed; every screen frame starts with
    that texture instead of drawing it again. ``progressive = False`` draws it in one pass and the subset into the
    texture on every moving frame (the behaviour before progressive rendering: benchmarks' baseline)."""

    def __init__(self, *args, **kwargs) -> None:
        self.cached_node = None
        self.mouse_target = None  # the node every mouse event goes to (None: vispy's picking render finds one)
        self.progressive = True
        self.cache_renders = 0  # complete images of the cached layer drawn (full or subset; tests count them)
        self.slice_renders = 0  # slices of progressive renders drawn
        self.full_detail_drawn = False  # the last screen frame showed every point where the camera is now
        self.cost_per_point = FIRST_COST_S  # GL seconds per point, from the timed slices
        self._subset_cost = FIRST_COST_S  # the same, from the subsets drawn straight onto moving frames
        self._front = _Image()  # the image frames show
        self._back = _Image()  # the image a progressive render draws into
        self._job: tuple | None = None  # (key, next row) of the progressive render under way
        self._blit: gloo.Program | None = None
        self._quad = gloo.VertexBuffer(_FULL_QUAD)
        self._slice_timer = QTimer(singleShot=True, interval=0)
        self._slice_timer.timeout.connect(self._continue_job)
        super().__init__(*args, **kwargs)

    @property
    def rendering(self) -> bool:
        """True while a progressive render is under way (the screen shows the previous image)."""
        return self._job is not None

    def points_within(self, seconds: float) -> int:
        """How many points this GL draws in ``seconds`` (from the timed slices and subsets; rounded to 5,000, at least
        5,000); not progressive: no limit (the subset is the layer's cap, as before)."""
        if not self.progressive:
            return 1 << 62
        cost = max(self.cost_per_point, self._subset_cost)
        return max(5_000, 5_000 * round(seconds / cost / 5_000))

    def close(self) -> None:
        self._slice_timer.stop()
        self._job = None
        super().close()

    def visual_at(self, pos):
        """The node a mouse event at ``pos`` goes to: ``mouse_target`` without drawing anything."""
        return self.mouse_target if self.mouse_target is not None else super().visual_at(pos)

    # ---- frames -----------------------------------------------------------------------------------------------
    def _draw_scene(self, bgcolor=None) -> None:
        node = self.cached_node
        if node is None or self._fb_stack or not node.visible or 0 in self.physical_size:
            super()._draw_scene(bgcolor)  # an offscreen render (export), or nothing to cache: as vispy draws
            return
        if bgcolor is None:
            bgcolor = self._bgcolor
        matrix = self._node_matrix(node)
        key = self._key(node, bgcolor, matrix)
        front = self._front
        moving = node.lod_active and node.lod_rows is not None
        self.context.clear(color=bgcolor, depth=True)
        if front.full and front.key == key:
            self._cancel_job()
            self._draw_image(front)
            self.full_detail_drawn = True
        elif moving and not self.progressive:
            if front.key != key:
                self._render_subset(node, bgcolor, key, matrix)
            self._draw_image(self._front)
            self.full_detail_drawn = False
        elif moving:
            self._cancel_job()
            self._draw_preview(node, bgcolor, key, matrix, moving=True)
            self.full_detail_drawn = False
        else:
            if self._job is None or self._job[0] != key:
                self._start_job(bgcolor, key)
            if self._slice_rows(node) >= node.count - self._job[1] and self._run_slice(node, matrix):
                self._draw_image(self._front)
                self.full_detail_drawn = True
            else:  # the slices run between event-loop turns, not in a frame: input waits for one at most
                self._draw_preview(node, bgcolor, key, matrix, moving=False)
                self._slice_timer.start()
                self.full_detail_drawn = False
        self.context.set_state("translucent", depth_test=False)  # as the points left it for visuals without a state
        node.skip_draw = True
        try:
            self.draw_visual(self.scene)
        finally:
            node.skip_draw = False

    def _draw_preview(self, node, bgcolor, key, matrix, moving: bool) -> None:
        """A frame while the full image is not ready: the front image moved with the camera (2D) with the subset in
        what it no longer covers, or the subset drawn straight onto the frame (3D, or nothing to move). At rest,
        while the new image is drawn, the front one is shown even when its content is out of date."""
        front = self._front
        same_content = front.key is not None and front.key[1:3] == key[1:3]
        flat = front.key is not None and _is_flat(matrix) and _is_flat(front.matrix)
        same_camera = front.key is not None and front.key[0] == key[0] and front.key[3] == key[3]
        if same_camera and (same_content or not moving):
            self._draw_image(front)
        elif flat and (same_content or not moving):
            self._draw_moved(front, node, matrix, fill=same_content and node.lod_rows is not None)
        else:
            self.context.finish()  # the clear and what came before: not the subset's cost
            t0 = time.perf_counter()
            node.draw_lod()  # straight onto the frame: an image of it would cost a clear and a copy more
            self.context.finish()
            drawn = node.count if node.lod_rows is None else len(node.lod_rows)
            if drawn >= MIN_TIMED_SUBSET:  # scattered points cost more per point than a slice: time them too
                self._subset_cost = 0.5 * self._subset_cost + 0.5 * (time.perf_counter() - t0) / drawn

    def _draw_image(self, image: _Image) -> None:
        self._quad.set_data(_FULL_QUAD)
        image.texture.interpolation = "nearest"
        self._blit_texture(image)

    def _draw_moved(self, image: _Image, node, matrix: np.ndarray, fill: bool) -> None:
        """Draw ``image`` where the camera has moved its content since it was drawn, and (``fill``) the subset in
        the strips of the canvas it leaves uncovered."""
        w, h = self.size
        w0, h0 = image.size
        corners = np.float64([[0, h0], [w0, h0], [0, 0], [w0, 0]])  # canvas pixels of the uv corners (0,0)..(1,1)
        moved = _apply(_affine(matrix), _apply(np.linalg.inv(_affine(image.matrix)), corners))
        self._quad.set_data(np.float32(np.c_[2 * moved[:, 0] / w - 1, 1 - 2 * moved[:, 1] / h]))
        image.texture.interpolation = "linear"
        self._blit_texture(image)
        if not fill:
            return
        (x0, y0), (x1, y1) = moved.min(axis=0), moved.max(axis=0)
        strips = [(0, 0, x0, h), (x1, 0, w, h), (x0, 0, x1, y0), (x0, y1, x1, h)]  # left, right, top, bottom
        s = self.pixel_scale
        ph = self.physical_size[1]
        self.context.set_state(scissor_test=True)
        try:
            for left, top, right, bottom in strips:
                left, right = max(left, 0), min(right, w)
                top, bottom = max(top, 0), min(bottom, h)
                if right - left >= 0.5 and bottom - top >= 0.5:
                    x, y = int(np.floor(left * s)), int(np.floor(ph - bottom * s))
                    self.context.set_scissor(x, y, int(np.ceil(right * s)) - x, int(np.ceil(ph - top * s)) - y)
                    node.draw_lod()
        finally:
            self.context.set_state(scissor_test=False)

    def _blit_texture(self, image: _Image) -> None:
        if self._blit is None:
            self._blit = gloo.Program(_BLIT_VERT, _BLIT_FRAG)
            self._blit["a_position"] = self._quad
            self._blit["a_uv"] = np.float32(0.5 * _FULL_QUAD + 0.5)
        self._blit["u_image"] = image.texture
        self.context.set_state(blend=False, depth_test=False, cull_face=False)
        self._blit.draw("triangle_strip")

    # ---- images -------------------------------------------------------------------------------------------------
    def _node_matrix(self, node) -> np.ndarray:
        """The 4x4 row-vector matrix from the layer's coordinates to canvas pixels."""
        return transform_matrix(node.node_transform(self.scene))

    def _key(self, node, bgcolor, matrix: np.ndarray) -> tuple:
        """What the full image depends on: its size, the background, the layer's data and the camera."""
        return tuple(self.physical_size), tuple(np.round(Color(bgcolor).rgba, 6)), node.version, matrix.tobytes()

    def _target(self, image: _Image) -> None:
        """Give ``image`` a framebuffer of the canvas's size."""
        w, h = self.physical_size
        if image.texture is None or image.texture.shape[:2] != (h, w):
            image.texture = gloo.Texture2D((h, w, 4), format="rgba", interpolation="nearest")
            image.fbo = gloo.FrameBuffer(color=image.texture, depth=gloo.RenderBuffer((h, w)))
            image.key = None

    def _render_subset(self, node, bgcolor, key, matrix) -> None:
        """Draw the level-of-detail subset into the front image (moving frames when not progressive)."""
        image = self._front
        self._target(image)
        self.push_fbo(image.fbo, (0, 0), self.size)
        try:
            self.context.clear(color=bgcolor, depth=True)
            node.draw_lod()
        finally:
            self.pop_fbo()
        image.key, image.matrix, image.size = key, matrix, tuple(self.size)
        image.full = node.lod_rows is None
        self.cache_renders += 1

    def _start_job(self, bgcolor, key) -> None:
        """Clear the back image for a progressive render of ``key``."""
        self._target(self._back)
        self.push_fbo(self._back.fbo, (0, 0), self.size)
        try:
            self.context.clear(color=bgcolor, depth=True)
        finally:
            self.pop_fbo()
        self._back.key = None
        self._job = (key, 0)

    def _cancel_job(self) -> None:
        self._job = None
        self._slice_timer.stop()

    def _run_slice(self, node, matrix: np.ndarray) -> bool:
        """Draw the next slice of the progressive render into the back image (the whole layer when not
        progressive); when it was the last, swap it to the front and return True."""
        key, start = self._job
        n = node.count
        size = self._slice_rows(node)
        stop = min(n, start + size)
        self.push_fbo(self._back.fbo, (0, 0), self.size)
        sliced = stop < n or start > 0  # a render of several slices (else one pass, drawn in the frame)
        t0 = time.perf_counter()
        try:
            if stop > start:
                node.draw_rows(start, stop)
            if sliced:
                self.context.finish()  # the slice's GL work happens now, not in a later frame's swap
        finally:
            self.pop_fbo()
        if sliced and stop - start >= MIN_SLICE:
            self.cost_per_point = 0.5 * self.cost_per_point + 0.5 * (time.perf_counter() - t0) / (stop - start)
        self.slice_renders += 1
        if stop < n:
            self._job = (key, stop)
            return False
        self._job = None
        self._front, self._back = self._back, self._front
        image = self._front
        image.key, image.matrix, image.size, image.full = key, matrix, tuple(self.size), True
        self.cache_renders += 1
        return True

    def _slice_rows(self, node) -> int:
        """Rows in one slice: every row when not progressive, when the layer is small enough to be drawn whole on
        every moving frame (it has no subset) or in ``ONE_PASS_S``; else what GL draws in ``SLICE_S``. A render
        that takes one slice is drawn in the frame that asked for it."""
        if not self.progressive or node.lod_rows is None or node.count * self.cost_per_point <= ONE_PASS_S:
            return node.count
        return max(MIN_SLICE, int(SLICE_S / self.cost_per_point))

    def _continue_job(self) -> None:
        """One slice of the progressive render between two event-loop turns; the frame after the last shows it."""
        node = self.cached_node
        if self._job is None or node is None or self._closed or not shiboken6.isValid(self.native):
            self._job = None  # closed, or its widget deleted with the window
            return
        self.set_current()
        matrix = self._node_matrix(node)
        if self._key(node, self._bgcolor, matrix) != self._job[0]:
            self._cancel_job()  # something changed: the frame already asked for draws the image it needs
            return
        if self._run_slice(node, matrix):
            self.update()
        else:
            self._slice_timer.start()


def _is_flat(matrix: np.ndarray | None) -> bool:
    """True when the matrix maps (x, y) to canvas pixels affinely and z plays no part (a 2D pan/zoom camera)."""
    return matrix is not None and np.allclose(matrix[:3, 3], 0) and np.allclose(matrix[2, :2], 0)


def _affine(matrix: np.ndarray) -> np.ndarray:
    """The 3x3 row-vector affine map (x, y, 1) -> canvas pixels of a flat matrix."""
    return matrix[[0, 1, 3]][:, [0, 1, 3]] / matrix[3, 3]


def _apply(affine: np.ndarray, points: np.ndarray) -> np.ndarray:
    return (np.c_[points, np.ones(len(points))] @ affine)[:, :2]
