"""The window fits common screens: its minimum size never passes the screen, the map keeps at least half the width,
and small screens get tabbed docks. Screens are emulated by the size handed to the layout (2880 x 1800 at scale 2 is
1440 x 900 logical pixels), and once for real: a 2880 x 1800 X screen at QT_SCALE_FACTOR=2 in a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

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


@pytest.mark.parametrize("restored", [False, True])
def test_tabbed_docks_leave_no_stray_tab_bar_as_it_grows(qtbot, make_window, fixture_root, tmp_path, restored):
    """Qt leaves a copy of a dock group's tab bar where the group was first placed; shown, it covers another dock
    once the window is maximised (found on the steps gallery)."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QTabBar

    settings = tmp_path / "window.ini"
    w = make_window(fixture_root, settings_file=settings)
    w.reset_layout(SCREENS["1440x900"])  # tabbed docks
    if restored:
        w.save_settings()
        w.close()
        w = make_window(fixture_root, settings_file=settings)  # the same layout from the saved state
    w.resize(1600, 1000)
    qtbot.waitUntil(lambda: w.size() == QSize(1600, 1000), timeout=3000)
    shown = [bar for bar in w.findChildren(QTabBar, options=Qt.FindChildOption.FindDirectChildrenOnly)
             if bar.isVisible()]  # fmt: skip
    groups = sorted(tuple(bar.tabText(i) for i in range(bar.count())) for bar in shown)
    assert groups == sorted([("Model && view", "Classes"), ("Selection && neighbours", "Generation")])
    for bar in shown:  # each lies on the docks it switches between
        dock = w.neighbours_dock if bar.tabText(0).startswith("Selection") else w.view_dock
        assert abs(bar.geometry().left() - dock.geometry().left()) < 20


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


# Opens the window as the app does with no saved layout, on the screen it finds; prints what the test checks.
HIDPI_SCRIPT = textwrap.dedent("""
    import json, os, sys
    from pathlib import Path
    from PySide6.QtCore import QSettings, QTimer
    from diffviews_app.app import application, create_window
    from diffviews_app.options import LaunchOptions

    app = application()
    window = create_window(LaunchOptions(), QSettings(sys.argv[2], QSettings.Format.IniFormat))
    window.show()
    window.open_folder(Path(sys.argv[1]))

    def measure():
        s = window.state
        if s.model is None or not window.windowHandle().isExposed():
            QTimer.singleShot(100, guarded)
            return
        s.click(0)
        s.add_manual(range(1, 40))  # long captions and a full gallery must not grow the window
        app.processEvents()
        screen = window.screen()
        avail, hint = screen.availableGeometry(), window.minimumSizeHint()
        frame = window.frameGeometry()
        print("LAYOUT", json.dumps({
            "dpr": screen.devicePixelRatio(), "screen": [avail.width(), avail.height()],
            "physical": [screen.geometry().width() * screen.devicePixelRatio(),
                         screen.geometry().height() * screen.devicePixelRatio()],
            "window": [frame.x() - avail.x(), frame.y() - avail.y(), frame.width(), frame.height()],
            "hint": [hint.width(), hint.height()], "map_width": window.canvas.native.width(),
            "map_image": list(window.canvas.render_image().shape[:2]),
            "tabbed": window.classes_dock in window.tabifiedDockWidgets(window.view_dock),
        }), flush=True)
        os._exit(0)  # the selection started loading the model for generation: no need to wait for it

    def guarded():
        try:
            measure()
        except Exception:  # a failure ends the run at once, with its traceback on stderr
            import traceback
            traceback.print_exc()
            app.exit(4)

    QTimer.singleShot(90000, lambda: app.exit(3))
    guarded()
    sys.exit(app.exec())
""")


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="needs xvfb-run for a 2880x1800 X screen")
def test_a_2880x1800_screen_at_scale_2_fits_the_window_and_keeps_half_the_width_for_the_map(fixture_root, tmp_path):
    env = {**os.environ, "QT_SCALE_FACTOR": "2", "QT_QPA_PLATFORM": "xcb", "DIFFVIEWS_CONFIG_DIR": str(tmp_path)}
    env.pop("DISPLAY", None)
    out = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 2880x1800x24", sys.executable, "-c", HIDPI_SCRIPT,
                          str(fixture_root), str(tmp_path / "settings.ini")], env=env, capture_output=True,
                         text=True, timeout=300)  # fmt: skip
    lines = [line for line in out.stdout.splitlines() if line.startswith("LAYOUT ")]
    assert out.returncode == 0 and lines, out.stdout + out.stderr
    got = json.loads(lines[0].removeprefix("LAYOUT "))
    assert got["dpr"] == 2 and got["physical"] == [2880, 1800]
    width, height = got["screen"]
    assert (width, height) == (1440, 900)  # logical pixels: laid out as a 1440 x 900 screen
    x, y, w, h = got["window"]
    assert x >= 0 and y >= 0 and x + w <= width and y + h <= height, got  # never past the screen
    assert got["hint"][0] <= width and got["hint"][1] <= height
    assert got["map_width"] >= w / 2, got  # the docks do not keep their width at the map's cost
    assert got["map_image"][1] >= 2 * got["map_width"] - 2  # and the map is drawn at double density
    assert got["tabbed"]  # below 1600 x 1000 logical the side docks are tabbed
