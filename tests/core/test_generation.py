"""Masked multi-step generation: reproducibility, batches, CFG, noise modes, records, cancel."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from diffviews_core.core import ActivationMasker, generate_with_mask_multistep, karras_sigmas, noise_percent_to_sigma
from diffviews_core.core.generator import class_label_tensor
from diffviews_core.errors import CancelledError


@pytest.mark.parametrize("sampler", ["fewstep", "heun"])
def test_same_seed_gives_identical_images(tiny_adapter, sampler):
    kw = dict(class_label=3, num_steps=3, guidance_scale=1.5, seed=123, sampler=sampler)
    a = generate_with_mask_multistep(tiny_adapter, None, **kw)
    b = generate_with_mask_multistep(tiny_adapter, None, **kw)
    c = generate_with_mask_multistep(tiny_adapter, None, **{**kw, "seed": 124})
    assert a.images.tobytes() == b.images.tobytes()
    assert a.images.tobytes() != c.images.tobytes()
    assert a.settings["seed"] == 123


@pytest.mark.parametrize("sampler", ["fewstep", "heun"])
def test_batch_of_four(tiny_adapter, sampler):
    masker = ActivationMasker(tiny_adapter, mask_steps=2)
    masker.set_mask("midblock", torch.zeros(1, 128, 4, 4))
    r = generate_with_mask_multistep(
        tiny_adapter, masker, class_label=[0, 1, 2, -1], num_steps=3, seed=0, num_samples=4, sampler=sampler
    )
    assert r.images.shape == (4, 16, 16, 3) and r.images.dtype == np.uint8
    assert r.labels.tolist() == [0, 1, 2, -1]
    assert len(r.trajectory) == 3 and r.trajectory[0]["midblock"].shape == (4, 128 * 16)
    assert r.trajectory_array().shape == (3, 4, 128 * 16)
    assert len(r.intermediates) == len(r.noised_inputs) == 3
    assert r.intermediates[0].shape == (4, 16, 16, 3)
    images, labels = r  # unpacks like the original API: tensors sharing the arrays' memory
    assert np.shares_memory(images.numpy(), r.images) and labels.tolist() == [0, 1, 2, -1]


def _plain(adapter, labels, sigmas, latents):
    """The few-step loop written out by hand with zero re-noise: the reference for CFG 0 and 1."""
    x = latents * sigmas[0]
    for i in range(len(sigmas)):
        pred = adapter.forward(x, sigmas[i], labels)
        if i < len(sigmas) - 1:
            x = pred
    return pred


@pytest.mark.parametrize("guidance, which", [(0.0, "uncond"), (1.0, "cond")])
def test_cfg_0_and_1_equal_plain_passes(tiny_adapter, guidance, which):
    latents = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(9))
    sigmas = karras_sigmas(3, 0.002, 80.0)
    labels = torch.eye(10)[[3, 3]] if which == "cond" else torch.zeros(2, 10)
    ref = _plain(tiny_adapter, labels, sigmas, latents)
    got = generate_with_mask_multistep(
        tiny_adapter, None, class_label=3, num_steps=3, guidance_scale=guidance, seed=0, num_samples=2,
        noise_mode="zero", latents=latents, sigma_max=80.0, sigma_min=0.002,
    )  # fmt: skip
    expected = (ref * 127.5 + 128).clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    np.testing.assert_array_equal(got.images, expected)


def test_cfg_above_one_amplifies(tiny_adapter):
    kw = dict(class_label=3, num_steps=2, seed=5, noise_mode="zero")
    g1 = generate_with_mask_multistep(tiny_adapter, None, guidance_scale=1.0, **kw).images
    g3 = generate_with_mask_multistep(tiny_adapter, None, guidance_scale=3.0, **kw).images
    assert not np.array_equal(g1, g3)


def test_noise_modes(tiny_adapter):
    kw = dict(class_label=1, num_steps=4, seed=7)
    for mode in ("stochastic", "fixed", "zero"):
        a = generate_with_mask_multistep(tiny_adapter, None, noise_mode=mode, **kw).images
        b = generate_with_mask_multistep(tiny_adapter, None, noise_mode=mode, **kw).images
        assert np.array_equal(a, b), mode
    with pytest.raises(ValueError, match="noise mode"):
        generate_with_mask_multistep(tiny_adapter, None, noise_mode="loud", **kw)


def test_noise_percent_range_sets_sigmas(tiny_adapter):
    r = generate_with_mask_multistep(tiny_adapter, None, class_label=0, num_steps=3, noise_max=50, noise_min=10, seed=0)
    assert r.sigmas[0] == pytest.approx(noise_percent_to_sigma(50))
    assert r.sigmas[-1] == pytest.approx(noise_percent_to_sigma(10))
    assert noise_percent_to_sigma(0) == pytest.approx(0.002) and noise_percent_to_sigma(100) == pytest.approx(80)


def test_live_step_callback_and_settings(tiny_adapter):
    seen = []
    masker = ActivationMasker(tiny_adapter, mask_steps=1, blend=0.5)
    masker.set_mask("encoder_bottleneck", torch.zeros(128, 4, 4))
    r = generate_with_mask_multistep(tiny_adapter, masker, class_label=2, num_steps=3, seed=1, on_step=seen.append)
    assert [s.step for s in seen] == [0, 1, 2] and seen[0].num_steps == 3
    assert seen[0].sigma == pytest.approx(80.0)
    assert set(seen[0].activations) == {"encoder_bottleneck"}
    assert r.settings["mask"] == {"layers": ["encoder_bottleneck"], "mask_steps": 1, "step_range": None,
                                  "cfg_pass": "both", "blend": 0.5}  # fmt: skip


def test_cancel_stops_generation(tiny_adapter):
    stop = threading.Event()

    def on_step(rec):
        if rec.step == 1:
            stop.set()

    with pytest.raises(CancelledError):
        generate_with_mask_multistep(tiny_adapter, None, class_label=0, num_steps=5, seed=0, on_step=on_step, cancel=stop)
    assert tiny_adapter.num_hooks == 0


def test_class_labels():
    t = class_label_tensor([2, -1, None], 4, 3, "cpu")
    torch.testing.assert_close(t, torch.tensor([[0, 0, 1, 0], [0.25] * 4, [0, 0, 0, 0]]))
    assert class_label_tensor(1, 0, 2, "cpu") is None
    with pytest.raises(ValueError, match="out of range"):
        class_label_tensor(7, 4, 1, "cpu")
