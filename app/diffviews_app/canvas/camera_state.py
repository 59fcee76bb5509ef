"""JSON-able snapshots of the 2D pan/zoom and 3D turntable cameras, for sessions and for tests."""

from __future__ import annotations

from vispy.geometry import Rect
from vispy.scene.cameras import PanZoomCamera, TurntableCamera


def panzoom_state(cam: PanZoomCamera) -> dict:
    """The visible data rectangle: enough to restore a 2D view exactly."""
    r = cam.rect
    return {"rect": [float(r.left), float(r.bottom), float(r.width), float(r.height)]}


def set_panzoom_state(cam: PanZoomCamera, state: dict) -> None:
    cam.rect = Rect(*(float(v) for v in state["rect"]))


def turntable_state(cam: TurntableCamera) -> dict:
    """Orbit angles, centre, zoom and field of view of a 3D view."""
    return {
        "center": [float(v) for v in cam.center],
        "azimuth": float(cam.azimuth),
        "elevation": float(cam.elevation),
        "roll": float(cam.roll),
        "fov": float(cam.fov),
        "scale_factor": _opt_float(cam.scale_factor),
        "distance": _opt_float(cam.distance),
    }


def set_turntable_state(cam: TurntableCamera, state: dict) -> None:
    cam.center = tuple(float(v) for v in state["center"])
    cam.azimuth = float(state["azimuth"])
    cam.elevation = float(state["elevation"])
    cam.roll = float(state.get("roll", 0.0))
    cam.fov = float(state["fov"])
    if state.get("scale_factor") is not None:  # None: a camera never fitted, leave vispy's default
        cam.scale_factor = float(state["scale_factor"])
    cam.distance = _opt_float(state.get("distance"))


def _opt_float(v) -> float | None:
    return None if v is None else float(v)
