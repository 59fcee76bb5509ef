"""The original DiffViews' masking API on the tiny network: ActivationMasker's masks and hooks, and the mask helpers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from diffviews_core.core.extractor import ActivationExtractor
from diffviews_core.core.generator import generate_with_mask_multistep
from diffviews_core.core.masking import (
    ActivationMasker,
    compute_mask_dict,
    load_activation_from_npz,
    unflatten_activation,
)

X = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(4))
LABELS = torch.eye(10)[[1, 5]]


def _forward_midblock(adapter):
    with ActivationExtractor(adapter, ["midblock"]) as ex:
        out = adapter.forward(X, 1.0, LABELS)
    return out, ex.activations["midblock"]


def test_new_masker_has_no_masks_and_no_hooks(tiny_adapter):
    masker = ActivationMasker(tiny_adapter)
    assert masker.adapter is tiny_adapter and masker.masks == {} and not masker.hooks_registered


def test_set_mask_keeps_a_cpu_copy_for_any_layer_name(tiny_adapter):
    masker = ActivationMasker(tiny_adapter)
    target = torch.randn(1, 128, 4, 4)
    masker.set_mask("midblock", target)
    masker.set_mask("not_a_layer_of_this_model", np.ones((1, 8), dtype=np.float32))
    assert torch.equal(masker.masks["midblock"], target) and masker.masks["midblock"].device.type == "cpu"
    assert masker.masks["not_a_layer_of_this_model"].shape == (1, 8)
    masker.clear_mask("not_a_layer_of_this_model")
    assert list(masker.masks) == ["midblock"]
    masker.clear_masks()
    assert masker.masks == {}


def test_hooking_a_layer_the_adapter_does_not_have_names_the_known_ones(tiny_adapter):
    masker = ActivationMasker(tiny_adapter)
    masker.set_mask("nope", torch.zeros(1, 4))
    with pytest.raises(KeyError, match="hookable layers: encoder_block_0"):
        masker.register_hooks()


def test_hook_replaces_broadcasts_keeps_tuple_extras_and_passes_unmasked_layers(tiny_adapter):
    masker = ActivationMasker(tiny_adapter)
    masker.set_mask("layer", torch.ones(1, 6, 2, 2))
    hook = masker._make_hook("layer")
    assert torch.equal(hook(None, None, torch.zeros(3, 6, 2, 2)), torch.ones(3, 6, 2, 2))
    extra = torch.arange(4.0)
    out = hook(None, None, (torch.zeros(1, 6, 2, 2), extra))
    assert isinstance(out, tuple) and torch.equal(out[0], torch.ones(1, 6, 2, 2)) and out[1] is extra
    untouched = torch.randn(1, 6, 2, 2)
    assert masker._make_hook("other")(None, None, untouched) is untouched


def test_register_hooks_takes_a_layer_list(tiny_adapter):
    ref_out, ref_mid = _forward_midblock(tiny_adapter)
    masker = ActivationMasker(tiny_adapter)
    masker.set_mask("midblock", torch.zeros(1, 128, 4, 4))
    masker.set_mask("encoder_block_0", torch.zeros(1, 32, 16, 16))
    masker.register_hooks(["midblock"])
    assert tiny_adapter.num_hooks == 1 and masker.hooks_registered
    out, mid = _forward_midblock(tiny_adapter)
    assert torch.equal(mid, torch.zeros(2, 128, 4, 4)) and not torch.equal(out, ref_out)
    masker.register_hooks()  # replaces the earlier hooks rather than stacking them
    assert tiny_adapter.num_hooks == 2
    masker.remove_hooks()
    assert tiny_adapter.num_hooks == 0 and not masker.hooks_registered
    torch.testing.assert_close(_forward_midblock(tiny_adapter)[1], ref_mid)


def test_context_manager_hooks_every_masked_layer(tiny_adapter):
    masker = ActivationMasker(tiny_adapter)
    masker.set_mask("midblock", torch.zeros(128, 4, 4))
    with masker:
        assert tiny_adapter.num_hooks == 1
        assert torch.equal(_forward_midblock(tiny_adapter)[1], torch.zeros(2, 128, 4, 4))
    assert tiny_adapter.num_hooks == 0


def test_wrong_mask_shape_or_batch_is_a_clear_error_at_the_layer(tiny_adapter):
    # The original stored these too, then handed the wrong tensor to the next layer (a raw conv error).
    masker = ActivationMasker(tiny_adapter)
    masker.set_mask("midblock", torch.zeros(1, 256, 8, 8))
    with masker, pytest.raises(ValueError, match=r"mask for layer 'midblock' has shape \(1, 256, 8, 8\)"):
        tiny_adapter.forward(X, 1.0, LABELS)
    masker.set_mask("midblock", torch.zeros(3, 128, 4, 4))
    with masker, pytest.raises(ValueError, match="batch of 3; the layer runs a batch of 2"):
        tiny_adapter.forward(X, 1.0, LABELS)


def test_default_masker_masks_every_step_like_the_original(tiny_adapter):
    masker = ActivationMasker(tiny_adapter)
    masker.set_mask("midblock", torch.zeros(1, 128, 4, 4))
    generate_with_mask_multistep(tiny_adapter, masker, class_label=2, num_steps=3, seed=0)
    assert [step for step, _pass, _name in masker.applications] == [0, 1, 2]


def test_load_activation_from_npz(tmp_path):
    target = np.random.default_rng(0).standard_normal((1, 32, 4, 4)).astype(np.float32)
    np.savez(tmp_path / "a.npz", midblock=target, flat=np.arange(6, dtype=np.float32))
    loaded = load_activation_from_npz(tmp_path / "a.npz", "midblock")
    assert isinstance(loaded, torch.Tensor) and torch.equal(loaded, torch.from_numpy(target))
    assert load_activation_from_npz(tmp_path / "a.npz", "flat").shape == (1, 6)
    with pytest.raises(ValueError, match=r"layer 'encoder' not found. Available: \['midblock', 'flat'\]"):
        load_activation_from_npz(tmp_path / "a.npz", "encoder")


def test_load_activation_from_npz_never_unpickles(tmp_path):
    np.savez(tmp_path / "p.npz", midblock=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match=r"p\.npz: cannot read: .*allow_pickle"):
        load_activation_from_npz(tmp_path / "p.npz", "midblock")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match=r"junk\.npz: cannot read"):
        load_activation_from_npz(tmp_path / "junk.npz", "midblock")


def test_unflatten_activation():
    original = torch.arange(64 * 4 * 4, dtype=torch.float32).reshape(1, 64, 4, 4)
    assert torch.equal(unflatten_activation(original.reshape(1, -1), (64, 4, 4)), original)
    assert torch.equal(unflatten_activation(original.reshape(-1), (64, 4, 4)), original)
    assert unflatten_activation(torch.zeros(3, 12), (12,)).shape == (3, 12)
    with pytest.raises(ValueError, match="does not unflatten to"):
        unflatten_activation(torch.zeros(1, 10), (2, 2, 2))


def test_compute_mask_dict_averages_neighbours_per_sorted_layer():
    shapes = {"mid": (2, 1, 1), "enc": (1, 2, 2)}  # sorted: enc (4 values) then mid (2)
    acts = np.arange(4 * 6, dtype=np.float64).reshape(4, 6)
    masks = compute_mask_dict(acts, [1, 3], shapes)
    mean = acts[[1, 3]].mean(axis=0)
    assert list(masks) == ["enc", "mid"]
    np.testing.assert_array_equal(masks["enc"], mean[:4].reshape(1, 1, 2, 2))
    np.testing.assert_array_equal(masks["mid"], mean[4:].reshape(1, 2, 1, 1))
    assert masks["enc"].dtype == np.float32
    assert compute_mask_dict(acts, [], shapes) == {}
    only_mid = compute_mask_dict(acts[:, 4:], [0], shapes, layers=["mid", "unknown"])
    assert list(only_mid) == ["mid"]


def test_compute_mask_dict_refuses_a_matrix_of_other_layers():
    # The original split a 6-column matrix as if it held only 'mid' and returned enc's values for it.
    shapes = {"mid": (2, 1, 1), "enc": (1, 2, 2)}
    with pytest.raises(ValueError, match=r"do not hold layers \['mid'\]"):
        compute_mask_dict(np.zeros((4, 6)), [0], shapes, layers=["mid"])
