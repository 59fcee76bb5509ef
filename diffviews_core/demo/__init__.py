"""The embedded demo: a small EDM model trained by the project on Fashion-MNIST, and its data directory.

The shipped files live in the ``diffviews_resources`` package; this module finds them and holds the settings the
demo is generated with. torch is imported only by the submodules that need it.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import DataError

DEMO_MODEL_NAME = "fashion-mnist-demo"
DEMO_ADAPTER = "edm"
DEMO_GENERATION: dict = {"sampler": "fewstep", "num_steps": 10, "guidance_scale": 2.0}


def demo_paths():
    """The shipped demo's ``DemoPaths`` (model, model_config, data_dir, license)."""
    from diffviews_resources import demo_paths as shipped

    return shipped()


def demo_model_path() -> Path:
    """The shipped demo weights; DataError if the installation lacks them (run ``diffviews demo rebuild``)."""
    paths = demo_paths()
    if not paths.model.is_file():
        raise DataError(paths.model, "demo model not installed; run 'diffviews demo rebuild'")
    return paths.model


def demo_data_dir() -> Path:
    """The shipped demo data root; DataError if missing."""
    paths = demo_paths()
    if not paths.data_dir.is_dir():
        raise DataError(paths.data_dir, "demo data directory not installed; run 'diffviews demo rebuild'")
    return paths.data_dir
