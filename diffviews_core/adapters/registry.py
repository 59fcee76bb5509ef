"""Adapter registry: the built-in EDM family (listed here, once) and third parties' ``diffviews.adapters`` entry points.

The built-in modules never import this one: the registry imports them when the first name is looked up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib.metadata import entry_points

from ..errors import AdapterNotFoundError
from .base import GeneratorAdapter

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "diffviews.adapters"
_REGISTRY: dict[str, type] = {}
_discovered = False


def _check_adapter_class(cls: type) -> None:
    if not (isinstance(cls, type) and issubclass(cls, GeneratorAdapter)):
        raise TypeError(f"{cls} must be a GeneratorAdapter subclass")


def register_adapter(name: str) -> Callable[[type], type]:
    """Class decorator: make a GeneratorAdapter subclass available to ``get_adapter(name)``."""

    def decorator(cls: type) -> type:
        _check_adapter_class(cls)
        _REGISTRY[name] = cls
        return cls

    return decorator


def register_adapter_class(name: str, cls: type) -> None:
    """Register ``cls`` as ``name`` without the decorator."""
    _check_adapter_class(cls)
    _REGISTRY[name] = cls


def unregister_adapter(name: str) -> type | None:
    """Remove ``name`` from the registry; returns the class it named, or None."""
    return _REGISTRY.pop(name, None)


def _builtin_adapters() -> dict[str, type]:
    from .edm import DMD2ImageNet64Adapter, EDMAdapter, EDMImageNet64Adapter

    return {"edm": EDMAdapter, "edm-imagenet-64": EDMImageNet64Adapter, "dmd2-imagenet-64": DMD2ImageNet64Adapter}


def discover_adapters() -> None:
    """Register the built-in adapters and every ``diffviews.adapters`` entry point (once; names already taken win)."""
    global _discovered
    if _discovered:
        return
    _discovered = True
    for name, cls in _builtin_adapters().items():
        _REGISTRY[name] = cls
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in _REGISTRY:
            log.debug("adapter entry point %r ignored: the name is already registered", ep.name)
            continue
        try:
            _REGISTRY[ep.name] = ep.load()
        except Exception as exc:  # a broken plugin must not hide the others
            log.warning("adapter entry point %r (%s) failed to load: %s", ep.name, ep.value, exc)


def list_adapters() -> list[str]:
    discover_adapters()
    return sorted(_REGISTRY)


def get_adapter(name: str) -> type:
    """The adapter class registered as ``name``; the error (a ValueError, as in the original) lists every known name."""
    discover_adapters()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "(none)"
        raise AdapterNotFoundError(f"unknown adapter {name!r}; known adapters: {known}") from None
