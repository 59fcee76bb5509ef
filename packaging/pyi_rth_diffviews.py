"""PyInstaller runtime hook: the installed bundle is read-only and shared, so nothing may be written into it.

numba (UMAP's JIT) caches compiled code next to the source by default; here it goes to the user cache
(``<cache>/numba``, the same place the unfrozen app uses), so only the first fit on a machine compiles. Python's
own bytecode cache is switched off for the few modules kept as source files (numba needs their sources).
"""

import os
import sys

sys.dont_write_bytecode = True
if not os.environ.get("NUMBA_CACHE_DIR"):
    from diffviews_core import paths

    os.environ["NUMBA_CACHE_DIR"] = str(paths.cache_dir() / "numba")
