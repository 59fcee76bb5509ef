"""Generation with optional activation masks, recording the whole denoising trajectory.

The original DiffViews' generator API keeps its names, signatures and return types here:
``generate_with_mask_multistep``, ``generate_with_mask``, ``get_denoising_sigmas``, ``tensor_to_uint8_image``,
``save_generated_sample`` and ``infer_layer_shape``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..adapters.base import GeneratorAdapter
from ..generation_records import GenerationResult, StepRecord
from ..jobs import check_cancelled
from .extractor import ActivationExtractor
from .masking import ActivationMasker
from .samplers import NoiseSource, sample_fewstep, sample_heun
from .schedules import SIGMA_MAX, SIGMA_MIN, karras_sigmas, noise_percent_to_sigma

UNIFORM_CLASS = -1
DEFAULT_FIXED_SEED = 42  # the original's seed for the 'fixed' and 'zero' noise modes when none is given


def to_uint8_images(x: torch.Tensor) -> np.ndarray:
    """N x C x H x W in [-1, 1] -> N x H x W x C uint8, as (x * 127.5 + 128).clip(0, 255)."""
    return (x.to(torch.float32) * 127.5 + 128).clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def tensor_to_uint8_image(tensor: torch.Tensor) -> torch.Tensor:
    """The original's conversion: (B, C, H, W) in [-1, 1] -> (B, H, W, C) uint8 CPU tensor, ((x + 1) * 127.5) truncated."""
    return ((tensor + 1.0) * 127.5).clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).cpu()


def get_denoising_sigmas(num_steps: int, sigma_max: float, sigma_min: float, rho: float = 7.0) -> torch.Tensor:
    """Karras schedule from ``sigma_max`` down to ``sigma_min`` (float32, the original's argument order)."""
    return karras_sigmas(num_steps, sigma_min, sigma_max, rho).to(torch.float32)


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
        return self.adapter.forward(x.to(torch.float32), sigma, labels).to(device=x.device, dtype=torch.float32)

    def __call__(self, x, sigma, step, record=True):
        uncond_only = self.cond is None or self.g == 0.0
        first = "uncond" if uncond_only else "cond"
        recording = record and self.extractor is not None
        if recording:
            self.extractor.clear()  # a layer whose hook does not fire must not repeat the previous step's values
        out = self._pass(x, sigma, step, first)
        acts = self.extractor.get_activations() if recording else {}
        if not uncond_only and self.g != 1.0:
            out_u = self._pass(x, sigma, step, "uncond")
            out = out_u + self.g * (out - out_u)
        if record:
            self.on_record(step, float(sigma), x, out, acts)
        return out


def _check_cancel(cancel: threading.Event | None) -> Callable[[], None]:
    return lambda: check_cancelled(cancel, "generation cancelled")


def _resolve_sigma(sigma: float | None, percent: float | None, default_percent: float | None, fallback: float) -> float:
    """Noise percent (when given) wins; then sigma; None: the adapter's default percent, else ``fallback``."""
    if percent is not None:
        return noise_percent_to_sigma(percent)
    if sigma is not None:
        return float(sigma)
    return noise_percent_to_sigma(default_percent) if default_percent is not None else fallback


