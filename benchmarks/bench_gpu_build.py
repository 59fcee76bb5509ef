"""Images per second of a dataset build's forward step for ImageNet-64 on a CUDA GPU, at batch 64, 128 and 256.

The step is the builder's ``forward_rows``: the real 296M-parameter EDM ImageNet-64 network (random weights: speed
does not depend on them) run on noised 64x64 inputs with the two default layers recorded and copied to the host,
then a PCA sketch to 256 dimensions applied on the host, as a Ray GPU actor does it. Ratios are against batch 64;
a CPU forward of 8 images in the same run is the other baseline. Without a CUDA device it says so and stops;
``--smoke`` runs the same code with the tiny network on the CPU.

    python3 benchmarks/bench_gpu_build.py [--batches 64,128,256] [--repeat 5] [--smoke]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from harness import print_table  # noqa: E402

LAYERS = ["encoder_bottleneck", "midblock"]


def timed_forward(adapter, batch: int, repeat: int, reductions, device: str) -> float:
    """Median seconds of one builder forward step (inputs made on the host, as the read stage makes them)."""
    import statistics

    import torch

    from diffviews_core.pipelines.builder import forward_rows, reduce_rows

    res, ch = adapter.resolution, adapter.img_channels
    x = np.random.default_rng(0).standard_normal((batch, ch, res, res), dtype=np.float32)
    labels = [i % max(1, adapter.num_classes) for i in range(batch)]
    times = []
    for i in range(repeat + 1):
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        reduce_rows(forward_rows(adapter, x, 1.0, labels, LAYERS), reductions)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        if i:  # the first call warms up (cuDNN autotuning, allocations)
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", default="64,128,256")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--dims", type=int, default=256, help="PCA sketch dimensions applied to each layer")
    ap.add_argument("--smoke", action="store_true", help="the tiny network on the CPU, small batches")
    args = ap.parse_args()
    import torch

    from diffviews_core.adapters.edm import EDMAdapter, EDMImageNet64Adapter
    from diffviews_core.formats.reduction import LayerReduction, ReductionSpec
    from diffviews_core.networks import IMAGENET64_EDM, TINY, build_edm

    print(f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs, torch {torch.__version__}")
    if args.smoke:
        device, config, cls, batches, dims = "cpu", TINY, EDMAdapter, [2, 4], 8
    elif not torch.cuda.is_available():
        print("no CUDA device here: nothing to measure (run this on a GPU machine; --smoke checks the code path)")
        return
    else:
        device, config, cls, batches, dims = "cuda", IMAGENET64_EDM, EDMImageNet64Adapter, [
            int(b) for b in args.batches.split(",")], args.dims  # fmt: skip
        print(f"GPU: {torch.cuda.get_device_name(0)}")
    torch.manual_seed(0)
    adapter = cls(build_edm(config).eval(), device=device)
    shapes = adapter.get_layer_shapes()
    rng = np.random.default_rng(1)
    reductions = {}
    for layer in LAYERS:
        size = int(np.prod(shapes[layer]))
        comps = np.linalg.qr(rng.standard_normal((size, dims)).astype(np.float32))[0].T
        reductions[layer] = LayerReduction(layer, ReductionSpec("pca", dims, True), shapes[layer],
                                           np.zeros(size, np.float32), comps)  # fmt: skip
    table = []
    base = None
    for batch in batches:
        t = timed_forward(adapter, batch, 1 if args.smoke else args.repeat, reductions, device)
        per_image = t / batch
        base = base or per_image
        table.append((f"{device} batch {batch}: {batch / t:,.1f} images/s", per_image, base))
    if device == "cuda":
        cpu = cls(build_edm(config).eval(), device="cpu")
        torch.set_num_threads(max(1, (os.cpu_count() or 2) // 2))
        t = timed_forward(cpu, 8, 1, reductions, "cpu")
        table.append((f"cpu batch 8 ({torch.get_num_threads()} threads): {8 / t:,.2f} images/s", t / 8, base))
    print_table(f"Build forward step, {'tiny' if args.smoke else 'ImageNet-64 EDM'} network, 2 layers recorded + "
                f"PCA sketch to {dims} (per image; ratio against the first batch size)", table)  # fmt: skip
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
