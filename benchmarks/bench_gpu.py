"""The CUDA path, measured: the ImageNet-64 EDM network (296M parameters, random weights: speed does not depend on
them) on a GPU, and vispy drawing 1M and 10M points offscreen through EGL.

Cases, each the median of ``--repeat`` after a warm-up call (cuDNN autotuning, allocations), synchronised:
- one forward pass of one image: fp32 (the baseline), bf16 and fp16 autocast, channels-last (fp32 and bf16);
- a 5-step masked generation of one image (a mask on ``encoder_bottleneck``, as the app's generation): fp32, bf16;
- extraction throughput (two layers recorded and copied to the host, the builder's ``forward_rows``) at batch 64,
  128 and 256: fp32 and bf16, per image;
- vispy: one full frame of N default markers drawn offscreen (EGL, ``EGL_PLATFORM=surfaceless``) and read back, in
  a child process per N.
Also one CPU forward of one image in the same run (the default device elsewhere), as the CPU baseline. Without a
CUDA device it says so and stops; ``--smoke`` runs the same code with the tiny network on the CPU and 1,000 points.

    python3 benchmarks/bench_gpu.py [--batches 64,128,256] [--points 1000000,10000000] [--repeat 5] [--smoke]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from harness import print_table  # noqa: E402

LAYERS = ["encoder_bottleneck", "midblock"]
MASKED = "encoder_bottleneck"

RENDER = """
import json, os, sys, time
os.environ.setdefault("EGL_PLATFORM", "surfaceless")
import numpy as np
import vispy
vispy.use(app="egl")
from vispy import scene
n = int(sys.argv[1])
canvas = scene.SceneCanvas(size=(1600, 1000), show=False)
view = canvas.central_widget.add_view()
view.camera = scene.PanZoomCamera(rect=(0, 0, 1, 1))
pos = np.random.default_rng(0).random((n, 2), dtype=np.float32)
scene.visuals.Markers(parent=view.scene).set_data(pos, size=4, face_color=(0.2, 0.4, 0.8, 0.7), edge_width=0)
canvas.render()  # compiles the shaders, uploads the points
times = []
for _ in range(int(sys.argv[2])):
    t0 = time.perf_counter(); canvas.render(); times.append(time.perf_counter() - t0)
