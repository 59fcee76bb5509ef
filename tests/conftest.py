"""Shared fixtures: the tiny EDM configuration with the spec's seeding recipe; Qt/GL set-up for tests/app and tests/gl.

Shared helper modules live in tests/helpers (on the path through the ``pythonpath`` option): data and checkpoint
fixtures, the tiny model, window helpers, and the ``require_gl`` plugin (``--require-gl``).
"""

from __future__ import annotations

import gc
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# As the app does at start-up (before numpy loads): a fixed BLAS thread count, never changed while threads run.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import pytest  # noqa: E402
from tiny_model import seed_like_spec  # noqa: E402  (imports numpy: after the thread settings)

pytest_plugins = ["require_gl", "pytester"]


def pytest_addoption(parser):
    parser.addoption("--fuzz-long", action="store_true", help="tests/fuzz: run 10 times more generated inputs")
    parser.addoption("--fuzz-report", metavar="PATH", help="tests/fuzz: write the per-reader counts as JSON")


def pytest_configure(config):
    # One torch thread: on a shared 2-core box more threads were 10-15x slower, and results stay bit-stable.
    import torch

    torch.set_num_threads(1)
    # vispy 0.17's Qt backend still calls QMouseEvent.pos(); not ours to fix, and noise in every mouse test.
    config.addinivalue_line("filterwarnings", "ignore:Function.*QMouseEvent.pos:DeprecationWarning")


def pytest_sessionstart(session):
    # vispy needs real GL: Qt's xcb platform on the X display pytest-xvfb started (offscreen has no GL), chosen
    # before any QApplication exists.
    if os.environ.get("DISPLAY"):
        os.environ["QT_QPA_PLATFORM"] = "xcb"


@pytest.fixture(autouse=True)
def _collect_garbage_on_the_main_thread(request):
    """In Qt tests, as the app does (diffviews_app.gc_guard): no automatic collection, which could run in a worker
    thread and destroy Qt/GL objects there; collect on the main thread after the test instead."""
    if "qtbot" not in request.fixturenames and "qapp" not in request.fixturenames:
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.collect()
        gc.enable()


@pytest.fixture
def tiny_net():
    from diffviews_core.networks import TINY, build_edm

    net = build_edm(TINY).eval()
    seed_like_spec(net)
    return net


@pytest.fixture
def tiny_adapter(tiny_net):
    from diffviews_core.adapters.edm import EDMAdapter

    return EDMAdapter(tiny_net, device="cpu")
