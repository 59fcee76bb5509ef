"""Embedding speed: placing new points on a map (projection) and fitting a 5k-point UMAP map.

Projection (target: under 5 ms per point for 10k fitted points): ``Projector.project`` against, in the same run,
scikit-learn's StandardScaler + PCA + ``KNeighborsRegressor(weights='distance')`` doing the same interpolation, and
the original tool's way, ``umap.UMAP.transform`` on the fitted reducer (which it had to pickle). Also at the
ImageNet-64 layer pair's width (D = 98304) with a synthetic scaler+PCA stage.

Fit: ``fit_embedding`` on 5k x 1280 (2D, seeded) against the original pipeline (sklearn StandardScaler + PCA(50) +
umap.UMAP, same seed) in the same run, after a small warm-up fit that pays numba's JIT; then unseeded fits in
subprocesses with NUMBA_NUM_THREADS=1 and 2 (each after its own warm-up). BLAS runs one thread throughout (a shared 2-core machine).

    python3 benchmarks/bench_embedding.py [--fit-rows 5000] [--skip-threads] [--smoke]

``--smoke`` runs the cases on tiny arrays, without the thread subprocesses (each pays numba's JIT again); CI runs it
so the benchmark keeps working, and its figures mean nothing.
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_neighbours import clustered  # noqa: E402
from harness import measure, print_table  # noqa: E402

from diffviews_core.embedding import PCAStage, Projector, fit_embedding, fit_pca  # noqa: E402

K = 10


@dataclass(frozen=True)
class Sizes:
    fitted: int = 10000  # points of the map new points are placed on
    dim: int = 1280  # activation width of the fits and projections
    wide: int = 98304  # encoder_bottleneck + midblock of ImageNet-64
    warmup: int = 4200  # above umap's 4096-row switch to nearest-neighbour descent, so that path is compiled too


SMOKE = Sizes(fitted=300, dim=64, wide=1024, warmup=100)

_CHILD = """
import sys, time, numpy as np
sys.path.insert(0, {bench!r})
from bench_neighbours import clustered
from diffviews_core.embedding import fit_embedding
t0 = time.perf_counter(); import umap; t_imp = time.perf_counter() - t0
fit_embedding(clustered({warmup}, 64, seed=7), seed=None)
X = clustered({rows}, {dim}, seed=5)
t0 = time.perf_counter(); fit_embedding(X, seed=None); print(t_imp, time.perf_counter() - t0)
"""


def projection_rows(repeat: int, sizes: Sizes = Sizes()) -> list[tuple[str, float, float | None]]:
    from sklearn.decomposition import PCA
    from sklearn.neighbors import KNeighborsRegressor
    from sklearn.preprocessing import StandardScaler

    n, d = sizes.fitted, sizes.dim
    X = clustered(n, d, seed=1)
    coords = np.random.default_rng(2).standard_normal((n, 2)).astype(np.float32)
    proj = Projector(fit_pca(X, 50), coords)
    new = X[:200] + np.random.default_rng(3).standard_normal((200, d), dtype=np.float32)
    it = itertools.cycle(range(200))
    scaler = StandardScaler().fit(X)
    pca = PCA(50, svd_solver="randomized", random_state=0).fit(scaler.transform(X))
    knr = KNeighborsRegressor(K, weights="distance", algorithm="brute").fit(pca.transform(scaler.transform(X)), coords)

    def sk_one():
        i = next(it)
        knr.predict(pca.transform(scaler.transform(new[i : i + 1])))

    rows = [
        (
            f"{n} fitted, D={d}: 1 point",
            measure(lambda: proj.project(new[next(it)], K), repeat, 5),
            measure(sk_one, repeat, 5),
        ),
        (
            f"{n} fitted, D={d}: per point, batch of 200",
            measure(lambda: proj.project(new, K), 5) / 200,
            measure(lambda: knr.predict(pca.transform(scaler.transform(new))), 5) / 200,
        ),
    ]
    dim = sizes.wide
    rng = np.random.default_rng(4)
    comps = np.linalg.qr(rng.standard_normal((dim, 50)).astype(np.float32))[0].T.copy()
    stage = PCAStage(
        rng.standard_normal(dim).astype(np.float32),
        rng.uniform(0.5, 2, dim).astype(np.float32),
        comps,
        np.ones(50, np.float32),
        rng.standard_normal((n, 50)).astype(np.float32) * 5,
    )
    wide = Projector(stage, coords)
    pts = rng.standard_normal((16, dim)).astype(np.float32)
    rows.append(
        (f"{n} fitted, D={dim}: 1 point", measure(lambda: wide.project(pts[next(it) % 16], K), repeat, 3), None)
    )
    return rows


def fit_rows(
    n: int, sizes: Sizes = Sizes()
) -> tuple[list[tuple[str, float, float | None]], list[tuple[str, float, float | None]]]:
    import umap
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    t0 = time.perf_counter()
    fit_embedding(clustered(sizes.warmup, 64, seed=7), seed=42)  # compiles what numba could not cache
    first = time.perf_counter() - t0
    X = clustered(n, sizes.dim, seed=5)
    t0 = time.perf_counter()
    fitted = fit_embedding(X, seed=42)
    ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    pcs = PCA(50, random_state=42).fit_transform(StandardScaler().fit_transform(X))
    reducer = umap.UMAP(n_neighbors=15, min_dist=0.1, random_state=42).fit(pcs)
    base = time.perf_counter() - t0
    new = X[:50] + np.random.default_rng(6).standard_normal((50, sizes.dim), dtype=np.float32)
    it = itertools.cycle(range(50))
    ours_p = measure(lambda: fitted.projector.project(new[next(it)], K), 30, 3)
    new_pcs = PCA(50, random_state=42).fit(StandardScaler().fit_transform(X))  # transform cost is not the point
    umap_p = measure(lambda: reducer.transform(new_pcs.transform(new[next(it)][None])), 5, 1)
    return (
        [
            (f"first fit in a process (numba JIT + {sizes.warmup} x 64)", first, None),
            (f"fit {n} x {sizes.dim} -> 2D, seed 42 (ours vs sklearn+umap)", ours, base),
        ],
        [(f"{n} fitted: 1 point, ours vs umap.UMAP.transform", ours_p, umap_p)],
    )


def thread_rows(n: int, sizes: Sizes = Sizes()) -> list[tuple[str, float, float | None]]:
    bench = str(Path(__file__).parent)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    times = {}
    for threads in (1, 2):
        env["NUMBA_NUM_THREADS"] = str(threads)
        code = _CHILD.format(bench=bench, rows=n, warmup=sizes.warmup, dim=sizes.dim)
        out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True)
        out = out.stdout.split()
        times[threads] = (float(out[0]), float(out[1]))
    return [
        ("import umap (numba cache warm)", times[1][0], None),
        (f"fit {n} -> 2D unseeded, NUMBA threads 2 vs 1", times[2][1], times[1][1]),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fit-rows", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=50)
    ap.add_argument("--skip-threads", action="store_true", help="skip the NUMBA_NUM_THREADS 1 vs 2 fits")
    ap.add_argument("--smoke", action="store_true", help="tiny arrays, few repeats (CI)")
    args = ap.parse_args()
    sizes = SMOKE if args.smoke else Sizes()
    if args.smoke:
        args.fit_rows, args.repeat, args.skip_threads = 200, 3, True
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):  # a shared 2-core machine: a second BLAS thread only contends
        proj = projection_rows(args.repeat, sizes)
        fits, umap_proj = fit_rows(args.fit_rows, sizes)
    print_table("Projection of new activations, k=10 (baseline: sklearn scaler+PCA+KNeighborsRegressor)", proj)
    print_table("Projection vs the original's pickled-UMAP transform", umap_proj)
    print_table("UMAP map fit (baseline: sklearn StandardScaler+PCA(50) + umap.UMAP)", fits, unit="s")
    if not args.skip_threads:
        print_table("Threads (baseline: NUMBA_NUM_THREADS=1)", thread_rows(args.fit_rows, sizes), unit="s")


if __name__ == "__main__":
    main()
