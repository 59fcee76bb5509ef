"""Trajectories dock: pick the current trajectory, clear them all, and a plot of each step's activation distance to
the selection's mean activation against sigma (log x), which shows when the mask takes hold and when it lets go.

The plot (pyqtgraph: most of a second of imports) is shown with the first trajectory; until then a line of text
holds its place, so the window opens without it. pyqtgraph is imported on a thread once the window has settled
(and when a generation starts, if that comes first), so the first curve does not wait for the import on the UI
thread, and the plot is then made hidden in a turn of its own (``warm_up``), so the first curve does not wait for
that either.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QDockWidget, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ..background_import import import_in_background, settled
from ..colors import trajectory_color
from ..state.generation_state import GenerationState, Trajectory
from ..theme import LIGHT, Theme

if TYPE_CHECKING:
    import pyqtgraph as pg

PLOT_MODULE = "pyqtgraph"  # imported on a thread once the window has settled (MainWindow) or a generation starts
PLOT_REFRESH_MS = 100
PLOT_TITLE = "distance to selection mean"
PLOT_MIN_HEIGHT = 120
WARM_RETRY_MS = 100  # ``warm_up`` looks again this much later while the plot's module is still being imported


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

        self.theme = LIGHT
        self._layout = layout
        self._plot: pg.PlotWidget | None = None
        self._step_line: pg.InfiniteLine | None = None
        self.placeholder = QLabel(f"The {PLOT_TITLE} of each denoising step is plotted here after a generation.")
        self.placeholder.setWordWrap(True)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setMinimumHeight(PLOT_MIN_HEIGHT)
        layout.addWidget(self.placeholder, 1)
        self.setWidget(body)
        self._curves: dict[int, pg.PlotDataItem] = {}
        self._drawn: dict[int, tuple] = {}  # what each curve shows now (``_look``): an unchanged curve is not set again
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
        gen.running_changed.connect(self._running)
        self._rebuild()

    def _running(self, running: bool) -> None:
        if running and self._plot is None:
            import_in_background(PLOT_MODULE)  # the curves of this run need it in a few seconds
            self.warm_up()

    def curve_data(self, tid: int) -> tuple[np.ndarray, np.ndarray]:
        """(sigmas, distances) plotted for trajectory ``tid``."""
        self.flush()
        x, y = self._curves[tid].getOriginalDataset()
        return np.asarray(x), np.asarray(y)

    @property
    def plot(self) -> pg.PlotWidget:
        """The distance plot, shown in place of the placeholder on first use."""
        return self._show_plot()

    def _show_plot(self) -> pg.PlotWidget:
        if self._plot is None:
            self._make_plot()
        if self._layout.indexOf(self._plot) < 0:  # made hidden by ``warm_up``, not shown yet
            self._layout.replaceWidget(self.placeholder, self._plot)
            self.placeholder.hide()
            self._plot.show()
        return self._plot

    @property
    def plot_made(self) -> bool:
        """True once the plot exists (shown or not)."""
        return self._plot is not None

    def warm_up(self) -> None:
        """Make the plot, hidden, once its module has been imported on a thread (looking again every
        ``WARM_RETRY_MS`` until then): its ~15 ms then take a turn of their own instead of adding to the turn in
        which a generation's first curve lands, while the window's worker processes compute."""
        if self._plot is not None:
            return
        if not settled(PLOT_MODULE):
            QTimer.singleShot(WARM_RETRY_MS, self, self.warm_up)
            return
        self._make_plot()

    def _make_plot(self) -> None:
        import pyqtgraph as pg

        plot = pg.PlotWidget(self.widget(), background=self.theme.plot_background)
        plot.hide()
        plot.setLogMode(x=True, y=False)
        plot.setLabel("bottom", "sigma (log)")
        plot.setToolTip("each step's activation distance to the mean activation of the selection (the mask)")
        plot.showGrid(x=True, y=True, alpha=0.2)
        plot.setMinimumHeight(PLOT_MIN_HEIGHT)
        plot.getViewBox().invertX(True)  # denoising runs from high to low sigma: read left to right
        dashed = pg.mkPen((120, 120, 120), width=1, style=Qt.PenStyle.DashLine)
        self._step_line = pg.InfiniteLine(angle=90, pen=dashed)
        self._step_line.setVisible(False)
        plot.addItem(self._step_line, ignoreBounds=True)
        self._plot = plot
        self._apply_theme()

    def set_theme(self, theme: Theme) -> None:
        """Plot background, axes and title in the theme's colours."""
        self.theme = theme
        if self._plot is not None:
            self._apply_theme()
        for tid in self._curves:
            self._schedule(tid)

    def _apply_theme(self) -> None:
        theme, plot = self.theme, self._plot
        plot.setBackground(theme.plot_background)
        for name in ("left", "bottom"):
            axis = plot.getAxis(name)
            axis.setPen(theme.plot_foreground)
            axis.setTextPen(theme.plot_foreground)
        # a horizontal title: as a vertical axis label it was cut to the height of a short plot
        plot.setTitle(PLOT_TITLE, size="9pt", color=theme.plot_foreground)

    # ---- selector ---------------------------------------------------------------------------------------------
    def _rebuild(self, *_args) -> None:
        self.selector.blockSignals(True)
        self.selector.clear()
        for traj in self.gen.trajectories.values():
            self.selector.addItem(traj.label, traj.id)
        self.selector.setCurrentIndex(self.selector.findData(self.gen.current))
        self.selector.blockSignals(False)
        for tid in [t for t in self._curves if t not in self.gen.trajectories]:
            self.plot.removeItem(self._curves.pop(tid))
            self._drawn.pop(tid, None)
        self._dirty &= set(self.gen.trajectories)
        for tid in self.gen.trajectories:  # set within PLOT_REFRESH_MS, in a turn of their own (a session restored
            self._schedule(tid)  # changes the map, the docks and every curve at once), and only where they changed
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
    def _look(self, traj: Trajectory) -> tuple:
        """Everything a curve's drawing depends on: its points, whether it is the current one, its masked steps and
        the plot's background (the unmasked steps' fill)."""
        masked = tuple(traj.mask_steps) if traj.masked else ()
        return (tuple(traj.sigmas), tuple(traj.distances), traj.id == self.gen.current, masked,
                self.theme.plot_background, traj.run, traj.masked)  # fmt: skip

    def _update_curve(self, tid: int) -> None:
        """Set ``tid``'s curve, unless it already shows what it would be set to: setting a pyqtgraph curve rebuilds
        its symbols and repaints the plot (several ms each on the UI thread; a change of the current trajectory or a
        cancelled run set every curve again)."""
        traj = self.gen.trajectories.get(tid)
        if traj is None:
            return
        look = self._look(traj)
        if tid in self._curves and self._drawn.get(tid) == look:
            return
        import pyqtgraph as pg

        current = tid == self.gen.current
        pen = pg.mkPen(_pen_color(traj, 1.0 if current else 0.35), width=2.5 if current else 1.2)
        masked = set(traj.mask_steps) if traj.masked else set()
        brushes = [pg.mkBrush(_pen_color(traj, 1.0)) if i in masked else pg.mkBrush(self.theme.plot_background)
                   for i in range(len(traj.sigmas))]  # fmt: skip
        curve = self._curves.get(tid)
        if curve is None:
            # dynamicRangeLimit None: a change of the view's y range (a new curve, a symbol size) does not set every
            # curve again (pyqtgraph clips huge values for it; distances are small)
            curve = self.plot.plot([], [], dynamicRangeLimit=None)
            self._curves[tid] = curve
        curve.setData(np.asarray(traj.sigmas, dtype=float), np.asarray(traj.distances, dtype=float), pen=pen,
                      symbol="o", symbolSize=7 if current else 4, symbolPen=pen, symbolBrush=brushes)  # fmt: skip
        curve.setZValue(10 if current else 0)
        self._drawn[tid] = look

    def _step(self, step: int) -> None:
        traj = self.gen.current_trajectory()
        if traj is None or not (0 <= step < len(traj.sigmas)) or traj.sigmas[step] <= 0:
            if self._step_line is not None:
                self._step_line.setVisible(False)
            return
        self._show_plot()  # with its step line
        self._step_line.setPos(math.log10(traj.sigmas[step]))
        self._step_line.setVisible(True)
