"""Model adapters: the interface, hook bookkeeping, the registry and the built-in EDM family.

Every name of the original DiffViews' ``diffviews.adapters`` is here; its ``DMD2ImageNetAdapter`` and
``EDMImageNetAdapter`` are the built-in ``dmd2-imagenet-64`` and ``edm-imagenet-64`` adapters (loaded on first use).
"""

from .base import GeneratorAdapter
from .hooks import HookMixin
from .registry import ENTRY_POINT_GROUP, discover_adapters, get_adapter, list_adapters, register_adapter

_ORIGINAL_NAMES = {"DMD2ImageNetAdapter": "DMD2ImageNet64Adapter", "EDMImageNetAdapter": "EDMImageNet64Adapter"}

__all__ = [
    "ENTRY_POINT_GROUP",
    "DMD2ImageNetAdapter",
    "EDMImageNetAdapter",
    "GeneratorAdapter",
    "HookMixin",
    "discover_adapters",
    "get_adapter",
    "list_adapters",
    "register_adapter",
]


def __getattr__(name: str):
    if name in _ORIGINAL_NAMES:
        from . import edm

        return getattr(edm, _ORIGINAL_NAMES[name])
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