def generate_with_mask_multistep(
    adapter: GeneratorAdapter,
    masker: ActivationMasker | None = None,
    class_label: int | Sequence[int | None] | None = None,
    num_steps: int | None = 4,
    mask_steps: int | None = None,
    sigma_max: float | None = 80.0,
    sigma_min: float | None = 0.002,
    rho: float = 7.0,
    guidance_scale: float = 1.0,
    stochastic: bool = True,
    noise_mode: str = "stochastic",
    num_samples: int = 1,
    device: str | torch.device | None = None,
    seed: int | None = None,
    extract_layers: Sequence[str] | None = None,
    return_trajectory: bool = False,
    return_intermediates: bool = False,
    return_noised_inputs: bool = False,
    *,
    sampler: str | None = None,
    noise_max: float | None = None,
    noise_min: float | None = None,
    S_churn: float = 0.0,
    S_min: float = 0.0,
    S_max: float = float("inf"),
    S_noise: float = 1.0,
    latents: torch.Tensor | None = None,
    on_step: Callable[[StepRecord], None] | None = None,
    cancel: threading.Event | None = None,
) -> GenerationResult:
    """Denoise ``num_samples`` images of ``class_label`` with the masker's masks applied.

    The positional parameters are the original's, in its order and with its defaults. ``class_label``: an int for
    every sample, a list (one per sample; -1 = uniform, None = the null label), or None for random classes.
    ``mask_steps`` masks the first N steps for this call (default: the masker's own setting, every step unless it
    says otherwise). Noise range: ``noise_max``/``noise_min`` percent if given, else ``sigma_max``/``sigma_min``;
    None for either or for ``num_steps`` takes the adapter's default. ``noise_mode``: 'stochastic' (fresh seeded
    noise each step), 'fixed' (one seeded draw reused at every step) or 'zero' (no noise: the start is zeros unless
    ``latents`` are given); 'fixed' and 'zero' default to seed 42 like the original, otherwise a missing seed is
    drawn from torch's global generator. ``stochastic`` is the original's legacy flag, ignored there too.
    ``device`` defaults to the adapter's. ``sampler`` is 'fewstep' (DMD2-style x0 + re-noise, the original's
    loop) or 'heun' (EDM, with churn). The same ``seed`` and settings give bit-identical images on CPU. Trajectory
    activations are recorded for ``extract_layers`` (default: the masker's layers); the masker's hooks are added for
    the call unless the caller registered them. Returns a GenerationResult: the original's tuple, and more.
    """
    del stochastic  # the original ignores it whenever noise_mode is set, and noise_mode always is
    defaults = adapter.get_default_config() if hasattr(adapter, "get_default_config") else {}
    sampler = sampler or defaults.get("sampler", "fewstep")
    num_steps = int(num_steps or defaults.get("num_steps", 10))
    sigma_max = _resolve_sigma(sigma_max, noise_max, defaults.get("noise_max"), SIGMA_MAX)
    sigma_min = _resolve_sigma(sigma_min, noise_min, defaults.get("noise_min"), SIGMA_MIN)
    if sigma_min > sigma_max:
        raise ValueError(f"sigma_min {sigma_min} is above sigma_max {sigma_max}")
    if seed is None:
        seed = DEFAULT_FIXED_SEED if noise_mode in ("fixed", "zero") else int(torch.randint(0, 2**31, ()).item())
    device = torch.device(device) if device is not None else adapter.device
    n = int(num_samples)
    gen = torch.Generator(device="cpu").manual_seed(int(seed))
    if class_label is None:  # random classes, drawn first as the original does
        num_classes = adapter.num_classes
        class_label = torch.randint(0, num_classes, (n,), generator=gen).tolist() if num_classes else [None] * n
    shape = (n, adapter.img_channels, adapter.resolution, adapter.resolution)
    if latents is None:
        latents = torch.zeros(shape) if noise_mode == "zero" else torch.randn(shape, generator=gen)
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
    own_masker_hooks = masker is not None and not masker.hooks_registered
    saved_steps = (masker.mask_steps, masker.step_range) if masker is not None else None
    if masker is not None and mask_steps is not None:
        masker.mask_steps, masker.step_range = int(mask_steps), None
    mask_settings = masker.settings() if masker is not None else None
    try:
        if own_masker_hooks:
            masker.register_hooks()
        if extractor is not None:
            extractor.register_hooks()
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
        if extractor is not None:
            extractor.remove_hooks()
        if masker is not None:
            if own_masker_hooks:
                masker.remove_hooks()
            masker.set_context(None, None)
            masker.mask_steps, masker.step_range = saved_steps

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
        "mask": mask_settings,
    }
    flags = {
        "trajectory": return_trajectory,
        "intermediates": return_intermediates,
        "noised_inputs": return_noised_inputs,
    }
    return GenerationResult(
        images=to_uint8_images(out),
        labels=np.array([-1 if c is None else int(c) for c in cls], dtype=np.int64),
        sigmas=np.asarray(sigmas, dtype=np.float64),
        trajectory=[r.activations for r in records],
        intermediates=[r.x0 for r in records],
        noised_inputs=[r.noised for r in records],
        settings=settings,
        returned=tuple(name for name, wanted in flags.items() if wanted),
    )


