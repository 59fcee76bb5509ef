"""Where DiffViews keeps data, caches and settings: platformdirs defaults, overridden by environment variables.

CLI flags pass paths explicitly and so win over both.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "diffviews"
DATA_ENV = "DIFFVIEWS_DATA_DIR"
CACHE_ENV = "DIFFVIEWS_CACHE_DIR"
CONFIG_ENV = "DIFFVIEWS_CONFIG_DIR"


def _from_env(var: str) -> Path | None:
    value = os.environ.get(var, "").strip()
    return Path(value).expanduser() if value else None


def data_root() -> Path:
    """Default data root (one folder per model): ``$DIFFVIEWS_DATA_DIR`` or the user data directory."""
    from platformdirs import user_data_path

    return _from_env(DATA_ENV) or user_data_path(APP_NAME, appauthor=False)


def cache_dir() -> Path:
    """Cache for derived files (embeddings, numba JIT): ``$DIFFVIEWS_CACHE_DIR`` or the user cache directory."""
    from platformdirs import user_cache_path

    return _from_env(CACHE_ENV) or user_cache_path(APP_NAME, appauthor=False)


def config_dir() -> Path:
    """Settings and session files: ``$DIFFVIEWS_CONFIG_DIR`` or the user config directory."""
    from platformdirs import user_config_path

    return _from_env(CONFIG_ENV) or user_config_path(APP_NAME, appauthor=False)


def ensure_dir(path: Path) -> Path:
    """Create ``path`` (and parents) if needed and return it, so callers can write straight away."""
    path.mkdir(parents=True, exist_ok=True)
    return path
