"""Model adapters: the interface, hook bookkeeping, the registry and the built-in EDM family."""

from .base import GeneratorAdapter
from .hooks import HookMixin
from .registry import ENTRY_POINT_GROUP, get_adapter, list_adapters, register_adapter

__all__ = ["ENTRY_POINT_GROUP", "GeneratorAdapter", "HookMixin", "get_adapter", "list_adapters", "register_adapter"]
