"""UMAP in a new process, with numba's on-disk cache empty (cold: the first launch ever) and filled (warm: every
later launch, and the worker process the app starts for fits). The goal is that only the first launch compiles.

Each case is a fresh interpreter that imports umap the app's way (``embedding.numba_cache.import_umap``: the cache in
``<user cache>/numba`` for every UMAP function) and fits a seeded 2D map of ``n`` clustered rows (``fit_embedding``: scaler + PCA(50) +
UMAP; above 50,000 rows UMAP runs on a sample and the rest is placed by kNN, as in the app). Cold runs start from an
empty cache directory; the warm run then uses the cache the cold run left. Baseline: the cold run of the same size.
Also counted: the numba cache's index files after the cold run, and how many the warm run added (0 = nothing
compiled). BLAS runs one thread (a shared 2-core machine).

    python3 benchmarks/bench_umap_cache.py [--sizes 560,10000,100000] [--dim 256] [--smoke]

``--smoke``: 300 rows, in a throwaway cache (CI runs it so the benchmark keeps working; its figures mean nothing).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from harness import print_table  # noqa: E402

CHILD = """
import json, sys, time
import numpy as np
sys.path.insert(0, sys.argv[3])
from bench_neighbours import clustered
t0 = time.perf_counter()
from diffviews_core.embedding.numba_cache import import_umap
import_umap()
t_import = time.perf_counter() - t0
from diffviews_core.embedding import fit_embedding
X = clustered(int(sys.argv[1]), int(sys.argv[2]))
t0 = time.perf_counter()
fitted = fit_embedding(X, seed=42)
t_fit = time.perf_counter() - t0
print(json.dumps({"import_s": t_import, "fit_s": t_fit, "shape": list(fitted.coords.shape)}))
"""


def index_files(cache: Path) -> int:
    """numba's cache index files (one per compiled function and signature set)."""
    return sum(1 for _ in (cache / "numba").rglob("*.nbi")) if (cache / "numba").exists() else 0


def fit_in_new_process(n: int, dim: int, cache: Path) -> dict:
    env = {**os.environ, "DIFFVIEWS_CACHE_DIR": str(cache), "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    env.pop("NUMBA_CACHE_DIR", None)
    out = subprocess.run([sys.executable, "-c", CHILD, str(n), str(dim), str(Path(__file__).parent)],
                         capture_output=True, text=True, check=True, env=env)  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="560,10000,100000")
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--smoke", action="store_true", help="300 rows (CI)")
    args = ap.parse_args()
    sizes = [300] if args.smoke else [int(s) for s in args.sizes.split(",")]
    rows = []
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            cache = Path(tmp)
            cold = fit_in_new_process(n, args.dim, cache)
            compiled = index_files(cache)
            warm = fit_in_new_process(n, args.dim, cache)
            added = index_files(cache) - compiled
        base = cold["import_s"] + cold["fit_s"]
        rows += [
            (f"{n:,} rows, cold: import umap", cold["import_s"], None),
            (f"{n:,} rows, cold: fit", cold["fit_s"], None),
            (f"{n:,} rows, cold: total ({compiled} cache index files written)", base, None),
            (f"{n:,} rows, warm: import umap", warm["import_s"], None),
            (f"{n:,} rows, warm: fit", warm["fit_s"], None),
            (f"{n:,} rows, warm: total ({added} cache index files added)", warm["import_s"] + warm["fit_s"], base),
        ]
    print_table(f"UMAP in a new process, numba cache cold vs warm, {args.dim} features (baseline: the cold run)",
                rows, unit="s")  # fmt: skip


if __name__ == "__main__":
    main()
