"""PointCloudCanvas: the vispy scene (points, rings, overlays, cameras, layers) behind a small Qt-signal interface.

The canvas only draws and reports. What to show comes in through ``set_*`` calls; what the mouse does comes out as
``hovered`` / ``clicked`` (one ``Target`` each) and ``lasso_selected`` (rows), read by one event filter
(``input.CanvasInput``). Public API for code that adds to the map (issue-13/14 work builds on it):

- layers: ``scene`` (the node layer visuals are parented to), ``add_layer`` / ``remove_layer`` for anything that can
  be picked (``pick_order`` and ``pick(x, y) -> Target | None``; higher orders are asked first), ``request_draw``;
- geometry: ``mode`` and ``mode_changed``, ``drawn_positions`` (coordinates as the current mode draws them),
  ``data_to_screen``, ``pick`` (a main-cloud row), ``pick_target`` (whatever is on top), ``rows_in_polygon``;
- overlays: ``add_overlay_points`` (optionally pickable, each point with its Target), ``remove_overlay``;
- camera: ``reset_view``, ``camera_state`` / ``set_camera_state``, ``camera_changed`` (the camera came to rest).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtOpenGL import QOpenGLWindow
from PySide6.QtWidgets import QWidget
from vispy import scene
from vispy.scene.visuals import Line

from ..targets import Target
from . import camera_state, native_surface, shader_source
from .cached_canvas import CachedSceneCanvas
from .cameras import make_cameras
from .input import CanvasInput
from .overlays import OverlayPoints, Rings, SpareOverlay
from .picking import nearest_brute, project_to_screen, transform_matrix
from .point_layer import PointLayer
from .point_picker import SYNC_INDEX_MAX, PointPicker

REST_DELAY_MS = 150  # camera idle this long = at rest: full detail, 3D index rebuilt, camera_changed
MOVING_POINTS_S = 0.03  # the level-of-detail subset is what GL draws in this long (a moving 3D frame draws it all)
WARM_RETRY_MS = 20  # a warm-up item not ready yet (its module still being imported) is asked again this much later
POINTS_PICK_ORDER = 0
OVERLAY_PICK_ORDER = 10  # overlays sit over the cloud and its rings; layers (trajectories: 40) over them


def default_point_size(n: int) -> float:
    """Smaller dots for bigger clouds so dense maps stay readable."""
    if n <= 20_000:
        return 7.0
    if n <= 200_000:
        return 4.0
    return 2.5


class PickLayer(Protocol):
    """Something drawn on the canvas that the mouse can point at."""

    pick_order: int

    def pick(self, x: float, y: float) -> Target | None: ...


class WarmUp(Protocol):
    """Visuals a canvas draws once, with nothing to see, before their first real use (``warm_up_later``)."""

    def warm_up(self, position: np.ndarray) -> bool | None:
        """Show nothing visible at ``position`` until ``end_warm_up``; False when in use (drawn already) or when
        what it prepared needs no frame; None when it cannot start yet (e.g. its module is being imported on a
        thread): the canvas asks it again ``WARM_RETRY_MS`` later."""

    def end_warm_up(self) -> None:
        """Hide what ``warm_up`` showed (not what was drawn for real meanwhile)."""


class PointCloudCanvas(QObject):
    """A 2D/3D point cloud with hover/selection/neighbour/highlight rings, overlays, layers, picking and lasso."""

    hovered = Signal(object)  # Target under the mouse (NOTHING when none)
    clicked = Signal(object, object)  # Target, keyboard modifiers
    lasso_selected = Signal(object, object)  # rows of the main cloud inside the lasso or box, keyboard modifiers
    camera_changed = Signal()
    mode_changed = Signal(str)
    background_changed = Signal(bool)  # True when the new background is dark (layers pick readable colours)
    warmed_up = Signal()  # what waited for a warm-up has been drawn once after the first full frame: launch settled

    RING_STYLE = {  # colour, extra diameter over the point size (px), ring width (px)
        "highlight": ((0.10, 0.10, 0.10, 0.9), 4.0, 1.5),
        "neighbours": ((0.13, 0.75, 0.20, 1.0), 9.0, 2.5),
        "set": ((0.90, 0.10, 0.10, 1.0), 5.0, 1.5),  # members of a selection set: many, so lighter than "selection"
        "selection": ((0.90, 0.10, 0.10, 1.0), 12.0, 3.0),
        "hover": ((0.00, 0.80, 0.90, 1.0), 8.0, 2.0),
    }

    def __init__(self, parent: QWidget | None = None, *, pool=None, lod_points: int = 50_000, bgcolor="white") -> None:
        """``pool``: the app's WorkerPool, which builds picking indexes of big clouds (a canvas on its own makes one)."""
        super().__init__(parent)
        if pool is None:
            from ..workers import WorkerPool

            pool = WorkerPool(self)
            self._own_pool = pool
        else:
            self._own_pool = None
        shader_source.install()  # each program vispy builds (here on the UI thread) parses its source in linear time
        self._canvas = CachedSceneCanvas(keys=None, show=False, bgcolor=bgcolor, size=(800, 600), create_native=False)
        native_surface.attach(self._canvas, parent)
        self._view = self._canvas.central_widget.add_view(border_width=0)
        self._canvas.mouse_target = self._view  # its camera takes the drags and wheel; no picking render per press
        self._cameras = make_cameras()
        self._fitted = {"2d": False, "3d": False}
        self._mode = "2d"
        self._view.camera = self._cameras["2d"]

        self._coords = np.zeros((0, 2), dtype=np.float32)  # as given
        self._pos = np.zeros((0, 3), dtype=np.float32)  # as drawn (z = 0 in 2D)
        self._bounds_of: tuple | None = None  # (positions, min, max): reset_view's fit of the last positions
        self._points = PointLayer(lod_points=lod_points, parent=self._view.scene)
        self._points.order = 0
        self._canvas.cached_node = self._points  # drawn once per change, copied under every other frame
        self._rings = {
            name: Rings(self._view.scene, color, extra, width, order=i + 1)
            for i, (name, (color, extra, width)) in enumerate(self.RING_STYLE.items())
        }
        self._overlays: dict[str, OverlayPoints] = {}
        self._spare_overlays: list = []  # Markers made ahead or of removed overlays, reused by the next ones
        # what has visuals whose GL programs are not built yet (rings first, in the order a user meets them, then two
        # overlays' markers, then what layers add with ``warm_up_later``): one is drawn per frame once a full frame
        # is on screen
        self._cold: list[WarmUp] = [self._rings[name] for name in ("selection", "hover", "neighbours", "set",
                                                                   "highlight")]  # fmt: skip
        self._cold += [SpareOverlay(self._view.scene, self._spare_overlays) for _ in range(2)]
        self._warming: WarmUp | None = None
        self._warm_timer = QTimer(self, singleShot=True, interval=0)
        self._warm_timer.timeout.connect(self._warm_up_next)
        self._layers: list[PickLayer] = []
        self._lasso_line = Line(parent=self._view, color=(0.2, 0.2, 0.2, 0.9), width=1.5, method="gl")
        self._lasso_line.order = 100
        self._lasso_line.visible = False
        self._picker = PointPicker(pool, self)
        self._matrix_cache: np.ndarray | None = None
        self._rest_timer = QTimer(self, singleShot=True, interval=REST_DELAY_MS)
        self._rest_timer.timeout.connect(self._on_camera_rest)
        for cam in self._cameras.values():  # fires on every pan, zoom, orbit and resize
            cam.transform.changed.connect(self._on_camera_moved)
        self.input = CanvasInput(self)
        self._when_drawn: list[Callable[[], None]] = []  # see when_drawn
        self._canvas.events.draw.connect(self._after_draw, position="last")

    def when_drawn(self, fn: Callable[[], None]) -> None:
        """Call ``fn`` from the event loop once a frame has shown every point: for background work (indexes) that
        would otherwise compete with the first frame of new points for the interpreter (on 2 cores at 1M points
        the first image took twice as long beside the search index's job)."""
        self._when_drawn.append(fn)
        self._canvas.update()

    def _after_draw(self, _event=None) -> None:
        """After each frame: what was warmed up in it is hidden again; after a frame that showed every point, the
        work waiting for one (``when_drawn``) starts and the next cold visual is warmed up in a frame of its own
        (never inside this paint): vispy builds a visual's shaders when it is first drawn (~50-90 ms each here),
        which a first click, hover, KNN or generation paid otherwise."""
        if self._warming is not None:
            self._warming.end_warm_up()
            self._warming = None
            self.request_draw()
            if not self._cold:
                self.warmed_up.emit()
        if not self._canvas.full_detail_drawn:
            return
        if self._when_drawn:
            waiting, self._when_drawn = self._when_drawn, []
            QTimer.singleShot(0, self, lambda: [fn() for fn in waiting])
        if self._cold and len(self._pos):
            self._warm_timer.start()

    # ---- widget -------------------------------------------------------------------------------------------------
    @property
    def native(self) -> QOpenGLWindow:
        """The GL surface: it receives the mouse and keys, and ``grabFramebuffer`` reads the frame on screen."""
        return self._canvas.native

    @property
    def widget(self) -> QWidget:
        """The widget that holds the GL surface in a layout (size it, show it, place it)."""
        return self._canvas.native.container

    @property
    def scene_canvas(self) -> scene.SceneCanvas:
        return self._canvas

    @property
    def scene(self):
        """The scene node of the map's view: parent layer visuals here (their ``order`` sets the drawing order)."""
        return self._view.scene

    @property
    def full_detail_drawn(self) -> bool:
        """True when the last frame on screen showed every point (not the level-of-detail subset)."""
        return self._canvas.full_detail_drawn

    @property
    def points_renders(self) -> int:
        """How many images of the main points were drawn for the screen (the cached image; a progressive render
        counts once, when done): hover, clicks and rings never add to it; a camera move, resize, background, data or
        colour change does (a cloud with a level-of-detail subset: once the camera rests)."""
        return self._canvas.cache_renders

    @property
    def mode(self) -> str:
        return self._mode

    @property
    def point_count(self) -> int:
        return len(self._pos)

    @property
    def index_ready(self) -> bool:
        """True when picking uses a spatial index for the current points (and, in 3D, the current camera)."""
        return self._picker.ready(self._matrix())

    @property
    def lasso_mode(self) -> str:
        """ "lasso" (free-hand) or "box" (the drag's rectangle)."""
        return self.input.lasso_mode

    @lasso_mode.setter
    def lasso_mode(self, mode: str) -> None:
        self.input.lasso_mode = mode

    @property
    def background(self) -> tuple[float, float, float, float]:
        """The map's background colour as RGBA floats (what the frame is cleared to)."""
        return tuple(float(v) for v in self._canvas.bgcolor.rgba)

    def set_background(self, color) -> None:
        """Clear the frame to ``color`` (any vispy colour); the highlight ring and the lasso switch to a colour that
        stays visible on it."""
        self._canvas.bgcolor = color
        r, g, b, _a = self.background
        dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.5
        ink = (0.92, 0.92, 0.92, 0.9) if dark else (0.10, 0.10, 0.10, 0.9)
        self._rings["highlight"].set_color(ink, (0.0, 0.0, 0.0) if dark else (1.0, 1.0, 1.0))
        self._rings["highlight"].refresh(self._pos, self._points.size)
        self._lasso_line.set_data(color=ink)
        self.background_changed.emit(dark)
        self.request_draw()

    def set_selection_tool(self, tool: str) -> None:
        """ "point": a drag pans or orbits and Shift+drag lassos; "lasso" / "box": a drag draws that shape."""
        self.input.drag_selects = tool in ("lasso", "box")
        self.input.lasso_mode = "box" if tool == "box" else "lasso"

    def request_draw(self) -> None:
        """Redraw with the next frame (after a layer changed its visuals)."""
        self._canvas.update()

    def close(self) -> None:
        """Stop timers (and a canvas-owned worker pool, waiting for it) and release the GL canvas."""
        self.input.stop()
        self._rest_timer.stop()
        self._warm_timer.stop()
        self._cold.clear()
        if self._own_pool is not None:
            self._own_pool.shutdown(None)
        self._canvas.close()

    # ---- data ---------------------------------------------------------------------------------------------------
    def set_points(self, coords: np.ndarray, fit: bool | None = None) -> None:
        """Upload the main buffer (once per dataset/mode). The camera is kept unless ``fit`` is True (both modes'
        cameras then fit the new points), or it is None and this mode's camera has never been fitted; rings follow
        their rows to the new positions."""
        coords = np.asarray(coords, dtype=np.float32)
        if coords.ndim != 2 or coords.shape[1] not in (2, 3):
            raise ValueError(f"point coordinates must be (N, 2) or (N, 3), got {coords.shape}")
        self._coords = coords
        self._points.set_size(default_point_size(len(coords)))
        self._upload_positions()
        self.input.forget_hover()  # row r of these points is another sample than row r of the last ones
        if fit:  # a new map: the other mode's camera fits it on its first use too
            self._fitted = dict.fromkeys(self._fitted, False)
        if fit or (fit is None and not self._fitted[self._mode] and len(coords)):
            self.reset_view()
        if len(coords) > SYNC_INDEX_MAX:  # a worker's job: after the first frame of these points
            self.when_drawn(lambda: self._picker.schedule(self._matrix()))
        else:
            self._picker.schedule(self._matrix())

    def set_colors(self, rgba: np.ndarray) -> None:
        """Recolour every point: one attribute buffer upload, nothing else changes."""
        self._points.set_colors(rgba)

    def set_mode(self, mode: str) -> None:
        """Switch between the 2D pan/zoom and 3D turntable cameras; each keeps its own state."""
        if mode not in self._cameras:
            raise ValueError(f"mode must be '2d' or '3d', got {mode!r}")
        if mode == self._mode:
            return
        self._mode = mode
        self._view.camera = self._cameras[mode]
        self._matrix_cache = None
        self._points.set_depth_test(mode == "3d")
        if self._coords.shape[1] == 3:
            self._upload_positions()  # 2D draws (x, y, 0); 3D restores z
        else:
            self._picker.set_positions(self._pos, mode)  # same positions, another kind of index
        self._picker.schedule(self._matrix())
        self.mode_changed.emit(mode)

    def _upload_positions(self) -> None:
        self._pos = self.drawn_positions(self._coords)
        self._points.set_positions(self._pos)
        self._picker.set_positions(self._pos, self._mode)
        for ring in self._rings.values():
            ring.refresh(self._pos, self._points.size)
        for ov in self._overlays.values():
            ov.place(self.drawn_positions(ov.coords))

    def drawn_positions(self, coords: np.ndarray) -> np.ndarray:
        """(M, 3) positions of (M, 2|3) coordinates as the current mode draws them: (x, y, 0) in 2D (a pan/zoom
        camera would clip any z), (x, y, z) in 3D."""
        coords = np.asarray(coords, dtype=np.float32)
        pos = np.zeros((len(coords), 3), dtype=np.float32)
        if not len(coords):  # an empty map (a model whose layer is not embedded yet)
            return pos
        coords = coords.reshape(len(coords), -1)
        pos[:, :2] = coords[:, :2]
        if self._mode == "3d" and coords.shape[1] == 3:
            pos[:, 2] = coords[:, 2]
        return pos

    # ---- rings and overlays --------------------------------------------------------------------------------------
    def set_hover(self, row: int | None) -> None:
        self._set_ring("hover", None if row is None or row < 0 else [row])

    def set_selection(self, row: int | None) -> None:
        self._set_ring("selection", None if row is None or row < 0 else [row])

    def set_selection_rows(self, rows: Sequence[int], is_set: bool = False) -> None:
        """Ring the selected sample, or (``is_set``) every member of a selection set with a lighter ring."""
        rows = list(rows)
        self._set_ring("set", rows if is_set else None)
        self._set_ring("selection", None if is_set else rows or None)

    def set_neighbours(self, rows: Sequence[int]) -> None:
        self._set_ring("neighbours", rows)

    def set_highlight(self, rows: np.ndarray | None) -> None:
        self._set_ring("highlight", rows)

    def ring_rows(self, name: str) -> np.ndarray:
        """Rows currently ringed by ``name`` (hover, selection, neighbours, highlight)."""
        return self._rings[name].rows.copy()

    def _set_ring(self, name: str, rows) -> None:
        self._rings[name].set_rows(rows, self._pos, self._points.size)
        self._canvas.update()

    def add_overlay_points(self, name: str, coords: np.ndarray, rgba, symbol: str = "star", size: float = 12,
                           targets: Sequence[Target] | None = None) -> None:  # fmt: skip
        """Extra points drawn over the cloud (e.g. generated images); replaces an overlay of the same name. With
        ``targets`` (one per point) the overlay can be pointed at: hover and clicks report those targets."""
        self.remove_overlay(name)
        spare = self._spare_overlays.pop() if self._spare_overlays else None
        try:
            ov = OverlayPoints(self._view.scene, coords, rgba, symbol, size, order=10 + len(self._overlays),
                               targets=targets, visual=spare)  # fmt: skip
        except ValueError:
            if spare is not None:
                self._spare_overlays.append(spare)
            raise
        ov.place(self.drawn_positions(ov.coords))
        self._overlays[name] = ov
        self._canvas.update()

    def remove_overlay(self, name: str) -> None:
        ov = self._overlays.pop(name, None)
        if ov is not None:
            ov.visual.visible = False
            self._spare_overlays.append(ov.visual)  # drawn again by the next overlay: its shaders are built
            self._canvas.update()

    def overlay_names(self) -> list[str]:
        return list(self._overlays)

    # ---- layers and picking ---------------------------------------------------------------------------------------
    def add_layer(self, layer: PickLayer) -> None:
        """Let ``layer`` be pointed at: ``pick_target`` asks it (by ``pick_order``) before what lies below."""
        if layer not in self._layers:
            self._layers.append(layer)

    def remove_layer(self, layer: PickLayer) -> None:
        if layer in self._layers:
            self._layers.remove(layer)

    def pick_target(self, x: float, y: float) -> Target:
        """The topmost thing at widget position (x, y): a layer's target, an overlay point's, a sample, or NOTHING."""
        pickers = [(layer.pick_order, layer.pick) for layer in self._layers]
        pickers += [(OVERLAY_PICK_ORDER + i, functools.partial(self._pick_overlay, ov))
                    for i, ov in enumerate(self._overlays.values()) if ov.targets]  # fmt: skip
        for _order, pick in sorted(pickers, key=lambda p: -p[0]):
            hit = pick(x, y)
            if hit:
                return hit
        return Target.sample(self.pick(x, y))

    def _pick_overlay(self, ov: OverlayPoints, x: float, y: float) -> Target | None:
        screen = project_to_screen(self.drawn_positions(ov.coords), self._matrix())
        i = nearest_brute(screen, (x, y), 0.5 * ov.size + 3.0)
        return ov.targets[i] if i >= 0 else None

    def pick(self, x: float, y: float) -> int:
        """Row of the main cloud's point under widget position (x, y) in logical pixels, or -1."""
        return self._picker.nearest(x, y, max(6.0, 0.5 * self._points.size + 3.0), self._matrix())

    def rows_in_polygon(self, polygon_px: np.ndarray) -> np.ndarray:
        """Rows whose drawn position lies inside a polygon given in widget pixels."""
        return self._picker.inside(polygon_px, self._matrix())

    def set_lasso_path(self, polygon_px: np.ndarray | None) -> None:
        """Draw the lasso being dragged (a polygon in widget pixels), or hide it (None)."""
        if polygon_px is None or len(polygon_px) < 2:
            self._lasso_line.visible = False
        else:
            self._lasso_line.set_data(np.vstack([polygon_px, polygon_px[:1]]).astype(np.float32))
            self._lasso_line.visible = True
        self._canvas.update()

    @property
    def lasso_visible(self) -> bool:
        return bool(self._lasso_line.visible)

    # ---- camera -------------------------------------------------------------------------------------------------
    def reset_view(self) -> None:
        """Fit the current mode's camera to the points."""
        cam = self._cameras[self._mode]
        if len(self._pos) == 0:
            return
        lo, hi = self._bounds()
        if self._mode == "3d":  # one state: the camera's transforms are updated once, not once per property
            cam.set_state(azimuth=30.0, elevation=30.0, roll=0.0, center=tuple(float(v) for v in (lo + hi) / 2),
                          scale_factor=0.7 * float(np.linalg.norm(hi - lo)) or 1.0)  # fmt: skip
        else:
            # Explicit ranges: vispy's automatic bounds would ask the (possibly empty) ring visuals too.
            x, y = (float(lo[0]), float(hi[0])), (float(lo[1]), float(hi[1]))
            cam.set_range(x=x, y=y, z=(0.0, 0.0), margin=0.05)
        self._fitted[self._mode] = True
        self._rest_timer.stop()  # a fit jumps, it does not move: no subset frames before full detail
        self._on_camera_rest()

    def _bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """(min, max) of the drawn positions, ignoring NaN; kept while the positions are the same array."""
        if self._bounds_of is None or self._bounds_of[0] is not self._pos:
            # per column: a reduction down a strided column is several times quicker than one along axis 0
            lo = np.array([np.fmin.reduce(self._pos[:, j]) for j in range(3)])
            hi = np.array([np.fmax.reduce(self._pos[:, j]) for j in range(3)])
            self._bounds_of = (self._pos, lo, hi)
        return self._bounds_of[1], self._bounds_of[2]

    def camera_state(self) -> dict:
        """Both cameras and the current mode, as plain JSON types."""
        return {
            "mode": self._mode,
            "2d": camera_state.panzoom_state(self._cameras["2d"]),
            "3d": camera_state.turntable_state(self._cameras["3d"]),
        }

    def set_camera_state(self, state: dict) -> None:
        """Restore the cameras found in ``state`` (the mode itself is left to set_mode)."""
        if "2d" in state:
            camera_state.set_panzoom_state(self._cameras["2d"], state["2d"])
            self._fitted["2d"] = True
        if "3d" in state:
            camera_state.set_turntable_state(self._cameras["3d"], state["3d"])
            self._fitted["3d"] = True

    def _on_camera_moved(self, _event=None) -> None:
        self._matrix_cache = None
        if not self._points.lod_active:  # a new move: size the subset by what this GL drew lately
            self._points.set_lod_limit(self._canvas.points_within(MOVING_POINTS_S))
        if self._points.lod_rows is not None and not self._points.lod_active:
            self._points.set_lod(True)
        self._rest_timer.start()

    # ---- warm-up ------------------------------------------------------------------------------------------------
    @property
    def is_warm(self) -> bool:
        """True once every visual waiting for a warm-up has been drawn (its GL program built)."""
        return not self._cold and self._warming is None

    def warm_up_later(self, item: WarmUp) -> None:
        """Draw ``item`` once, with nothing to see, in a frame of its own after a full frame (``_after_draw``)."""
        self._cold.append(item)
        if self.full_detail_drawn and len(self._pos):
            self._warm_timer.start()

    def _warm_up_next(self) -> None:
        """One cold item per event-loop turn: drawn in a frame of its own, or (False: in use already, or its work
        needed no frame) the next one in the next turn."""
        if not self._cold or self._warming is not None:
            return
        ready = self._cold[0].warm_up(self._pos[0])
        if ready is None:
            QTimer.singleShot(WARM_RETRY_MS, self, self._warm_timer.start)
            return
        item = self._cold.pop(0)
        if ready:
            self._warming = item
            self.request_draw()
        elif self._cold:
            self._warm_timer.start()
        else:
            self.warmed_up.emit()

    def _on_camera_rest(self) -> None:
        if self._points.lod_active:
            self._points.set_lod(False)
        if self._mode == "3d":
            self._picker.schedule(self._matrix())
        self.camera_changed.emit()

    # ---- rendering ----------------------------------------------------------------------------------------------
    def render_image(self) -> np.ndarray:
        """The view at full detail as H x W x 4 uint8 (for "export view as PNG" and tests)."""
        lod = self._points.lod_active
        self._points.set_lod(False)
        try:
            return np.asarray(self._canvas.render(alpha=True))
        finally:
            self._points.set_lod(lod)

    def data_to_screen(self, coords: np.ndarray) -> np.ndarray:
        """Logical-pixel positions on the widget of data points (as drawn in the current mode)."""
        return project_to_screen(self.drawn_positions(np.atleast_2d(np.asarray(coords, np.float32))), self._matrix())

    def _matrix(self) -> np.ndarray:
        """The 4x4 row-vector matrix from drawn positions to widget pixels, cached until the camera moves."""
        if self._matrix_cache is None:
            self._matrix_cache = transform_matrix(self._view.scene.node_transform(self._canvas.scene))
        return self._matrix_cache
