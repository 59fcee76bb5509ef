"""Light / dark / system theme: the colours read back from the map's frame, the trajectory plot, the palette and the
banner after switching, and the choice remembered for the next window."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
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


def relative_luminance(rgb255: np.ndarray) -> np.ndarray:
    """WCAG 2 relative luminance of 8-bit sRGB colours."""
    c = np.asarray(rgb255, dtype=float) / 255
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return linear @ np.array([0.2126, 0.7152, 0.0722])


def contrast(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    la, lb = relative_luminance(a), relative_luminance(b)
    return (np.maximum(la, lb) + 0.05) / (np.minimum(la, lb) + 0.05)


def point_pixels(window) -> tuple[np.ndarray, np.ndarray]:
    """The rendered colour at the centre of every point that is alone in its pixel neighbourhood, and the
    background's colour."""
    image = np.asarray(window.canvas.render_image())[..., :3].astype(int)
    scale = image.shape[1] / window.canvas.native.width()
    screen = window.canvas.data_to_screen(window.canvas._coords) * scale
    gaps = np.linalg.norm(screen[:, None] - screen[None], axis=-1) + np.eye(len(screen)) * 1e9
    alone = gaps.min(axis=1) > 12 * scale  # overlapping points would blend into each other's colour
    xy = np.round(screen[alone]).astype(int)
    inside = (xy[:, 0] >= 0) & (xy[:, 1] >= 0) & (xy[:, 0] < image.shape[1]) & (xy[:, 1] < image.shape[0])
    xy = xy[inside]
    return image[xy[:, 1], xy[:, 0]], image[2, 2]


@pytest.mark.parametrize("color_by", ["noise", "class"])
def test_points_stay_readable_on_the_dark_map(qtbot, make_window, fixture_root, color_by):
    """Every isolated point, read back from the rendered map, stands out from the background in both themes; on
    the dark map the palette's dark end (viridis' purple) is lifted instead of sinking into the background, and the
    legend's swatches and the colour bar show the same lifted colours."""
    from diffviews_app.colors import DARK_MIN_LUMA, for_background, ramp_stops

    w = make_window(fixture_root)
    w.state.set_color_by(color_by)
    try:
        ratios = {}
        for theme in ("light", "dark"):
            w.theme_actions[theme].trigger()
            qtbot.wait(50)
            points, background = point_pixels(w)
            assert len(points) >= 10
            ratios[theme] = contrast(points, background[None])
        # unlifted, the dark map's worst points measured 1.1 (noise) and 1.4 (class); lifted, 4.1 and 2.8
        assert ratios["dark"].min() >= 2.5, ratios["dark"].min()
        # light keeps the original's look: the noisiest points are faint by design, most stand out
        assert np.median(ratios["light"]) >= 1.5, np.median(ratios["light"])
        if color_by == "noise":  # the colour bar's low end, as painted, is the lifted ramp's
            painted = w.color_bar.gradient.grab().toImage().pixelColor(3, 7)
            low = for_background(ramp_stops()[0], True)
            assert [painted.redF(), painted.greenF(), painted.blueF()] == pytest.approx(low.tolist(), abs=0.02)
            assert low @ np.array([0.2126, 0.7152, 0.0722]) >= DARK_MIN_LUMA - 1e-3
        else:
            key = next(iter(w.classes_dock.class_rows()))
            swatch = w.classes_dock.swatch_color(key)
            lifted = for_background(w.classes_dock.class_rows()[key].data(1, Qt.ItemDataRole.UserRole), True) * 255
            assert [swatch.red(), swatch.green(), swatch.blue()] == pytest.approx(lifted.tolist(), abs=1.5)
    finally:
        w.theme.set_choice("system")
