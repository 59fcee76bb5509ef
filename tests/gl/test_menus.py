"""Menus and start-up data: File owns open / recent / import / sessions / exports, Help is last, the last opened
folder reopens at start (the demo when it is gone), an imported demo keeps its checkpoint, and the compact-demo
hint leaves once another folder opens."""

from __future__ import annotations

from pathlib import Path

import pytest
from diffviews_app.app import start_folder
from diffviews_app.options import LaunchOptions, default_data_dir, demo_data_dir

pytestmark = [pytest.mark.gui, pytest.mark.gl]


def texts(menu) -> list[str]:
    return [a.text() for a in menu.actions() if not a.isSeparator()]


def test_file_owns_sessions_and_exports_and_help_is_last(make_window):
    w = make_window()
    bar = w.menuBar().actions()
    assert [a.text() for a in bar] == ["&File", "&View", "&Selection", "&Generate", "&Help"]
    file, generate = bar[0].menu(), bar[3].menu()
    assert texts(file)[:4] == ["&Open data folder…", "Open &recent", "&Import data folder…", "Import data &archive…"]
    assert {"Sa&ve session…", "Open &session…", "&Export"} <= set(texts(file))
    assert texts(w.export_menu) == ["&View as PNG…", "Generation &lineage (JSON)…",
                                    "Generated &images and step strips…", "&Selection and neighbours (CSV)…",
                                    "Trajectory &activations (NPZ)…"]  # fmt: skip
    assert not [t for t in texts(generate) if "xport" in t or "ession" in t]


def test_the_last_opened_folder_reopens_at_start_and_the_demo_when_it_is_gone(make_window, fixture_root, tmp_path):
    settings_file = tmp_path / "start.ini"
    first = make_window(fixture_root, settings_file=settings_file)
    first.save_settings()
    again = make_window(settings_file=settings_file)
    assert start_folder(again, LaunchOptions()) == fixture_root
    assert start_folder(again, LaunchOptions(data_dir=tmp_path)) == tmp_path  # --data-dir wins
    again.settings.setValue("recent/folders", [str(tmp_path / "gone")])
    assert start_folder(again, LaunchOptions()) == default_data_dir()


@pytest.mark.slow
def test_importing_the_demo_opens_a_copy_whose_checkpoint_works(qtbot, make_window, tmp_path):
    demo = demo_data_dir()
    w = make_window()
    root = tmp_path / "root"
    with qtbot.waitSignal(w.state.model_changed, timeout=30000):
        w.import_data(demo, root)
    assert Path(w.state.root.path) == root
    config = w.state.model.config
    assert config["checkpoint"] == (root / "fashion-mnist-demo" / "model.safetensors").resolve()
    assert config["checkpoint"].is_file()


def test_the_compact_demo_hint_leaves_when_another_folder_opens(qtbot, make_window, fixture_root):
    from diffviews_app.main_window import FULL_DEMO_HINT

    w = make_window(demo_data_dir())
    assert w.banner.isVisible() and w.banner.text.text() == FULL_DEMO_HINT
    with qtbot.waitSignal(w.state.model_changed, timeout=10000):
        w.open_folder(fixture_root)
    assert w.banner.text.text() != FULL_DEMO_HINT or not w.banner.isVisible()
