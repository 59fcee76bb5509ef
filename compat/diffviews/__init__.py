"""The original DiffViews' top-level API, served by ``diffviews_core``."""

from diffviews_core import __version__
from diffviews_core.adapters import GeneratorAdapter, get_adapter, list_adapters, register_adapter

__all__ = ["GeneratorAdapter", "__version__", "get_adapter", "list_adapters", "register_adapter"]
