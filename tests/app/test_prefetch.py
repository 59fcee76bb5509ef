"""Opening the start folder while the window is built: ``open_folder`` of the prefetched folder takes the running
job (or its result) over, so the data is read once; any other open drops it."""

from __future__ import annotations

import pytest
from data_fixtures import make_original_layout


@pytest.fixture
def controller(qtbot, pool, monkeypatch):
    from diffviews_app import controller as module
    from diffviews_app.options import LaunchOptions
    from diffviews_app.state import ExplorerState

    from diffviews_core.model_cache import ModelCache

    opened = []
    real_open = module._open
    monkeypatch.setattr(module, "_open", lambda path, *args: opened.append(path) or real_open(path, *args))
    c = module.ExplorerController(ExplorerState(), pool, ModelCache(), LaunchOptions(model="edm"))
    c.opened = opened
    messages = []
    c.message.connect(lambda level, text: messages.append((level, text)))
    c.messages = messages
    return c


@pytest.fixture(scope="module")
def roots(tmp_path_factory):
    base = tmp_path_factory.mktemp("prefetch")
    return make_original_layout(base / "a", broken=False), make_original_layout(base / "b", broken=False, seed=5)


def test_open_folder_takes_the_running_prefetch_over(qtbot, controller, roots):
    controller.prefetch(roots[0])
    controller.open_folder(roots[0])
    qtbot.waitUntil(lambda: controller.state.model is not None, timeout=20000)
    qtbot.waitUntil(lambda: not controller.pool.running(), timeout=20000)
    assert controller.opened == [roots[0]] and controller.state.root.path == roots[0]
    assert controller.state.model_name == "edm" and controller.state.num_points > 0


def test_open_folder_takes_a_finished_prefetch_over(qtbot, controller, roots):
    controller.prefetch(roots[0])
    qtbot.waitUntil(lambda: not controller.pool.running(), timeout=20000)
    assert controller.state.model is None  # nothing is shown before the window asks for it
    assert not controller.handing_over
    with qtbot.waitSignal(controller.state.model_changed, timeout=20000):
        controller.open_folder(str(roots[0]))
        assert controller.handing_over and controller.state.model is None  # from the next event-loop turn
    assert controller.opened == [roots[0]] and controller.state.root.path == roots[0]
    assert not controller.handing_over


def test_another_folder_drops_the_prefetch(qtbot, controller, roots):
    controller.prefetch(roots[0])
    controller.open_folder(roots[1])
    qtbot.waitUntil(lambda: controller.state.model is not None, timeout=20000)
    qtbot.waitUntil(lambda: not controller.pool.running(), timeout=20000)
    assert controller.state.root.path == roots[1]
    controller.open_folder(roots[0])  # a finished, dropped prefetch is not delivered either: this opens anew
    qtbot.waitUntil(lambda: controller.state.root.path == roots[0], timeout=20000)
    assert controller.opened[-1] == roots[0] and len(controller.opened) == 3


def test_a_prefetch_that_failed_reports_once_when_taken_over(qtbot, controller, tmp_path):
    controller.prefetch(tmp_path / "missing")
    qtbot.waitUntil(lambda: not controller.pool.running(), timeout=20000)
    assert controller.messages == []  # not before open_folder
    controller.open_folder(tmp_path / "missing")
    qtbot.waitUntil(lambda: controller.messages != [], timeout=20000)
    assert len(controller.messages) == 1 and controller.messages[0][0] == "error"
    assert "missing" in controller.messages[0][1] and controller.state.model is None
