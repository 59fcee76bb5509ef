"""``diffviews.core.generator``, served by ``diffviews_core.core.generator``."""

from diffviews_core.adapters.base import GeneratorAdapter
from diffviews_core.core.extractor import ActivationExtractor
from diffviews_core.core.generator import (
    GenerationResult,
    generate_with_mask,
    generate_with_mask_multistep,
    get_denoising_sigmas,
    infer_layer_shape,
    save_generated_sample,
    tensor_to_uint8_image,
)
from diffviews_core.core.masking import ActivationMasker

__all__ = [
    "ActivationExtractor",
    "ActivationMasker",
    "GeneratorAdapter",
    "GenerationResult",
    "generate_with_mask",
    "generate_with_mask_multistep",
    "get_denoising_sigmas",
    "infer_layer_shape",
    "save_generated_sample",
    "tensor_to_uint8_image",
]
