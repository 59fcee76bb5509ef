"""The optional ``diffviews`` package (compat/): the original's module names serve diffviews_core's objects, and its
public functions keep the original's parameters, order and defaults."""

from __future__ import annotations

import importlib
import inspect
import math
from pathlib import Path

import pytest
import torch

COMPAT_SOURCE = Path(__file__).resolve().parents[2] / "compat"
MODULES = [
    "diffviews",
    "diffviews.core",
    "diffviews.core.masking",
    "diffviews.core.generator",
    "diffviews.core.extractor",
    "diffviews.adapters",
    "diffviews.adapters.base",
    "diffviews.adapters.hooks",
    "diffviews.adapters.registry",
    "diffviews.adapters.dmd2_imagenet",
    "diffviews.adapters.edm_imagenet",
]

# The original's public names per module at its 2026-03-03 commit (81acfae).
ORIGINAL_NAMES = {
    "diffviews": ["GeneratorAdapter", "get_adapter", "list_adapters", "register_adapter", "__version__"],
    "diffviews.core": ["ActivationExtractor", "flatten_activations", "load_activations", "ActivationMasker",
                       "load_activation_from_npz", "unflatten_activation"],
    "diffviews.core.masking": ["ActivationMasker", "load_activation_from_npz", "compute_mask_dict",
                               "unflatten_activation"],
    "diffviews.core.generator": ["tensor_to_uint8_image", "get_denoising_sigmas", "generate_with_mask",
                                 "generate_with_mask_multistep", "save_generated_sample", "infer_layer_shape"],
    "diffviews.core.extractor": ["ActivationExtractor", "flatten_activations", "load_activations",
                                 "convert_to_fast_format", "load_fast_activations"],
    "diffviews.adapters": ["GeneratorAdapter", "HookMixin", "get_adapter", "list_adapters", "register_adapter",
                           "discover_adapters", "DMD2ImageNetAdapter", "EDMImageNetAdapter"],
    "diffviews.adapters.registry": ["register_adapter", "get_adapter", "list_adapters", "discover_adapters",
                                    "register_adapter_class", "unregister_adapter"],
}  # fmt: skip

# Parameters of the original's functions, in order, with defaults ("-": none). Ours may add some with defaults.
# Where the original defaulted device to 'cuda', ours defaults to the adapter's device (None).
ORIGINAL_SIGNATURES = {
    "diffviews.core.generator.generate_with_mask_multistep": [
        ("adapter", "-"), ("masker", None), ("class_label", None), ("num_steps", 4), ("mask_steps", None),
        ("sigma_max", 80.0), ("sigma_min", 0.002), ("rho", 7.0), ("guidance_scale", 1.0), ("stochastic", True),
        ("noise_mode", "stochastic"), ("num_samples", 1), ("device", None), ("seed", None),
        ("extract_layers", None), ("return_trajectory", False), ("return_intermediates", False),
        ("return_noised_inputs", False),
    ],
    "diffviews.core.generator.generate_with_mask": [
        ("adapter", "-"), ("masker", "-"), ("class_label", None), ("conditioning_sigma", 0.1), ("num_samples", 1),
        ("device", None), ("seed", None),
    ],
    "diffviews.core.generator.get_denoising_sigmas": [("num_steps", "-"), ("sigma_max", "-"), ("sigma_min", "-"),
                                                      ("rho", 7.0)],
    "diffviews.core.generator.tensor_to_uint8_image": [("tensor", "-")],
    "diffviews.core.generator.save_generated_sample": [("image", "-"), ("activations", "-"), ("metadata", "-"),
                                                       ("output_dir", "-"), ("sample_id", "-")],
    "diffviews.core.generator.infer_layer_shape": [("adapter", "-"), ("layer_name", "-"), ("device", None)],
    "diffviews.core.masking.load_activation_from_npz": [("npz_path", "-"), ("layer_name", "-")],
    "diffviews.core.masking.compute_mask_dict": [("activations", "-"), ("neighbor_indices", "-"),
                                                 ("layer_shapes", "-"), ("layers", None)],
    "diffviews.core.masking.unflatten_activation": [("flat_activation", "-"), ("target_shape", "-")],
    "diffviews.core.masking.ActivationMasker.__init__": [("self", "-"), ("adapter", "-")],
    "diffviews.core.masking.ActivationMasker.set_mask": [("self", "-"), ("layer_name", "-"), ("activation", "-")],
    "diffviews.core.masking.ActivationMasker.clear_mask": [("self", "-"), ("layer_name", "-")],
    "diffviews.core.masking.ActivationMasker.register_hooks": [("self", "-"), ("layers", None)],
    "diffviews.core.extractor.ActivationExtractor.__init__": [("self", "-"), ("adapter", "-"), ("layers", None)],
    "diffviews.core.extractor.ActivationExtractor.save": [("self", "-"), ("output_path", "-"), ("metadata", None)],
    "diffviews.core.extractor.flatten_activations": [("activations", "-")],
    "diffviews.core.extractor.load_activations": [("activation_path", "-")],
    "diffviews.core.extractor.convert_to_fast_format": [("npz_path", "-"), ("output_path", None), ("layers", None)],
    "diffviews.core.extractor.load_fast_activations": [("npy_path", "-"), ("mmap_mode", "r")],
    "diffviews.adapters.hooks.HookMixin.make_mask_hook": [("self", "-"), ("layer_name", "-"), ("mask", "-")],
    "diffviews.adapters.registry.register_adapter_class": [("name", "-"), ("cls", "-")],
    "diffviews.adapters.edm_imagenet.EDMImageNetAdapter.sample": [
        ("self", "-"), ("num_samples", "-"), ("class_label", None), ("num_steps", 256), ("sigma_max", 80.0),
        ("sigma_min", 0.002), ("rho", 7.0), ("S_churn", 40.0), ("S_min", 0.05), ("S_max", 50.0), ("S_noise", 1.003),
        ("device", None),
    ],
}  # fmt: skip


