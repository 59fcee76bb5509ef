"""``diffviews.core.extractor``, served by ``diffviews_core.core.extractor``."""

from diffviews_core.adapters.base import GeneratorAdapter
from diffviews_core.core.extractor import (
    ActivationExtractor,
    convert_to_fast_format,
    flatten_activations,
    load_activations,
    load_fast_activations,
)

__all__ = [
    "ActivationExtractor",
    "GeneratorAdapter",
    "convert_to_fast_format",
    "flatten_activations",
    "load_activations",
    "load_fast_activations",
]
