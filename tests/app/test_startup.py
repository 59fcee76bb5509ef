"""Start-up: the command-line options shared by ``diffviews viz`` and ``diffviews-desktop``, and how the CLI finds
the app (tests/gl/test_screenshot.py runs the whole start-up)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

OPTIONS = ["--data-dir", "--embeddings", "--checkpoint-path", "--adapter", "--device", "--num-steps",
           "--guidance-scale", "--model", "-m", "--screenshot"]  # fmt: skip


def test_viz_and_desktop_share_the_options():
    from diffviews_app.__main__ import build_parser

    from diffviews_core.cli.main import build_parser as cli_parser

    desktop = build_parser().format_help()
    viz = cli_parser()._subparsers._group_actions[0].choices["viz"].format_help()
    for option in OPTIONS:
        assert option in desktop and option in viz
    args = build_parser().parse_args(["--data-dir", "d", "-m", "edm", "--num-steps", "4", "--guidance-scale", "1.5"])
    assert (args.data_dir, args.model, args.num_steps, args.guidance_scale) == ("d", "edm", 4, 1.5)


def test_diffviews_viz_launches_the_app_through_its_entry_point(monkeypatch):
    """The core finds the app only through the ``diffviews.apps`` entry point the app's package declares."""
    import diffviews_app.__main__ as desktop

    from diffviews_core.cli import viz
    from diffviews_core.cli.main import build_parser as cli_parser

    launched = []
    monkeypatch.setattr(desktop, "launch", lambda args: launched.append(args.model) or 0)
    assert viz.run(cli_parser().parse_args(["viz", "-m", "edm"])) == 0
    assert launched == ["edm"]


def test_diffviews_viz_without_the_app_says_so(monkeypatch, capsys):
    from diffviews_core.cli import viz
    from diffviews_core.cli.main import build_parser as cli_parser

    monkeypatch.setattr(viz, "entry_points", lambda **_kw: [])
    assert viz.run(cli_parser().parse_args(["viz"])) == 2
    err = capsys.readouterr().err
    assert "desktop app is not installed" in err and "diffviews.apps" in err


def test_application_spares_later_imports_pysides_source_scan(qapp):
    """PySide6's ``__feature__`` import hook reads the source of each module imported after Qt; the app selects no
    feature, so ``application()`` answers for it without reading (0.1-0.2 s of start-up)."""
    import sys
    import types

    from diffviews_app.app import application

    assert application() is qapp
    feature = sys.modules["shibokensupport.feature"]
    mentions_qt = types.ModuleType("mentions_qt")
    mentions_qt.__file__ = __file__  # this file says PySide6: the hook's own check would read it and answer True
    assert feature._mod_uses_pyside(mentions_qt) is False


@pytest.mark.parametrize(("cpus", "threads", "want"), [(2, None, 0), (1, None, 0), (4, None, 1), (16, None, 7),
                                                      (16, "12", 3), (8, "8", 0)])  # fmt: skip
def test_software_gl_gets_the_cores_the_workers_and_the_ui_thread_leave(monkeypatch, cpus, threads, want):
    from diffviews_app.app import software_gl_threads

    monkeypatch.setattr(os, "cpu_count", lambda: cpus)
    if threads is None:
        monkeypatch.delenv("DIFFVIEWS_THREADS", raising=False)
    else:
        monkeypatch.setenv("DIFFVIEWS_THREADS", threads)
    assert software_gl_threads() == want


@pytest.mark.parametrize("user_value", [None, "3"])
def test_application_sets_software_gl_threads_before_any_gl_unless_the_user_chose(user_value):
    env = {k: v for k, v in os.environ.items() if k not in ("LP_NUM_THREADS", "DIFFVIEWS_THREADS")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    if user_value is not None:
        env["LP_NUM_THREADS"] = user_value
    code = ("import os; from diffviews_app.app import application, software_gl_threads; application(); "
            "print(os.environ['LP_NUM_THREADS'], software_gl_threads())")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    value, computed = out.stdout.split()
    assert value == (user_value or computed)


@pytest.mark.parametrize("user_value", [None, "3"])
def test_application_asks_qt_for_frames_without_idle_time_unless_the_user_chose(user_value):
    """On X11 Qt waits 5 ms before each update request of a window (no vsync to wait for): every canvas frame did."""
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_UPDATE_IDLE_TIME"}
    env["QT_QPA_PLATFORM"] = "offscreen"
    if user_value is not None:
        env["QT_QPA_UPDATE_IDLE_TIME"] = user_value
    code = "import os; from diffviews_app.app import application; application(); print(os.environ['QT_QPA_UPDATE_IDLE_TIME'])"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [user_value or "0"]
