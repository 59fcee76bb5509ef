"""Generation pieces without a GL window: mask steps, labels, exports, lineage export, session file checks."""

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


def test_mask_steps_and_label_choice():
    from diffviews_app.canvas.trajectory_layer import label_steps

    assert GenerationSettings(num_steps=5, mask_steps=2).masked_steps() == [0, 1]
    assert GenerationSettings(num_steps=5, mask_steps=9).masked_steps() == [0, 1, 2, 3, 4]
    assert GenerationSettings(num_steps=6, step_range=[2, 4]).masked_steps() == [1, 2, 3]
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


def test_lineage_export_needs_a_finished_image(qtbot, tmp_path):
    from diffviews_app import exports

    from diffviews_core.lineage import Lineage

    gen, traj = _trajectory_state(qtbot)
    with pytest.raises(ValueError, match="no finished generated image"):
        exports.export_lineage(traj, tmp_path / "l.json")  # finished, but made without a lineage record
    with pytest.raises(ValueError, match="no finished generated image"):
        exports.export_lineage(None, tmp_path / "l.json")
    traj.lineage = Lineage("m", "edm", ["midblock"], [3, 4], 2, GenerationSettings(seed=4))
    path = exports.export_lineage(traj, tmp_path / "l.json")
    assert Lineage.load(path) == traj.lineage


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


def test_sigma_labels_bunched_at_a_trajectorys_end_are_thinned():
    from diffviews_app.canvas.trajectory_layer import spaced_label_steps

    # ten steps: evenly spread for the first five, then five within 1 % of the extent of the end
    points = np.array([[i, 0.0] for i in range(5)] + [[4 + 0.01 * i, 0.0] for i in range(1, 6)])
    steps = spaced_label_steps(points)
    assert steps[0] == 0 and steps[-1] == 9
    assert steps == [0, 1, 3, 9]  # of the evenly spaced 0 1 3 4 5 6 8 9, steps 4..8 sit on the last label
    gaps = np.diff(points[steps, 0])
    assert gaps.min() >= 0.1 * np.ptp(points[:, 0])


def test_a_session_keeps_a_selection_set_and_names_a_bad_member():
    from diffviews_core.session_format import parse_session

    base = {"kind": "diffviews-desktop-session", "version": 1, "data_dir": "data", "model": "m"}
    assert parse_session(base, "s.json")["selection_set"] == []  # older sessions have none
    assert parse_session({**base, "selection_set": [3, "a_7"]}, "s.json")["selection_set"] == [3, "a_7"]
    with pytest.raises(DataError, match=r"s.json.*selection_set\[1\]"):
        parse_session({**base, "selection_set": [3, [1]]}, "s.json")


def test_a_session_keeps_the_selected_generated_images_as_indexes_into_its_trajectories():
    from diffviews_core.session_format import parse_session

    base = {"kind": "diffviews-desktop-session", "version": 1, "data_dir": "data", "model": "m"}
    assert parse_session(base, "s.json")["selected_generated"] == []  # older sessions have none
    with pytest.raises(DataError, match=r"s.json.*selected_generated\[0\]"):  # no trajectory 0 to point at
        parse_session({**base, "selected_generated": [0]}, "s.json")
    with pytest.raises(DataError, match=r"selected_generated\[0\]"):
        parse_session({**base, "selected_generated": ["x"]}, "s.json")