@pytest.fixture
def diffviews(monkeypatch):
    """The installed compat package (``pip install -e ./compat``), else the one in this checkout."""
    try:
        import diffviews
    except ImportError:
        monkeypatch.syspath_prepend(str(COMPAT_SOURCE))
        import diffviews
    assert Path(diffviews.__file__).resolve().is_relative_to(COMPAT_SOURCE), (
        f"'import diffviews' finds {diffviews.__file__}, not this project's compat package"
    )
    return diffviews


def _resolve(dotted: str):
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ModuleNotFoundError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


def test_every_original_name_is_there_and_is_diffviews_cores(diffviews):
    import diffviews_core.core as core

    for module in MODULES:
        importlib.import_module(module)
    for module, names in ORIGINAL_NAMES.items():
        mod = importlib.import_module(module)
        assert [n for n in names if not hasattr(mod, n)] == [], module
        assert all(hasattr(mod, n) for n in getattr(mod, "__all__", []))
    assert diffviews.core.masking.ActivationMasker is core.ActivationMasker
    assert diffviews.core.generator.generate_with_mask_multistep is core.generate_with_mask_multistep
    assert diffviews.adapters.base.GeneratorAdapter is diffviews.GeneratorAdapter


@pytest.mark.parametrize("dotted", sorted(ORIGINAL_SIGNATURES))
def test_signatures_keep_the_originals_parameters(diffviews, dotted):
    params = list(inspect.signature(_resolve(dotted)).parameters.values())
    got = [(p.name, "-" if p.default is p.empty else p.default) for p in params]
    expected = ORIGINAL_SIGNATURES[dotted]
    assert got[: len(expected)] == expected
    extra = params[len(expected) :]  # calls written for the original never need them
    assert all(p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in extra)


def test_the_original_readme_quick_start_through_diffviews(diffviews, tiny_net, tmp_path):
    from diffviews_core.checkpoints import save_network
    from diffviews_core.networks import TINY

    save_network(tiny_net, tmp_path / "model.safetensors", TINY)
    noise, sigma, class_labels = torch.randn(1, 3, 16, 16) * 2.0, torch.tensor([2.0]), torch.eye(10)[[3]]
    target_activation = torch.zeros(1, 128, 4, 4)

    # --- the snippet, unchanged but for the adapter name and checkpoint path ---
    from diffviews import get_adapter
    from diffviews.core import ActivationExtractor, generate_with_mask_multistep

    AdapterClass = get_adapter("edm")
    adapter = AdapterClass.from_checkpoint(tmp_path / "model.safetensors", device="cpu")

    extractor = ActivationExtractor(adapter, layers=["encoder_bottleneck", "midblock"])
    with extractor:
        images = adapter.forward(noise, sigma, class_labels)
        activations = extractor.get_activations()

    from diffviews.core import ActivationMasker

    masker = ActivationMasker(adapter)
    masker.set_mask("encoder_bottleneck", target_activation)
    masker.register_hooks()

    images, labels = generate_with_mask_multistep(adapter, masker, class_label=7, num_steps=4, guidance_scale=1.5)
    # --- end of snippet ---
    masker.remove_hooks()
    assert images.dtype == torch.uint8 and images.shape == (1, 16, 16, 3) and labels.tolist() == [7]
    assert activations["midblock"].shape == (1, 128, 4, 4)
    assert [step for step, _p, _n in masker.applications] == [0, 0, 1, 1, 2, 2, 3, 3]  # every step, both CFG passes
    assert math.isclose(float(masker.masks["encoder_bottleneck"].abs().sum()), 0.0)
