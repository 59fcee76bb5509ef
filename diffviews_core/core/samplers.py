"""Samplers as pure loops over a ``denoise(x, sigma, step, record)`` callable.

Keeping CFG, masking and recording in the callable lets the same loops serve every adapter and makes
each sampler a few lines that can be checked against the published algorithms.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal, Protocol

import torch

NoiseMode = Literal["stochastic", "fixed", "zero"]
NOISE_MODES = ("stochastic", "fixed", "zero")


class Denoise(Protocol):
    def __call__(self, x: torch.Tensor, sigma: torch.Tensor, step: int, record: bool = True) -> torch.Tensor: ...


class NoiseSource:
    """Seeded noise for re-noising: fresh every call (stochastic), one draw reused (fixed), or zeros.

    ``generator`` None draws from torch's global generator.
    """

    def __init__(self, mode: NoiseMode, shape: tuple[int, ...], generator: torch.Generator | None, device) -> None:
        if mode not in NOISE_MODES:
            raise ValueError(f"noise mode must be one of {NOISE_MODES}, not {mode!r}")
        self.mode, self.shape, self.generator, self.device = mode, shape, generator, device
        self._fixed: torch.Tensor | None = None

    def __call__(self) -> torch.Tensor:
        if self.mode == "zero":
            return torch.zeros(self.shape, device=self.device)
        if self.mode == "fixed":
            if self._fixed is None:
                self._fixed = torch.randn(self.shape, generator=self.generator).to(self.device)
            return self._fixed
        return torch.randn(self.shape, generator=self.generator).to(self.device)


def sample_fewstep(
    denoise: Denoise,
    latents: torch.Tensor,
    sigmas: torch.Tensor,
    noise: NoiseSource,
    check_cancel: Callable[[], None] = lambda: None,
) -> torch.Tensor:
    """DMD2-style: predict x0 at each sigma, then re-noise to the next sigma; the last prediction is the image."""
    x = latents * float(sigmas[0])
    pred = x
    for i in range(len(sigmas)):
        check_cancel()
        pred = denoise(x, sigmas[i], i)
        if i < len(sigmas) - 1:
            x = pred + float(sigmas[i + 1]) * noise()
    return pred


def sample_heun(
    denoise: Denoise,
    latents: torch.Tensor,
    t_steps: torch.Tensor,
    noise: NoiseSource,
    S_churn: float = 0.0,
    S_min: float = 0.0,
    S_max: float = float("inf"),
    S_noise: float = 1.0,
    check_cancel: Callable[[], None] = lambda: None,
) -> torch.Tensor:
    """EDM's 2nd-order Heun sampler with stochastic churn, state in float64; ``t_steps`` ends with 0."""
    n = len(t_steps) - 1
    x_next = latents.to(torch.float64) * t_steps[0]
    for i in range(n):
        check_cancel()
        t_cur, t_next = t_steps[i], t_steps[i + 1]
        x_cur = x_next
        gamma = min(S_churn / n, math.sqrt(2) - 1) if S_min <= float(t_cur) <= S_max else 0.0
        t_hat = t_cur + gamma * t_cur
        x_hat = x_cur + (t_hat**2 - t_cur**2).sqrt() * S_noise * noise().to(torch.float64)
        denoised = denoise(x_hat, t_hat, i, record=True).to(torch.float64)
        d_cur = (x_hat - denoised) / t_hat
        x_next = x_hat + (t_next - t_hat) * d_cur
        if i < n - 1:
            denoised = denoise(x_next, t_next, i, record=False).to(torch.float64)
            d_prime = (x_next - denoised) / t_next
            x_next = x_hat + (t_next - t_hat) * (0.5 * d_cur + 0.5 * d_prime)
    return x_next
