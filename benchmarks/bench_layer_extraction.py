"""Switching the demo to a layer it did not store: load the model, extract the layer, embed it (2D + 3D UMAP).

Baseline, same run: embedding a layer the demo stores (what a layer switch cost before extraction existed). Also
checks that re-extracting a stored layer with the build's recipe gives the stored bytes. Works on a copy of the
demo (its files may be rebuilt meanwhile); layer files go to a temporary cache; UMAP is warmed up first (numba
compiles once per machine, cached), so figures are a running app's.

    python3 benchmarks/bench_layer_extraction.py [--layer encoder_block_0] [--repeat 3] [--smoke]

``--smoke`` measures each step once (CI runs it so the benchmark keeps working).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from harness import print_table  # noqa: E402


def timed(fn, repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layer", default="encoder_block_0")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="each step once (CI)")
    args = parser.parse_args()
    if args.smoke:
        args.repeat = 1

    import torch

    torch.set_num_threads(1)
    from diffviews_resources import demo_paths

    from diffviews_core import paths
    from diffviews_core.embedding.fit import fit_embeddings
    from diffviews_core.formats import open_data
    from diffviews_core.pipelines.layer_extraction import extract_layers, load_adapter

    os.environ.setdefault("NUMBA_CACHE_DIR", str(paths.ensure_dir(paths.cache_dir() / "numba")))
    fit_embeddings(np.random.default_rng(0).standard_normal((200, 64)).astype(np.float32), dims=(2, 3))  # JIT warm-up
    tmp = tempfile.mkdtemp(prefix="bench_layers_")
    try:
        demo = shutil.copytree(demo_paths().root, Path(tmp) / "demo")
        model = next(iter(open_data(demo / demo_paths().data_dir.relative_to(demo_paths().root)).models.values()))
        stored = model.layers[-1]

        def embed(layer: str) -> None:
            fit_embeddings(model.activations([layer]), dims=(2, 3))

        def cold_extract(layers: list[str]) -> dict:
            os.environ[paths.CACHE_ENV] = tempfile.mkdtemp(dir=tmp)  # an empty cache every time
            return extract_layers(model, layers, adapter=adapter)

        t_base, _ = timed(lambda: embed(stored), args.repeat)
        t_load, adapter = timed(lambda: load_adapter(model), args.repeat)
        t_extract, files = timed(lambda: cold_extract([args.layer]), args.repeat)
        t_hit, _ = timed(lambda: extract_layers(model, [args.layer], adapter=adapter), args.repeat)
        model.attach_layers(files, {args.layer: adapter.get_layer_shapes()[args.layer]})
        t_embed, _ = timed(lambda: embed(args.layer), args.repeat)
        same = np.array_equal(np.load(cold_extract([stored])[stored]), model.activations([stored]))
        n, d = model.num_samples, model.activations([args.layer]).shape[1]
    finally:
        shutil.rmtree(tmp)
    total = t_load + t_extract + t_embed
    print(f"demo: {n} samples; new layer {args.layer} ({d} features), stored baseline {stored}; torch threads 1")
    print(f"re-extracted {stored} equals the stored file bit for bit: {same}")
    print_table(
        f"Layer switch on the demo (median of {args.repeat}; seconds)",
        [
            (f"embed stored {stored} (2D+3D) [baseline]", t_base, None),
            ("load the model (checkpoint -> adapter)", t_load, t_base),
            (f"extract {args.layer} ({n} rows, cold cache)", t_extract, t_base),
            (f"extract {args.layer} again (cache hit)", t_hit, t_base),
            (f"embed {args.layer} (2D+3D)", t_embed, t_base),
            (f"load + extract + embed {args.layer}", total, t_base),
        ],
        unit="s",
    )


if __name__ == "__main__":
    main()
