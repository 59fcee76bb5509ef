"""UMAP at 100k and 1M rows: scaler+PCA(50) streamed over the rows, then UMAP as ``fit_embedding`` runs it at scale
(cuML when a CUDA GPU and cuML exist, else umap-learn on a --sample of rows with the rest placed by kNN).

Baseline in the same run: umap-learn on every row of the smallest size (--full-baseline 0 skips it). The split of
the sampled fit (UMAP of the sample / kNN placement of the rest) is printed too. A small fit first pays numba's
JIT. Rows: clustered synthetic activations (--dim features) in a temporary memory-mapped .npy, removed afterwards.

    python3 benchmarks/bench_umap_scale.py [--rows 100000,1000000] [--dim 128] [--sample 50000] [--smoke]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_knn_index import clustered_file  # noqa: E402
from harness import print_table  # noqa: E402

from diffviews_core.embedding import fit_pca  # noqa: E402
from diffviews_core.embedding.scale import choose_backend, run_umap, umap_coords  # noqa: E402


def sampled(pca, sample: int) -> tuple[float, float, float, str]:
    """(total, UMAP-of-sample, placement) seconds of ``umap_coords`` and the backend used."""
    marks = {}
    t0 = time.perf_counter()

    def progress(fraction: float, message: str) -> None:
        if "sampled points done" in message:
            marks["fit"] = time.perf_counter() - t0

    coords, info = umap_coords(pca, 2, 15, 0.1, 42, progress, sample_rows=sample)
    total = time.perf_counter() - t0
    assert np.isfinite(coords).all()
    fit = marks.get("fit", total)
    return total, fit, total - fit, info["backend"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default="100000,1000000")
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--sample", type=int, default=50000)
    ap.add_argument("--full-baseline", type=int, default=1, help="1: umap-learn on every row of the smallest size")
    ap.add_argument("--smoke", action="store_true", help="a few thousand rows, to check the script runs")
    args = ap.parse_args()
    sizes = [3000] if args.smoke else [int(x) for x in args.rows.split(",")]
    dim, sample = (16, 1000) if args.smoke else (args.dim, args.sample)
    print(f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs; backend at {max(sizes):,} rows: "
          f"{choose_backend(max(sizes), sample_rows=sample)}")  # fmt: skip
    run_umap(np.random.default_rng(0).standard_normal((4200, 10)).astype(np.float32), 2, 15, 0.1, 42)  # JIT
    table = []
    with tempfile.TemporaryDirectory() as tmp:
        full = None
        for n in sizes:
            X = clustered_file(Path(tmp) / f"rows_{n}.npy", n, dim)
            t0 = time.perf_counter()
            stage = fit_pca(X, 50, seed=42, fit_rows=min(n, sample))
            t_pca = time.perf_counter() - t0
            if full is None and args.full_baseline and not args.smoke:
                t0 = time.perf_counter()
                run_umap(stage.coords, 2, 15, 0.1, 42)
                full = time.perf_counter() - t0
                table.append((f"{n:>9,} rows: umap-learn on every row (baseline)", full, None))
            total, fit, place, backend = sampled(stage.coords, sample)
            table += [
                (f"{n:>9,} rows: scaler+PCA(50), fitted on {min(n, sample):,}", t_pca, None),
                (f"{n:>9,} rows: UMAP ({backend})", total, full),
                (f"{n:>9,} rows:   of which UMAP of {min(n, sample):,} sampled", fit, None),
                (f"{n:>9,} rows:   of which kNN placement of the rest", place, None),
            ]
            del X, stage
    print_table("UMAP 2D at scale (ratio: against umap-learn on every row of the smallest size)", table, unit="s")
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
