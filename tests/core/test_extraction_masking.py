"""ActivationExtractor and ActivationMasker behaviour on the tiny network."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from diffviews_core.core import ActivationExtractor, ActivationMasker, flatten_activations, generate_with_mask_multistep

X = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(1))
LABELS = torch.eye(10)[[3, 7]]


def test_extractor_records_detached_cpu_copies_and_unhooks(tiny_adapter):
    with ActivationExtractor(tiny_adapter, ["midblock", "encoder_bottleneck"]) as ex:
        tiny_adapter.forward(X, 1.0, LABELS)
        acts = ex.get_activations()
    assert set(acts) == {"midblock", "encoder_bottleneck"}
    assert acts["midblock"].shape == (2, 128, 4, 4) and not acts["midblock"].requires_grad
    assert acts["midblock"].device.type == "cpu"
    assert tiny_adapter.num_hooks == 0


def test_flatten_uses_sorted_layer_order(tiny_adapter):
    with ActivationExtractor(tiny_adapter, ["midblock", "encoder_bottleneck"]) as ex:
        tiny_adapter.forward(X, 1.0, LABELS)
    flat = ex.flatten()
    acts = ex.get_activations()
    expected = np.concatenate([acts["encoder_bottleneck"].reshape(2, -1), acts["midblock"].reshape(2, -1)], axis=1)
    np.testing.assert_array_equal(flat, expected)
    assert flat.dtype == np.float32 and flat.shape == (2, 2 * 128 * 16)


def test_extractor_takes_first_element_of_tuple_outputs(tiny_adapter):
    module = tiny_adapter.get_module("midblock")
    handle = module.register_forward_hook(lambda m, i, o: (o, "extra"))
    try:
        with ActivationExtractor(tiny_adapter, ["midblock"]) as ex:
            hook = ex._make_hook("midblock")
            hook(module, None, (torch.ones(1, 2), "extra"))
        assert torch.equal(ex.get_activations()["midblock"], torch.ones(1, 2))
    finally:
        handle.remove()


def test_unknown_layer_is_refused(tiny_adapter):
    with pytest.raises(KeyError, match="hookable layers"):
        ActivationExtractor(tiny_adapter, ["nope"])


def _midblock(adapter, x, sigma=1.0, labels=LABELS):
    with ActivationExtractor(adapter, ["midblock"]) as ex:
        out = adapter.forward(x, sigma, labels)
    return out, ex.get_activations()["midblock"]


def test_batch_one_mask_broadcasts_and_replaces_output(tiny_adapter):
    target = torch.randn(1, 128, 4, 4)
    masker = ActivationMasker(tiny_adapter)
    masker.set_mask("midblock", target)
    with masker:
        _out, mid = _midblock(tiny_adapter, X)
    torch.testing.assert_close(mid, target.expand(2, -1, -1, -1))


def test_flat_and_unbatched_masks_are_reshaped(tiny_adapter):
    target = torch.randn(128, 4, 4)
    for form in (target, target.reshape(-1), target.reshape(1, -1).numpy()):
        masker = ActivationMasker(tiny_adapter)
        masker.set_mask("midblock", form)
        with masker:
            _out, mid = _midblock(tiny_adapter, X)
        torch.testing.assert_close(mid, target.expand(2, -1, -1, -1))
    masker = ActivationMasker(tiny_adapter)
    masker.set_mask("midblock", torch.zeros(5, 7))
    with masker, pytest.raises(ValueError, match="'midblock' has shape \\(5, 7\\)"):
        _midblock(tiny_adapter, X)


def test_blend_zero_has_no_effect_and_half_blends(tiny_adapter):
    ref_out, ref_mid = _midblock(tiny_adapter, X)
    target = torch.randn(1, 128, 4, 4)
    masker = ActivationMasker(tiny_adapter, blend=0.0)
    masker.set_mask("midblock", target)
    with masker:
        out, _ = _midblock(tiny_adapter, X)
    assert torch.equal(out, ref_out)
    masker.blend = 0.5
    with masker:
        _, mid = _midblock(tiny_adapter, X)
    torch.testing.assert_close(mid, 0.5 * ref_mid + 0.5 * target.expand(2, -1, -1, -1))


def test_masking_an_encoder_block_also_replaces_its_skip(tiny_adapter):
    # The decoder concatenates encoder outputs: replacing an encoder block output changes the output twice over.
    ref_out, _ = _midblock(tiny_adapter, X)
    masker = ActivationMasker(tiny_adapter)
    masker.set_mask("encoder_block_0", torch.zeros(1, 32, 16, 16))
    with masker:
        out, _ = _midblock(tiny_adapter, X)
    assert not torch.allclose(out, ref_out)


@pytest.mark.parametrize("guidance, passes", [(1.0, {"cond"}), (0.0, {"uncond"}), (2.0, {"cond", "uncond"})])
def test_mask_limited_to_step_one_applies_once_per_pass(tiny_adapter, guidance, passes):
    masker = ActivationMasker(tiny_adapter, mask_steps=1)
    masker.set_mask("midblock", torch.zeros(1, 128, 4, 4))
    generate_with_mask_multistep(tiny_adapter, masker, class_label=3, num_steps=4, guidance_scale=guidance, seed=0)
    assert sorted(masker.applications) == sorted((0, p, "midblock") for p in passes)


def test_mask_step_range_and_cfg_pass(tiny_adapter):
    masker = ActivationMasker(tiny_adapter, step_range=(2, 3), cfg_pass="uncond")
    masker.set_mask("midblock", torch.zeros(1, 128, 4, 4))
    generate_with_mask_multistep(tiny_adapter, masker, class_label=3, num_steps=5, guidance_scale=2.0, seed=0)
    assert masker.applications == [(1, "uncond", "midblock"), (2, "uncond", "midblock")]
    assert tiny_adapter.num_hooks == 0


def test_flatten_activations_accepts_numpy():
    flat = flatten_activations({"b": np.ones((2, 3)), "a": np.zeros((2, 2, 2))})
    np.testing.assert_array_equal(flat, [[0, 0, 0, 0, 1, 1, 1]] * 2)
