"""Trajectories dock: pick the current trajectory, clear them all, and a plot of each step's activation distance to
the selection's mean activation against sigma (log x), which shows when the mask takes hold and when it lets go."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QComboBox, QDockWidget, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from ..colors import trajectory_color
from ..state.generation_state import GenerationState, Trajectory

PLOT_REFRESH_MS = 100


def _pen_color(traj: Trajectory, alpha: float) -> tuple[int, int, int, int]:
    r, g, b = trajectory_color(traj.run, traj.masked)
    return int(r * 255), int(g * 255), int(b * 255), int(alpha * 255)


class TrajectoryDock(QDockWidget):
    """Selector + clear + distance plot; ``clear_requested`` lets the controller also drop overlays and lines."""

    clear_requested = Signal()

    def __init__(self, gen: GenerationState, parent: QWidget | None = None) -> None:
        super().__init__("Trajectories", parent)
        self.setObjectName("TrajectoryDock")
        self.gen = gen
        body = QWidget()
        layout = QVBoxLayout(body)
        row = QHBoxLayout()
        self.selector = QComboBox()
        self.selector.setToolTip("the trajectory shown in bold on the map, in the steps gallery and on the plot")
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("remove every trajectory and generated point from the map")
        row.addWidget(self.selector, 1)
        row.addWidget(self.clear_button)
        layout.addLayout(row)

        self.plot = pg.PlotWidget(background="w")
        self.plot.setLogMode(x=True, y=False)
        self.plot.setLabel("bottom", "sigma (log)")
        self.plot.setLabel("left", "distance to selection mean")
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.setMinimumHeight(120)
        self.plot.getViewBox().invertX(True)  # denoising runs from high to low sigma: read left to right
        self.step_line = pg.InfiniteLine(angle=90, pen=pg.mkPen((120, 120, 120), width=1, style=pg.QtCore.Qt.DashLine))
        self.step_line.setVisible(False)
        self.plot.addItem(self.step_line, ignoreBounds=True)
        layout.addWidget(self.plot, 1)
        self.setWidget(body)
        self._curves: dict[int, pg.PlotDataItem] = {}
        self._dirty: set[int] = set()
        self._flush_timer = QTimer(self, singleShot=True, interval=PLOT_REFRESH_MS)
        self._flush_timer.timeout.connect(self.flush)

        self.selector.currentIndexChanged.connect(self._picked)
        self.clear_button.clicked.connect(self.clear_requested)
        gen.trajectory_added.connect(self._added)
        gen.trajectory_stepped.connect(self._stepped)
        gen.trajectory_finished.connect(self._schedule)
        gen.trajectories_cleared.connect(self._rebuild)
        gen.current_changed.connect(self._current)
        gen.step_changed.connect(self._step)
        self._rebuild()

    def curve_data(self, tid: int) -> tuple[np.ndarray, np.ndarray]:
        """(sigmas, distances) plotted for trajectory ``tid``."""
        self.flush()
        x, y = self._curves[tid].getOriginalDataset()
        return np.asarray(x), np.asarray(y)

    # ---- selector ---------------------------------------------------------------------------------------------
    def _rebuild(self, *_args) -> None:
        self.selector.blockSignals(True)
        self.selector.clear()
        for traj in self.gen.trajectories.values():
            self.selector.addItem(traj.label, traj.id)
        self.selector.setCurrentIndex(self.selector.findData(self.gen.current))
        self.selector.blockSignals(False)
        for curve in self._curves.values():
            self.plot.removeItem(curve)
        self._curves.clear()
        self._dirty.clear()
        for tid in self.gen.trajectories:
            self._update_curve(tid)
        self.clear_button.setEnabled(bool(self.gen.trajectories))
        self._step(self.gen.step)

    def _added(self, tid: int) -> None:
        traj = self.gen.trajectories[tid]
        self.selector.blockSignals(True)
        self.selector.addItem(traj.label, tid)
        self.selector.blockSignals(False)
        self.clear_button.setEnabled(True)
        self._schedule(tid)

    def _picked(self, index: int) -> None:
        if index >= 0:
            self.gen.set_current(int(self.selector.itemData(index)))

    def _current(self, tid: int) -> None:
        self.selector.blockSignals(True)
        self.selector.setCurrentIndex(self.selector.findData(tid))
        self.selector.blockSignals(False)
        for t in self._curves:
            self._schedule(t)

    def _stepped(self, tid: int) -> None:
        """Live steps go to the map; the plot waits for the run to finish. Under software GL a pyqtgraph repaint
        costs tens of ms on the UI thread, and together with the map's frame it broke the 50 ms budget."""
        if not self.gen.running:
            self._schedule(tid)

    def _schedule(self, tid: int) -> None:
        """Replot ``tid`` within PLOT_REFRESH_MS: live steps of a batch cost one replot, not one each."""
        self._dirty.add(tid)
        if not self._flush_timer.isActive():
            self._flush_timer.start()

    def flush(self) -> None:
        self._flush_timer.stop()
        dirty, self._dirty = self._dirty, set()
        for tid in dirty:
            self._update_curve(tid)

    # ---- plot -------------------------------------------------------------------------------------------------
    def _update_curve(self, tid: int) -> None:
        traj = self.gen.trajectories.get(tid)
        if traj is None:
            return
        current = tid == self.gen.current
        pen = pg.mkPen(_pen_color(traj, 1.0 if current else 0.35), width=2.5 if current else 1.2)
        masked = set(traj.mask_steps) if traj.masked else set()
        brushes = [pg.mkBrush(_pen_color(traj, 1.0)) if i in masked else pg.mkBrush("w")
                   for i in range(len(traj.sigmas))]  # fmt: skip
        curve = self._curves.get(tid)
        if curve is None:
            curve = self.plot.plot([], [])
            self._curves[tid] = curve
        curve.setData(np.asarray(traj.sigmas, dtype=float), np.asarray(traj.distances, dtype=float), pen=pen,
                      symbol="o", symbolSize=7 if current else 4, symbolPen=pen, symbolBrush=brushes)  # fmt: skip
        curve.setZValue(10 if current else 0)

    def _step(self, step: int) -> None:
        traj = self.gen.current_trajectory()
        if traj is None or not (0 <= step < len(traj.sigmas)) or traj.sigmas[step] <= 0:
            self.step_line.setVisible(False)
            return
        self.step_line.setPos(math.log10(traj.sigmas[step]))
        self.step_line.setVisible(True)
