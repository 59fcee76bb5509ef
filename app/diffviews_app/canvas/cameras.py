"""The 2D pan/zoom and 3D turntable cameras, both writing one shared scene transform.

vispy's cameras give the scene a transform object of their own (a matrix in 2D, a chain of three in 3D), and a
visual's shader program is built again whenever that object is replaced: every 2D <-> 3D switch rebuilt the program
of each visible visual, and the next hover or click rebuilt its ring's (50-90 ms each on llvmpipe). Here both cameras
write their whole mapping into one ``MatrixTransform`` that stays on the scene, so a switch changes a uniform.
"""

from __future__ import annotations

import numpy as np
from vispy.scene.cameras import PanZoomCamera, TurntableCamera
from vispy.visuals.transforms import MatrixTransform

from .picking import transform_matrix


class _SharedSceneTransform:
    """Mixin for a vispy camera: its scene mapping is copied into ``scene_transform`` instead of replacing it."""

    def __init__(self, scene_transform: MatrixTransform, **kwargs) -> None:
        self._shared_transform = scene_transform
        super().__init__(**kwargs)

    def _set_scene_transform(self, tr) -> None:
        if self._resetting:
            return
        # the camera's own object stays here: PanZoomCamera maps wheel positions through it
        self._scene_transform = tr
        shared = self._shared_transform
        shared.matrix = transform_matrix(tr).astype(np.float32)
        if self._viewbox.scene.transform is not shared:
            self._viewbox.scene.transform = shared
        self._viewbox.update()


class PanZoom(_SharedSceneTransform, PanZoomCamera):
    """2D pan and zoom."""


class Turntable(_SharedSceneTransform, TurntableCamera):
    """3D orbit around a centre."""


def make_cameras() -> dict[str, PanZoomCamera | TurntableCamera]:
    """The canvas's two cameras, by mode, sharing one scene transform."""
    shared = MatrixTransform()
    shared.dynamic = True  # never collapsed with its neighbours in a chain (vispy marks camera transforms so)
    return {"2d": PanZoom(shared, aspect=1.0), "3d": Turntable(shared, fov=45.0)}
