"""Small, valid data folders in the project's own format, written with the store's own writers (the original layout
comes from ``data_fixtures.make_original_layout``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from diffviews_core.store import native
from diffviews_core.store.embedding import write_embedding_files
from diffviews_core.store.files import atomic_write_json
from diffviews_core.store.table import SampleTable, write_csv

LAYERS = {"encoder_bottleneck": (4, 2, 2), "midblock": (6, 2, 2)}
SIGMAS = (80.0, 1.0)


def make_native_model(folder: Path, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    for name, shape in LAYERS.items():
        (folder / "activations").mkdir(exist_ok=True)
        np.save(
            folder / "activations" / f"{name}.npy", rng.standard_normal((n, int(np.prod(shape)))).astype(np.float32)
        )
    labels = rng.integers(0, 3, n)
    image_paths = [f"images/custom/image_{i:06d}.png" for i in range(n)]
    columns = {
        "sample_id": np.arange(n, dtype=np.int64) + 10000 * (np.arange(n) % 2),
        "class_label": labels.astype(np.int64),
        "class_name": np.array([f"class {c}" for c in labels], dtype=object),
        "image_path": np.array(image_paths, dtype=object),
        "conditioning_sigma": np.array([SIGMAS[i % 2] for i in range(n)]),
        "label_mode": np.array(["true"] * n, dtype=object),
        "image_index": np.arange(n, dtype=np.int64) // 2,
        "level_index": np.arange(n, dtype=np.int64) % 2,
    }
    write_csv(folder / native.SAMPLES, columns)
    for rel in image_paths:
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)).save(folder / rel)
    atomic_write_json(folder / "config.json", {"adapter": "edm", "dataset_type": "custom", "default_steps": 10})
    table = SampleTable(columns, folder / native.SAMPLES)
    coords = rng.standard_normal((n, 3)).astype(np.float32)
    write_embedding_files(folder / "embeddings" / "umap.csv", table, coords[:, :2], coords, {"layers": ["midblock"]})
    layers = {k: {"file": f"activations/{k}.npy", "shape": list(s)} for k, s in LAYERS.items()}
    files = [f"activations/{k}.npy" for k in LAYERS] + [native.SAMPLES, "config.json"]
    native.write_manifest(folder, n, layers, files, {"dataset_type": "custom"})


def make_native_layout(root: Path, n: int = 6, models: tuple[str, ...] = ("a", "b")) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for j, name in enumerate(models):
        make_native_model(root / name, n, seed=j)
    return root
