"""GenerationState without a window: no QApplication, no canvas, no docks; its signals are recorded directly. Also
the settings that follow the model shown (launch overrides once) and the map's hover/click targets in ExplorerState."""

from __future__ import annotations

import numpy as np
import pytest
from data_fixtures import make_original_layout

from diffviews_core.formats import Embedding, open_data
from diffviews_core.lineage import GenerationSettings

SIGNALS = ("settings_changed", "trajectory_added", "trajectory_stepped", "trajectory_finished", "trajectories_cleared",
           "current_changed", "step_changed", "compare_changed", "running_changed", "progressed")  # fmt: skip


@pytest.fixture
def gen():
    from diffviews_app.state.generation_state import GenerationState

    g = GenerationState()
    g.events = []  # (signal name, arguments) in the order they fired
    for name in SIGNALS:
        getattr(g, name).connect(lambda *args, n=name: g.events.append((n, args)))
    return g


def frame(step: int, steps: int, value: int = 0):
    from diffviews_app.state.generation_state import StepFrame

    return StepFrame(step, steps, 10.0 / (step + 1), np.full((4, 5, 1), value, np.uint8), np.full((4, 5, 1), 200, np.uint8))


def run(gen, steps: int = 3, finish: bool = True, masked: bool = True, map_key=("m", "default")):
    traj = gen.add_trajectory(run=gen.new_run(), sample=0, masked=masked, class_label=2, class_text="2: Pullover",
                              map_key=map_key, num_steps=steps, mask_steps=[0])  # fmt: skip
    for i in range(steps):
        gen.add_step(traj.id, frame(i, steps, 10 * i), np.array([i, -i]), np.array([i, -i, 2 * i]), 1.0 / (i + 1),
                     np.arange(6.0) * i)  # fmt: skip
    if finish:
        gen.finish(traj.id, np.full((4, 5, 1), 99, np.uint8), None)
    return traj


def names(gen) -> list[str]:
    return [n for n, _ in gen.events]


def test_live_steps_move_the_current_step_and_finishing_announces_the_image(gen):
    traj = run(gen, finish=False)
    assert gen.current == traj.id and gen.step == 2 and not traj.finished
    assert names(gen) == ["trajectory_added", "current_changed", "trajectory_stepped", "step_changed",
                          "trajectory_stepped", "step_changed", "trajectory_stepped", "step_changed"]  # fmt: skip
    gen.finish(traj.id, np.full((4, 5, 1), 99, np.uint8), None)
    assert traj.finished and gen.events[-1] == ("trajectory_finished", (traj.id,))
    assert traj.points("2d").shape == (3, 2) and traj.points("3d").shape == (3, 3)
    assert traj.caption(1) == "2: Pullover | Step 2/3 | sigma=5"
    assert traj.label == f"#{traj.run}.1 masked · 2: Pullover"


def test_steps_are_clamped_and_a_new_trajectory_starts_empty(gen):
    traj = run(gen)
    gen.set_step(99)
    assert gen.step == 2
    gen.set_step(-5)
    assert gen.step == 0
    other = gen.add_trajectory(run=gen.new_run(), sample=0, masked=False, class_label=2, class_text="x",
                               map_key=("m", "d"), num_steps=3)  # fmt: skip
    assert gen.current == other.id and gen.step == -1 and other.run == traj.run + 1
    gen.set_current(12345)  # not a trajectory: nothing is current
    assert gen.current == -1 and gen.current_trajectory() is None


def test_a_cancelled_run_is_discarded_and_the_finished_ones_stay(gen):
    done = run(gen)
    cancelled = run(gen, finish=False)
    gen.set_compare((done.id, cancelled.id))
    gen.events.clear()
    gen.discard([cancelled.id, done.id])  # only the unfinished one goes
    assert list(gen.trajectories) == [done.id] and gen.current == done.id and gen.compare is None
    assert names(gen)[:2] == ["compare_changed", "trajectories_cleared"]
    gen.events.clear()
    gen.discard([done.id])  # finished: kept, nothing announced
    assert gen.events == [] and list(gen.trajectories) == [done.id]


def test_generated_images_are_listed_per_map(gen):
    a = run(gen, map_key=("m", "default"))
    run(gen, finish=False, map_key=("m", "default"))
    b = run(gen, map_key=("m", "layer_cache/x"))
    assert [t.id for t in gen.finished_trajectories()] == [a.id, b.id]
    assert [t.id for t in gen.finished_trajectories(("m", "layer_cache/x"))] == [b.id]


