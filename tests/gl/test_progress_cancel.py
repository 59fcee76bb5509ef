"""Progress reads as a percentage with the time left, and Cancel answers at once on a real generation: the
controls come back, the unfinished images go, and the status bar says it was cancelled; the worker ends at its next
step. How fast is measured by the benchmarks; the bound here is generous."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import Qt

pytestmark = [pytest.mark.gui, pytest.mark.gl]


def test_generation_shows_time_left_and_cancel_answers_at_once(qtbot, window_parts):
    parts = window_parts
    gen, dock, window = parts.gen, parts.generation_dock, parts.window
    parts.state.select(2)
    gen.update_settings(num_steps=256, mask_steps=4, seed=3)
    assert parts.runner.generate(False)
    qtbot.waitUntil(lambda: "left" in dock.progress.text, timeout=60000)  # e.g. "3% · 12 s left"
    assert dock.progress.text.split("%")[0].isdigit()
    qtbot.waitUntil(window.jobs.isVisible, timeout=5000)  # listed once it has run a moment

    started = time.monotonic()
    qtbot.mouseClick(dock.cancel_button, Qt.MouseButton.LeftButton)
    answered = time.monotonic() - started
    assert answered < 2.0, f"Cancel took {answered:.2f} s to answer"
    assert not gen.running and dock.generate_button.isEnabled() and not dock.cancel_button.isEnabled()
    assert dock.status.text() == "Cancelled" and not gen.trajectories
    assert window.statusBar().currentMessage().endswith("cancelled")
    assert not window.jobs.isVisible()  # the cancelled job left the status bar
    qtbot.waitUntil(lambda: not window.pool.running(), timeout=60000)  # the worker stops at its next step
    assert not gen.trajectories and not gen.running


def test_a_new_generation_right_after_a_cancel_runs_to_the_end(qtbot, window_parts):
    parts = window_parts
    gen = parts.gen
    parts.state.select(2)
    gen.update_settings(num_steps=256, seed=3)
    assert parts.runner.generate(False)
    qtbot.waitUntil(
        lambda: gen.current_trajectory() is not None and bool(gen.current_trajectory().sigmas), timeout=60000
    )
    parts.runner.cancel()
    gen.update_settings(num_steps=3)
    assert parts.runner.generate(False)
    qtbot.waitUntil(lambda: not gen.running, timeout=60000)
    (traj,) = gen.trajectories.values()
    assert traj.finished and len(traj.sigmas) == 3


def test_the_first_stage_is_busy_not_zero_and_the_next_run_knows_its_time_from_the_start(qtbot, window_parts):
    parts = window_parts
    gen, dock = parts.gen, parts.generation_dock
    parts.state.select(2)
    gen.update_settings(num_steps=4, mask_steps=2, seed=5)
    assert parts.runner.generate(False)
    assert dock.progress.fraction < 0 and "%" not in dock.progress.text  # "Starting…" is not 0 %
    assert dock.status.text() == "Starting…"
    qtbot.waitUntil(lambda: not gen.running, timeout=60000)
    assert dock.progress.text == "100%"

    assert parts.runner.generate(False)  # the same model and sampler: the first run's pace gives the time left
    assert gen.expected_seconds is not None and gen.expected_seconds > 0
    assert dock.progress.fraction < 0 and dock.progress.text.startswith("about ") and dock.progress.text.endswith(
        " left"), dock.progress.text
    qtbot.waitUntil(lambda: not gen.running, timeout=60000)
