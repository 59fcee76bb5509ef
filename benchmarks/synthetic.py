"""Synthetic models in the original DiffViews layout at any size (1,168 to 10M rows), for the opening and
interaction benchmarks.

``make_original_model(root, n)`` writes ``root/synthetic/`` as the original tool's scripts do: ``config.json``,
``embeddings/demo.csv`` (sample_id, class_label, quoted class names with commas, image_path, conditioning_sigma at
four levels, activation_path, batch_index, umap_x, umap_y) + ``demo.json``, a converted
``activations/imagenet_real/batch_000000.npy`` + ``.npy.json`` (two layers, rows clustered by class), and
``metadata/imagenet_real/dataset_info.json``. Every sample has its own image path; the files are hard links to a
few real PNGs (one per class colour), so a million images cost a million directory entries, not a million PNGs.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np

SIGMAS = (80.0, 14.0, 1.9, 0.62)  # the original DMD2 demo's four noise levels
LAYERS = ("encoder_bottleneck", "midblock")
NUM_CLASSES = 1000
IMAGE_POOL = 16


def class_name(label: int) -> str:
    return f"class {label}, synthetic" if label % 3 else f'class {label}, "quoted"'


def _coords(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    centres = rng.uniform(-20, 20, size=(NUM_CLASSES, 2))
    return (centres[labels] + rng.normal(scale=0.6, size=(len(labels), 2))).astype(np.float32)


def _write_csv(path: Path, n: int, labels: np.ndarray, coords: np.ndarray, id_step: int) -> None:
    per_level = -(-n // len(SIGMAS))
    names = [class_name(k) for k in range(NUM_CLASSES)]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["sample_id", "class_label", "class_name", "image_path", "conditioning_sigma", "activation_path",
                    "batch_index", "umap_x", "umap_y"])  # fmt: skip
        for i in range(n):
            level, image = divmod(i, per_level)
            label = int(labels[i])
            w.writerow([level * id_step + image, label, names[label], f"images/imagenet_real/sample_{i:07d}.png",
                        SIGMAS[level], "activations/imagenet_real/batch_000000.npz", i,
                        f"{coords[i, 0]:.6f}", f"{coords[i, 1]:.6f}"])  # fmt: skip


def _write_activations(folder: Path, labels: np.ndarray, dim: int, rng: np.random.Generator) -> None:
    from numpy.lib import format as npf

    folder.mkdir(parents=True, exist_ok=True)
    n = len(labels)
    centres = rng.standard_normal((NUM_CLASSES, dim)).astype(np.float32) * 2
    mm = npf.open_memmap(str(folder / "batch_000000.npy"), mode="w+", dtype=np.float32, shape=(n, dim))
    for a in range(0, n, 65536):
        b = min(n, a + 65536)
        mm[a:b] = centres[labels[a:b]] + rng.standard_normal((b - a, dim), dtype=np.float32)
    mm.flush()
    del mm
    half = dim // 2
    info = {"layers": list(LAYERS), "shapes": {LAYERS[0]: [half], LAYERS[1]: [dim - half]},
            "total_features": dim, "num_samples": n, "dtype": "float32"}  # fmt: skip
    (folder / "batch_000000.npy.json").write_text(json.dumps(info))


def _write_dataset_info(path: Path, n: int, labels: np.ndarray, id_step: int, dim: int) -> None:
    """The original's dataset_info.json, streamed (a million records would not fit one json.dumps comfortably)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    per_level = -(-n // len(SIGMAS))
    half = dim // 2
    with open(path, "w", encoding="utf-8") as fh:
        fh.write('{"samples": [')
        for i in range(n):
            level, image = divmod(i, per_level)
            label = int(labels[i])
            rec = {"sample_id": level * id_step + image, "class_label": label, "class_name": class_name(label),
                   "image_path": f"images/imagenet_real/sample_{i:07d}.png", "conditioning_sigma": SIGMAS[level],
                   "activation_path": "activations/imagenet_real/batch_000000.npz", "batch_index": i,
                   "synset_id": f"n{label:08d}", "seed": 7}  # fmt: skip
            fh.write(("," if i else "") + json.dumps(rec))
        fh.write(f'], "layer_shapes": {{"{LAYERS[0]}": [{half}], "{LAYERS[1]}": [{dim - half}]}}, ')
        fh.write(f'"num_samples": {n}, "source": "synthetic"}}')


def _write_images(model: Path, n: int, labels: np.ndarray) -> None:
    """Hard links to ``IMAGE_POOL`` real 64x64 PNGs, one path per sample as the original layout has."""
    from PIL import Image

    folder = model / "images" / "imagenet_real"
    folder.mkdir(parents=True, exist_ok=True)
    pool_dir = model / "images" / "pool"
    pool_dir.mkdir()
    pool = []
    for k in range(IMAGE_POOL):
        p = pool_dir / f"pool_{k:02d}.png"
        rgb = np.zeros((64, 64, 3), dtype=np.uint8)
        rgb[..., k % 3] = 64 + 12 * k
        rgb[16:48, 16:48] = 255 - 15 * k
        Image.fromarray(rgb).save(p)
        pool.append(str(p))
    for i in range(n):
        os.link(pool[int(labels[i]) % IMAGE_POOL], folder / f"sample_{i:07d}.png")


def make_original_model(root: Path, n: int, dim: int = 64, seed: int = 0, images: bool = True) -> Path:
    """Write ``root/synthetic`` with ``n`` samples and ``dim`` activation features; returns the model folder."""
    rng = np.random.default_rng(seed)
    model = Path(root) / "synthetic"
    (model / "embeddings").mkdir(parents=True)
    labels = rng.integers(0, NUM_CLASSES, n)
    id_step = 10 ** len(str(-(-n // len(SIGMAS))))  # level * 10^k + image index, as the original's ids
    (model / "config.json").write_text(json.dumps({"adapter": "dmd2-imagenet-64", "dataset_type": "imagenet_real"}))
    _write_csv(model / "embeddings" / "demo.csv", n, labels, _coords(labels, rng), id_step)
    (model / "embeddings" / "demo.json").write_text(
        json.dumps({"n_neighbors": 15, "min_dist": 0.1, "layers": list(LAYERS), "model": "imagenet_real"})
    )
    _write_activations(model / "activations" / "imagenet_real", labels, dim, rng)
    _write_dataset_info(model / "metadata" / "imagenet_real" / "dataset_info.json", n, labels, id_step, dim)
    if images:
        _write_images(model, n, labels)
    return model
