"""The original README's Quick Start and custom-adapter snippets, with names from diffviews_core."""

from __future__ import annotations

import torch

from diffviews_core.checkpoints import save_network
from diffviews_core.networks import TINY


def test_quick_start(tmp_path, tiny_net):
    save_network(tiny_net, tmp_path / "model.safetensors", TINY)
    noise = torch.randn(1, 3, 16, 16)
    sigma = torch.tensor([2.0])
    class_labels = torch.eye(10)[[3]]
    target_activation = torch.zeros(1, 128, 4, 4)

    # --- the snippet, with diffviews -> diffviews_core and a project-made checkpoint ---
    from diffviews_core import get_adapter
    from diffviews_core.core import ActivationExtractor, generate_with_mask_multistep

    AdapterClass = get_adapter("edm")
    adapter = AdapterClass.from_checkpoint(tmp_path / "model.safetensors", device="cpu")

    extractor = ActivationExtractor(adapter, layers=["encoder_bottleneck", "midblock"])
    with extractor:
        images = adapter.forward(noise, sigma, class_labels)
        activations = extractor.get_activations()

    from diffviews_core.core import ActivationMasker

    masker = ActivationMasker(adapter)
    masker.set_mask("encoder_bottleneck", target_activation)
    masker.register_hooks()

    images, labels = generate_with_mask_multistep(adapter, masker, class_label=7, num_steps=4, guidance_scale=1.5)
    # --- end of snippet ---
    masker.remove_hooks()
    assert images.shape == (1, 16, 16, 3) and labels.tolist() == [7]
    assert activations["midblock"].shape == (1, 128, 4, 4)


def test_custom_adapter(tiny_net, monkeypatch):
    from diffviews_core.adapters import registry

    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    from diffviews_core.adapters import GeneratorAdapter, HookMixin, get_adapter, register_adapter
    from diffviews_core.core import ActivationExtractor, ActivationMasker, generate_with_mask_multistep

    def load_my_model(_path):
        return tiny_net

    # --- the snippet (get_layer_shapes returns this model's shapes; _get_module added, as the snippet implies) ---
    @register_adapter("my-model")
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

        def _get_module(self, name):
            return {"encoder": self._model.model.enc["4x4_block0"], "mid": self._model.model.dec["4x4_in0"],
                    "decoder": self._model.model.dec["16x16_block1"]}[name]  # fmt: skip

        def forward(self, x, sigma, class_labels=None, **kwargs):
            return self._model(x, sigma, class_labels)

        def register_activation_hooks(self, layer_names, hook_fn):
            handles = []
            for name in layer_names:
                module = self._get_module(name)
                h = module.register_forward_hook(hook_fn)
                handles.append(h)
                self.add_handle(h)
            return handles

        def get_layer_shapes(self):
            return {"encoder": (128, 4, 4), "decoder": (32, 16, 16), "mid": (128, 4, 4)}

        @classmethod
        def from_checkpoint(cls, checkpoint_path, device="cuda", **kwargs):
            model = load_my_model(checkpoint_path)
            model = model.to(device).eval()
            return cls(model, device)

        @classmethod
        def get_default_config(cls):
            return {"resolution": 16, "channels": 3}

    # --- end of snippet ---
    adapter = get_adapter("my-model").from_checkpoint("unused", device="cpu")
    with ActivationExtractor(adapter, ["mid"]) as ex:
        adapter.forward(torch.zeros(1, 3, 16, 16), torch.ones(1))
    assert ex.get_activations()["mid"].shape == (1, 128, 4, 4)
    masker = ActivationMasker(adapter)
    masker.set_mask("mid", torch.zeros(128, 4, 4))
    images, labels = generate_with_mask_multistep(adapter, masker, class_label=1, num_steps=2, seed=0)
    assert images.shape == (1, 16, 16, 3)
    adapter.remove_hooks()
