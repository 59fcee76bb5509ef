"""Extraction, masking, schedules, samplers and masked generation.

Holds every name the original DiffViews' ``diffviews.core`` (and its ``masking``, ``generator`` and ``extractor``
modules) exported, with the same signatures.
"""

from .extractor import (
    ActivationExtractor,
    convert_to_fast_format,
    flatten_activations,
    load_activations,
    load_fast_activations,
)
from .generator import (
    GenerationResult,
    StepRecord,
    class_label_tensor,
    generate_with_mask,
    generate_with_mask_multistep,
    get_denoising_sigmas,
    infer_layer_shape,
    save_generated_sample,
    tensor_to_uint8_image,
    to_uint8_images,
)
from .masking import ActivationMasker, compute_mask_dict, load_activation_from_npz, unflatten_activation
from .samplers import NOISE_MODES, NoiseSource, sample_fewstep, sample_heun
from .schedules import karras_sigmas, noise_percent_to_sigma, sigma_to_noise_percent

__all__ = [
    "NOISE_MODES",
    "ActivationExtractor",
    "ActivationMasker",
    "GenerationResult",
    "NoiseSource",
    "StepRecord",
    "class_label_tensor",
    "compute_mask_dict",
    "convert_to_fast_format",
    "flatten_activations",
    "generate_with_mask",
    "generate_with_mask_multistep",
    "get_denoising_sigmas",
    "infer_layer_shape",
    "karras_sigmas",
    "load_activation_from_npz",
    "load_activations",
    "load_fast_activations",
    "noise_percent_to_sigma",
    "sample_fewstep",
    "sample_heun",
    "save_generated_sample",
    "sigma_to_noise_percent",
    "tensor_to_uint8_image",
    "to_uint8_images",
    "unflatten_activation",
]