def test_restore_replaces_everything_and_clear_empties(gen):
    run(gen)
    record = {"run": 7, "sample": 1, "masked": False, "class_label": None, "class_text": "?", "map_key": ("m", "d"),
              "num_steps": 2, "sigmas": [5.0, 1.0], "coords2d": [np.zeros(2), np.ones(2)], "distances": [3.0, 2.0],
              "image": np.zeros((4, 5, 1), np.uint8)}  # fmt: skip
    gen.events.clear()
    gen.restore([record, {**record, "sample": 2}], current=1)
    restored = gen.current_trajectory()
    assert len(gen.trajectories) == 2 and restored.sample == 2 and restored.finished
    assert gen.step == -1  # a restored trajectory keeps no step frames
    assert restored.caption(1) == "? | Step 2/2 | sigma=1"
    assert gen.new_run() == 8  # runs continue after the restored ones
    gen.clear()
    assert gen.trajectories == {} and gen.current == -1 and names(gen)[-1] == "current_changed"


def test_settings_running_and_progress_are_announced_once(gen):
    gen.update_settings(seed=5)
    gen.update_settings(seed=5)
    gen.set_running(True)
    gen.set_running(True)
    gen.progressed.emit(0.5, "half")
    assert gen.events == [("settings_changed", ()), ("running_changed", (True,)), ("progressed", (0.5, "half"))]
    assert gen.settings == GenerationSettings(seed=5)


# ---- the settings follow the model shown ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return open_data(make_original_layout(tmp_path_factory.mktemp("data"), n_per_model=8, broken=False))


def show(state, model) -> None:
    state.set_model(model, "default", Embedding("default", np.zeros((8, 2), np.float32), None, {}))


def test_launch_overrides_apply_once_and_a_users_guidance_survives_the_same_model_again(gen, root):
    from diffviews_app.generation_defaults import ModelDefaults
    from diffviews_app.state import ExplorerState

    state = ExplorerState()
    defaults = ModelDefaults(state, gen, {"num_steps": 7, "guidance_scale": 3.0, "seed": None})
    dmd2, edm = root.models["dmd2"], root.models["edm"]
    assert dmd2.config["default_steps"] == 5 and edm.config["default_steps"] == 50
    show(state, dmd2)
    assert (gen.settings.num_steps, gen.settings.guidance_scale) == (7, 3.0)  # the command line wins at launch
    gen.update_settings(guidance_scale=1.7, seed=9)
    show(state, dmd2)  # the same model again (its folder reopened): the user's settings stay
    assert (gen.settings.num_steps, gen.settings.guidance_scale, gen.settings.seed) == (7, 1.7, 9)
    show(state, edm)  # another model: its own recommendations, not the launch values
    assert (gen.settings.num_steps, gen.settings.noise_max, gen.settings.guidance_scale) == (50, 90.0, 1.0)
    assert gen.settings.seed == 9 and defaults.pending_overrides == {}


# ---- what the mouse is on -----------------------------------------------------------------------------------------
def test_the_hover_target_is_a_sample_or_a_trajectory_step_and_clicks_are_routed(root):
    from diffviews_app.state import ExplorerState
    from diffviews_app.targets import NOTHING, Target

    state = ExplorerState()
    show(state, root.models["dmd2"])
    seen = []
    for name in ("hover_changed", "hovered_changed", "target_clicked", "selected_changed"):
        getattr(state, name).connect(lambda *args, n=name: seen.append((n, args)))
    state.set_hover(Target.sample(3))
    step = Target.trajectory_step(4, 2)
    state.set_hover(step)
    assert state.hover == step and state.hovered == -1
    state.set_hover(Target.sample(99))  # outside the data: nothing
    assert state.hover == NOTHING
    assert seen == [("hover_changed", (Target.sample(3),)), ("hovered_changed", (3,)), ("hover_changed", (step,)),
                    ("hovered_changed", (-1,)), ("hover_changed", (NOTHING,))]  # fmt: skip
    seen.clear()
    generated = Target.trajectory_step(4, 5, generated=True)
    state.click_target(generated)
    state.click_target(NOTHING)
    state.click_target(Target.sample(2))
    assert seen == [("target_clicked", (generated,)), ("selected_changed", (2,))] and state.selected == 2
    with pytest.raises(ValueError, match="target kind"):
        Target("somewhere")
