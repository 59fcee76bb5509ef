"""Generation pieces without a GL window: state bookkeeping, mask steps, labels, exports, session file checks."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from diffviews_core.errors import DataError
from diffviews_core.lineage import GenerationSettings

pytestmark = pytest.mark.gui


def _trajectory_state(qtbot, steps: int = 3):
    from diffviews_app.state.generation_state import GenerationState, StepFrame

    gen = GenerationState()
    traj = gen.add_trajectory(run=1, sample=0, masked=True, class_label=2, class_text="2: Pullover",
                              map_key=("m", "default"), num_steps=steps, mask_steps=[0])  # fmt: skip
    for i in range(steps):
        frame = StepFrame(i, steps, 10.0 / (i + 1), np.full((4, 5, 1), 10 * i, np.uint8), np.full((4, 5, 1), 200, np.uint8))
        gen.add_step(traj.id, frame, np.array([i, -i]), np.array([i, -i, 2 * i]), 1.0 / (i + 1), np.arange(6.0) * i)
    gen.finish(traj.id, np.full((4, 5, 1), 99, np.uint8), None)
    return gen, traj


def test_state_follows_live_steps_and_drops_unfinished_runs(qtbot):
    gen, traj = _trajectory_state(qtbot)
    assert gen.current == traj.id and gen.step == 2 and traj.finished
    assert traj.points("2d").shape == (3, 2) and traj.points("3d").shape == (3, 3)
    other = gen.add_trajectory(run=2, sample=0, masked=False, class_label=2, class_text="x", map_key=("m", "d"),
                               num_steps=3)  # fmt: skip
    assert gen.current == other.id and gen.step == -1
    with qtbot.waitSignal(gen.trajectories_cleared):
        gen.discard([other.id, traj.id])  # only the unfinished one goes
    assert list(gen.trajectories) == [traj.id] and gen.current == traj.id


def test_mask_steps_and_label_choice():
    from diffviews_app.canvas.trajectory_layer import label_steps
    from diffviews_app.generation_controller import mask_step_list

    assert mask_step_list(GenerationSettings(num_steps=5, mask_steps=2)) == [0, 1]
    assert mask_step_list(GenerationSettings(num_steps=5, mask_steps=9)) == [0, 1, 2, 3, 4]
    assert mask_step_list(GenerationSettings(num_steps=6, step_range=[2, 4])) == [1, 2, 3]
    assert label_steps(5) == [0, 1, 2, 3, 4]
    picked = label_steps(50)
    assert picked[0] == 0 and picked[-1] == 49 and len(picked) == 8


def test_step_strip_npz_and_images(qtbot, tmp_path):
    from diffviews_app import exports

    _gen, traj = _trajectory_state(qtbot)
    strip = exports.step_strip(traj, gap=2)
    assert strip.shape == (2 * 4 + 2, 3 * 5 + 2 * 2, 3)
    assert strip[0, 7, 0] == 10 and strip[-1, 0, 0] == 200  # step 2's x0 top, noised below
    written = exports.export_images([traj], tmp_path / "out")
    assert [p.name for p in written] == ["generated_001_1_masked.png", "generated_001_1_masked_steps.png"]
    assert np.asarray(Image.open(written[0]))[0, 0] == 99
    npz = exports.export_trajectory_npz(traj, tmp_path / "t.npz")
    with np.load(npz) as data:
        assert data["activations"].shape == (3, 6) and data["coords3d"].shape == (3, 3)
        np.testing.assert_allclose(data["sigmas"], traj.sigmas)
    assert not list(tmp_path.glob(".*.tmp"))


def test_session_file_problems_name_the_file(tmp_path):
    from diffviews_core.session_format import read_session_file as load_session_file

    bad = tmp_path / "s.json"
    bad.write_text("{nope")
    with pytest.raises(DataError, match="s.json.*invalid JSON"):
        load_session_file(bad)
    bad.write_text(json.dumps({"kind": "something else"}))
    with pytest.raises(DataError, match="not a DiffViews Desktop session"):
        load_session_file(bad)
    bad.write_text(json.dumps({"kind": "diffviews-desktop-session", "version": 7}))
    with pytest.raises(DataError, match="version 7"):
        load_session_file(bad)
    with pytest.raises(DataError, match="missing"):
        load_session_file(tmp_path / "nothing.json")
