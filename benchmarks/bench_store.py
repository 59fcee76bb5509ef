"""Opening a 1.7 GB activation file through the store (memory-mapped) vs ``np.load`` without mmap.

Builds an original-layout model in a temporary folder: ``activations/imagenet_real/batch_000000.npy`` of
(4400, 98304) float32 = 1.73 GB (ImageNet-64's encoder_bottleneck + midblock), written sparse by default (``--dense``
fills it), with its ``.npy.json``, an embeddings CSV and a config. Each case runs in a fresh process that reports the
growth of its resident memory (VmRSS) and the time to open and read one row. Target: RSS growth under 200 MB.

    python3 benchmarks/bench_store.py [--rows 4400] [--dim 98304] [--dense] [--repeat 3] [--smoke]

``--smoke`` runs it on a tiny file once (seconds; CI runs it so the benchmark keeps working; its figures mean nothing).
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from harness import print_table  # noqa: E402


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status (Linux only)")


def make_model(root: Path, rows: int, dim: int, dense: bool) -> Path:
    """An original-layout model folder with a (rows, dim) activation file; returns the .npy path."""
    from numpy.lib import format as npf

    model = root / "big"
    act = model / "activations" / "imagenet_real"
    act.mkdir(parents=True)
    npy = act / "batch_000000.npy"
    mm = npf.open_memmap(str(npy), mode="w+", dtype=np.float32, shape=(rows, dim))
    if dense:
        block = np.arange(dim, dtype=np.float32)
        for r in range(rows):
            mm[r] = block + r
    else:  # sparse file: only a few rows hold data
        for r in (0, rows // 2, rows - 1):
            mm[r] = np.arange(dim, dtype=np.float32) + r
    mm.flush()
    del mm
    half = dim // 2
    (act / "batch_000000.npy.json").write_text(
        json.dumps(
            {
                "layers": ["encoder_bottleneck", "midblock"],
                "shapes": {"encoder_bottleneck": [half // 64, 8, 8], "midblock": [(dim - half) // 64, 8, 8]},
                "total_features": dim,
                "num_samples": rows,
                "dtype": "float32",
            }
        )
    )
    (model / "config.json").write_text(json.dumps({"adapter": "dmd2-imagenet-64"}))
    (model / "embeddings").mkdir()
    rng = np.random.default_rng(0)
    with open(model / "embeddings" / "demo.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["sample_id", "class_label", "class_name", "image_path", "conditioning_sigma", "umap_x", "umap_y"])
        for i in range(rows):
            w.writerow(
                [
                    i,
                    i % 1000,
                    "tench, Tinca tinca",
                    f"images/imagenet_real/sample_{i:06d}.png",
                    80.0,
                    *rng.standard_normal(2),
                ]
            )
    return npy


def child(mode: str, model: Path, row: int) -> None:
    """Run one case in this fresh process and print its figures as JSON."""
    if mode == "store":
        from diffviews_core.formats import open_data  # import before the baseline RSS reading

        before = rss_mb()
        t0 = time.perf_counter()
        acts = open_data(model).models["big"].activations()
        t1 = time.perf_counter()
        value = np.array(acts[row])
    else:
        before = rss_mb()
        t0 = time.perf_counter()
        acts = np.load(model / "activations" / "imagenet_real" / "batch_000000.npy")
        t1 = time.perf_counter()
        value = np.array(acts[row])
    t2 = time.perf_counter()
    print(
        json.dumps(
            {
                "open_s": t1 - t0,
                "total_s": t2 - t0,
                "rss_growth_mb": rss_mb() - before,
                "memmap": isinstance(acts, np.memmap),
                "checksum": float(value.sum()),
            }
        )
    )


def run_case(mode: str, model: Path, row: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(model), str(row)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=4400)
    ap.add_argument("--dim", type=int, default=98304)
    ap.add_argument("--dense", action="store_true", help="fill every row (slower to create; tests real reads)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--smoke", action="store_true", help="a 64 x 256 file, one repeat (CI)")
    ap.add_argument("--child", nargs=3, metavar=("MODE", "MODEL", "ROW"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.smoke:
        args.rows, args.dim, args.repeat = 64, 256, 1
    if args.child:
        child(args.child[0], Path(args.child[1]), int(args.child[2]))
        return
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        npy = make_model(Path(tmp), args.rows, args.dim, args.dense)
        size_gb = npy.stat().st_size / 1e9
        print(
            f"activation file: {args.rows} x {args.dim} float32 = {size_gb:.2f} GB "
            f"({'dense' if args.dense else 'sparse'}), created in {time.perf_counter() - t0:.1f} s"
        )
        row = args.rows // 2
        results = {
            m: [run_case(m, npy.parents[3] / "big", row) for _ in range(args.repeat)] for m in ("store", "numpy")
        }
        assert results["store"][0]["checksum"] == results["numpy"][0]["checksum"], "the two reads disagree"
        assert all(r["memmap"] for r in results["store"])
        med = {
            m: {k: statistics.median(r[k] for r in rs) for k in ("open_s", "total_s", "rss_growth_mb")}
            for m, rs in results.items()
        }
    s, n = med["store"], med["numpy"]
    print_table(
        f"open a {size_gb:.2f} GB activation file and read one row (median of {args.repeat} fresh processes)",
        [
            ("store: open_data + activations() (mmap)", s["open_s"], n["open_s"]),
            ("store: open + read one row", s["total_s"], n["total_s"]),
        ],
    )
    print(f"\n{'RSS growth':52s} {'MB':>10s} {'baseline':>10s} {'ratio':>7s}")
    print(
        f"{'store (memory-mapped) vs np.load (no mmap)':52s} {s['rss_growth_mb']:10.1f} {n['rss_growth_mb']:10.1f} "
        f"{s['rss_growth_mb'] / n['rss_growth_mb']:7.3f}"
    )
    verdict = "PASS" if s["rss_growth_mb"] < 200 else "FAIL"
    print(f"target: store RSS growth < 200 MB -> {verdict}")


if __name__ == "__main__":
    main()
