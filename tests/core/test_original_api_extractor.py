"""The original DiffViews' extractor API: default layers, ``activations``, and its activation files."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from diffviews_core.core.extractor import (
    ActivationExtractor,
    convert_to_fast_format,
    load_activations,
    load_fast_activations,
)

X = torch.randn(3, 3, 16, 16, generator=torch.Generator().manual_seed(2))


def test_default_layers_are_the_first_two_hookable_ones(tiny_adapter):
    extractor = ActivationExtractor(tiny_adapter)
    assert extractor.layers == tiny_adapter.hookable_layers[:2] == ["encoder_block_0", "encoder_block_1"]


def test_register_hooks_fill_activations_and_clear_empties_them(tiny_adapter):
    extractor = ActivationExtractor(tiny_adapter, ["midblock"])
    extractor.register_hooks()
    assert tiny_adapter.num_hooks == 1
    tiny_adapter.forward(X, 1.0)
    extractor.remove_hooks()
    assert tiny_adapter.num_hooks == 0
    assert extractor.activations["midblock"].shape == (3, 128, 4, 4)
    assert extractor.get_activations().keys() == {"midblock"}
    extractor.clear()
    assert extractor.activations == {}


def test_save_and_load_activations(tiny_adapter, tmp_path):
    with ActivationExtractor(tiny_adapter, ["midblock", "encoder_bottleneck"]) as extractor:
        tiny_adapter.forward(X, 1.0)
    extractor.save(tmp_path / "run" / "batch_000000", metadata={"sigma": 1.0})
    activations, metadata = load_activations(tmp_path / "run" / "batch_000000")
    assert metadata == {"sigma": 1.0}
    assert activations.keys() == {"midblock", "encoder_bottleneck"}
    np.testing.assert_array_equal(activations["midblock"], extractor.activations["midblock"].reshape(3, -1).numpy())
    extractor.save(tmp_path / "plain.npz")
    assert load_activations(tmp_path / "plain")[1] == {}
    assert not (tmp_path / "plain.json").exists()


def test_convert_to_fast_format_writes_the_memory_mapped_layout(tmp_path):
    rng = np.random.default_rng(0)
    mid, enc = rng.standard_normal((4, 6)), rng.standard_normal((4, 2)).astype(np.float32)
    np.savez(tmp_path / "b.npz", midblock=mid, encoder_bottleneck=enc)
    out = convert_to_fast_format(tmp_path / "b.npz")
    assert out == tmp_path / "b.npy"
    matrix = load_fast_activations(out)
    assert isinstance(matrix, np.memmap) and matrix.dtype == np.float32
    np.testing.assert_array_equal(matrix, np.concatenate([enc, mid.astype(np.float32)], axis=1))
    info = json.loads((tmp_path / "b.npy.json").read_text())
    assert info == {
        "layers": ["encoder_bottleneck", "midblock"],
        "shapes": {"encoder_bottleneck": [4, 2], "midblock": [4, 6]},
        "total_features": 8,
        "num_samples": 4,
    }
    only_mid = convert_to_fast_format(tmp_path / "b.npz", tmp_path / "mid.npy", layers=["midblock"])
    assert load_fast_activations(only_mid, mmap_mode=None).shape == (4, 6)
    with pytest.raises(ValueError, match=r"b\.npz: layer 'nope' not found"):
        convert_to_fast_format(tmp_path / "b.npz", layers=["nope"])
