"""PointCloudCanvas: the vispy scene (points, rings, overlays, cameras) behind a small Qt-signal interface.

The canvas only draws and reports: hover, clicks and lasso come out as signals with row numbers; what to show
comes in through set_* calls. Mouse input is read by an event filter on the native widget, so Shift+drag draws a
lasso without the camera panning. Picking indexes are built on a worker thread and handed back by a queued signal.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import vispy
from PySide6.QtCore import QEvent, QObject, QPointF, Qt, QTimer, Signal
from PySide6.QtWidgets import QWidget
from vispy import scene
from vispy.scene.cameras import PanZoomCamera, TurntableCamera
from vispy.scene.visuals import Line

from . import camera_state
from .lasso import box_polygon, points_in_polygon
from .overlays import OverlayPoints, Rings
from .picking import PointIndex, nearest_brute, project_to_screen
from .point_layer import PointLayer

vispy.use(app="pyside6")
log = logging.getLogger(__name__)

SYNC_INDEX_MAX = 50_000  # build picking indexes inline up to this many points, on the worker above
HOVER_INTERVAL_MS = 16
REST_DELAY_MS = 150  # camera idle this long = at rest: full detail, 3D index rebuilt, camera_changed
CLICK_SLOP_PX = 4.0


def default_point_size(n: int) -> float:
    """Smaller dots for bigger clouds so dense maps stay readable."""
    if n <= 20_000:
        return 7.0
    if n <= 200_000:
        return 4.0
    return 2.5


class PointCloudCanvas(QObject):
    """A 2D/3D point cloud with hover/selection/neighbour/highlight rings, picking and lasso, in one Qt widget."""

    hovered = Signal(int)
    clicked = Signal(int, object)
    lasso_selected = Signal(object)
    camera_changed = Signal()
    _index_built = Signal(object)  # (generation, kind, matrix or None, PointIndex), from the worker thread

    RING_STYLE = {  # colour, extra diameter over the point size (px), ring width (px)
        "highlight": ((0.10, 0.10, 0.10, 0.9), 4.0, 1.5),
        "neighbours": ((0.13, 0.75, 0.20, 1.0), 9.0, 2.5),
        "selection": ((0.90, 0.10, 0.10, 1.0), 12.0, 3.0),
        "hover": ((0.00, 0.80, 0.90, 1.0), 8.0, 2.0),
    }

    def __init__(self, parent: QWidget | None = None, *, lod_points: int = 50_000, bgcolor="white") -> None:
        super().__init__(parent)
        self._canvas = scene.SceneCanvas(keys=None, show=False, parent=parent, bgcolor=bgcolor, size=(800, 600))
        self._view = self._canvas.central_widget.add_view(border_width=0)
        self._cameras = {"2d": PanZoomCamera(aspect=1.0), "3d": TurntableCamera(fov=45.0)}
        self._fitted = {"2d": False, "3d": False}
        self._mode = "2d"
        self._view.camera = self._cameras["2d"]

        self._coords = np.zeros((0, 2), dtype=np.float32)  # as given
        self._pos = np.zeros((0, 3), dtype=np.float32)  # as drawn (z = 0 in 2D)
        self._points = PointLayer(lod_points=lod_points, parent=self._view.scene)
        self._points.order = 0
        self._rings = {
            name: Rings(self._view.scene, color, extra, width, order=i + 1)
            for i, (name, (color, extra, width)) in enumerate(self.RING_STYLE.items())
        }
        self._overlays: dict[str, OverlayPoints] = {}
        self._lasso_line = Line(parent=self._view, color=(0.2, 0.2, 0.2, 0.9), width=1.5, method="gl")
        self._lasso_line.order = 100
        self._lasso_line.visible = False

        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="canvas-index")
        self._generation = 0
        self._data_index: PointIndex | None = None
        self._screen_index: PointIndex | None = None
        self._screen_matrix: np.ndarray | None = None
        self._matrix_cache: np.ndarray | None = None
        self._index_built.connect(self._on_index_built)

        self._hover_timer = QTimer(self, singleShot=True, interval=HOVER_INTERVAL_MS)
        self._hover_timer.timeout.connect(self._emit_hover)
        self._rest_timer = QTimer(self, singleShot=True, interval=REST_DELAY_MS)
        self._rest_timer.timeout.connect(self._on_camera_rest)
        self._hover_pos: QPointF | None = None
        self._last_hover = -1
        self._press_pos: QPointF | None = None
        self._lasso_path: list[tuple[float, float]] | None = None
        self.lasso_mode = "lasso"  # or "box"

        for cam in self._cameras.values():  # fires on every pan, zoom, orbit and resize
            cam.transform.changed.connect(self._on_camera_moved)
        self.native.setMouseTracking(True)
        self.native.installEventFilter(self)

    # ---- widget -------------------------------------------------------------------------------------------------
    @property
    def native(self) -> QWidget:
        return self._canvas.native

    @property
    def scene_canvas(self) -> scene.SceneCanvas:
        return self._canvas

    @property
    def mode(self) -> str:
        return self._mode

    @property
    def point_count(self) -> int:
        return len(self._pos)

    @property
    def index_ready(self) -> bool:
        """True when picking uses a spatial index for the current points (and, in 3D, the current camera)."""
        if self._mode == "2d":
            return self._data_index is not None
        return self._screen_index is not None and self._screen_matrix_current()

    def close(self) -> None:
        """Stop timers and the index worker (waiting for it) and release the GL canvas."""
        self._hover_timer.stop()
        self._rest_timer.stop()
        self._executor.shutdown(wait=True, cancel_futures=True)
        self._canvas.close()

    # ---- data ---------------------------------------------------------------------------------------------------
    def set_points(self, coords: np.ndarray, fit: bool | None = None) -> None:
        """Upload the main buffer (once per dataset/mode). The camera is kept unless ``fit`` is True, or it is None
        and this mode's camera has never been fitted; rings follow their rows to the new positions."""
        coords = np.asarray(coords, dtype=np.float32)
        if coords.ndim != 2 or coords.shape[1] not in (2, 3):
            raise ValueError(f"point coordinates must be (N, 2) or (N, 3), got {coords.shape}")
        self._coords = coords
        self._points.set_size(default_point_size(len(coords)))
        self._upload_positions()
        if fit or (fit is None and not self._fitted[self._mode] and len(coords)):
            self.reset_view()
        self._schedule_index()

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
        self._schedule_index()

    def _upload_positions(self) -> None:
        self._pos = self._mode_positions(self._coords)
        self._points.set_positions(self._pos)
        self._generation += 1
        self._data_index = None
        self._screen_index = None
        self._screen_matrix = None
        self._refresh_rings()
        for ov in self._overlays.values():
            ov.place(self._mode_positions(ov.coords))

    def _mode_positions(self, coords: np.ndarray) -> np.ndarray:
        """(x, y, 0) in 2D (a pan/zoom camera would clip any z), (x, y, z) in 3D."""
        pos = np.zeros((len(coords), 3), dtype=np.float32)
        pos[:, :2] = coords[:, :2]
        if self._mode == "3d" and coords.shape[1] == 3:
            pos[:, 2] = coords[:, 2]
        return pos

    # ---- rings and overlays --------------------------------------------------------------------------------------
    def set_hover(self, row: int | None) -> None:
        self._set_ring("hover", None if row is None or row < 0 else [row])

    def set_selection(self, row: int | None) -> None:
        self._set_ring("selection", None if row is None or row < 0 else [row])

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

    def _refresh_rings(self) -> None:
        for ring in self._rings.values():
            ring.refresh(self._pos, self._points.size)

    def add_overlay_points(self, name: str, coords: np.ndarray, rgba, symbol: str = "star", size: float = 12) -> None:
        """Extra points drawn over the cloud (e.g. generated samples); replaces an overlay of the same name."""
        self.remove_overlay(name)
        ov = OverlayPoints(self._view.scene, coords, rgba, symbol, size, order=10 + len(self._overlays))
        ov.place(self._mode_positions(ov.coords))
        self._overlays[name] = ov
        self._canvas.update()

    def remove_overlay(self, name: str) -> None:
        ov = self._overlays.pop(name, None)
        if ov is not None:
            ov.visual.parent = None
            self._canvas.update()

    def overlay_names(self) -> list[str]:
        return list(self._overlays)

    # ---- camera -------------------------------------------------------------------------------------------------
    def reset_view(self) -> None:
        """Fit the current mode's camera to the points."""
        cam = self._cameras[self._mode]
        if len(self._pos) == 0:
            return
        lo, hi = np.nanmin(self._pos, axis=0), np.nanmax(self._pos, axis=0)
        if self._mode == "3d":
            cam.azimuth, cam.elevation, cam.roll = 30.0, 30.0, 0.0
            cam.center = tuple(float(v) for v in (lo + hi) / 2)
            cam.scale_factor = 0.7 * float(np.linalg.norm(hi - lo)) or 1.0
        else:
            # Explicit ranges: vispy's automatic bounds would ask the (possibly empty) ring visuals too.
            x, y = (float(lo[0]), float(hi[0])), (float(lo[1]), float(hi[1]))
            cam.set_range(x=x, y=y, z=(0.0, 0.0), margin=0.05)
        self._fitted[self._mode] = True

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
        if self._points.lod_rows is not None and not self._points.lod_active:
            self._points.set_lod(True)
        self._rest_timer.start()

    def _on_camera_rest(self) -> None:
        if self._points.lod_active:
            self._points.set_lod(False)
        if self._mode == "3d":
            self._schedule_index()
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
        return project_to_screen(self._mode_positions(np.atleast_2d(np.asarray(coords, np.float32))), self._matrix())

    def _matrix(self) -> np.ndarray:
        """The 4x4 row-vector matrix from drawn positions to widget pixels, cached until the camera moves."""
        if self._matrix_cache is None:
            # Every transform from the view's scene to canvas pixels is linear in homogeneous coordinates, so
            # mapping the identity gives the matrix of the whole chain.
            tr = self._view.scene.node_transform(self._canvas.scene)
            self._matrix_cache = np.asarray(tr.map(np.eye(4)), dtype=np.float64)
        return self._matrix_cache

    def _pixels_to_data_2d(self, px: np.ndarray) -> tuple[np.ndarray, float]:
        """Data (x, y) of widget pixels in 2D, and the data length of one pixel (the 2D camera is affine, aspect 1)."""
        m = self._matrix()
        a, t = m[:2, :2], m[3, :2]
        return (np.asarray(px, dtype=np.float64) - t) @ np.linalg.inv(a), 1.0 / np.sqrt(abs(np.linalg.det(a)))

    def pick(self, x: float, y: float) -> int:
        """Row of the point under widget position (x, y) in logical pixels, or -1."""
        if len(self._pos) == 0:
            return -1
        radius_px = max(6.0, 0.5 * self._points.size + 3.0)
        if self._mode == "2d":
            data, unit = self._pixels_to_data_2d(np.array([x, y]))
            if self._data_index is not None:
                return self._data_index.nearest(data, radius_px * unit)
            return nearest_brute(self._pos[:, :2], data, radius_px * unit)
        if self._screen_index is not None and self._screen_matrix_current():
            return self._screen_index.nearest((x, y), radius_px)
        return nearest_brute(project_to_screen(self._pos, self._matrix()), (x, y), radius_px)

    def rows_in_polygon(self, polygon_px: np.ndarray) -> np.ndarray:
        """Rows whose drawn position lies inside a polygon given in widget pixels."""
        polygon_px = np.asarray(polygon_px, dtype=np.float64)
        if self._mode == "2d":
            poly, _unit = self._pixels_to_data_2d(polygon_px)
            return points_in_polygon(self._pos[:, :2], poly)
        if self._screen_index is not None and self._screen_matrix_current():
            screen = self._screen_index.xy
        else:
            screen = project_to_screen(self._pos, self._matrix())
        return points_in_polygon(screen, polygon_px)

    def _screen_matrix_current(self) -> bool:
        return self._screen_matrix is not None and np.array_equal(self._screen_matrix, self._matrix())

    def _schedule_index(self) -> None:
        gen, pos = self._generation, self._pos
        if self._mode == "2d":
            if self._data_index is not None or len(pos) == 0:
                return
            job, args = _build_data_index, (gen, pos[:, :2])
        else:
            if len(pos) == 0 or self._screen_matrix_current():
                return
            job, args = _build_screen_index, (gen, pos, self._matrix())
        if len(pos) <= SYNC_INDEX_MAX:
            self._on_index_built(job(*args))
        else:
            self._executor.submit(self._run_job, job, args)

    def _run_job(self, job, args) -> None:
        try:
            self._index_built.emit(job(*args))
        except Exception:  # a worker must never die silently; picking falls back to brute force
            log.exception("building the picking index failed")

    def _on_index_built(self, result) -> None:
        gen, kind, matrix, index = result
        if gen != self._generation:
            return
        if kind == "2d":
            self._data_index = index
        else:
            self._screen_index, self._screen_matrix = index, matrix

    # ---- mouse --------------------------------------------------------------------------------------------------
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
            self._hover_timer.stop()
            if self._last_hover != -1:
                self._last_hover = -1
                self.hovered.emit(-1)
        return False

    def _mouse_move(self, event) -> bool:
        pos = event.position()
        if self._lasso_path is not None:
            self._lasso_path.append((pos.x(), pos.y()))
            self._draw_lasso()
            return True
        if event.buttons() == Qt.MouseButton.NoButton:
            self._hover_pos = pos
            if not self._hover_timer.isActive():
                self._hover_timer.start()
        return False

    def _mouse_press(self, event) -> bool:
        self._press_pos = event.position()
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self._lasso_path = [(self._press_pos.x(), self._press_pos.y())]
            return True  # the camera never sees a Shift+drag
        return False

    def _mouse_release(self, event) -> bool:
        pos, press = event.position(), self._press_pos
        self._press_pos = None
        lasso, self._lasso_path = self._lasso_path, None
        if lasso is not None:
            lasso.append((pos.x(), pos.y()))
            path = np.asarray(lasso)
            self._lasso_line.visible = False
            self._canvas.update()
            if np.ptp(path, axis=0).max() > CLICK_SLOP_PX:
                self.lasso_selected.emit(self.rows_in_polygon(self._lasso_polygon(lasso)))
                return True
        if press is not None and (pos - press).manhattanLength() <= CLICK_SLOP_PX:
            self.clicked.emit(self.pick(pos.x(), pos.y()), event.modifiers())
        return lasso is not None

    def _lasso_polygon(self, path: list[tuple[float, float]]) -> np.ndarray:
        if self.lasso_mode == "box":
            return box_polygon(path[0], path[-1])
        return np.asarray(path, dtype=np.float64)

    def _draw_lasso(self) -> None:
        poly = self._lasso_polygon(self._lasso_path)
        if len(poly) >= 2:
            self._lasso_line.set_data(np.vstack([poly, poly[:1]]).astype(np.float32))
            self._lasso_line.visible = True
            self._canvas.update()

    def _emit_hover(self) -> None:
        if self._hover_pos is None:
            return
        row = self.pick(self._hover_pos.x(), self._hover_pos.y())
        if row != self._last_hover:
            self._last_hover = row
            self.hovered.emit(row)


def _build_data_index(gen: int, xy: np.ndarray):
    return gen, "2d", None, PointIndex(xy)


def _build_screen_index(gen: int, pos: np.ndarray, matrix: np.ndarray):
    return gen, "3d", matrix, PointIndex(project_to_screen(pos, matrix))
