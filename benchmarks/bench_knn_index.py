"""Activation KNN at 100k and 1M rows: the approximate index (faiss IVF, 8-bit codes, exact re-rank) against the
exact scan over the same memory-mapped rows, in the same run: build time, query latency (one stored row, k=10) and
recall@10 measured on 200 other stored rows.

Rows are clustered synthetic activations (--dim features, default 128: a PCA-sketched layer pair) written as .npy
into a temporary folder (1M x 128 float32 = 512 MB) and removed afterwards.

    python3 benchmarks/bench_knn_index.py [--rows 100000,1000000] [--dim 128] [--smoke]
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from harness import measure, print_table  # noqa: E402

from diffviews_core import knn_index as knn  # noqa: E402


def clustered_file(path: Path, n: int, dim: int, seed: int = 0) -> np.ndarray:
    """(n, dim) float32 rows around 200 cluster centres, written in chunks to a memory-mapped .npy."""
    from numpy.lib import format as npf

    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((200, dim)).astype(np.float32) * 2
    mm = npf.open_memmap(str(path), mode="w+", dtype=np.float32, shape=(n, dim))
    for a in range(0, n, 100_000):
        m = min(100_000, n - a)
        mm[a : a + m] = centres[rng.integers(0, 200, m)] + rng.standard_normal((m, dim), dtype=np.float32)
    mm.flush()
    del mm
    return np.load(path, mmap_mode="r")


def run(n: int, dim: int, repeat: int, folder: Path) -> list[tuple[str, float, float | None]]:
    X = clustered_file(folder / f"rows_{n}.npy", n, dim)
    t0 = time.perf_counter()
    exact = knn.ExactIndex(X)
    t_exact = time.perf_counter() - t0
    t0 = time.perf_counter()
    approx = knn.build_index(X, mode="approx")
    t_approx = time.perf_counter() - t0
    rows = itertools.cycle(np.random.default_rng(1).integers(0, n, 500).tolist())
    q_exact = measure(lambda: exact.query_rows(next(rows), 10), repeat=repeat, warmup=1)
    q_approx = measure(lambda: approx.query_rows(next(rows), 10), repeat=repeat * 4, warmup=2)
    recall = knn.measure_recall(approx, queries=200, seed=9)
    print(f"{n:,} x {dim}: ivf lists {approx.index.nlist}, nprobe {approx.nprobe}, recall@10 at build "
          f"{approx.recall:.3f}, on 200 other rows {recall:.3f}")  # fmt: skip
    return [
        (f"{n:>9,} rows: build exact (row norms)", t_exact, None),
        (f"{n:>9,} rows: build approximate (IVF + recall tuning)", t_approx, None),
        (f"{n:>9,} rows: query exact scan", q_exact, None),
        (f"{n:>9,} rows: query approximate (recall {recall:.3f})", q_approx, q_exact),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default="100000,1000000")
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--smoke", action="store_true", help="a few thousand rows, to check the script runs")
    args = ap.parse_args()
    sizes = [5000] if args.smoke else [int(x) for x in args.rows.split(",")]
    dim = 16 if args.smoke else args.dim
    print(f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs")
    table = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            table += run(n, dim, 2 if args.smoke else args.repeat, Path(tmp))
    print_table("Activation KNN, k=10 (ratio: against the exact scan of the same rows)", table)
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
