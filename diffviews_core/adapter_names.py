"""Names of the adapters a model can use, without importing torch: the built-in EDM family, third parties'
``diffviews.adapters`` entry points (named, not loaded) and any registered in this process already."""

from __future__ import annotations

import sys
from functools import cache
from importlib.metadata import entry_points

ENTRY_POINT_GROUP = "diffviews.adapters"
BUILTIN_ADAPTERS = ("dmd2-imagenet-64", "edm", "edm-imagenet-64")


@cache
def installed_adapter_names() -> frozenset[str]:
    """The names of the installed packages' ``diffviews.adapters`` entry points: a scan of every installed
    distribution's metadata (~10 ms), read once per process (packages installed meanwhile need a restart)."""
    return frozenset(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))


def adapter_names() -> list[str]:
    """Every adapter name on offer, sorted (the registry resolves one when a model runs)."""
    names = set(BUILTIN_ADAPTERS) | installed_adapter_names()
    registry = sys.modules.get("diffviews_core.adapters.registry")  # loaded: it imports torch; never load it here
    if registry is not None:
        names.update(registry._REGISTRY)
    return sorted(names)
