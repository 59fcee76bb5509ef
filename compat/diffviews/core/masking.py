"""``diffviews.core.masking``, served by ``diffviews_core.core.masking``."""

from diffviews_core.adapters.base import GeneratorAdapter
from diffviews_core.core.masking import (
    ActivationMasker,
    compute_mask_dict,
    load_activation_from_npz,
    unflatten_activation,
)

__all__ = [
    "ActivationMasker",
    "GeneratorAdapter",
    "compute_mask_dict",
    "load_activation_from_npz",
    "unflatten_activation",
]
