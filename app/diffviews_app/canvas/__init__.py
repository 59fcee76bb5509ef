"""The vispy point-cloud canvas: main buffer, rings, overlays, cameras, picking and lasso.

PointCloudCanvas is loaded on first use so the pure-numpy modules (picking, lasso) import without Qt or vispy.
"""

from __future__ import annotations

__all__ = ["PointCloudCanvas"]


def __getattr__(name: str):
    if name == "PointCloudCanvas":
        from .canvas import PointCloudCanvas

        return PointCloudCanvas
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
