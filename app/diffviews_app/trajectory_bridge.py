"""Wires the generation state to the map, both ways: the sibling of ``CanvasBridge`` for trajectories.

GenerationState -> canvas: each trajectory drawn by the trajectory layer (only on the map it was placed on), the
current one bold, and the generated images as a star overlay that the mouse can point at. ExplorerState -> canvas:
the mode and the map shown decide what is drawn. Canvas -> GenerationState: a click on a step or a generated image
(announced by ``ExplorerState.target_clicked``) makes its trajectory current at that step. Generated images in the
explorer's selection are ringed, leave it when their trajectory goes, and lend their activation and position to a
KNN query (``generated_query``).
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject

from .canvas.trajectory_layer import TrajectoryLayer
from .colors import trajectory_color
from .state import ExplorerState
from .state.generation_state import GenerationState
from .targets import Target

OVERLAY = "generated"
SELECTED_OVERLAY = "generated-selection"
GENERATED_SIZE = 16
SELECTED_RGBA = (0.90, 0.10, 0.10, 1.0)  # the selection ring's colour


class TrajectoryBridge(QObject):
    """The only object that talks to both the generation state and the canvas."""

    def __init__(self, state: ExplorerState, gen: GenerationState, canvas, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state, self.gen, self.canvas = state, gen, canvas
        self.layer = TrajectoryLayer(canvas, self)
        gen.trajectory_stepped.connect(self._draw)
        gen.trajectory_finished.connect(self._finished)
        gen.trajectories_cleared.connect(self.redraw_all)
        gen.current_changed.connect(self.layer.set_current)
        canvas.mode_changed.connect(lambda _mode: self._refresh_overlay())  # 2D or 3D positions of the stars
        state.model_changed.connect(self.redraw_all)
        state.embedding_changed.connect(self.redraw_all)
        state.target_clicked.connect(self._clicked)
        state.selection_changed.connect(self._refresh_selected)
        gen.trajectories_cleared.connect(
            lambda: state.drop_generated([t for t in state.selected_generated if t not in gen.trajectories])
        )

    def _draw(self, tid: int) -> None:
        traj = self.gen.trajectories.get(tid)
        if traj is None:
            return
        if traj.map_key != self.state.map_key():
            self.layer.remove(tid)
            return
        self.layer.set_trajectory(tid, traj.points("2d"), traj.points("3d") if traj.coords3d else None, traj.sigmas,
                                  trajectory_color(traj.run, traj.masked), traj.finished)  # fmt: skip

    def redraw_all(self) -> None:
        """Draw every trajectory of the map shown (and drop the others) and the generated-image overlay."""
        for tid in set(self.layer.ids()) - set(self.gen.trajectories):
            self.layer.remove(tid)
        for tid in self.gen.trajectories:
            self._draw(tid)
        self.layer.set_current(self.gen.current)
        self._refresh_overlay()

    def _finished(self, tid: int) -> None:
        self._draw(tid)
        self._refresh_overlay()

    def generated_points(self) -> tuple[list[int], np.ndarray]:
        """Trajectory ids and positions of the generated images on the map shown: (M, 2) in 2D, (M, 3) in 3D."""
        trajs = self.gen.finished_trajectories(self.state.map_key())
        dims = 3 if self.state.mode == "3d" and all(t.coords3d for t in trajs) else 2
        if not trajs:
            return [], np.zeros((0, dims), dtype=np.float32)
        pts = np.stack([t.points("3d" if dims == 3 else "2d")[-1] for t in trajs]).astype(np.float32)
        return [t.id for t in trajs], pts

    def _refresh_overlay(self) -> None:
        ids, pts = self.generated_points()
        if not ids:
            self.canvas.remove_overlay(OVERLAY)
            return
        trajs = [self.gen.trajectories[t] for t in ids]
        rgba = np.array([(*trajectory_color(t.run, t.masked), 1.0) for t in trajs], dtype=np.float32)
        targets = [Target.trajectory_step(t.id, len(t.sigmas) - 1, generated=True) for t in trajs]
        self.canvas.add_overlay_points(OVERLAY, pts, rgba, symbol="star", size=GENERATED_SIZE, targets=targets)
        self._refresh_selected()

    def _refresh_selected(self) -> None:
        """A ring around each generated image in the selection (drawn, not pickable: the star under it is)."""
        ids, pts = self.generated_points()
        keep = [i for i, tid in enumerate(ids) if tid in self.state.selected_generated]
        if not keep:
            self.canvas.remove_overlay(SELECTED_OVERLAY)
            return
        rgba = np.tile(np.asarray(SELECTED_RGBA, dtype=np.float32), (len(keep), 1))
        self.canvas.add_overlay_points(SELECTED_OVERLAY, pts[keep], rgba, symbol="ring", size=GENERATED_SIZE + 12)

    def generated_query(self, tid: int) -> tuple[np.ndarray | None, np.ndarray] | None:
        """A generated image as a KNN query: its final activation (None when none was kept) and its position on the
        map shown in the current mode; None when it is not on this map."""
        traj = self.gen.trajectories.get(tid)
        if traj is None or not traj.finished or traj.map_key != self.state.map_key():
            return None
        mode = "3d" if self.state.mode == "3d" and traj.coords3d else "2d"
        activation = traj.activations[-1] if traj.activations else None
        return activation, np.asarray(traj.points(mode)[-1], dtype=np.float64)

    def _clicked(self, target: Target) -> None:
        """A click on a step shows that step; on a generated image, its trajectory at the final step."""
        if not target.on_trajectory or target.trajectory not in self.gen.trajectories:
            return
        self.gen.set_current(target.trajectory)
        self.gen.set_step(target.step)
