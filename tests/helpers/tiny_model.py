"""The tiny EDM network with the spec's seeding recipe, and an original-layout model folder whose activations really
come from it (with a checkpoint and 2D/3D maps): shared by the generation tests."""

from __future__ import annotations

import json

import numpy as np


def seed_like_spec(net) -> None:
    """Every parameter, in sorted-name order, = randn(shape, one generator seeded 0) * 0.1; buffers untouched."""
    import torch

    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for _name, p in sorted(net.named_parameters()):
            p.copy_(torch.randn(p.shape, generator=gen) * 0.1)


LAYERS = ["encoder_bottleneck", "midblock"]
N_SAMPLES = 24


def write_tiny_model(root, net, adapter, n: int = N_SAMPLES):
    """``root/tiny``: original layout, activations from ``net``, coordinates = the first PCA axes (2D and 3D)."""
    import torch
    from PIL import Image

    from diffviews_core.checkpoints import save_network
    from diffviews_core.core import ActivationExtractor
    from diffviews_core.core.generator import to_uint8_images
    from diffviews_core.networks import TINY

    model = root / "tiny"
    save_network(net, model / "checkpoints" / "tiny.safetensors", TINY)
    gen = torch.Generator().manual_seed(3)
    x0 = torch.rand(n, 3, 16, 16, generator=gen) * 2 - 1
    labels = torch.arange(n) % 4
    sigma = 1.5
    with ActivationExtractor(adapter, LAYERS) as ex:
        adapter.forward(x0 + sigma * torch.randn(x0.shape, generator=gen), sigma, torch.eye(10)[labels])
    flat = ex.flatten()
    act = model / "activations" / "imagenet_real"
    act.mkdir(parents=True)
    np.save(act / "batch_000000.npy", flat)
    (act / "batch_000000.npy.json").write_text(json.dumps({
        "layers": LAYERS, "shapes": {k: [128, 4, 4] for k in LAYERS}, "total_features": flat.shape[1],
        "num_samples": n, "dtype": "float32"}))  # fmt: skip
    centred = flat - flat.mean(0)
    _u, _s, vt = np.linalg.svd(centred, full_matrices=False)
    coords = centred @ vt[:3].T
    coords = 10 * coords / np.abs(coords).max()
    (model / "images" / "imagenet_real").mkdir(parents=True)
    pixels = to_uint8_images(x0)
    rows = []
    for i in range(n):
        rel = f"images/imagenet_real/sample_{i:06d}.png"
        Image.fromarray(pixels[i]).save(model / rel)
        c = coords[i]
        rows.append([i, int(labels[i]), f"class{int(labels[i])}", rel, sigma, "batch_000000.npy", i,
                     c[0], c[1], c[0], c[1], c[2]])  # fmt: skip
    (model / "embeddings").mkdir()
    header = ("sample_id,class_label,class_name,image_path,conditioning_sigma,activation_path,batch_index,"
              "umap_x,umap_y,umap3d_x,umap3d_y,umap3d_z")  # fmt: skip
    lines = [header] + [",".join(str(v) for v in r) for r in rows]
    (model / "embeddings" / "default.csv").write_text("\n".join(lines) + "\n")
    (model / "embeddings" / "default.json").write_text(json.dumps({"n_neighbors": 5, "min_dist": 0.1,
                                                                  "layers": LAYERS}))  # fmt: skip
    (model / "config.json").write_text(json.dumps({"adapter": "edm", "checkpoint": "checkpoints/tiny.safetensors",
                                                   "default_steps": 6}))  # fmt: skip
    return model
