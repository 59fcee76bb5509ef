"""pytest plugin: the Qt and GL tests (``tests/app``, ``tests/gl``) skip where no display or GL exists, and
``--require-gl`` turns every such skip, or any of those tests not run, into a failed session (CI passes it)."""

from __future__ import annotations

import os

import pytest

GUI_FOLDERS = ("app", "gl")


def pytest_addoption(parser):
    parser.addoption(
        "--require-gl",
        action="store_true",
        help="fail (instead of skipping) when the Qt widget and GL tests of tests/app and tests/gl cannot all run",
    )


def _is_gui_test(item) -> bool:
    return item.path.parent.name in GUI_FOLDERS


def _gui_state(config) -> dict:
    if not hasattr(config, "_diffviews_gui"):
        config._diffviews_gui = {"collected": set(), "ran": set(), "skipped": {}}
    return config._diffviews_gui


def pytest_collection_modifyitems(config, items):
    for item in items:
        folder = item.path.parent.name
        if folder in GUI_FOLDERS:
            item.add_marker(pytest.mark.gui)
        if folder == "gl":
            item.add_marker(pytest.mark.gl)


def pytest_collection_finish(session):
    """The Qt/GL tests this session will run (after -k, -m and --deselect)."""
    _gui_state(session.config)["collected"] = {item.nodeid for item in session.items if _is_gui_test(item)}


def pytest_configure(config):
    state = _gui_state(config)

    class Recorder:
        @staticmethod
        def pytest_runtest_logreport(report):
            if report.nodeid not in state["collected"]:
                return
            if report.skipped:
                state["skipped"][report.nodeid] = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else ""
            elif report.when == "call":
                state["ran"].add(report.nodeid)

    config.pluginmanager.register(Recorder(), "diffviews-gui-recorder")


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    if not config.getoption("--require-gl"):
        return
    state = _gui_state(config)
    missing = sorted(state["collected"] - state["ran"])
    if not missing:
        return
    lines = [f"--require-gl: {len(missing)} of {len(state['collected'])} Qt/GL test(s) did not run:"]
    lines += [f"  {nodeid}: {state['skipped'].get(nodeid, 'not run')}" for nodeid in missing]
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line("\n".join(lines), red=True, bold=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def gl_display(request):
    """Skip (or, with --require-gl, fail) with the reason where a vispy canvas cannot get a GL context."""
    from PySide6.QtWidgets import QApplication

    stop = pytest.fail if request.config.getoption("--require-gl") else pytest.skip
    if not os.environ.get("DISPLAY"):
        stop("no X display: install Xvfb (pytest-xvfb starts it) to run the GL and window tests")
    app = QApplication.instance()
    if app is not None and app.platformName() != "xcb":
        stop(f"QApplication already runs on the {app.platformName()!r} platform, which has no GL for vispy")
