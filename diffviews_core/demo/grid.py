"""A class-by-row grid of demo samples: the picture that shows whether the model learned every class."""

from __future__ import annotations

import numpy as np

from . import DEMO_GENERATION
from .images import image_grid, upscale


def class_grid(adapter, per_class: int = 10, seed: int = 0, scale: int = 2, **settings) -> np.ndarray:
    """One row per class, ``per_class`` samples each (seed + class), enlarged ``scale`` times; uint8 H x W x C."""
    from ..core import generate_with_mask_multistep

    settings = {**DEMO_GENERATION, **settings}
    rows = [
        generate_with_mask_multistep(
            adapter, None, class_label=c, seed=seed + c, num_samples=per_class, **settings
        ).images
        for c in range(adapter.num_classes)
    ]
    return upscale(image_grid(np.concatenate(rows), per_class), scale)
