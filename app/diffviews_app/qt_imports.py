"""Imports after PySide6 without its per-module source scan.

Once PySide6 is imported, its ``__feature__`` import hook (the opt-in ``from __feature__ import snake_case``) reads
the whole source of every module imported afterwards (``inspect.getsource``) to see whether it mentions PySide6:
0.1-0.2 s of this app's start-up, for the ~400 modules (numpy, vispy, the app) imported after Qt. The app selects no
``__feature__``, so every module may be treated as one that uses none; ``skip_feature_scan`` (called by ``application()``) tells the hook so.
"""

from __future__ import annotations

import sys


def skip_feature_scan() -> None:
    """Answer the hook's question without reading sources (where this PySide6 has the hook)."""
    feature = sys.modules.get("shibokensupport.feature")
    if feature is not None and callable(getattr(feature, "_mod_uses_pyside", None)):
        feature._mod_uses_pyside = _selects_no_feature


def _selects_no_feature(_module) -> bool:
    return False
