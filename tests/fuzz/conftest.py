"""Fuzz tests: ``--fuzz-long`` runs 10x more inputs; the per-reader counts print at the end (and go to
``--fuzz-report PATH`` as JSON)."""

from __future__ import annotations

import json
import os
import signal

import pytest
from harness import TALLIES, snapshot


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not TALLIES:
        return
    rows = sorted(TALLIES.items())
    width = max(len(name) for name, _ in rows)
    terminalreporter.section("fuzz: inputs per reader")
    terminalreporter.write_line(f"{'reader':<{width}}  {'tried':>6} {'clean':>6} {'loaded':>6} {'bad':>4}")
    for name, t in rows:
        terminalreporter.write_line(f"{name:<{width}}  {t.tried:>6} {t.clean:>6} {t.loaded:>6} {t.bad:>4}")
    path = config.getoption("--fuzz-report")
    if path:
        data = {name: {"tried": t.tried, "clean": t.clean, "loaded": t.loaded, "bad": t.bad} for name, t in rows}
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2)


@pytest.fixture
def arena(tmp_path, monkeypatch):
    """A folder for one reader's cases, with a sentinel folder and a cache beside them that no case may touch."""
    if not hasattr(signal, "setitimer"):
        pytest.skip("the per-case time limit needs SIGALRM (POSIX)")
    sentinel = tmp_path / "sentinel"
    sentinel.mkdir()
    (sentinel / "precious.txt").write_text("do not touch")
    monkeypatch.setenv("DIFFVIEWS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("DIFFVIEWS_DATA_DIR", str(tmp_path / "user-data"))
    before = snapshot(sentinel)
    yield tmp_path
    assert snapshot(sentinel) == before, "a case wrote into the sentinel folder"
    assert not os.path.exists(tmp_path / "user-data"), "a case wrote into the user data folder"
