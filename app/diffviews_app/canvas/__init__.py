"""The vispy point-cloud canvas: main buffer, rings, overlays, cameras, picking and lasso."""

from .canvas import PointCloudCanvas

__all__ = ["PointCloudCanvas"]
