"""The trajectories dock's distance plot sets a curve again only where what it shows changed: a new current
trajectory restyles two curves, a cancelled run removes its own, and the rest are left as they are."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.gui

RECORD = {"masked": True, "mask_steps": [0], "class_label": None, "class_text": "?", "map_key": ("m", "d"),
          "num_steps": 2, "sigmas": [5.0, 1.0], "coords2d": [np.zeros(2), np.ones(2)], "distances": [3.0, 2.0],
          "image": np.zeros((4, 5, 1), np.uint8)}  # fmt: skip


@pytest.fixture
def plotted(qtbot):
    """A dock over six finished trajectories (the first current), its curves drawn, and a log of curves set."""
    from diffviews_app.docks.trajectory_dock import TrajectoryDock
    from diffviews_app.state.generation_state import GenerationState

    gen = GenerationState()
    dock = TrajectoryDock(gen)
    qtbot.addWidget(dock)
    ids = gen.restore([{**RECORD, "run": 1, "sample": i} for i in range(6)], current=0)
    dock.flush()
    set_log: list[int] = []
    for tid, curve in dock._curves.items():
        original = curve.setData
        curve.setData = lambda *a, _tid=tid, _set=original, **k: (set_log.append(_tid), _set(*a, **k))
    return gen, dock, ids, set_log


def widths(dock) -> dict[int, float]:
    return {tid: curve.opts["pen"].widthF() for tid, curve in dock._curves.items()}


def test_a_new_current_trajectory_sets_only_its_curve_and_the_previous_ones(plotted):
    gen, dock, ids, set_log = plotted
    assert widths(dock)[ids[0]] == 2.5 and {widths(dock)[t] for t in ids[1:]} == {1.2}
    gen.set_current(ids[3])
    dock.flush()
    assert sorted(set_log) == sorted([ids[0], ids[3]])
    assert widths(dock)[ids[3]] == 2.5 and widths(dock)[ids[0]] == 1.2
    set_log.clear()
    dock.flush()
    gen.set_current(ids[3])  # no change
    dock.flush()
    assert set_log == []


def test_a_cancelled_run_removes_its_curves_and_keeps_the_others_as_drawn(plotted):
    gen, dock, ids, set_log = plotted
    live = gen.add_trajectory(run=2, sample=0, masked=False, class_label=None, class_text="?", map_key=("m", "d"),
                              num_steps=3)  # fmt: skip
    dock.flush()  # the new run's trajectory is current: the one current before is restyled
    assert gen.current == live.id and set_log == [ids[0]]
    set_log.clear()
    gen.discard([live.id])  # never finished: a cancelled run; the newest left becomes current
    dock.flush()
    assert set(dock._curves) == set(ids) and set_log == [ids[5]]
    x, y = dock.curve_data(ids[5])
    np.testing.assert_allclose(x, RECORD["sigmas"])
    np.testing.assert_allclose(y, RECORD["distances"])


def test_a_theme_sets_every_curve_again(plotted):
    from diffviews_app.theme import DARK

    _gen, dock, ids, set_log = plotted
    dock.set_theme(DARK)
    dock.flush()
    assert sorted(set_log) == sorted(ids)
