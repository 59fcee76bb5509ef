"""Engine speed on CPU: forward pass and a 5-step masked generation of the tiny configuration.

Baselines in the same run: the forward at 1 thread; for generation, 5 bare forwards (so the ratio is the cost of
CFG bookkeeping, hooks, recording and image conversion). Run: python3 benchmarks/bench_engine.py [--smoke]
(``--smoke``: two runs per case on one thread, for CI; its figures mean nothing).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from harness import measure, print_table  # noqa: E402

from diffviews_core.adapters.edm import EDMAdapter  # noqa: E402
from diffviews_core.core import ActivationMasker, generate_with_mask_multistep  # noqa: E402
from diffviews_core.networks import TINY  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="two runs per case, one thread (CI)")
    args = parser.parse_args()
    forwards, generations = (2, 2) if args.smoke else (20, 10)
    thread_counts = (1,) if args.smoke else (1, 2)  # two threads on a loaded CI box only measure contention
    torch.manual_seed(0)
    adapter = EDMAdapter.from_config(TINY)
    rows = []
    for batch in (1, 8):
        x = torch.randn(batch, 3, 16, 16)
        labels = torch.eye(10)[torch.arange(batch) % 10]
        base = None
        for threads in thread_counts:
            torch.set_num_threads(threads)
            t = measure(lambda x=x, labels=labels: adapter.forward(x, 1.0, labels), repeat=forwards)
            base = base or t
            rows.append((f"forward tiny, batch {batch}, {threads} thread(s)", t, base))
    print_table("EDM tiny configuration (3.2M params, 16x16): forward", rows)

    rows = []
    for threads in thread_counts:
        torch.set_num_threads(threads)
        x = torch.randn(1, 3, 16, 16)
        labels = torch.eye(10)[[3]]

        def bare(x=x, labels=labels):
            for _ in range(5):
                adapter.forward(x, 1.0, labels)

        masker = ActivationMasker(adapter, mask_steps=2)
        masker.set_mask("midblock", torch.zeros(128, 4, 4))
        base = measure(bare, repeat=generations)
        for g in (1.0, 2.0):
            gen = lambda g=g, m=masker: generate_with_mask_multistep(adapter, m, 3, 5, guidance_scale=g, seed=0)  # noqa: E731
            rows.append((f"5-step masked generation, CFG {g}, {threads} thread(s)", measure(gen, repeat=generations), base))
    print_table("5-step generation (few-step sampler, mask + trajectory recording) vs 5 bare forwards", rows)


if __name__ == "__main__":
    main()
