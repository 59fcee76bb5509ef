"""The window fits common screens: its minimum size never passes the screen, the map keeps at least half the width,
and small screens get tabbed docks. Screens are emulated by the size handed to the layout (2880 x 1800 at scale 2 is
1440 x 900 logical pixels); the screenshot test draws the real thing."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSize

pytestmark = [pytest.mark.gui, pytest.mark.gl]

SCREENS = {"1280x720": QSize(1280, 720), "1366x768": QSize(1366, 768), "1440x900": QSize(1440, 900),
           "2880x1800@2x": QSize(2880 // 2, 1800 // 2), "1600x1000": QSize(1600, 1000)}  # fmt: skip


def fits(window, screen: QSize) -> None:
    hint = window.minimumSizeHint()
    assert hint.width() <= screen.width() and hint.height() <= screen.height(), hint
    assert window.width() <= screen.width() and window.height() <= screen.height(), window.size()
    assert window.canvas.native.width() >= window.width() / 2


@pytest.mark.parametrize("name", list(SCREENS))
def test_window_fits_the_screen_and_keeps_half_the_width_for_the_map(qtbot, make_window, fixture_root, name):
    screen = SCREENS[name]
    w = make_window(fixture_root)
    w.reset_layout(screen)
    qtbot.waitUntil(lambda: w.size() == screen, timeout=3000)
    fits(w, screen)
    wide = name == "1600x1000"  # every dock side by side; smaller screens tab them
    assert (w.generation.generation_dock in w.tabifiedDockWidgets(w.neighbours_dock)) != wide
    assert (w.classes_dock in w.tabifiedDockWidgets(w.view_dock)) != wide
    # a selection with many neighbours (long captions, a full gallery) must not grow the window
    w.state.click(0)
    w.state.add_manual(list(range(1, 40)))
    qtbot.wait(50)
    fits(w, screen)
    assert w.size() == screen


def test_a_saved_geometry_bigger_than_the_screen_is_brought_inside_it():
    from diffviews_app.window_layout import fit_geometry
    from PySide6.QtCore import QRect

    screen = QRect(0, 24, 1366, 744)
    assert fit_geometry(QRect(300, 200, 1600, 1000), screen) == QRect(0, 24, 1366, 744)
    assert fit_geometry(QRect(900, 500, 800, 600), screen) == QRect(566, 168, 800, 600)
    assert fit_geometry(QRect(10, 30, 800, 600), screen) == QRect(10, 30, 800, 600)


def test_a_generation_and_a_comparison_do_not_grow_the_window(qtbot, window_parts):
    w, gen = window_parts.window, window_parts.gen
    screen = SCREENS["1280x720"]
    w.reset_layout(screen)
    qtbot.waitUntil(lambda: w.size() == screen, timeout=3000)
    w.state.select(2)
    w.state.set_k(3)
    w.controller.suggest_knn()
    gen.update_settings(num_steps=4, mask_steps=2, seed=2, num_samples=2)
    assert window_parts.runner.generate(True)  # masked and unmasked: the widest steps gallery
    qtbot.waitUntil(lambda: not gen.running, timeout=60000)
    assert len(gen.trajectories) == 4
    fits(w, screen)
    assert w.size() == screen
