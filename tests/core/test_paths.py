"""Default directories come from platformdirs and environment variables override them."""

from __future__ import annotations

from pathlib import Path

import pytest

from diffviews_core import paths


@pytest.mark.parametrize(
    ("func", "var"),
    [(paths.data_root, paths.DATA_ENV), (paths.cache_dir, paths.CACHE_ENV), (paths.config_dir, paths.CONFIG_ENV)],
)
def test_env_overrides_default(monkeypatch, tmp_path, func, var):
    monkeypatch.delenv(var, raising=False)
    default = func()
    assert "diffviews" in str(default).lower()
    monkeypatch.setenv(var, str(tmp_path / "x"))
    assert func() == tmp_path / "x"
    monkeypatch.setenv(var, "  ")
    assert func() == default


def test_defaults_are_distinct_user_dirs(monkeypatch):
    for var in (paths.DATA_ENV, paths.CACHE_ENV, paths.CONFIG_ENV):
        monkeypatch.delenv(var, raising=False)
    dirs = {paths.data_root(), paths.cache_dir(), paths.config_dir()}
    assert all(isinstance(d, Path) and d.is_absolute() for d in dirs)
    assert len(dirs) == 3


def test_tilde_expanded_and_ensure_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv(paths.CACHE_ENV, "~/cache")
    assert paths.cache_dir() == tmp_path / "cache"
    made = paths.ensure_dir(paths.cache_dir() / "numba")
    assert made.is_dir()