from vispy.gloo import gl
print(json.dumps({"frame_s": sorted(times)[len(times) // 2], "renderer": gl.glGetParameter(gl.GL_RENDERER)}))
"""


def timed(fn: Callable[[], object], repeat: int, cuda: bool) -> float:
    """Median seconds of ``fn`` after one warm-up call, synchronised with the device."""
    import torch

    times = []
    for i in range(repeat + 1):
        if cuda:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        if cuda:
            torch.cuda.synchronize()
        if i:
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def autocast(device: str, dtype_name: str):
    import torch

    if dtype_name == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device.split(":")[0], dtype=getattr(torch, {"bf16": "bfloat16", "fp16": "float16"}[dtype_name]))


def network_cases(adapter, device: str, repeat: int, batches: list[int], precisions: list[str], steps: int) -> list:
    import torch

    from diffviews_core.core.generator import generate_with_mask_multistep
    from diffviews_core.core.masking import ActivationMasker
    from diffviews_core.pipelines.builder import forward_rows

    cuda = device.startswith("cuda")
    res, ch = adapter.resolution, adapter.img_channels
    x1 = torch.randn(1, ch, res, res, device=device)
    sigma = torch.full((1,), 1.0, device=device)
    label = torch.zeros(1, adapter.num_classes, device=device) if adapter.num_classes else None
    if label is not None:
        label[0, 0] = 1
    rows = []

    def forward():
        with torch.no_grad():
            adapter.forward(x1, sigma, label)

    base = None
    for layout in ("contiguous", "channels-last"):
        if layout == "channels-last":
            adapter.net.to(memory_format=torch.channels_last)
            x1 = x1.contiguous(memory_format=torch.channels_last)
        for precision in precisions if layout == "contiguous" else precisions[:2]:
            with autocast(device, precision):
                t = timed(forward, repeat, cuda)
            base = base or t
            rows.append((f"{device} forward, 1 image, {precision}, {layout}", t, base))
    adapter.net.to(memory_format=torch.contiguous_format)

    shape = adapter.get_layer_shapes()[MASKED]
    masker = ActivationMasker(adapter)
    masker.set_mask(MASKED, np.random.default_rng(0).standard_normal(shape).astype(np.float32))
    base = None
    with masker:
        for precision in precisions[:2]:

            def generate():
                with torch.no_grad():
                    generate_with_mask_multistep(adapter, masker, class_label=0, num_steps=steps, seed=0,
                                                 device=device)  # fmt: skip

            with autocast(device, precision):
                t = timed(generate, repeat, cuda)
            base = base or t
            rows.append((f"{device} {steps}-step masked generation, 1 image, {precision}", t, base))

    base = None
    for batch in batches:
        xb = np.random.default_rng(1).standard_normal((batch, ch, res, res), dtype=np.float32)
        labels = [i % max(1, adapter.num_classes) for i in range(batch)]
        for precision in precisions[:2]:
            with autocast(device, precision):
                t = timed(lambda xb=xb, labels=labels: forward_rows(adapter, xb, 1.0, labels, LAYERS), repeat, cuda)
            base = base or t / batch
            rows.append((f"{device} extraction batch {batch}, {precision}: {batch / t:,.0f} images/s", t / batch, base))
    return rows


def render_cases(points: list[int], repeat: int) -> list:
    rows, base = [], None
    for n in points:
        proc = subprocess.run([sys.executable, "-c", RENDER, str(n), str(repeat)], capture_output=True, text=True,
                              timeout=900)  # fmt: skip
        if proc.returncode != 0:
            print(f"vispy EGL at {n:,} points failed: {proc.stderr.strip().splitlines()[-1:]}")
            continue
        out = json.loads(proc.stdout.strip().splitlines()[-1])
        base = base or out["frame_s"]
        rows.append((f"vispy EGL frame, {n:,} markers ({out['renderer'][:28]})", out["frame_s"], base))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", default="64,128,256")
    ap.add_argument("--points", default="1000000,10000000")
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--smoke", action="store_true", help="the tiny network on the CPU, 1,000 points")
    args = ap.parse_args()
    import torch

    from diffviews_core.adapters.edm import EDMAdapter, EDMImageNet64Adapter
    from diffviews_core.networks import IMAGENET64_EDM, TINY, build_edm

    print(f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs, torch {torch.__version__}")
    if args.smoke:
        device, config, cls, batches, points, repeat = "cpu", TINY, EDMAdapter, [2], [1000], 1
        precisions, steps = ["fp32", "bf16"], 2
    elif not torch.cuda.is_available():
        print("no CUDA device here: nothing to measure (run this on a GPU machine; --smoke checks the code path)")
        return
    else:
        device, config, cls, repeat, steps = "cuda", IMAGENET64_EDM, EDMImageNet64Adapter, args.repeat, args.steps
        batches, points = [int(b) for b in args.batches.split(",")], [int(p) for p in args.points.split(",")]
        precisions = ["fp32", "bf16", "fp16"]
        torch.backends.cudnn.benchmark = True
        print(f"GPU: {torch.cuda.get_device_name(0)}")
    torch.manual_seed(0)
    adapter = cls(build_edm(config).eval(), device=device)
    table = network_cases(adapter, device, repeat, batches, precisions, steps)
    if device == "cuda":
        cpu = cls(build_edm(config).eval(), device="cpu")
        x = torch.randn(1, cpu.img_channels, cpu.resolution, cpu.resolution)
        with torch.no_grad():
            t = timed(lambda: cpu.forward(x, torch.ones(1), None), 1, False)
        table.append((f"cpu forward, 1 image, fp32 ({torch.get_num_threads()} threads)", t, table[0][1]))
    table += render_cases(points, repeat)
    print_table(f"CUDA path, {'tiny network (smoke)' if args.smoke else 'ImageNet-64 EDM'} (ratio against the first "
                "row of each group; baseline: fp32 / the first batch or point count)", table)  # fmt: skip
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
