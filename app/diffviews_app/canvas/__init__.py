"""The vispy point-cloud canvas: main buffer, rings, overlays, layers (trajectories), cameras, picking and lasso.

``canvas.PointCloudCanvas`` is the public surface (its module docstring lists the API layers build on);
``input.CanvasInput`` is its one mouse handler, ``point_picker`` the main cloud's picking, ``trajectory_layer`` a
layer drawn on top. PointCloudCanvas is loaded on first use so the pure-numpy modules (picking, lasso) import without
Qt or vispy.
"""

from __future__ import annotations

__all__ = ["PointCloudCanvas"]


def __getattr__(name: str):
    if name == "PointCloudCanvas":
        from .canvas import PointCloudCanvas

        return PointCloudCanvas
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
