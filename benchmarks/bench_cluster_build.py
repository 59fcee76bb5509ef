"""Build throughput of the Ray engine with 1 and 2 workers against the single-process build, in the same run, and
whether their datasets are byte-identical.

The shipped demo model (32x32 Fashion-MNIST EDM) on the shipped full-demo images (--per-class of its 40 per class),
4 noise levels x 2 label modes, the two default layers. Every forward pass runs one torch thread (the Ray actors'
default and the single-process default on a 2-core machine), so the three datasets must be identical. Ray's start
(a local instance sized for the pool) is timed apart from the build. Datasets go to a temporary folder.

    python3 benchmarks/bench_cluster_build.py [--per-class 8] [--batch-size 16] [--smoke]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from harness import print_table  # noqa: E402


def checksums(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--per-class", type=int, default=8)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--smoke", action="store_true", help="a handful of images and one Ray worker")
    args = ap.parse_args()
    import ray
    import torch

    from diffviews_core import get_adapter
    from diffviews_core.demo import demo_model_path, demo_paths
    from diffviews_core.pipelines.builder import BuildSpec, build_dataset
    from diffviews_core.pipelines.ray_build import build_with_ray

    torch.set_num_threads(1)
    per_class = 1 if args.smoke else args.per_class
    sigmas = [8.0] if args.smoke else [8.0, 2.0, 0.5, 0.1]
    workers = [1] if args.smoke else [int(w) for w in args.workers.split(",")]
    checkpoint = demo_model_path()
    images = demo_paths().model.parent / "full_images.npz"
    adapter = get_adapter("edm").from_checkpoint(checkpoint, device="cpu")
    print(f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs")

    with tempfile.TemporaryDirectory() as tmp:

        def spec(name: str) -> BuildSpec:
            return BuildSpec(output=Path(tmp) / name / "ds", source=images, sigmas=sigmas,
                             layers=["encoder_bottleneck", "midblock"], batch_size=args.batch_size,
                             label_mode="both", seed=0, per_class=per_class, adapter="edm",
                             checkpoint=checkpoint)  # fmt: skip

        t0 = time.perf_counter()
        single = build_dataset(spec("single"), adapter=adapter)
        t_single = time.perf_counter() - t0
        reference = checksums(single)
        rows = int(json.loads((single / "manifest.json").read_text())["num_samples"])
        table = [(f"single process: {rows} rows ({rows / t_single:.1f} rows/s)", t_single, None)]
        for w in workers:
            t0 = time.perf_counter()
            ray.init(num_cpus=w + 1, include_dashboard=False, log_to_driver=False, configure_logging=False,
                     object_store_memory=200 << 20)  # fmt: skip
            t_start = time.perf_counter() - t0
            try:
                report = build_with_ray(spec(f"ray{w}"), workers=w, shard_batches=4, adapter=adapter)
            finally:
                ray.shutdown()
            same = checksums(report.path) == reference
            table += [
                (f"Ray start (local, {w + 1} CPUs)", t_start, None),
                (
                    f"Ray, {w} worker(s), {report.worker_pids} ran batches: {rows / report.seconds:.1f} rows/s, "
                    f"{'identical' if same else 'CHECKSUM MISMATCH'}",
                    report.seconds,
                    t_single,
                ),  # fmt: skip
            ]
            if not same:
                print(f"Ray with {w} workers wrote a different dataset than the single-process build")
    print_table("Dataset build, demo model (ratio: time against the single-process build)", table, unit="s")
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
