"""Adapters for any EDMPrecond/DhariwalUNet network, and the ImageNet-64 EDM and DMD2 presets.

Layer names follow DiffViews: ``encoder_block_i`` = enc key i, ``encoder_bottleneck`` = last enc key,
``midblock`` = dec key 0, ``decoder_block_i`` = dec key i. They are derived from the network's own keys,
so every configuration (tiny, demo, ImageNet) gets a consistent set.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..networks import IMAGENET64_DMD2, IMAGENET64_EDM, EDMPrecond, build_edm
from .base import GeneratorAdapter
from .hooks import HookMixin


def diffviews_layer_map(net: EDMPrecond) -> dict[str, str]:
    """DiffViews layer name -> module path inside ``net`` (e.g. ``model.enc.8x8_block2``)."""
    enc = list(net.model.enc.keys())
    dec = list(net.model.dec.keys())
    names = {f"encoder_block_{i}": f"model.enc.{k}" for i, k in enumerate(enc[:-1])}
    names["encoder_bottleneck"] = f"model.enc.{enc[-1]}"
    names["midblock"] = f"model.dec.{dec[0]}"
    names.update({f"decoder_block_{i}": f"model.dec.{k}" for i, k in enumerate(dec) if i > 0})
    return names


class EDMAdapter(HookMixin, GeneratorAdapter):
    """Wraps an EDMPrecond network; the architecture comes from the checkpoint or its config."""

    MODEL_TYPE = "edm"
    DEFAULT_NETWORK: dict | None = None

    def __init__(self, model: EDMPrecond, device: str | torch.device = "cpu", config: dict | None = None) -> None:
        HookMixin.__init__(self)
        self._device = torch.device(device)
        self.net = model.to(self._device).eval()
        self.config = {**self.get_default_config(), **(config or {})}
        self._layer_map = diffviews_layer_map(model)
        self._layer_shapes: dict[str, tuple[int, ...]] | None = None
        self.checkpoint_path: str | None = None
        self.checkpoint_info: dict[str, Any] = {}

    # --- GeneratorAdapter properties -------------------------------------------------------------
    @property
    def model_type(self) -> str:
        return self.MODEL_TYPE

    @property
    def resolution(self) -> int:
        return self.net.img_resolution

    @property
    def num_classes(self) -> int:
        return self.net.label_dim

    @property
    def img_channels(self) -> int:
        return self.net.img_channels

    @property
    def device(self) -> torch.device:
        return self._device

    @property
    def hookable_layers(self) -> list[str]:
        return list(self._layer_map)

    @property
    def layer_modules(self) -> dict[str, str]:
        return dict(self._layer_map)

    def get_module(self, layer_name: str) -> nn.Module:
        try:
            return self.net.get_submodule(self._layer_map[layer_name])
        except KeyError:
            raise KeyError(f"unknown layer {layer_name!r}; hookable layers: {', '.join(self._layer_map)}") from None

    def to(self, device: str | torch.device) -> EDMAdapter:
        self._device = torch.device(device)
        self.net.to(self._device)
        return self

    # --- behaviour -------------------------------------------------------------------------------
    @torch.no_grad()
    def forward(self, x, sigma, class_labels=None, **kwargs) -> torch.Tensor:
        return self.net(x.to(self._device), torch.as_tensor(sigma, device=self._device), class_labels, **kwargs)

    @torch.no_grad()
    def sample(
        self,
        num_samples: int,
        class_label: int | None = None,
        num_steps: int = 256,
        sigma_max: float = 80.0,
        sigma_min: float = 0.002,
        rho: float = 7.0,
        S_churn: float = 40.0,
        S_min: float = 0.05,
        S_max: float = 50.0,
        S_noise: float = 1.003,
        device: str | torch.device | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The original's full EDM sampler (Heun with churn; defaults: the ImageNet-64 paper settings).

        Draws from torch's global generator like the original; ``class_label`` None picks random classes.
        Returns (images N x C x H x W in [-1, 1], labels N).
        """
        from ..core.generator import class_label_tensor
        from ..core.samplers import NoiseSource, sample_heun
        from ..core.schedules import karras_sigmas

        device = torch.device(device) if device is not None else self._device
        if class_label is not None:
            labels = torch.full((num_samples,), int(class_label), dtype=torch.long)
        else:
            labels = torch.randint(0, max(self.num_classes, 1), (num_samples,))
        cond = class_label_tensor(labels.tolist(), self.num_classes, num_samples, device)
        shape = (num_samples, self.img_channels, self.resolution, self.resolution)
        latents = torch.randn(shape).to(device)
        t_steps = karras_sigmas(num_steps, sigma_min, sigma_max, rho, append_zero=True).to(device)

        def denoise(x, sigma, _step, record=True):
            return self.forward(x.to(torch.float32), sigma, cond)

        noise = NoiseSource("stochastic", shape, None, device)
        x = sample_heun(denoise, latents, t_steps, noise, S_churn, S_min, S_max, S_noise)
        return x.to(torch.float32).clamp(-1, 1), labels.to(device)

    def register_activation_hooks(self, layer_names: Sequence[str], hook_fn: Callable) -> list:
        handles = []
        for name in layer_names:
            handle = self.get_module(name).register_forward_hook(hook_fn)
            handles.append(handle)
            self.add_handle(handle)
        return handles

    def get_layer_shapes(self) -> dict[str, tuple[int, ...]]:
        """Per-sample output shape of every hookable layer, from one dummy forward (cached)."""
        if self._layer_shapes is None:
            shapes: dict[str, tuple[int, ...]] = {}
            handles = []
            for name in self._layer_map:

                def hook(_m, _i, out, name=name):
                    out = out[0] if isinstance(out, tuple) else out
                    shapes[name] = tuple(out.shape[1:])

                handles.append(self.get_module(name).register_forward_hook(hook))
            try:
                r, c = self.resolution, self.img_channels
                self.forward(torch.zeros(1, c, r, r), torch.ones(1))
            finally:
                for h in handles:
                    h.remove()
            self._layer_shapes = {name: shapes[name] for name in self._layer_map}
        return dict(self._layer_shapes)

    # --- construction ----------------------------------------------------------------------------
    @classmethod
    def from_config(cls, network_config: dict | None = None, device: str | torch.device = "cpu", **config):
        """An adapter with freshly initialised weights (for training, tests and shape queries)."""
        net_cfg = network_config or cls.DEFAULT_NETWORK
        if net_cfg is None:
            raise ValueError(f"{cls.__name__} has no default network configuration; pass one")
        return cls(build_edm(net_cfg), device=device, config=config)

    @classmethod
    def from_checkpoint(cls, checkpoint_path, device: str = "cpu", **kwargs) -> EDMAdapter:
        """Load safely (no code in the file runs); the architecture comes from the file or the adapter default."""
        from ..checkpoints import load_network

        net, info = load_network(Path(checkpoint_path), default_config=cls.DEFAULT_NETWORK)
        adapter = cls(net, device=device, config=kwargs)
        adapter.checkpoint_path = str(checkpoint_path)
        adapter.checkpoint_info = info
        return adapter

    @classmethod
    def get_default_config(cls) -> dict[str, Any]:
        return {
            "sampler": "fewstep",
            "num_steps": 18,
            "steps_range": [1, 256],
            "noise_max": 100.0,
            "noise_min": 0.0,
            "guidance_scale": 1.0,
            "network": copy.deepcopy(cls.DEFAULT_NETWORK),
        }


class DMD2ImageNet64Adapter(EDMAdapter):
    """DMD2 distilled ImageNet-64 generator: 1-10 steps with the few-step sampler."""

    MODEL_TYPE = "dmd2-imagenet-64"
    DEFAULT_NETWORK = IMAGENET64_DMD2

    @classmethod
    def get_default_config(cls) -> dict[str, Any]:
        return {
            **super().get_default_config(),
            "sampler": "fewstep",
            "num_steps": 5,
            "steps_range": [1, 10],
            "noise_min": 0.5,
        }


class EDMImageNet64Adapter(EDMAdapter):
    """EDM ImageNet-64: the original's few-step path, plus the published Heun preset."""

    MODEL_TYPE = "edm-imagenet-64"
    DEFAULT_NETWORK = IMAGENET64_EDM

    HEUN_PRESET = {"sampler": "heun", "num_steps": 256, "S_churn": 40.0, "S_min": 0.05, "S_max": 50.0, "S_noise": 1.003}

    @classmethod
    def get_default_config(cls) -> dict[str, Any]:
        return {
            **super().get_default_config(),
            "sampler": "fewstep",
            "num_steps": 50,
            "steps_range": [1, 256],
            "heun_preset": dict(cls.HEUN_PRESET),
        }
