"""Generate small data directories in the original DiffViews layout (see specs/diffviews-data-format.md).

``make_original_layout(root)`` writes, under ``root``:

- ``imagenet_standard_class_index.json`` with class names that contain commas;
- ``dmd2/``: converted activations (``batch_000000.npy`` + ``.npy.json``), old ``sigma_max``/``sigma_min`` config
  keys, embeddings CSV + JSON + an untrusted ``.pkl``, ``layer_cache/`` and ``aligned_3d/`` embeddings;
- ``edm/``: unconverted ``.npz`` activations split over two batch files, rows located by ``activation_path`` and
  ``batch_index``, ``noise_max``/``noise_min`` config keys;
- ``broken/`` (if ``broken=True``): a truncated activation ``.npy``.

``make_native_layout(root)`` writes small models in the project's own format (``docs/data-format.md``).

Every model has ``metadata/imagenet_real/dataset_info.json`` (with extra keys) and one PNG per sample.
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np
from PIL import Image

LAYERS = {"encoder_bottleneck": (4, 2, 2), "midblock": (6, 2, 2)}
SIGMAS = {"dmd2": [80.0, 14.0, 1.9, 0.62], "edm": [50.0, 14.0, 1.0, 0.05], "broken": [80.0, 14.0, 1.9, 0.62]}
CLASS_NAMES = {
    0: "tench, Tinca tinca",
    1: "goldfish, Carassius auratus",
    2: "great white shark, white shark, man-eater",
    3: 'tiger shark, "Galeocerdo cuvieri"',
}
IMAGE_SIZE = 8
# A pickle that would run code if unpickled: the store must never open it.
EVIL_PKL = b"cos\nsystem\n(S'echo pwned > /tmp/diffviews_pwned'\ntR."


def _write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def _samples(model: str, n: int, rng: np.random.Generator) -> list[dict]:
    levels = SIGMAS[model]
    per_level = max(1, n // len(levels))
    rows = []
    for li, sigma in enumerate(levels):
        for i in range(per_level):
            if len(rows) == n:
                break
            label = int(rng.integers(0, len(CLASS_NAMES)))
            sid = li * 10000 + i
            rows.append(
                {
                    "sample_id": sid,
                    "class_label": label,
                    "class_name": CLASS_NAMES[label],
                    "image_path": f"images/imagenet_real/sample_{sid:06d}.png",
                    "conditioning_sigma": sigma,
                }
            )
    while len(rows) < n:  # n not divisible by the level count: extra rows at the last level
        sid = (len(levels) - 1) * 10000 + per_level + (len(rows) - per_level * len(levels))
        rows.append({**rows[-1], "sample_id": sid, "image_path": f"images/imagenet_real/sample_{sid:06d}.png"})
    return rows


def _activations(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {k: rng.standard_normal((n, int(np.prod(s)))).astype(np.float32) for k, s in sorted(LAYERS.items())}


def _write_embedding_csv(path: Path, rows: list[dict], coords: np.ndarray, extra_cols=()) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cols = [
        "sample_id",
        "class_label",
        "class_name",
        "image_path",
        "conditioning_sigma",
        "activation_path",
        "batch_index",
        "umap_x",
        "umap_y",
        *(["umap_z"] if coords.shape[1] == 3 else []),
        *extra_cols,
    ]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        for r, c in zip(rows, coords):
            w.writerow([r.get(k, "") for k in cols[:7]] + [repr(float(x)) for x in c])


def _write_images(model_dir: Path, rows: list[dict], rng: np.random.Generator) -> None:
    for r in rows:
        p = model_dir / r["image_path"]
        p.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8)).save(p)


def _model(root: Path, model: str, n: int, seed: int, variant: str) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    d = root / model
    rows = _samples(model, n, rng)
    acts = _activations(n, rng)
    act_dir = d / "activations" / "imagenet_real"
    act_dir.mkdir(parents=True, exist_ok=True)
    if variant == "npz":  # two batch files; rows point into them
        half = n // 2
        for b, (lo, hi) in enumerate(((0, half), (half, n))):
            np.savez_compressed(act_dir / f"batch_{b:06d}.npz", **{k: v[lo:hi] for k, v in acts.items()})
            for i in range(lo, hi):
                rows[i]["activation_path"] = f"activations/imagenet_real/batch_{b:06d}"
                rows[i]["batch_index"] = i - lo
        _write_json(
            d / "config.json",
            {
                "adapter": "edm-imagenet-64",
                "checkpoint": "checkpoints/edm.pkl",
                "noise_max": 90.0,
                "noise_min": 1.0,
                "default_steps": 50,
            },
        )
    else:
        combined = np.concatenate([acts[k] for k in sorted(acts)], axis=1)
        np.save(act_dir / "batch_000000.npy", combined)
        _write_json(
            act_dir / "batch_000000.npy.json",
            {
                "layers": sorted(acts),
                "shapes": {k: list(LAYERS[k]) for k in sorted(acts)},
                "total_features": combined.shape[1],
                "num_samples": n,
                "dtype": "float32",
            },
        )
        for i, r in enumerate(rows):
            r["activation_path"] = "activations/imagenet_real/batch_000000"
            r["batch_index"] = i
        _write_json(
            d / "config.json",
            {
                "adapter": "dmd2-imagenet-64",
                "sigma_max": 80.0,
                "sigma_min": 0.5,
                "default_steps": 5,
                "checkpoint": "checkpoints/dmd2.pkl",
            },
        )
        (d / "checkpoints").mkdir(parents=True, exist_ok=True)
        (d / "checkpoints" / "dmd2.pkl").write_bytes(EVIL_PKL)
    _write_json(
        d / "metadata" / "imagenet_real" / "dataset_info.json",
        {
            "samples": [{**r, "synset_id": f"n{r['class_label']:08d}", "seed": 7, "split": "val"} for r in rows],
            "layer_shapes": {k: [int(np.prod(s))] for k, s in LAYERS.items()},
            "num_samples": n,
            "source": "fixture",
            "checkpoint": "unknown",
        },
    )
    coords = rng.standard_normal((n, 2)).astype(np.float32)
    emb = d / "embeddings"
    _write_embedding_csv(emb / "demo_embeddings.csv", rows, coords)
    _write_json(
        emb / "demo_embeddings.json",
        {"n_neighbors": 15, "min_dist": 0.1, "layers": ["midblock", "encoder_bottleneck"], "model": "imagenet_real"},
    )
    (emb / "demo_embeddings.pkl").write_bytes(EVIL_PKL)
    _write_images(d, rows, rng)
    if variant == "npy":
        lc = emb / "layer_cache"
        _write_embedding_csv(lc / "encoder_block_0.csv", rows, rng.standard_normal((n, 2)).astype(np.float32))
        _write_json(lc / "encoder_block_0.json", {"n_neighbors": 15, "min_dist": 0.1, "layers": ["encoder_block_0"]})
        np.save(lc / "encoder_block_0.npy", rng.standard_normal((n, 8)).astype(np.float32))
        (lc / "encoder_block_0.pkl").write_bytes(EVIL_PKL)
        al = emb / "aligned_3d" / "default"
        al.mkdir(parents=True, exist_ok=True)
        order = rng.permutation(n)
        with open(al / "embeddings.csv", "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["sigma", "umap_x", "umap_y", "original_idx", "sample_id", "class_name"])
            for i in order:
                r = rows[i]
                w.writerow(
                    [
                        r["conditioning_sigma"],
                        float(coords[i, 0]),
                        float(coords[i, 1]),
                        int(i),
                        r["sample_id"],
                        r["class_name"],
                    ]
                )
        _write_json(al / "embeddings.json", {"n_neighbors": 15, "type": "aligned_3d", "sigma_levels": SIGMAS[model]})
    return acts


def make_original_layout(
    root: Path | str,
    n_per_model: int = 24,
    seed: int = 0,
    models: tuple[str, ...] = ("dmd2", "edm"),
    broken: bool = True,
) -> Path:
    """Write an original-layout data root under ``root`` and return it; ``broken`` adds a model whose .npy is cut."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    _write_json(root / "imagenet_standard_class_index.json", {str(k): [f"n{k:08d}", v] for k, v in CLASS_NAMES.items()})
    for j, model in enumerate(models):
        _model(root, model, n_per_model, seed + j, "npz" if model == "edm" else "npy")
    if broken:
        _model(root, "broken", n_per_model, seed + 99, "npy")
        npy = root / "broken" / "activations" / "imagenet_real" / "batch_000000.npy"
        npy.write_bytes(npy.read_bytes()[:-100])
    return root


