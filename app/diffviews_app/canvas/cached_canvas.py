"""A SceneCanvas that draws its big point layer once per change into a texture and copies that under every frame.

On software GL a million points cost ~0.4 s a frame; copying a window-sized texture costs a few milliseconds. So a
hover, click or lasso frame draws the cached image of the points and then only the small visuals over it. The cache
is keyed on everything the points' image depends on (canvas size, background, camera transform, the layer's own
``version``: positions, colours, size, level of detail, depth test), so no caller has to remember to invalidate it.
Offscreen renders (``render()``: exports, screenshots of the view) draw the points directly, as before.

It also hands every mouse event straight to ``mouse_target`` (the view, whose camera pans, zooms and orbits): vispy
would find the visual under the mouse by drawing the whole scene, every point, in picking mode and reading it back, on
each press and each wheel step. Nothing in this scene takes mouse events itself (picking is the app's own).
"""

from __future__ import annotations

import numpy as np
from vispy import gloo, scene
from vispy.color import Color

_BLIT_VERT = """
attribute vec2 a_position;
varying vec2 v_uv;
void main() {
    v_uv = 0.5 * (a_position + 1.0);
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


class CachedSceneCanvas(scene.SceneCanvas):
    """``cached_node`` (a visual with ``version`` and ``skip_draw``) is drawn into a texture when its image changed;
    every screen frame starts with that texture instead of drawing it again."""

    def __init__(self, *args, **kwargs) -> None:
        self.cached_node = None
        self.mouse_target = None  # the node every mouse event goes to (None: vispy's picking render finds one)
        self.cache_renders = 0  # how often the cached layer was drawn (tests count them)
        self.full_detail_drawn = False  # the last screen frame showed the cached layer at full detail
        self._cache_key = None
        self._fbo: gloo.FrameBuffer | None = None
        self._texture: gloo.Texture2D | None = None
        self._blit: gloo.Program | None = None
        super().__init__(*args, **kwargs)

    def visual_at(self, pos):
        """The node a mouse event at ``pos`` goes to: ``mouse_target`` without drawing anything."""
        return self.mouse_target if self.mouse_target is not None else super().visual_at(pos)

    def _draw_scene(self, bgcolor=None) -> None:
        node = self.cached_node
        if node is None or self._fb_stack or not node.visible or 0 in self.physical_size:
            super()._draw_scene(bgcolor)  # an offscreen render (export), or nothing to cache: as vispy draws
            return
        if bgcolor is None:
            bgcolor = self._bgcolor
        key = self._key(node, bgcolor)
        if key != self._cache_key:
            self._render_cache(node, bgcolor)
            self._cache_key = key
            self.full_detail_drawn = not getattr(node, "lod_active", False) or getattr(node, "lod_rows", None) is None
        self.context.clear(color=bgcolor, depth=True)
        self.context.set_state(blend=False, depth_test=False, cull_face=False)
        self._blit.draw("triangle_strip")
        self.context.set_state("translucent", depth_test=False)  # as the points left it for visuals without a state
        node.skip_draw = True
        try:
            self.draw_visual(self.scene)
        finally:
            node.skip_draw = False

    def _key(self, node, bgcolor) -> tuple:
        """What the cached image depends on: its size, the background, the layer's data and the camera."""
        matrix = np.asarray(node.node_transform(self.scene).map(np.eye(4)))
        return tuple(self.physical_size), tuple(np.round(Color(bgcolor).rgba, 6)), node.version, matrix.tobytes()

    def _render_cache(self, node, bgcolor) -> None:
        w, h = self.physical_size
        if self._texture is None or self._texture.shape[:2] != (h, w):
            self._texture = gloo.Texture2D((h, w, 4), format="rgba", interpolation="nearest")
            self._fbo = gloo.FrameBuffer(color=self._texture, depth=gloo.RenderBuffer((h, w)))
            if self._blit is None:
                self._blit = gloo.Program(_BLIT_VERT, _BLIT_FRAG)
                self._blit["a_position"] = np.float32([[-1, -1], [1, -1], [-1, 1], [1, 1]])
            self._blit["u_image"] = self._texture
        self.push_fbo(self._fbo, (0, 0), self.size)
        try:
            self.context.clear(color=bgcolor, depth=True)
            node.draw()
        finally:
            self.pop_fbo()
        self.cache_renders += 1
