"""Adapter registry: the built-in EDM family (listed here, once) and third parties' ``diffviews.adapters`` entry points.

The built-in modules never import this one: the registry imports them when the first name is looked up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib.metadata import entry_points

from ..errors import AdapterNotFoundError

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "diffviews.adapters"
_REGISTRY: dict[str, type] = {}
_discovered = False


def register_adapter(name: str) -> Callable[[type], type]:
    """Class decorator: make an adapter available to ``get_adapter(name)``."""

    def decorator(cls: type) -> type:
        _REGISTRY[name] = cls
        return cls

    return decorator


def _builtin_adapters() -> dict[str, type]:
    from .edm import DMD2ImageNet64Adapter, EDMAdapter, EDMImageNet64Adapter

    return {"edm": EDMAdapter, "edm-imagenet-64": EDMImageNet64Adapter, "dmd2-imagenet-64": DMD2ImageNet64Adapter}


def _discover() -> None:
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
    _discover()
    return sorted(_REGISTRY)


def get_adapter(name: str) -> type:
    """The adapter class registered as ``name``; the error lists every known name."""
    _discover()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "(none)"
        raise AdapterNotFoundError(f"unknown adapter {name!r}; known adapters: {known}") from None
