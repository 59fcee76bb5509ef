"""Noise-level schedules."""

from __future__ import annotations

import numpy as np
import torch

SIGMA_MIN = 0.002
SIGMA_MAX = 80.0


def noise_percent_to_sigma(percent: float) -> float:
    """Noise level 0..100 % -> sigma, log-linear between 0.002 and 80 (the original's slider)."""
    n = float(percent) / 100.0
    return float(SIGMA_MIN ** (1 - n) * SIGMA_MAX**n)


def sigma_to_noise_percent(sigma: float) -> float:
    return float(100.0 * np.log(sigma / SIGMA_MIN) / np.log(SIGMA_MAX / SIGMA_MIN))


def karras_sigmas(
    num_steps: int,
    sigma_min: float = SIGMA_MIN,
    sigma_max: float = SIGMA_MAX,
    rho: float = 7.0,
    append_zero: bool = False,
) -> torch.Tensor:
    """Karras et al. schedule, float64; ``append_zero`` adds the final t_N = 0 of the Heun sampler."""
    if num_steps < 1:
        raise ValueError("num_steps must be >= 1")
    i = torch.arange(num_steps, dtype=torch.float64)
    denom = max(num_steps - 1, 1)
    t = (sigma_max ** (1 / rho) + i / denom * (sigma_min ** (1 / rho) - sigma_max ** (1 / rho))) ** rho
    if append_zero:
        t = torch.cat([t, torch.zeros(1, dtype=torch.float64)])
    return t
