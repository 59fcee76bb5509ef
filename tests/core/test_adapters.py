"""Adapter registry, entry-point discovery and the EDM adapter family's layer names."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest
import torch

from diffviews_core import get_adapter, list_adapters
from diffviews_core.adapters import ENTRY_POINT_GROUP, GeneratorAdapter, HookMixin, register_adapter, registry
from diffviews_core.adapters.edm import DMD2ImageNet64Adapter, EDMAdapter, EDMImageNet64Adapter
from diffviews_core.errors import AdapterNotFoundError, DiffViewsError


def test_builtin_adapters_registered():
    names = list_adapters()
    assert {"edm", "edm-imagenet-64", "dmd2-imagenet-64"} <= set(names)
    assert get_adapter("dmd2-imagenet-64") is DMD2ImageNet64Adapter
    assert get_adapter("edm-imagenet-64") is EDMImageNet64Adapter


def test_unknown_adapter_error_lists_known_names():
    with pytest.raises(AdapterNotFoundError) as info:
        get_adapter("no-such-model")
    message = str(info.value)
    assert "no-such-model" in message and "dmd2-imagenet-64" in message and "edm-imagenet-64" in message
    assert isinstance(info.value, DiffViewsError)


def test_builtins_are_registered_once_by_the_registry():
    """Not also as entry points of this package: one registration per built-in name."""
    declared = {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}
    assert not declared & {"edm", "edm-imagenet-64", "dmd2-imagenet-64"}
    assert get_adapter("edm") is EDMAdapter


def test_entry_point_discovery_loads_third_party_adapter(monkeypatch):
    class FakeEntryPoint:
        name, value = "plugin-model", "plugin:Adapter"

        def load(self):
            return PluginAdapter

    class PluginAdapter:
        pass

    monkeypatch.setattr(registry, "_discovered", False)
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    monkeypatch.setattr(registry, "entry_points", lambda group: [FakeEntryPoint()] if group == ENTRY_POINT_GROUP else [])
    assert "plugin-model" in list_adapters()
    assert get_adapter("plugin-model") is PluginAdapter


def test_register_adapter_decorator(monkeypatch):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))

    @register_adapter("decorated")
    class Decorated(GeneratorAdapter):
        pass

    assert get_adapter("decorated") is Decorated
    with pytest.raises(TypeError, match="GeneratorAdapter subclass"):
        register_adapter("not-an-adapter")(object)


def test_tiny_layer_names_follow_network_keys(tiny_adapter):
    layers = tiny_adapter.hookable_layers
    enc = list(tiny_adapter.net.model.enc.keys())
    dec = list(tiny_adapter.net.model.dec.keys())
    assert len(layers) == len(enc) + len(dec)
    assert tiny_adapter.layer_modules["encoder_block_0"] == "model.enc.16x16_conv"
    assert tiny_adapter.layer_modules["encoder_bottleneck"] == f"model.enc.{enc[-1]}"
    assert tiny_adapter.layer_modules["midblock"] == "model.dec.4x4_in0"
    assert tiny_adapter.layer_modules[f"decoder_block_{len(dec) - 1}"] == f"model.dec.{dec[-1]}"


def test_layer_shapes_by_one_forward_are_cached(tiny_adapter):
    calls = []
    handle = tiny_adapter.net.register_forward_hook(lambda *a: calls.append(1))
    shapes = tiny_adapter.get_layer_shapes()
    assert shapes["encoder_bottleneck"] == (128, 4, 4) and shapes["encoder_block_0"] == (32, 16, 16)
    assert tiny_adapter.get_layer_shapes() == shapes
    handle.remove()
    assert len(calls) == 1


def test_imagenet_adapter_has_37_layers():
    from diffviews_core.networks import IMAGENET64_DMD2, build_edm

    adapter = DMD2ImageNet64Adapter(build_edm(IMAGENET64_DMD2, device="meta"), device="meta")
    layers = adapter.hookable_layers
    assert len(layers) == 37
    assert layers[:2] == ["encoder_block_0", "encoder_block_1"] and "encoder_block_14" in layers
    assert adapter.layer_modules["encoder_bottleneck"] == "model.enc.8x8_block2"
    assert adapter.layer_modules["midblock"] == "model.dec.8x8_in0"
    assert adapter.layer_modules["decoder_block_20"] == "model.dec.64x64_block3"
    assert adapter.num_classes == 1000 and adapter.resolution == 64
    assert DMD2ImageNet64Adapter.get_default_config()["steps_range"] == [1, 10]
    assert EDMImageNet64Adapter.get_default_config()["heun_preset"]["S_churn"] == 40.0


def test_hook_mixin_removes_every_hook(tiny_adapter):
    assert isinstance(tiny_adapter, HookMixin) and isinstance(tiny_adapter, GeneratorAdapter)
    seen = []
    tiny_adapter.register_activation_hooks(["midblock", "encoder_bottleneck"], lambda m, i, o: seen.append(1))
    assert tiny_adapter.num_hooks == 2
    tiny_adapter.forward(torch.zeros(1, 3, 16, 16), 1.0)
    tiny_adapter.remove_hooks()
    tiny_adapter.forward(torch.zeros(1, 3, 16, 16), 1.0)
    assert len(seen) == 2 and tiny_adapter.num_hooks == 0


def test_adapter_names_without_torch_match_the_registry():
    """The GUI lists adapters from ``adapter_names`` (no torch import); it offers what the registry resolves."""
    from diffviews_core.adapter_names import BUILTIN_ADAPTERS, adapter_names

    assert set(registry._builtin_adapters()) == set(BUILTIN_ADAPTERS)
    assert set(registry.list_adapters()) <= set(adapter_names())


def test_the_installed_adapters_are_scanned_once_per_process(monkeypatch):
    """The entry-point scan reads every installed package's metadata (~10 ms): the generation dock asked for it at
    its construction and again on every model opened, on the UI thread."""
    from diffviews_core import adapter_names as names

    scans = []

    class Plugin:
        name = "plugin-model"

    def entry_points(group):
        scans.append(group)
        return [Plugin()]

    monkeypatch.setattr(names, "entry_points", entry_points)
    names.installed_adapter_names.cache_clear()
    try:
        assert names.adapter_names() == names.adapter_names()
        assert "plugin-model" in names.adapter_names() and scans == [ENTRY_POINT_GROUP]
    finally:
        names.installed_adapter_names.cache_clear()
