"""Where the app keeps its settings: ``$DIFFVIEWS_CONFIG_DIR`` (an INI file there), as the README promises."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.gui


def test_config_dir_holds_the_settings_file(tmp_path, monkeypatch):
    from diffviews_app.app import SETTINGS_FILE, user_settings
    from PySide6.QtCore import QSettings

    monkeypatch.setenv("DIFFVIEWS_CONFIG_DIR", str(tmp_path / "config"))
    settings = user_settings()
    assert settings.format() == QSettings.Format.IniFormat
    settings.setValue("recent/folders", ["/data/a"])
    settings.sync()
    assert settings.status() == QSettings.Status.NoError
    written = tmp_path / "config" / SETTINGS_FILE
    assert written.is_file() and "/data/a" in written.read_text()
    assert user_settings().value("recent/folders") in (["/data/a"], "/data/a")  # read back by a fresh object


def test_without_the_variable_settings_stay_in_qts_native_place(monkeypatch):
    from diffviews_app.app import APPLICATION, ORGANIZATION, user_settings

    monkeypatch.delenv("DIFFVIEWS_CONFIG_DIR", raising=False)
    settings = user_settings()
    assert (settings.organizationName(), settings.applicationName()) == (ORGANIZATION, APPLICATION)
