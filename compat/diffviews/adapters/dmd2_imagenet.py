"""``diffviews.adapters.dmd2_imagenet``: the built-in ``dmd2-imagenet-64`` adapter under its original name."""

from diffviews_core.adapters import GeneratorAdapter, HookMixin, register_adapter
from diffviews_core.adapters.edm import DMD2ImageNet64Adapter as DMD2ImageNetAdapter

__all__ = ["DMD2ImageNetAdapter", "GeneratorAdapter", "HookMixin", "register_adapter"]
