"""``diffviews.adapters.edm_imagenet``: the built-in ``edm-imagenet-64`` adapter under its original name."""

from diffviews_core.adapters import GeneratorAdapter, HookMixin, register_adapter
from diffviews_core.adapters.edm import EDMImageNet64Adapter as EDMImageNetAdapter

__all__ = ["EDMImageNetAdapter", "GeneratorAdapter", "HookMixin", "register_adapter"]
