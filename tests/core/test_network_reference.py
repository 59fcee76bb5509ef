"""The re-implemented EDM network reproduces the original implementation's reference numbers."""

from __future__ import annotations

import pytest
import torch

from diffviews_core.core import NoiseSource, karras_sigmas, sample_heun
from diffviews_core.networks import (
    IMAGENET64_DMD2,
    IMAGENET64_EDM,
    IMAGENET64_KEY_HASH,
    TINY,
    TINY_KEY_HASH,
    build_edm,
    state_dict_key_hash,
)

X = lambda: torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(1))  # noqa: E731
SIGMA = torch.tensor([0.7, 12.0])
LABELS = torch.eye(10)[[3, 7]]


def close(value: float, ref: float, rel: float) -> bool:
    return abs(value - ref) <= rel * abs(ref)


def test_tiny_architecture_matches_spec():
    net = build_edm(TINY)
    assert len(net.state_dict()) == 227
    assert sum(p.numel() for p in net.parameters()) == 3_213_539
    assert state_dict_key_hash(net) == TINY_KEY_HASH


@pytest.mark.parametrize("config", [IMAGENET64_DMD2, IMAGENET64_EDM])
def test_imagenet_architecture_matches_spec(config):
    net = build_edm(config, device="meta")
    sd = net.state_dict()
    assert len(sd) == 553
    assert sum(1 for k in sd if k.endswith("resample_filter")) == 12
    assert sum(p.numel() for p in net.parameters()) == 295_899_267
    assert state_dict_key_hash(net) == IMAGENET64_KEY_HASH


def test_none_weights_are_plain_attributes():
    net = build_edm(TINY)
    down = net.model.enc["8x8_down"]
    assert down.skip.weight is None and "weight" not in down.skip._parameters
    assert net.model.map_label.bias is None
    assert net.model.map_augment is None
    assert "resample_filter" in net.model.enc["16x16_block0"].conv0._buffers


@torch.no_grad()
def test_forward_with_labels(tiny_net):
    out = tiny_net(X(), SIGMA, LABELS)
    assert close(out.sum().item(), -35.172264, 1e-4)
    assert close(out.abs().sum().item(), 256.994720, 1e-4)
    ref = torch.tensor([-0.574547, -0.320037, -0.250190, -0.607017])
    torch.testing.assert_close(out[0, 0, 0, :4], ref, rtol=1e-4, atol=1e-5)


@torch.no_grad()
def test_forward_without_labels(tiny_net):
    out = tiny_net(X(), SIGMA, None)
    assert close(out.sum().item(), -37.080540, 1e-4)
    assert close(out.abs().sum().item(), 261.150085, 1e-4)


@torch.no_grad()
def test_raw_unet(tiny_net):
    s = SIGMA.reshape(-1, 1, 1, 1)
    c_in = 1 / (0.5**2 + s**2).sqrt()
    out = tiny_net.model(c_in * X(), SIGMA.log() / 4, LABELS)
    assert close(out.sum().item(), -99.242546, 1e-4)
    assert close(out.abs().sum().item(), 186.325806, 1e-4)


@torch.no_grad()
def test_edm_heun_sampler_reference(tiny_net):
    latents = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(2))
    t_steps = karras_sigmas(4, 0.002, 80.0, append_zero=True)
    noise = NoiseSource("stochastic", tuple(latents.shape), torch.Generator().manual_seed(0), "cpu")
    out = sample_heun(lambda x, s, i, record=True: tiny_net(x, s, LABELS), latents, t_steps, noise)
    assert close(out.sum().item(), -38.433018, 1e-3)
    assert close(out.abs().sum().item(), 2666.102836, 1e-3)


def test_karras_schedule_18_steps():
    ref = [80, 57.585985, 40.785574, 28.374585, 19.352453, 12.910082, 8.400935, 5.315195, 3.256822, 1.92334,
           1.088171, 0.585348, 0.296442, 0.139516, 0.059947, 0.022935, 0.007528, 0.002]  # fmt: skip
    t = karras_sigmas(18, append_zero=True)
    assert t[-1] == 0 and len(t) == 19
    torch.testing.assert_close(t[:-1], torch.tensor(ref, dtype=torch.float64), rtol=1e-6, atol=1e-6)
