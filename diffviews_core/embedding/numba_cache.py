"""numba's compiled code kept on disk for every UMAP function, so that only the first fit on a machine compiles.

umap-learn and pynndescent mark only some of their jitted functions ``cache=True``; the others (the layout
optimiser, the fuzzy simplicial set, most of the nearest-neighbour descent) were compiled again in every new
process: ~36 s per process on this project's 2-core reference machine even when every cached one loaded, against
~1 s once all of them are cached. ``import_umap`` imports umap with the cache directory in the user cache and
switches caching on for the remaining dispatchers before any of them compiles. A function numba cannot cache (no
source file to key it on, as in some frozen builds) simply compiles as before.
"""

from __future__ import annotations

import logging
import os
import sys
from types import ModuleType

log = logging.getLogger(__name__)

CACHED_PACKAGES = ("umap", "pynndescent")


def enable_disk_cache(packages: tuple[str, ...] = CACHED_PACKAGES) -> int:
    """Switch on numba's on-disk cache for the jitted functions of the imported ``packages`` that lack it; returns
    how many were switched on."""
    from numba.core.dispatcher import Dispatcher

    enabled = 0
    for name, module in list(sys.modules.items()):
        if module is None or name.split(".")[0] not in packages:
            continue
        for value in list(vars(module).values()):
            if not isinstance(value, Dispatcher) or type(value._cache).__name__ != "NullCache":
                continue
            try:
                value.enable_caching()
            except RuntimeError as exc:  # no locator for its source file: it compiles in each process
                log.debug("numba cannot cache %s: %s", value, exc)
                continue
            enabled += 1
    return enabled


def import_umap() -> ModuleType:
    """``umap``, with every compiled function of it kept in ``<user cache>/numba``."""
    from .. import paths

    os.environ.setdefault("NUMBA_CACHE_DIR", str(paths.ensure_dir(paths.cache_dir() / "numba")))
    import umap

    log.debug("numba disk cache switched on for %d more UMAP functions", enable_disk_cache())
    return umap
