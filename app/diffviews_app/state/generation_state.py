"""What the generation side shows: settings, trajectories (one per generated image), the current one and its step.

A plain QObject with signals and no widgets, like ExplorerState: the generation runner (jobs), the docks' controls
and sessions write it; the trajectory bridge (the map), the steps, trajectory and preview docks and sessions read
it, so none of them call each other. Tested without a window (tests/app/test_generation_state.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from PySide6.QtCore import QObject, Signal

from diffviews_core.captions import step_caption
from diffviews_core.lineage import GenerationSettings, Lineage


@dataclass
class StepFrame:
    """One denoising step of one image: the x0 estimate and the noised input it came from (H x W x C uint8)."""

    step: int
    num_steps: int
    sigma: float
    x0: np.ndarray
    noised: np.ndarray


@dataclass
class Trajectory:
    """The path of one generated image through the map, step by step; ``image`` is set once it is finished."""

    id: int
    run: int
    sample: int  # index in the run's batch
    masked: bool
    class_label: int | None
    class_text: str
    map_key: tuple[str, str]  # (model path, layer key) the coordinates belong to
    num_steps: int
    mask_steps: list[int] = field(default_factory=list)  # 0-based steps the mask applies to
    sigmas: list[float] = field(default_factory=list)
    coords2d: list[np.ndarray] = field(default_factory=list)
    coords3d: list[np.ndarray] = field(default_factory=list)
    distances: list[float] = field(default_factory=list)
    activations: list[np.ndarray] = field(default_factory=list)
    frames: list[StepFrame] = field(default_factory=list)
    image: np.ndarray | None = None
    lineage: Lineage | None = None

    @property
    def label(self) -> str:
        kind = "masked" if self.masked else "unmasked"
        return f"#{self.run}.{self.sample + 1} {kind} · {self.class_text}"

    @property
    def finished(self) -> bool:
        return self.image is not None

    def caption(self, step: int) -> str:
        """``class | Step i/n | sigma=x`` of one step (from its frame, or from the sigmas a session kept)."""
        if step < len(self.frames):
            frame = self.frames[step]
            return step_caption(self.class_text, frame.step, frame.num_steps, frame.sigma)
        return step_caption(self.class_text, step, self.num_steps, self.sigmas[step])

    def points(self, mode: str) -> np.ndarray:
        """(steps, 2|3) float32 positions in ``mode``; 3D falls back to (x, y, 0) when the map has no 3D."""
        if mode == "3d" and self.coords3d and len(self.coords3d) == len(self.coords2d):
            return np.asarray(self.coords3d, dtype=np.float32).reshape(-1, 3)
        return np.asarray(self.coords2d, dtype=np.float32).reshape(-1, 2)


class GenerationState(QObject):
    """Settings, trajectories, the current trajectory and step, and whether a generation runs."""

    settings_changed = Signal()
    trajectory_added = Signal(int)
    trajectory_stepped = Signal(int)  # a step arrived (live)
    trajectory_finished = Signal(int)
    trajectories_cleared = Signal()
    current_changed = Signal(int)  # trajectory id, -1 for none
    step_changed = Signal(int)  # index into the current trajectory's frames
    compare_changed = Signal()
    running_changed = Signal(bool)
    progressed = Signal(float, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = GenerationSettings()
        self.trajectories: dict[int, Trajectory] = {}
        self.current: int = -1
        self.step: int = -1
        self.compare: tuple[int, int] | None = None  # (masked id, unmasked id)
        self.running = False
        self.expected_seconds: float | None = None  # how long the running generation should take (earlier runs' pace)
        self._next_id = 1
        self._next_run = 1

    # ---- settings -------------------------------------------------------------------------------------------------
    def set_settings(self, settings: GenerationSettings) -> None:
        if settings != self.settings:
            self.settings = replace(settings)
            self.settings_changed.emit()

    def update_settings(self, **changes) -> None:
        self.set_settings(replace(self.settings, **changes))

    # ---- trajectories ---------------------------------------------------------------------------------------------
    def new_run(self) -> int:
        run, self._next_run = self._next_run, self._next_run + 1
        return run

    def add_trajectory(self, **fields) -> Trajectory:
        """Create an (empty) trajectory, make it current and announce it."""
        traj = Trajectory(id=self._next_id, **fields)
        self._next_id += 1
        self._next_run = max(self._next_run, traj.run + 1)
        self.trajectories[traj.id] = traj
        self.trajectory_added.emit(traj.id)
        self.set_current(traj.id)
        return traj

    def add_step(self, tid: int, frame: StepFrame, xy: np.ndarray, xyz: np.ndarray | None, distance: float,
                 activation: np.ndarray | None) -> None:  # fmt: skip
        """Append one live step to trajectory ``tid``; the current trajectory's view follows the newest step."""
        traj = self.trajectories.get(tid)
        if traj is None:
            return
        traj.frames.append(frame)
        traj.sigmas.append(float(frame.sigma))
        traj.coords2d.append(np.asarray(xy, dtype=np.float32)[:2])
        if xyz is not None:
            traj.coords3d.append(np.asarray(xyz, dtype=np.float32)[:3])
        traj.distances.append(float(distance))
        if activation is not None:
            traj.activations.append(np.asarray(activation, dtype=np.float32))
        self.trajectory_stepped.emit(tid)
        if tid == self.current:
            self.set_step(len(traj.frames) - 1)

    def finish(self, tid: int, image: np.ndarray, lineage: Lineage | None) -> None:
        traj = self.trajectories.get(tid)
        if traj is None:
            return
        traj.image = np.asarray(image)
        traj.lineage = lineage
        self.trajectory_finished.emit(tid)

    def discard(self, ids) -> None:
        """Drop trajectories that never finished (a cancelled or failed run)."""
        gone = [i for i in ids if i in self.trajectories and not self.trajectories[i].finished]
        if not gone:
            return
        for i in gone:
            del self.trajectories[i]
        if self.compare and set(self.compare) & set(gone):
            self.set_compare(None)
        self.trajectories_cleared.emit()
        if self.current in gone:
            self.set_current(max(self.trajectories, default=-1))

    def clear(self) -> None:
        self.trajectories.clear()
        self.compare = None
        self.trajectories_cleared.emit()
        self.compare_changed.emit()
        self.set_current(-1)

    def restore(self, records: list[dict], current: int = -1) -> list[int]:
        """Replace every trajectory with ``records`` (Trajectory fields without ``id``); ``current`` indexes them.
        Returns the new trajectory ids, in the records' order."""
        self.trajectories.clear()
        self.compare = None
        ids = []
        for fields in records:
            traj = Trajectory(id=self._next_id, **fields)
            self._next_id += 1
            self._next_run = max(self._next_run, traj.run + 1)
            self.trajectories[traj.id] = traj
            ids.append(traj.id)
        self.current = -1
        self.trajectories_cleared.emit()
        self.compare_changed.emit()
        self.set_current(ids[current] if 0 <= current < len(ids) else -1)
        return ids

    def set_current(self, tid: int) -> None:
        tid = tid if tid in self.trajectories else -1
        if tid != self.current:
            self.current = tid
            self.current_changed.emit(tid)
        traj = self.current_trajectory()
        self.set_step(len(traj.frames) - 1 if traj is not None else -1)

    def current_trajectory(self) -> Trajectory | None:
        return self.trajectories.get(self.current)

    def set_step(self, step: int) -> None:
        traj = self.current_trajectory()
        n = len(traj.frames) if traj is not None else 0
        step = max(0, min(int(step), n - 1)) if n else -1
        if step != self.step:
            self.step = step
            self.step_changed.emit(step)

    def set_compare(self, pair: tuple[int, int] | None) -> None:
        if pair != self.compare:
            self.compare = pair
            self.compare_changed.emit()

    def set_running(self, running: bool) -> None:
        if running != self.running:
            self.running = running
            self.running_changed.emit(running)

    def finished_trajectories(self, map_key: tuple[str, str] | None = None) -> list[Trajectory]:
        """Generated images (finished trajectories), optionally only those drawn on the map ``map_key``."""
        return [t for t in self.trajectories.values() if t.finished and (map_key is None or t.map_key == map_key)]
