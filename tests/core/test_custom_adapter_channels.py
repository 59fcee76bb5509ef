"""A custom adapter written as the original README shows, around a real network of 1 or 4 image channels: it
declares its channels only in ``get_default_config`` and must work for generation, extraction and masking."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tiny_model import seed_like_spec

from diffviews_core.adapters import GeneratorAdapter, HookMixin
from diffviews_core.core import (
    ActivationExtractor,
    ActivationMasker,
    generate_with_mask,
    generate_with_mask_multistep,
    infer_layer_shape,
)
from diffviews_core.networks import TINY, build_edm


class NoChannelAttributes(torch.nn.Module):
    """The network behind an opaque wrapper: nothing on it says how many channels it takes."""

    def __init__(self, net):
        super().__init__()
        self.inner = net

    def forward(self, x, sigma, class_labels=None):
        return self.inner(x, sigma, class_labels)


def readme_adapter(channels: int):
    """The original README's custom adapter, with this test's network and ``'channels'`` in its config."""
    net = build_edm({**TINY, "img_channels": channels}).eval()
    seed_like_spec(net)
    modules = {"encoder": net.model.enc["8x8_down"], "mid": net.model.dec["4x4_in0"],
               "decoder": net.model.dec["16x16_block1"]}  # fmt: skip

    class MyModelAdapter(HookMixin, GeneratorAdapter):
        def __init__(self, model, device):
            HookMixin.__init__(self)
            self._model = model
            self._device = device

        @property
        def model_type(self):
            return "my-model"

        @property
        def resolution(self):
            return 16

        @property
        def num_classes(self):
            return 10

        @property
        def hookable_layers(self):
            return ["encoder", "decoder", "mid"]

        def forward(self, x, sigma, class_labels=None, **kwargs):
            return self._model(x, sigma, class_labels)

        def register_activation_hooks(self, layer_names, hook_fn):
            handles = []
            for name in layer_names:
                h = modules[name].register_forward_hook(hook_fn)
                handles.append(h)
                self.add_handle(h)
            return handles

        def get_layer_shapes(self):
            return {"encoder": (32, 8, 8), "decoder": (32, 16, 16), "mid": (128, 4, 4)}

        @classmethod
        def from_checkpoint(cls, checkpoint_path, device="cuda", **kwargs):
            raise NotImplementedError

        @classmethod
        def get_default_config(cls):
            return {"resolution": 16, "channels": channels}

    return MyModelAdapter(NoChannelAttributes(net), "cpu")


@pytest.mark.parametrize("channels", [1, 4])
def test_generation_extraction_and_masking_with_any_channel_count(channels):
    adapter = readme_adapter(channels)
    assert adapter.img_channels == channels and adapter.device == torch.device("cpu")

    for sampler in ("fewstep", "heun"):
        r = generate_with_mask_multistep(
            adapter, None, class_label=3, num_steps=3, seed=0, num_samples=2, sampler=sampler, extract_layers=["mid"]
        )
        assert r.images.shape == (2, 16, 16, channels) and r.images.dtype == np.uint8
        assert r.trajectory_array().shape == (3, 2, 128 * 16)

    with ActivationExtractor(adapter, ["encoder", "mid"]) as extractor:
        adapter.forward(torch.randn(2, channels, 16, 16), 2.0, torch.eye(10)[[1, 2]])
    assert extractor.activations["encoder"].shape == (2, 32, 8, 8)
    assert infer_layer_shape(adapter, "mid") == (128, 4, 4)

    masker = ActivationMasker(adapter)
    masker.set_mask("mid", torch.zeros(128 * 4 * 4))
    kw = dict(class_label=3, num_steps=2, seed=1, extract_layers=["mid"])
    masked = generate_with_mask_multistep(adapter, masker, **kw)
    plain = generate_with_mask_multistep(adapter, None, **kw)
    assert np.count_nonzero(masked.trajectory[0]["mid"]) == 0 and np.count_nonzero(plain.trajectory[0]["mid"]) > 0
    assert not np.array_equal(masked.images, plain.images)

    images, labels = generate_with_mask(adapter, masker, class_label=5, num_samples=3, seed=2)
    assert images.shape == (3, 16, 16, channels) and labels.tolist() == [5, 5, 5]
    assert adapter.num_hooks == 0
