"""Generation with optional activation masks, recording the whole denoising trajectory."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..adapters.base import GeneratorAdapter
from ..jobs import check_cancelled
from .extractor import ActivationExtractor, flatten_activations
from .masking import ActivationMasker
from .samplers import NoiseSource, sample_fewstep, sample_heun
from .schedules import SIGMA_MAX, SIGMA_MIN, karras_sigmas, noise_percent_to_sigma

UNIFORM_CLASS = -1


def to_uint8_images(x: torch.Tensor) -> np.ndarray:
    """N x C x H x W in [-1, 1] -> N x H x W x C uint8, as (x * 127.5 + 128).clip(0, 255)."""
    return (x.to(torch.float32) * 127.5 + 128).clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def class_label_tensor(class_label, num_classes: int, n: int, device) -> torch.Tensor | None:
    """One-hot rows; class -1 = uniform; None = the null label (zeros). Returns None for unconditional models."""
    if num_classes == 0:
        return None
    labels = torch.zeros(n, num_classes, device=device)
    cls = list(class_label) if isinstance(class_label, (list, tuple, np.ndarray)) else [class_label] * n
    if len(cls) != n:
        raise ValueError(f"{len(cls)} class labels for {n} samples")
    for i, c in enumerate(cls):
        if c is None:
            continue
        c = int(c)
        if c == UNIFORM_CLASS:
            labels[i] = 1.0 / num_classes
        elif 0 <= c < num_classes:
            labels[i, c] = 1.0
        else:
            raise ValueError(f"class label {c} out of range 0..{num_classes - 1} (or -1 for uniform)")
    return labels


@dataclass
class StepRecord:
    """What one denoising step produced; passed live to ``on_step`` and kept in the result."""

    step: int
    num_steps: int
    sigma: float
    x0: np.ndarray  # N x H x W x C uint8, the step's denoised estimate
    noised: np.ndarray  # N x H x W x C uint8, the step's input scaled to display range
    activations: dict[str, np.ndarray]  # layer -> N x D float32 (the conditional pass when CFG runs both)


@dataclass
class GenerationResult:
    images: np.ndarray
    labels: np.ndarray
    sigmas: np.ndarray
    trajectory: list[dict[str, np.ndarray]] = field(default_factory=list)
    intermediates: list[np.ndarray] = field(default_factory=list)
    noised_inputs: list[np.ndarray] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    def __iter__(self):
        """Unpacks as ``images, labels`` like the original API."""
        yield self.images
        yield self.labels

    def trajectory_array(self) -> np.ndarray:
        """steps x N x D float32: the recorded layers of each step, concatenated in sorted layer order."""
        return np.stack([flatten_activations(step) for step in self.trajectory])


class _Denoiser:
    """CFG around the adapter: tells the masker which pass runs, records the step's activations."""

    def __init__(self, adapter, cond, guidance: float, masker, extractor, on_record) -> None:
        self.adapter, self.cond, self.g = adapter, cond, float(guidance)
        self.masker, self.extractor, self.on_record = masker, extractor, on_record
        self.null = torch.zeros_like(cond) if cond is not None else None

    def _pass(self, x, sigma, step, which):
        if self.masker is not None:
            self.masker.set_context(step, which)
        labels = self.cond if which == "cond" else self.null
        return self.adapter.forward(x.to(torch.float32), sigma, labels).to(torch.float32)

    def __call__(self, x, sigma, step, record=True):
        uncond_only = self.cond is None or self.g == 0.0
        first = "uncond" if uncond_only else "cond"
        out = self._pass(x, sigma, step, first)
        acts = self.extractor.get_activations() if (record and self.extractor is not None) else {}
        if not uncond_only and self.g != 1.0:
            out_u = self._pass(x, sigma, step, "uncond")
            out = out_u + self.g * (out - out_u)
        if record:
            self.on_record(step, float(sigma), x, out, acts)
        return out


def _check_cancel(cancel: threading.Event | None) -> Callable[[], None]:
    return lambda: check_cancelled(cancel, "generation cancelled")


