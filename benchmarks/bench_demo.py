"""Latency of one demo image (the settings ``diffviews generate --demo`` uses) with 1 and 2 torch threads.

Goal: under 1 s on a 2-core CPU. Baseline in the same run: 1 thread. Also shows the other sampler and guidance 1
(one network pass per step instead of two). Uses the shipped weights when installed (speed does not depend on them).
Run: python3 benchmarks/bench_demo.py [--smoke] (``--smoke``: one run per case on one thread, for CI; its figures mean
nothing).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from harness import measure, print_table  # noqa: E402

from diffviews_core.adapters.edm import EDMAdapter  # noqa: E402
from diffviews_core.core import generate_with_mask_multistep  # noqa: E402
from diffviews_core.demo import DEMO_GENERATION, demo_paths  # noqa: E402
from diffviews_core.demo.train import DEMO_NETWORK  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="one run per case, one thread (CI)")
    smoke = parser.parse_args().smoke
    repeat, warmup, thread_counts = (1, 0, (1,)) if smoke else (5, 1, (1, 2))
    model = demo_paths().model
    if model.is_file():
        adapter, source = EDMAdapter.from_checkpoint(model), "shipped weights"
    else:
        torch.manual_seed(0)
        adapter, source = EDMAdapter.from_config(DEMO_NETWORK), "random weights (demo not built)"
    cases = [
        ("demo default", DEMO_GENERATION),
        ("guidance 1 (no CFG pass)", {**DEMO_GENERATION, "guidance_scale": 1.0}),
        ("heun, same steps (2 passes per step)", {**DEMO_GENERATION, "sampler": "heun"}),
    ]
    rows = []
    for label, settings in cases:
        base = None
        for threads in thread_counts:
            torch.set_num_threads(threads)
            t = measure(
                lambda s=settings: generate_with_mask_multistep(adapter, None, class_label=3, seed=0, **s), repeat, warmup
            )
            base = base or t
            rows.append((f"{label}, {threads} thread(s)", t, base))
    s = DEMO_GENERATION
    print_table(
        f"One 32x32 demo image ({source}; {s['sampler']} {s['num_steps']} steps, guidance "
        f"{s['guidance_scale']}); goal < 1000 ms",
        rows,
    )


if __name__ == "__main__":
    main()
