"""The first *Suggest KNN* in a process: the index built on the click (the baseline) vs after the app's background
warm-up (``neighbour_warmup.warm_index`` right after opening). Goal: the first query under 300 ms at 100k points.

Each case is a fresh process opening an original-layout model (``synthetic.py``) of ``--rows`` x ``--dim`` float32
activations. "cold" evicts the activation file from the page cache first (``posix_fadvise(DONTNEED)``, as after a
reboot); "cached" has it in the page cache (as on a second launch). Baseline in the same run: the first query of
the index built on the click (``knn_index.dataset_index``). Also measured: the longest stall of a 1 ms ticker thread
while the warm-up runs on a worker thread (what the UI thread would feel).

    python3 benchmarks/bench_knn_warm.py [--rows 100000] [--dim 640] [--repeat 3] [--smoke]

The default 100,000 x 640 is the largest scanned exactly (``knn_index.EXACT_MAX_VALUES``); above it the first query
builds and stores an approximate index, which later launches' warm-ups load.

``--smoke``: 2,000 x 32, one repeat (CI runs it so the benchmark keeps working; its figures mean nothing).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from harness import print_table  # noqa: E402

K = 10

CHILD = """
import json, os, sys, threading, time
import numpy as np
from diffviews_core.formats import open_data
model_dir, mode, cold = sys.argv[1], sys.argv[2], sys.argv[3] == "cold"
npy = os.path.join(model_dir, "activations", "imagenet_real", "batch_000000.npy")
if cold:
    fd = os.open(npy, os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED); os.close(fd)
model = next(iter(open_data(model_dir).models.values()))
layers = model.default_layers
out, index = {}, None
if mode == "warm":
    from diffviews_core.neighbour_warmup import warm_index
    gaps, done = [], threading.Event()
    def ticker():
        last = time.perf_counter()
        while not done.is_set():
            time.sleep(0.001)
            now = time.perf_counter(); gaps.append(now - last); last = now
    t = threading.Thread(target=ticker); t.start()
    t0 = time.perf_counter(); index = warm_index(model, layers); out["warm_s"] = time.perf_counter() - t0
    done.set(); t.join(); out["max_stall_s"] = max(gaps)
t0 = time.perf_counter()
if mode == "click" or index is None:
    from diffviews_core.knn_index import dataset_index
    index = dataset_index(model, layers)
rows, _ = index.query_rows(12345 % model.num_samples, {k})
out["first_s"] = time.perf_counter() - t0
t0 = time.perf_counter(); index.query_rows(777 % model.num_samples, {k}); out["second_s"] = time.perf_counter() - t0
out["rows"] = rows.tolist()
print(json.dumps(out))
""".replace("{k}", str(K))


def run(model: Path, mode: str, cache: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(model), mode, cache], capture_output=True, text=True,
                         check=True, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=640)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, one repeat (CI)")
    args = ap.parse_args()
    if args.smoke:
        args.rows, args.dim, args.repeat = 2000, 32, 1
    from synthetic import make_original_model

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["DIFFVIEWS_CACHE_DIR"] = str(Path(tmp) / "cache")
        model = make_original_model(Path(tmp), args.rows, dim=args.dim, images=False)
        res = {
            (mode, cache): [run(model, mode, cache) for _ in range(args.repeat)]
            for cache in ("cold", "cached")
            for mode in ("click", "warm")
        }
    assert all(r["rows"] == res["click", "cold"][0]["rows"] for rs in res.values() for r in rs), "answers differ"

    def med(mode, cache, key):
        return statistics.median(r[key] for r in res[mode, cache])

    rows = []
    for cache in ("cold", "cached"):
        base = med("click", cache, "first_s")
        rows += [
            (f"{cache}: first query, index built on the click", base, None),
            (f"{cache}: first query after the warm-up", med("warm", cache, "first_s"), base),
            (f"{cache}: second query", med("warm", cache, "second_s"), base),
            (f"{cache}: warm-up itself (background, after opening)", med("warm", cache, "warm_s"), None),
            (f"{cache}: longest ticker stall during the warm-up", med("warm", cache, "max_stall_s"), None),
        ]
    print_table(f"First activation KNN in a process, {args.rows:,} x {args.dim}, k={K} (median of {args.repeat}; "
                "baseline: the index built on the click)", rows)  # fmt: skip


if __name__ == "__main__":
    main()
