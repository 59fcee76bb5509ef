"""Constructor arguments of the known EDMPrecond configurations (as stored in checkpoints' ``_init_kwargs``)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

IMAGENET64_DMD2: dict = dict(
    img_resolution=64,
    img_channels=3,
    label_dim=1000,
    use_fp16=False,
    sigma_min=0.0,
    sigma_max=float("inf"),
    sigma_data=0.5,
    model_type="DhariwalUNet",
    model_channels=192,
    channel_mult=[1, 2, 3, 4],
    channel_mult_emb=4,
    num_blocks=3,
    attn_resolutions=[32, 16, 8],
    dropout=0.0,
    augment_dim=0,
    label_dropout=0.0,
)

IMAGENET64_EDM: dict = {**IMAGENET64_DMD2, "use_fp16": True, "dropout": 0.1}

TINY: dict = dict(
    img_resolution=16,
    img_channels=3,
    label_dim=10,
    model_channels=32,
    channel_mult=[1, 2, 4],
    num_blocks=1,
    attn_resolutions=[8, 4],
    dropout=0.0,
)

IMAGENET64_KEY_HASH = "4575090269ad18e8e85233b1b5f1877746d49eec526f9e795331193272954dee"
TINY_KEY_HASH = "2a2bd059dd59104f7a81a2abc6c838b9d6cceffbe978c7ad4f618286a0f4271e"


def key_hash(shapes: Mapping[str, tuple[int, ...]]) -> str:
    """SHA-256 over sorted 'name:shape' lines: identifies an architecture without its weights."""
    text = "\n".join(f"{k}:{tuple(shapes[k])}" for k in sorted(shapes))
    return hashlib.sha256(text.encode()).hexdigest()
