"""Neighbour query latency: exact KNN over 50k x 1280 activations (memory-mapped .npy) and over a 50k-point map.

Baseline in the same run: scikit-learn ``NearestNeighbors(algorithm='brute')`` fitted on the same array (for the
map also its KD-tree), asked for the same rows. Target: under 20 ms per activation query on a 2-core machine.

    python3 benchmarks/bench_neighbours.py [--rows 50000] [--dim 1280] [-k 10] [--smoke]

``--smoke``: 500 x 32, two repeats (seconds; CI runs it so the benchmark keeps working; its figures mean nothing).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from harness import measure, print_table  # noqa: E402

from diffviews_core.neighbours import ActivationIndex, knn_plane  # noqa: E402


def clustered(n: int, dim: int, seed: int = 0) -> np.ndarray:
    """Activations-like data: 20 clusters, non-negative-ish offset so cosine and euclidean differ."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((20, dim)).astype(np.float32) * 2 + 1
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, 10000):
        m = min(10000, n - start)
        out[start : start + m] = centres[rng.integers(0, 20, m)] + rng.standard_normal((m, dim), dtype=np.float32)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=50000)
    ap.add_argument("--dim", type=int, default=1280)
    ap.add_argument("-k", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=25)
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, two repeats (CI)")
    args = ap.parse_args()
    if args.smoke:
        args.rows, args.dim, args.repeat = 500, 32, 2
    from sklearn.neighbors import NearestNeighbors

    n, k = args.rows, args.k
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "acts.npy"
        np.save(path, clustered(n, args.dim))
        X = np.load(path, mmap_mode="r")
        rows_iter = itertools.cycle(np.random.default_rng(1).integers(0, n, 200).tolist())
        batch = np.random.default_rng(2).integers(0, n, 64)
        table = []
        for metric in ("euclidean", "cosine"):
            t0 = time.perf_counter()
            index = ActivationIndex(X, metric)
            build = time.perf_counter() - t0
            sk = NearestNeighbors(n_neighbors=k + 1, algorithm="brute", metric=metric).fit(X)
            ours = measure(lambda index=index: index.query_rows(next(rows_iter), k), repeat=args.repeat, warmup=2)

            def base(sk=sk):
                r = next(rows_iter)
                sk.kneighbors(np.asarray(X[r : r + 1]), k + 1)

            theirs = measure(base, repeat=args.repeat, warmup=2)
            ours_b = measure(lambda index=index: index.query_rows(batch, k), repeat=3)
            theirs_b = measure(lambda sk=sk: sk.kneighbors(np.asarray(X[np.sort(batch)]), k + 1), repeat=3)
            r_ours, _ = index.query_rows(batch[:8], k)
            r_sk = sk.kneighbors(np.asarray(X[batch[:8]]), k + 1, return_distance=False)
            agree = np.mean([set(a) == set(b[b != q][:k]) for a, b, q in zip(r_ours, r_sk, batch[:8], strict=True)])
            table += [
                (f"activation {metric}: 1 query ({n}x{args.dim} memmap)", ours, theirs),
                (f"activation {metric}: per query, batch of 64", ours_b / 64, theirs_b / 64),
                (f"activation {metric}: index build (row norms, once)", build, None),
            ]
            print(f"{metric}: top-{k} sets agree with sklearn on {agree:.0%} of 8 queries")
        print_table(f"KNN in activation space, k={k} (baseline: sklearn NearestNeighbors brute)", table)

    rng = np.random.default_rng(3)
    coords = (rng.standard_normal((20, 2))[rng.integers(0, 20, n)] * 8 + rng.standard_normal((n, 2))).astype(np.float32)
    t0 = time.perf_counter()
    knn_plane(coords, 0, k)
    tree = time.perf_counter() - t0
    sk_brute = NearestNeighbors(n_neighbors=k + 1, algorithm="brute").fit(coords)
    sk_tree = NearestNeighbors(n_neighbors=k + 1, algorithm="kd_tree").fit(coords)
    ours = measure(lambda: knn_plane(coords, next(rows_iter), k), repeat=200, warmup=5)
    brute = measure(lambda: sk_brute.kneighbors(coords[[next(rows_iter)]], k + 1), repeat=50, warmup=2)
    kdt = measure(lambda: sk_tree.kneighbors(coords[[next(rows_iter)]], k + 1), repeat=200, warmup=5)
    print_table(
        f"KNN in the 2D map, {n} points, k={k}",
        [
            ("map: 1 query (cKDTree, cached) vs sklearn brute", ours, brute),
            ("map: 1 query (cKDTree, cached) vs sklearn kd_tree", ours, kdt),
            ("map: KD-tree build (first query)", tree, None),
        ],
    )


if __name__ == "__main__":
    main()
