"""File > Build the full demo: a job with progress builds it into the user cache, then the window opens it."""

from __future__ import annotations

import pytest

from diffviews_core.demo import demo_paths
from diffviews_core.pipelines.demo_build import FULL_MODEL_NAME

pytestmark = [
    pytest.mark.gui,
    pytest.mark.gl,
    pytest.mark.skipif(not demo_paths().exists(), reason="demo not built (diffviews demo rebuild)"),
]


@pytest.mark.slow  # loads torch, builds 160 rows and fits two small maps
def test_build_full_demo_action_builds_then_opens_it(qtbot, make_window, tmp_path, monkeypatch):
    monkeypatch.setenv("DIFFVIEWS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr("diffviews_core.pipelines.demo_build.FULL_PER_CLASS", 2)
    window = make_window(demo_paths().data_dir)
    assert window.state.model_name != FULL_MODEL_NAME
    assert window.banner.isVisible() and "File > Build the full demo" in window.banner.text.text()  # hint, once
    progress: list[float] = []
    window.pool.job_progressed.connect(lambda job, fraction, message: progress.append(fraction))
    window.full_demo_action.trigger()
    assert not window.full_demo_action.isEnabled()  # one build at a time
    assert any(job.name == "Building the full demo" for job in window.pool.running())
    # a bound for a failure only (the build takes ~40 s on an idle 2-core box, minutes under load)
    qtbot.waitUntil(lambda: window.state.model_name == FULL_MODEL_NAME, timeout=600000)
    assert window.state.num_points == 10 * 2 * 4 * 2
    assert window.state.root.path == tmp_path / "cache" / "demo-full"
    assert progress and max(progress) == 1.0
    qtbot.waitUntil(lambda: window.full_demo_action.isEnabled() and not window.pool.running(), timeout=10000)
