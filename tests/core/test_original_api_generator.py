"""The original DiffViews' generator API on the tiny network: parameter order, return tuples, noise modes, helpers."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from diffviews_core.adapters.edm import EDMAdapter
from diffviews_core.core.generator import (
    GenerationResult,
    generate_with_mask,
    generate_with_mask_multistep,
    get_denoising_sigmas,
    infer_layer_shape,
    save_generated_sample,
    tensor_to_uint8_image,
    to_uint8_images,
)
from diffviews_core.core.masking import ActivationMasker
from diffviews_core.core.schedules import karras_sigmas


@pytest.fixture
def calls(tiny_adapter, monkeypatch):
    """Every forward of the tiny adapter: (x, sigma, class_labels) as passed."""
    seen = []
    forward = tiny_adapter.forward

    def recording(x, sigma, class_labels=None, **kwargs):
        seen.append((x.clone(), sigma, None if class_labels is None else class_labels.clone()))
        return forward(x, sigma, class_labels, **kwargs)

    monkeypatch.setattr(tiny_adapter, "forward", recording)
    return seen


def test_tensor_to_uint8_image_is_the_original_conversion():
    out = tensor_to_uint8_image(torch.tensor([[[[-1.0]], [[0.0]], [[1.0]]]]))
    assert out.dtype == torch.uint8 and out.shape == (1, 1, 1, 3) and out.device.type == "cpu"
    assert out.flatten().tolist() == [0, 127, 255]  # (x + 1) * 127.5, truncated


def test_get_denoising_sigmas_in_the_original_argument_order():
    sigmas = get_denoising_sigmas(4, 80.0, 0.002)
    assert sigmas.dtype == torch.float32 and len(sigmas) == 4
    assert sigmas[0].item() == pytest.approx(80.0) and sigmas[-1].item() == pytest.approx(0.002)
    assert torch.all(sigmas[:-1] > sigmas[1:])
    assert [len(get_denoising_sigmas(n, 80.0, 0.002)) for n in (1, 10, 20)] == [1, 10, 20]


def test_generate_with_mask_is_one_step_at_the_conditioning_sigma(tiny_adapter, calls):
    images, labels = generate_with_mask(tiny_adapter, ActivationMasker(tiny_adapter), class_label=4, num_samples=2)
    assert images.dtype == torch.uint8 and images.shape == (2, 16, 16, 3) and labels.tolist() == [4, 4]
    assert len(calls) == 1
    x, sigma, class_labels = calls[0]
    assert float(sigma) == pytest.approx(0.1) and x.abs().max() < 1.0  # noise * 0.1
    assert torch.equal(class_labels, torch.eye(10)[[4, 4]])


def test_generate_with_mask_random_and_uniform_labels(tiny_adapter):
    masker = ActivationMasker(tiny_adapter)
    _, a = generate_with_mask(tiny_adapter, masker, class_label=None, num_samples=6, seed=3, device="cpu")
    _, b = generate_with_mask(tiny_adapter, masker, class_label=None, num_samples=6, seed=3, device="cpu")
    assert a.tolist() == b.tolist() and all(0 <= c < 10 for c in a.tolist())
    _, uniform = generate_with_mask(tiny_adapter, masker, class_label=-1, num_samples=2)
    assert uniform.tolist() == [-1, -1]


def test_multistep_takes_the_original_positional_order(tiny_adapter):
    masker = ActivationMasker(tiny_adapter)
    masker.set_mask("midblock", torch.zeros(1, 128, 4, 4))
    # adapter, masker, class_label, num_steps, mask_steps, sigma_max, sigma_min, rho, guidance_scale
    result = generate_with_mask_multistep(tiny_adapter, masker, 3, 3, 1, 40.0, 0.01, 7.0, 1.0, seed=0)
    assert result.settings["num_steps"] == 3 and result.settings["mask"]["mask_steps"] == 1
    assert result.sigmas[0] == pytest.approx(40.0) and result.sigmas[-1] == pytest.approx(0.01)
    assert [step for step, _p, _n in masker.applications] == [0]
    assert masker.mask_steps is None  # the call's mask_steps did not stick to the masker


def test_multistep_defaults_are_the_original_ones(tiny_adapter, calls):
    result = generate_with_mask_multistep(tiny_adapter, None, class_label=1, seed=0)
    assert len(calls) == 4 and result.sigmas[0] == pytest.approx(80.0) and result.sigmas[-1] == pytest.approx(0.002)
    assert result.settings["sampler"] == "fewstep"


def test_multistep_returns_the_original_tuples(tiny_adapter):
    kw = dict(
        class_label=2,
        num_steps=3,
        seed=1,
        num_samples=2,
        device="cpu",
        extract_layers=["midblock", "encoder_bottleneck"],
    )
    plain = generate_with_mask_multistep(tiny_adapter, None, **kw)
    assert isinstance(plain, GenerationResult) and len(plain) == 2
    images, labels = plain
    assert images.dtype == torch.uint8 and images.shape == (2, 16, 16, 3) and labels.dtype == torch.int64
    full = generate_with_mask_multistep(
        tiny_adapter, None, return_trajectory=True, return_intermediates=True, return_noised_inputs=True, **kw
    )
    images, labels, trajectory, intermediates, noised = full
    assert torch.equal(images, torch.from_numpy(plain.images))
    assert len(trajectory) == len(intermediates) == len(noised) == 3
    np.testing.assert_array_equal(np.stack(trajectory), full.trajectory_array())
    assert trajectory[0].shape == (2, 2 * 128 * 16)  # encoder_bottleneck then midblock, flattened
    assert intermediates[-1].dtype == torch.uint8 and torch.equal(intermediates[-1], images)
    only_steps = generate_with_mask_multistep(tiny_adapter, None, return_intermediates=True, **kw)
    assert len(only_steps) == 3 and len(only_steps[2]) == 3


def test_stochastic_with_a_seed_draws_the_original_noise_stream(tiny_adapter):
    # The original seeded torch's global generator and drew the start, then one noise per step; on the CPU the
    # same seed gives the same draws, so the few-step loop written out here must match bit for bit.
    gen = torch.Generator().manual_seed(11)
    sigmas = karras_sigmas(3, 0.002, 80.0)
    x = torch.randn(1, 3, 16, 16, generator=gen) * float(sigmas[0])
    labels = torch.eye(10)[[6]]
    for i in range(3):
        pred = tiny_adapter.forward(x, sigmas[i], labels)
        if i < 2:
            x = pred + float(sigmas[i + 1]) * torch.randn(1, 3, 16, 16, generator=gen)
    got = generate_with_mask_multistep(tiny_adapter, None, class_label=6, num_steps=3, seed=11)
    np.testing.assert_array_equal(got.images, to_uint8_images(pred))


def test_fixed_and_zero_default_to_seed_42(tiny_adapter):
    for mode in ("fixed", "zero"):
        a = generate_with_mask_multistep(tiny_adapter, None, class_label=0, num_steps=3, noise_mode=mode)
        b = generate_with_mask_multistep(tiny_adapter, None, class_label=0, num_steps=3, noise_mode=mode, seed=42)
        assert a.settings["seed"] == 42 and np.array_equal(a.images, b.images), mode
    f42 = generate_with_mask_multistep(tiny_adapter, None, class_label=0, num_steps=3, noise_mode="fixed")
    f99 = generate_with_mask_multistep(tiny_adapter, None, class_label=0, num_steps=3, noise_mode="fixed", seed=99)
    assert not np.array_equal(f42.images, f99.images)


def test_zero_mode_starts_from_zeros_and_adds_no_noise(tiny_adapter, calls):
    generate_with_mask_multistep(tiny_adapter, None, class_label=0, num_steps=3, noise_mode="zero", seed=5)
    assert len(calls) == 3 and torch.count_nonzero(calls[0][0]) == 0
    for before, after in zip(calls, calls[1:]):  # each input is exactly the previous step's prediction
        assert torch.equal(after[0], EDMAdapter.forward(tiny_adapter, *before))


def test_stochastic_without_a_seed_follows_torchs_global_generator(tiny_adapter):
    torch.manual_seed(123)
    a = generate_with_mask_multistep(tiny_adapter, None, class_label=0, num_steps=2)
    torch.manual_seed(123)
    b = generate_with_mask_multistep(tiny_adapter, None, class_label=0, num_steps=2)
    assert a.settings["seed"] == b.settings["seed"] and np.array_equal(a.images, b.images)


def test_class_label_none_picks_random_classes_from_the_seed(tiny_adapter):
    a = generate_with_mask_multistep(tiny_adapter, None, class_label=None, num_steps=2, num_samples=5, seed=8)
    b = generate_with_mask_multistep(tiny_adapter, None, class_label=None, num_steps=2, num_samples=5, seed=8)
    assert a.labels.tolist() == b.labels.tolist() and len(set(a.labels.tolist())) > 1
    assert a.settings["class_label"] == a.labels.tolist()


def test_hooks_the_caller_registered_stay_and_the_generators_own_go(tiny_adapter):
    masker = ActivationMasker(tiny_adapter)
    masker.set_mask("midblock", torch.zeros(1, 128, 4, 4))
    masker.register_hooks()
    generate_with_mask_multistep(tiny_adapter, masker, class_label=1, num_steps=2, seed=0, mask_steps=1)
    assert masker.hooks_registered and tiny_adapter.num_hooks == 1
    assert [s for s, _p, _n in masker.applications] == [0]
    masker.remove_hooks()
    generate_with_mask_multistep(tiny_adapter, masker, class_label=1, num_steps=2, seed=0)
    assert not masker.hooks_registered and tiny_adapter.num_hooks == 0


def test_save_generated_sample_writes_image_activations_and_metadata(tmp_path):
    image = torch.randint(0, 255, (16, 16, 3), dtype=torch.uint8)
    meta = {"class_label": 4, "model": "tiny"}
    record = save_generated_sample(image, {"midblock": torch.ones(1, 8, 2, 2)}, meta, tmp_path, "gen_001")
    assert record == {
        "sample_id": "gen_001",
        "image_path": "images/tiny/gen_001.png",
        "class_label": 4,
        "model": "tiny",
    }
    assert np.array_equal(np.asarray(Image.open(tmp_path / record["image_path"])), image.numpy())
    with np.load(tmp_path / "activations" / "tiny" / "gen_001.npz") as z:
        assert z["midblock"].shape == (1, 32)
    assert json.loads((tmp_path / "activations" / "tiny" / "gen_001.json").read_text()) == meta
    gray = save_generated_sample(np.zeros((16, 16, 1), np.uint8), {}, {}, tmp_path, "g")
    assert gray["image_path"] == "images/generated/g.png" and Image.open(tmp_path / gray["image_path"]).mode == "L"
    assert not (tmp_path / "activations" / "generated").exists()


def test_save_generated_sample_refuses_paths_and_non_images(tmp_path):
    image = np.zeros((4, 4, 3), np.uint8)
    with pytest.raises(ValueError, match="sample id '../escape'"):
        save_generated_sample(image, {}, {}, tmp_path / "out", "../escape")
    with pytest.raises(ValueError, match="model name 'a/b'"):
        save_generated_sample(image, {}, {"model": "a/b"}, tmp_path / "out", "s")
    with pytest.raises(ValueError, match="uint8"):
        save_generated_sample(image.astype(np.float32), {}, {}, tmp_path / "out", "s")
    assert not (tmp_path / "out").exists() and not (tmp_path / "escape.png").exists()


def test_infer_layer_shape(tiny_adapter, monkeypatch):
    assert infer_layer_shape(tiny_adapter, "midblock") == (128, 4, 4)
    monkeypatch.setattr(tiny_adapter, "get_layer_shapes", lambda: {})
    assert infer_layer_shape(tiny_adapter, "encoder_block_0", device="cpu") == (32, 16, 16)


def test_edm_sample_is_the_heun_sampler_from_the_global_generator(tiny_adapter):
    torch.manual_seed(21)
    images, labels = tiny_adapter.sample(2, class_label=5, num_steps=4, S_churn=10.0, S_min=0.05, S_max=50.0)
    assert images.shape == (2, 3, 16, 16) and images.abs().max() <= 1.0 and labels.tolist() == [5, 5]
    same = generate_with_mask_multistep(
        tiny_adapter, None, class_label=5, num_steps=4, num_samples=2, seed=21, sampler="heun",
        S_churn=10.0, S_min=0.05, S_max=50.0, S_noise=1.003,
    )  # fmt: skip
    np.testing.assert_array_equal(to_uint8_images(images), same.images)
    torch.manual_seed(0)
    _, random_labels = tiny_adapter.sample(4, num_steps=2)
    assert all(0 <= c < 10 for c in random_labels.tolist())
