"""``diffviews.adapters.registry``, served by ``diffviews_core.adapters.registry``."""

from diffviews_core.adapters.base import GeneratorAdapter
from diffviews_core.adapters.registry import (
    discover_adapters,
    get_adapter,
    list_adapters,
    register_adapter,
    register_adapter_class,
    unregister_adapter,
)

__all__ = [
    "GeneratorAdapter",
    "discover_adapters",
    "get_adapter",
    "list_adapters",
    "register_adapter",
    "register_adapter_class",
    "unregister_adapter",
]