def generate_with_mask_multistep(
    adapter: GeneratorAdapter,
    masker: ActivationMasker | None = None,
    class_label: int | Sequence[int | None] | None = None,
    num_steps: int | None = None,
    guidance_scale: float = 1.0,
    *,
    sampler: str | None = None,
    noise_max: float | None = None,
    noise_min: float | None = None,
    sigma_max: float | None = None,
    sigma_min: float | None = None,
    noise_mode: str = "stochastic",
    seed: int | None = None,
    num_samples: int = 1,
    mask_steps: int | None = None,
    extract_layers: Sequence[str] | None = None,
    S_churn: float = 0.0,
    S_min: float = 0.0,
    S_max: float = float("inf"),
    S_noise: float = 1.0,
    rho: float = 7.0,
    latents: torch.Tensor | None = None,
    on_step: Callable[[StepRecord], None] | None = None,
    cancel: threading.Event | None = None,
) -> GenerationResult:
    """Denoise ``num_samples`` images of ``class_label`` with the masker's masks applied.

    Noise range: ``sigma_max``/``sigma_min`` if given, else ``noise_max``/``noise_min`` percent, else the adapter's
    defaults. ``sampler`` is 'fewstep' (DMD2-style x0 + re-noise) or 'heun' (EDM, with churn). The same ``seed`` and
    settings give bit-identical images on CPU. Trajectory activations default to the masker's layers.
    """
    defaults = adapter.get_default_config() if hasattr(adapter, "get_default_config") else {}
    sampler = sampler or defaults.get("sampler", "fewstep")
    num_steps = int(num_steps or defaults.get("num_steps", 10))
    if sigma_max is None:
        nm = noise_max if noise_max is not None else defaults.get("noise_max")
        sigma_max = noise_percent_to_sigma(nm) if nm is not None else SIGMA_MAX
    if sigma_min is None:
        nm = noise_min if noise_min is not None else defaults.get("noise_min")
        sigma_min = noise_percent_to_sigma(nm) if nm is not None else SIGMA_MIN
    if sigma_min > sigma_max:
        raise ValueError(f"sigma_min {sigma_min} is above sigma_max {sigma_max}")
    if mask_steps is not None and masker is not None:
        masker.mask_steps = int(mask_steps)
    if seed is None:
        seed = secrets.randbelow(2**31)
    device = adapter.device
    n = int(num_samples)
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    shape = (n, adapter.img_channels, adapter.resolution, adapter.resolution)
    if latents is None:
        latents = torch.randn(shape, generator=gen)
    latents = latents.to(device)
    noise = NoiseSource(noise_mode, shape, gen, device)
    cond = class_label_tensor(class_label, adapter.num_classes, n, device)

    layers = list(extract_layers) if extract_layers is not None else (masker.layers if masker is not None else [])
    extractor = ActivationExtractor(adapter, layers) if layers else None
    records: list[StepRecord] = []

    def on_record(step, sigma, x, x0, acts):
        scale = 1.0 / np.sqrt(1.0 + sigma**2)
        rec = StepRecord(
            step=step,
            num_steps=num_steps,
            sigma=sigma,
            x0=to_uint8_images(x0),
            noised=to_uint8_images(x.to(torch.float32) * scale),
            activations={k: v.reshape(v.shape[0], -1).numpy() for k, v in acts.items()},
        )
        records.append(rec)
        if on_step is not None:
            on_step(rec)

    denoise = _Denoiser(adapter, cond, guidance_scale, masker, extractor, on_record)
    check = _check_cancel(cancel)
    hooks = [h for h in (masker, extractor) if h is not None]
    for h in hooks:
        h.__enter__()
    try:
        with torch.no_grad():
            if sampler == "heun":
                t_steps = karras_sigmas(num_steps, sigma_min, sigma_max, rho, append_zero=True).to(device)
                out = sample_heun(denoise, latents, t_steps, noise, S_churn, S_min, S_max, S_noise, check)
                sigmas = t_steps[:-1].cpu().numpy()
            elif sampler == "fewstep":
                sigmas_t = karras_sigmas(num_steps, sigma_min, sigma_max, rho).to(device)
                out = sample_fewstep(denoise, latents, sigmas_t, noise, check)
                sigmas = sigmas_t.cpu().numpy()
            else:
                raise ValueError(f"unknown sampler {sampler!r}: use 'fewstep' or 'heun'")
    finally:
        for h in reversed(hooks):
            h.__exit__(None, None, None)
        if masker is not None:
            masker.set_context(None, None)

    cls = list(class_label) if isinstance(class_label, (list, tuple, np.ndarray)) else [class_label] * n
    settings = {
        "model_type": adapter.model_type,
        "sampler": sampler,
        "num_steps": num_steps,
        "guidance_scale": float(guidance_scale),
        "sigma_max": float(sigma_max),
        "sigma_min": float(sigma_min),
        "noise_mode": noise_mode,
        "seed": int(seed),
        "num_samples": n,
        "class_label": cls,
        "rho": rho,
        "S_churn": S_churn,
        "S_min": S_min,
        "S_max": S_max,
        "S_noise": S_noise,
        "extract_layers": layers,
        "mask": masker.settings() if masker is not None else None,
    }
    return GenerationResult(
        images=to_uint8_images(out),
        labels=np.array([-1 if c is None else int(c) for c in cls], dtype=np.int64),
        sigmas=np.asarray(sigmas, dtype=np.float64),
        trajectory=[r.activations for r in records],
        intermediates=[r.x0 for r in records],
        noised_inputs=[r.noised for r in records],
        settings=settings,
    )
