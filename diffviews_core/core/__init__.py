"""Extraction, masking, schedules, samplers and masked generation."""

from .extractor import ActivationExtractor, flatten_activations
from .generator import GenerationResult, StepRecord, class_label_tensor, generate_with_mask_multistep, to_uint8_images
from .masking import ActivationMasker
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
    "flatten_activations",
    "generate_with_mask_multistep",
    "karras_sigmas",
    "noise_percent_to_sigma",
    "sample_fewstep",
    "sample_heun",
    "sigma_to_noise_percent",
    "to_uint8_images",
]
