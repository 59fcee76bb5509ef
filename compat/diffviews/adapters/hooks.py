"""``diffviews.adapters.hooks``, served by ``diffviews_core.adapters.hooks``."""

from diffviews_core.adapters.hooks import HookMixin

__all__ = ["HookMixin"]
