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
    monkeypatch.setattr(background_import, "_ended", set())
    yield tmp_path
    for name in ("dv_heavy_ok", "dv_heavy_broken", "dv_heavy_slow", "dv_heavy_gated"):
        sys.modules.pop(name, None)


def test_a_module_is_imported_on_a_daemon_thread_once(module_dir):
    (module_dir / "dv_heavy_ok.py").write_text("import threading\nIMPORTED_ON = threading.current_thread().name\n")
    (module_dir / "dv_heavy_slow.py").write_text("import threading\nGO = threading.Event()\n")
    import dv_heavy_slow

    (module_dir / "dv_heavy_gated.py").write_text("import dv_heavy_slow\ndv_heavy_slow.GO.wait(10)\n")
    assert background_import.settled("sys") and not background_import.settled("dv_heavy_ok")
    thread = background_import.import_in_background("sys", "dv_heavy_gated", "dv_heavy_ok")  # what is not imported
    assert thread is not None and thread.daemon
    assert not background_import.settled("dv_heavy_gated")  # under way (in sys.modules already, half made)
    dv_heavy_slow.GO.set()
    thread.join(10)
    assert background_import.settled("dv_heavy_gated") and background_import.settled("dv_heavy_ok")
    assert sys.modules["dv_heavy_ok"].IMPORTED_ON == "import dv_heavy_gated"  # the thread, named by its first
    assert background_import.import_in_background("dv_heavy_ok") is None  # imported: nothing to start
    assert background_import.import_in_background("sys") is None


def test_a_failing_import_is_logged_not_raised(module_dir, caplog):
    (module_dir / "dv_heavy_broken.py").write_text("raise RuntimeError('broken on purpose')\n")
    with caplog.at_level(logging.WARNING, logger=background_import.__name__):
        background_import.import_in_background("dv_heavy_broken").join(10)
    assert "importing dv_heavy_broken ahead of use failed" in caplog.text
    assert "dv_heavy_broken" not in sys.modules and background_import.settled("dv_heavy_broken")  # fails at once
    assert background_import.import_in_background("dv_heavy_broken") is None  # tried once per process
