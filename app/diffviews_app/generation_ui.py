"""One call that adds generation to the explorer window: its runner, map bridge, settings defaults, docks and menu.

``install_generation(window, options)`` needs only what the window already holds (the explorer and generation
states, canvas, worker pool, model cache, status messages), so the window gains generation without knowing its parts.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMainWindow

from .docks.generation_dock import GenerationDock
from .docks.steps_dock import StepsDock
from .docks.trajectory_dock import TrajectoryDock
from .generation_defaults import ModelDefaults
from .generation_menu import build_generate_menu
from .generation_runner import GenerationRunner
from .options import LaunchOptions
from .state.generation_state import GenerationState
from .trajectory_bridge import TrajectoryBridge


@dataclass
class GenerationParts:
    """Everything install_generation created, plus the window parts it uses (for tests, benchmarks, screenshots)."""

    window: QMainWindow
    state: object  # ExplorerState
    canvas: object  # PointCloudCanvas
    controller: object  # ExplorerController
    gen: GenerationState
    runner: GenerationRunner
    trajectories: TrajectoryBridge
    defaults: ModelDefaults
    generation_dock: GenerationDock
    steps_dock: StepsDock
    trajectory_dock: TrajectoryDock


def install_generation(window, options: LaunchOptions) -> GenerationParts:
    """Create the generation runner, bridge and docks on ``window`` (a MainWindow) and wire them."""
    state, gen, canvas = window.state, window.gen, window.canvas
    runner = GenerationRunner(state, gen, window.pool, window.cache, window)
    bridge = TrajectoryBridge(state, gen, canvas, window)
    defaults = ModelDefaults(state, gen, {"num_steps": options.num_steps, "guidance_scale": options.guidance_scale},
                             window)  # fmt: skip
    gen_dock = GenerationDock(state, gen, window)
    steps_dock = StepsDock(gen, window)
    traj_dock = TrajectoryDock(gen, window)
    # Right column: neighbours above the generation controls; bottom strip: trajectory plot beside the steps gallery,
    # so the default layout fits a 1440 x 900 window.
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, gen_dock)
    window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, traj_dock)
    window.splitDockWidget(traj_dock, steps_dock, Qt.Orientation.Horizontal)
    for dock in (gen_dock, steps_dock, traj_dock):
        window.view_menu.addAction(dock.toggleViewAction())
    gen_dock.generate_requested.connect(runner.generate)
    gen_dock.cancel_requested.connect(runner.cancel)
    gen_dock.set_adapter_override(window.cache.adapter_name)
    gen_dock.adapter_requested.connect(runner.set_adapter)
    traj_dock.clear_requested.connect(runner.clear)
    steps_dock.select_requested.connect(lambda tid: state.toggle_generated(tid, add=True))
    for signal in (state.selection_changed, gen.current_changed):  # the steps dock's button: add or remove
        signal.connect(lambda *_: steps_dock.set_in_selection(gen.current in state.selected_generated))
    runner.message.connect(window.show_message)
    window.controller.generated_query = bridge.generated_query  # generated images as KNN queries
    window.controller.busy_changed.connect(runner.data_opening)
    build_generate_menu(window, runner, gen)
    return GenerationParts(window, state, canvas, window.controller, gen, runner, bridge, defaults, gen_dock,
                           steps_dock, traj_dock)  # fmt: skip
