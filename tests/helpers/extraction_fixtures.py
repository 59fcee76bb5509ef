"""Write model folders exactly as the original DiffViews' current extraction script writes them.

``scripts/extract_activations.py`` in the original repository (2026) writes, for every image and noise level (in
percent, 0 = clean, 100 = pure noise), one row with a string ``sample_id`` (``sample_000012_n82``), the image's
``noise_level``, ``conditioning_sigma`` and ``original_path``, and the class (``class_label``/``class_name``) or,
for a text-conditioned model, the ``caption``. One layer is stored twice: ``batch_000000.npz`` (key = layer name)
and ``batch_000000.npy`` with a ``.npy.json`` without ``dtype``. ``config.json`` gives ``sigma_max``/``sigma_min``,
``default_steps: 20`` and a relative checkpoint that the script does not copy. Key names, nesting, JSON indentation
and shapes follow that script; the values here are small and random.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
from PIL import Image

NOISE_LEVELS = [100.0, 82.0, 54.0, 35.0, 0.0]  # the script's defaults, as floats
CLASSES = {207: ("n02099601", "golden_retriever"), 281: ("n02123045", "tabby"), 409: ("n02708093", "analog_clock")}
CAPTIONS = [
    "A dog lying on a sandy beach, next to a red ball.",
    'A kitchen with a "vintage" stove, and two <small> windows',
    "Two people riding bicycles down a wet street at night",
]


def sigma_of(noise_level: float) -> float:
    """The DMD2/EDM adapters' percent -> sigma (log-linear between 0.002 and 80)."""
    t = noise_level / 100.0
    return 0.002 ** (1 - t) * 80.0**t


def timestep_sigma(noise_level: float) -> float:
    """The text model's equivalent sigma: timestep = level/100*999 on a scaled-linear DDPM schedule."""
    betas = np.linspace(0.00085**0.5, 0.012**0.5, 1000) ** 2
    alpha = float(np.cumprod(1.0 - betas)[int(noise_level / 100.0 * 999)])
    return math.sqrt((1 - alpha) / alpha)


