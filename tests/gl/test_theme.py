"""Light / dark / system theme: the colours read back from the map's frame, the trajectory plot, the palette and the
banner after switching, and the choice remembered for the next window."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

pytestmark = [pytest.mark.gui, pytest.mark.gl]


def frame_corner(window) -> np.ndarray:
    image = np.asarray(window.canvas.render_image())
    return image[2, 2, :3].astype(int)


def rgb(name: str) -> np.ndarray:
    c = QColor(name)
    return np.array([c.red(), c.green(), c.blue()])


def test_switching_theme_recolours_the_map_plot_palette_and_banner(qtbot, make_window, fixture_root, tmp_path):
    from diffviews_app.theme import DARK, LIGHT

    settings_file = tmp_path / "theme.ini"
    w = make_window(fixture_root, settings_file=settings_file)
    plot = w.generation.trajectory_dock.plot
    try:
        w.theme_actions["dark"].trigger()
        assert w.theme.theme is DARK
        assert np.abs(frame_corner(w) - rgb(DARK.map_background)).max() <= 2
        assert plot.backgroundBrush().color().name() == DARK.plot_background
        assert plot.getAxis("left").textPen().color().name() == DARK.plot_foreground
        assert QApplication.palette().color(QPalette.ColorRole.Window).lightness() < 100
        assert QApplication.palette().color(QPalette.ColorRole.PlaceholderText).lightness() > 120  # readable
        w.show_message("warning", "a message")
        assert w.banner.colors() == DARK.banner["warning"]
        assert "#3d3218" in w.banner.styleSheet()

        w.theme_actions["light"].trigger()
        assert np.abs(frame_corner(w) - rgb(LIGHT.map_background)).max() <= 2
        assert plot.backgroundBrush().color().name() == LIGHT.plot_background
        assert w.banner.colors() == LIGHT.banner["warning"]
        assert QApplication.palette().color(QPalette.ColorRole.Window).lightness() > 150

        w.theme_actions["dark"].trigger()
        w.save_settings()
        again = make_window(settings_file=settings_file)  # the choice is remembered
        assert again.theme.choice == "dark" and again.theme_actions["dark"].isChecked()
        assert again.canvas.background[:3] == pytest.approx(tuple(rgb(DARK.map_background) / 255), abs=0.01)
    finally:
        w.theme.set_choice("system")  # the palette is the application's: leave it as other tests expect
    assert w.theme.theme is LIGHT  # Xvfb's system scheme is light


def test_the_theme_option_applies_to_this_run_only(make_window, tmp_path):
    from diffviews_app.theme import DARK, SETTING

    w = make_window(settings_file=tmp_path / "option.ini", theme="dark")
    try:
        assert w.theme.theme is DARK and w.theme_actions["dark"].isChecked()
        assert w.settings.value(SETTING) is None
    finally:
        w.theme.set_choice("system")