def generate_with_mask(
    adapter: GeneratorAdapter,
    masker: ActivationMasker,
    class_label: int | None = None,
    conditioning_sigma: float = 0.1,
    num_samples: int = 1,
    device: str | torch.device | None = None,
    seed: int | None = None,
) -> GenerationResult:
    """One denoising step from noise at ``conditioning_sigma`` with the masker's masks (the original's single-step
    generator); unpacks as ``images, labels``."""
    return generate_with_mask_multistep(
        adapter,
        masker,
        class_label=class_label,
        num_steps=1,
        sigma_max=conditioning_sigma,
        sigma_min=conditioning_sigma,
        num_samples=num_samples,
        device=device,
        seed=seed,
        sampler="fewstep",
    )


def _path_part(value: str, what: str) -> str:
    """A single file-name component: the original joined these into paths unchecked (``../x`` left the folder)."""
    value = str(value)
    if value in ("", ".", "..") or any(c in value for c in "/\\\0"):
        raise ValueError(f"{what} {value!r} cannot be a file name (no path separators, not '.' or '..')")
    return value


def save_generated_sample(
    image: torch.Tensor | np.ndarray,
    activations: dict[str, Any],
    metadata: dict[str, Any],
    output_dir: str | Path,
    sample_id: str,
) -> dict[str, Any]:
    """Write ``images/<model>/<sample_id>.png`` and, when there are activations, ``activations/<model>/<sample_id>``
    .npz + .json (the metadata) under ``output_dir``; returns the record (sample_id, image_path, metadata).

    ``model`` comes from ``metadata['model']`` (default 'generated'). ``image`` is H x W x C (or H x W) uint8.
    """
    from ..atomic import atomic_path, atomic_write_text
    from ..demo.images import write_png

    output_dir = Path(output_dir)
    model_name = _path_part(metadata.get("model", "generated"), "model name")
    sample_id = _path_part(sample_id, "sample id")
    pixels = image.cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    if pixels.dtype != np.uint8 or pixels.ndim not in (2, 3):
        raise ValueError(f"image must be H x W x C uint8, not {pixels.dtype} of shape {pixels.shape}")
    write_png(output_dir / "images" / model_name / f"{sample_id}.png", pixels)
    if activations:
        base = output_dir / "activations" / model_name / sample_id
        arrays = {}
        for name, act in activations.items():
            a = act.detach().cpu().numpy() if isinstance(act, torch.Tensor) else np.asarray(act)
            arrays[name] = a.reshape(a.shape[0], -1) if a.ndim == 4 else a
        with atomic_path(base.with_suffix(".npz"), suffix=".npz") as tmp:
            np.savez_compressed(tmp, **arrays)
        atomic_write_text(base.with_suffix(".json"), json.dumps(metadata, indent=2))
    return {"sample_id": sample_id, "image_path": f"images/{model_name}/{sample_id}.png", **metadata}


def infer_layer_shape(
    adapter: GeneratorAdapter, layer_name: str, device: str | torch.device | None = None
) -> tuple[int, ...]:
    """Per-sample output shape of ``layer_name``: from ``get_layer_shapes``, else from one forward at sigma 80."""
    shapes = adapter.get_layer_shapes()
    if layer_name in shapes:
        return tuple(shapes[layer_name])
    device = torch.device(device) if device is not None else adapter.device
    r, c = adapter.resolution, adapter.img_channels
    labels = class_label_tensor(0, adapter.num_classes, 1, device)
    with ActivationExtractor(adapter, [layer_name]) as extractor, torch.no_grad():
        adapter.forward(torch.randn(1, c, r, r, device=device) * 80.0, torch.full((1,), 80.0, device=device), labels)
    activations = extractor.get_activations()
    if layer_name not in activations:
        raise ValueError(f"layer {layer_name} did not run during a forward pass")
    return tuple(activations[layer_name].shape[1:])
