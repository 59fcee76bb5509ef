"""``diffviews.adapters.base``, served by ``diffviews_core.adapters.base``."""

from diffviews_core.adapters.base import GeneratorAdapter

__all__ = ["GeneratorAdapter"]
