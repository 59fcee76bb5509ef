"""Names of the adapters a model can use, without importing torch: the built-in EDM family, third parties'
``diffviews.adapters`` entry points (named, not loaded) and any registered in this process already."""

from __future__ import annotations

import sys
from importlib.metadata import entry_points

ENTRY_POINT_GROUP = "diffviews.adapters"
BUILTIN_ADAPTERS = ("dmd2-imagenet-64", "edm", "edm-imagenet-64")


def adapter_names() -> list[str]:
    """Every adapter name on offer, sorted (the registry resolves one when a model runs)."""
    names = set(BUILTIN_ADAPTERS)
    names.update(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))
    registry = sys.modules.get("diffviews_core.adapters.registry")  # loaded: it imports torch; never load it here
    if registry is not None:
        names.update(registry._REGISTRY)
    return sorted(names)
