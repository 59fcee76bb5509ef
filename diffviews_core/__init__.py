"""DiffViews core: Qt-free engine for exploring what a diffusion model's layers encode.

Importing this package is cheap: torch and umap load only when a submodule that needs them is used.
"""

from __future__ import annotations

__version__ = "0.1.0"

_LAZY = {
    "GeneratorAdapter": "diffviews_core.adapters",
    "HookMixin": "diffviews_core.adapters",
    "register_adapter": "diffviews_core.adapters",
    "get_adapter": "diffviews_core.adapters",
    "list_adapters": "diffviews_core.adapters",
    "ActivationExtractor": "diffviews_core.core",
    "ActivationMasker": "diffviews_core.core",
    "generate_with_mask_multistep": "diffviews_core.core",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'diffviews_core' has no attribute {name!r}")
