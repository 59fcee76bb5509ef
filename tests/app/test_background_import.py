"""A heavy module imported on a thread ahead of its first use: once, and never raising where it is started."""

from __future__ import annotations

import logging
import sys

import pytest
from diffviews_app import background_import


@pytest.fixture
def module_dir(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(background_import, "_started", set())
    yield tmp_path
    for name in ("dv_heavy_ok", "dv_heavy_broken"):
        sys.modules.pop(name, None)


def test_a_module_is_imported_on_a_daemon_thread_once(module_dir):
    (module_dir / "dv_heavy_ok.py").write_text("import threading\nIMPORTED_ON = threading.current_thread().name\n")
    thread = background_import.import_in_background("sys", "dv_heavy_ok")  # only what is not imported yet
    assert thread is not None and thread.daemon
    thread.join(10)
    assert sys.modules["dv_heavy_ok"].IMPORTED_ON == "import dv_heavy_ok"  # not the caller's thread
    assert background_import.import_in_background("dv_heavy_ok") is None  # imported: nothing to start
    assert background_import.import_in_background("sys") is None


def test_a_failing_import_is_logged_not_raised(module_dir, caplog):
    (module_dir / "dv_heavy_broken.py").write_text("raise RuntimeError('broken on purpose')\n")
    with caplog.at_level(logging.WARNING, logger=background_import.__name__):
        background_import.import_in_background("dv_heavy_broken").join(10)
    assert "importing dv_heavy_broken ahead of use failed" in caplog.text
    assert "dv_heavy_broken" not in sys.modules
    assert background_import.import_in_background("dv_heavy_broken") is None  # tried once per process
