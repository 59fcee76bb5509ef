"""The original DiffViews' adapter API: registry functions, the base class's defaults, HookMixin's helpers."""

from __future__ import annotations

import pytest
import torch

from diffviews_core.adapters import (
    DMD2ImageNetAdapter,
    EDMImageNetAdapter,
    GeneratorAdapter,
    HookMixin,
    discover_adapters,
    get_adapter,
    registry,
)
from diffviews_core.adapters.edm import DMD2ImageNet64Adapter, EDMImageNet64Adapter
from diffviews_core.errors import AdapterNotFoundError


class Wrapper(HookMixin, GeneratorAdapter):
    """A minimal adapter in the original README's style: no device or img_channels of its own."""

    CONFIG: dict = {}

    def __init__(self, model, **attrs):
        HookMixin.__init__(self)
        self._model = model
        vars(self).update(attrs)

    model_type, resolution, num_classes, hookable_layers = "wrapper", 8, 0, []

    def forward(self, x, sigma, class_labels=None, **kwargs):
        return self._model(x)

    def register_activation_hooks(self, layer_names, hook_fn):
        return []

    def get_layer_shapes(self):
        return {}

    @classmethod
    def from_checkpoint(cls, checkpoint_path, device="cuda", **kwargs):
        raise NotImplementedError

    @classmethod
    def get_default_config(cls):
        return cls.CONFIG


def test_original_class_names_are_the_builtin_adapters():
    assert DMD2ImageNetAdapter is DMD2ImageNet64Adapter is get_adapter("dmd2-imagenet-64")
    assert EDMImageNetAdapter is EDMImageNet64Adapter is get_adapter("edm-imagenet-64")


def test_registry_functions(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    discover_adapters()
    registry.register_adapter_class("wrapper", Wrapper)
    assert get_adapter("wrapper") is Wrapper
    assert registry.unregister_adapter("wrapper") is Wrapper and registry.unregister_adapter("wrapper") is None
    with pytest.raises(TypeError, match="must be a GeneratorAdapter subclass"):
        registry.register_adapter_class("bad", dict)
    with pytest.raises(ValueError, match="unknown adapter 'wrapper'") as info:  # the original raised ValueError
        get_adapter("wrapper")
    assert isinstance(info.value, AdapterNotFoundError)


def test_device_comes_from_the_adapter_or_its_model():
    linear = torch.nn.Linear(2, 2)
    assert Wrapper(linear).device == torch.device("cpu")
    assert Wrapper(linear, _device="meta").device == torch.device("meta")
    assert Wrapper(linear.to("meta")).device == torch.device("meta")


def test_img_channels_from_the_model_then_the_config(monkeypatch):
    plain = torch.nn.Identity()
    assert Wrapper(plain).img_channels == 3
    monkeypatch.setattr(Wrapper, "CONFIG", {"resolution": 8, "channels": 1})  # the original README's keys
    assert Wrapper(plain).img_channels == 1
    monkeypatch.setattr(Wrapper, "CONFIG", {"img_channels": 4})  # the original adapters' key
    assert Wrapper(plain).img_channels == 4
    plain.img_channels = 2
    assert Wrapper(plain).img_channels == 2


def test_to_eval_and_repr(tiny_adapter):
    linear = torch.nn.Linear(2, 2).train()
    adapter = Wrapper(linear, _device="cpu")
    assert adapter.eval() is adapter and not linear.training
    assert adapter.to("meta") is adapter and adapter.device == torch.device("meta")
    assert linear.weight.device.type == "meta"
    assert repr(adapter) == "Wrapper(model_type='wrapper', resolution=8, num_classes=0, layers=0)"
    assert tiny_adapter.to("cpu") is tiny_adapter and tiny_adapter.device == torch.device("cpu")


def test_hook_mixin_helpers(tiny_adapter):
    module = tiny_adapter.get_module("midblock")
    handle = module.register_forward_hook(tiny_adapter.make_extraction_hook("midblock"))
    tiny_adapter.add_handle(handle)
    tiny_adapter.forward(torch.zeros(2, 3, 16, 16), 1.0)
    assert tiny_adapter.get_activation("midblock").shape == (2, 128, 4, 4)
    assert tiny_adapter.get_activations().keys() == {"midblock"}
    tiny_adapter.clear_activations()
    assert tiny_adapter.get_activations() == {}
    tiny_adapter.remove_hooks()

    mask_hook = tiny_adapter.make_mask_hook("midblock", torch.ones(1, 128, 4, 4))
    assert torch.equal(mask_hook(module, None, torch.zeros(2, 128, 4, 4)), torch.ones(2, 128, 4, 4))
    with pytest.raises(ValueError, match="'midblock'"):
        tiny_adapter.make_mask_hook("midblock", torch.ones(1, 7))(module, None, torch.zeros(2, 128, 4, 4))

    tiny_adapter.set_mask("midblock", torch.ones(1))
    assert torch.equal(tiny_adapter.get_mask("midblock"), torch.ones(1))
    tiny_adapter.clear_mask("midblock")
    assert tiny_adapter.get_mask("midblock") is None