def expected_activations(root: Path | str, model: str) -> np.ndarray:
    """The (N, D) matrix a fixture model stores, recomputed from its files (for assertions)."""
    d = Path(root) / model / "activations" / "imagenet_real"
    if (d / "batch_000000.npy").exists():
        return np.load(d / "batch_000000.npy")
    parts = [np.load(p) for p in sorted(d.glob("*.npz"))]
    return np.concatenate([np.concatenate([z[k] for k in sorted(z.files)], axis=1) for z in parts])


def tree_checksums(root: Path | str) -> dict[str, str]:
    """Relative path -> SHA-256 of every file under ``root`` (to prove nothing was modified)."""
    root = Path(root)
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


NATIVE_SIGMAS = (80.0, 1.0)


def make_native_model(folder: Path, n: int, seed: int) -> None:
    """One model folder in the project's own format, written with the store's own writers."""
    from diffviews_core.atomic import atomic_write_json
    from diffviews_core.formats import native
    from diffviews_core.formats.embedding import write_embedding_files
    from diffviews_core.formats.table import SampleTable, write_csv

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
        "conditioning_sigma": np.array([NATIVE_SIGMAS[i % 2] for i in range(n)]),
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
    """A data root of small project-format models (``a`` and ``b``)."""
    root.mkdir(parents=True, exist_ok=True)
    for j, name in enumerate(models):
        make_native_model(root / name, n, seed=j)
    return root