def _dump(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        json.dump(data, f, indent=2)


def write_extraction_layout(
    model_dir: Path | str,
    num_images: int = 6,
    noise_levels: list[float] | None = None,
    layer: str = "midblock",
    layer_shape: tuple[int, ...] = (8, 2, 2),
    text: bool = False,
    seed: int = 0,
    resolution: int = 8,
    activations: np.ndarray | None = None,
    images: np.ndarray | None = None,
    labels: list[int] | None = None,
    class_names: dict[int, str] | None = None,
    adapter: str | None = None,
    checkpoint: str = "dmd2-imagenet-64-10step.pkl",
) -> Path:
    """Write one model folder in the extraction script's layout and return it.

    ``activations`` ((num_images * levels, D) float32, rows image by image, level by level), ``images``
    (num_images x H x W x 3 uint8), ``labels`` and ``class_names`` may be given; otherwise they are random.
    """
    d = Path(model_dir)
    rng = np.random.default_rng(seed)
    noise_levels = list(noise_levels or NOISE_LEVELS)
    dataset_type = "train2017" if text else "imagenet_real"
    conditioning_type = "text" if text else "class"
    adapter = adapter or ("mscoco-t2i-128" if text else "dmd2-imagenet-64")
    for sub in ("activations", "images", "metadata"):
        (d / sub / dataset_type).mkdir(parents=True, exist_ok=True)
    (d / "embeddings").mkdir(parents=True, exist_ok=True)
    (d / "checkpoints").mkdir(parents=True, exist_ok=True)
    rows = num_images * len(noise_levels)
    size = int(np.prod(layer_shape))
    if activations is None:
        activations = rng.standard_normal((rows, size)).astype(np.float32)
    if labels is None:
        keys = sorted(CLASSES)
        labels = [keys[i % len(keys)] for i in range(num_images)]
    samples = []
    for i in range(num_images):
        img = images[i] if images is not None else rng.integers(0, 256, (resolution, resolution, 3), dtype=np.uint8)
        Image.fromarray(img).save(d / "images" / dataset_type / f"sample_{i:06d}.png")
        for level in noise_levels:
            meta = {
                "sample_id": f"sample_{i:06d}_n{int(level)}",
                "image_path": f"images/{dataset_type}/sample_{i:06d}.png",
                "original_path": f"n0000000{i}_{i}.JPEG" if not text else f"0000000{i:05d}.jpg",
                "noise_level": level,
                "conditioning_sigma": timestep_sigma(level) if text else sigma_of(level),
                "activation_path": f"activations/{dataset_type}/batch_000000",
                "batch_index": len(samples),
            }
            if text:
                meta["caption"] = CAPTIONS[i % len(CAPTIONS)]
            else:
                names = class_names or {k: v[1] for k, v in CLASSES.items()}
                meta["class_label"] = labels[i]
                meta["class_name"] = names.get(labels[i], "unknown")
            samples.append(meta)
    act_path = d / "activations" / dataset_type / "batch_000000.npz"
    np.savez_compressed(act_path, **{layer: activations})
    npy_path = act_path.with_suffix(".npy")
    np.save(npy_path, activations)
    _dump(
        Path(str(npy_path) + ".json"),
        {
            "layers": [layer],
            "shapes": {layer: list(layer_shape)},
            "total_features": activations.shape[1],
            "num_samples": activations.shape[0],
        },
    )
    _dump(
        d / "metadata" / dataset_type / "dataset_info.json",
        {
            "samples": samples,
            "layer_shapes": {layer: list(layer_shape)},
            "num_samples": len(samples),
            "num_images": num_images,
            "noise_levels": noise_levels,
            "layer": layer,
        },
    )
    sigmas = [s["conditioning_sigma"] for s in samples]
    _dump(
        d / "config.json",
        {
            "adapter": adapter,
            "checkpoint": f"checkpoints/{checkpoint}",
            "default_steps": 20,
            "sigma_max": max(sigmas),
            "sigma_min": min(sigmas),
            "dataset_type": dataset_type,
            "conditioning_type": conditioning_type,
        },
    )
    return d


def write_tiny_extraction_model(model_dir: Path | str, net, adapter, num_images: int = 8, text: bool = False) -> Path:
    """The layout with activations really taken from ``net`` (midblock, x = image + sigma * eps at each level) and
    its checkpoint saved where config.json points (adapter ``edm``), so the window can generate from it."""
    import torch

    from diffviews_core.checkpoints import save_network
    from diffviews_core.core import ActivationExtractor
    from diffviews_core.core.generator import to_uint8_images
    from diffviews_core.networks import TINY

    d = Path(model_dir)
    save_network(net, d / "checkpoints" / "tiny.safetensors", TINY)
    gen = torch.Generator().manual_seed(4)
    x0 = torch.rand(num_images, 3, 16, 16, generator=gen) * 2 - 1
    labels = [i % 4 for i in range(num_images)]
    rows = []
    for i in range(num_images):
        for level in NOISE_LEVELS:
            sigma = sigma_of(level)
            x = x0[i : i + 1] + sigma * torch.randn((1, 3, 16, 16), generator=gen)
            cond = None if text else torch.eye(10)[[labels[i]]]
            with ActivationExtractor(adapter, ["midblock"]) as ex:
                adapter.forward(x, sigma, cond)
            rows.append(ex.flatten()[0])
    return write_extraction_layout(
        d, num_images=num_images, layer_shape=tuple(adapter.get_layer_shapes()["midblock"]), text=text,
        activations=np.stack(rows).astype(np.float32), images=to_uint8_images(x0), labels=labels,
        class_names={k: f"class {k}, tiny" for k in range(4)}, adapter="edm", checkpoint="tiny.safetensors",
    )  # fmt: skip
