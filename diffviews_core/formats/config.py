"""A model's ``config.json`` normalised: old sigma keys become percent noise levels, gaps get adapter defaults."""

from __future__ import annotations

import math
from pathlib import Path

from .. import validate as v
from ..errors import DataError

DEFAULT_ADAPTER = "dmd2-imagenet-64"
DEFAULT_DATASET_TYPE = "imagenet_real"
# Fallbacks of the built-in adapters' default configs (kept here so opening data does not import torch).
ADAPTER_FALLBACKS = {
    "dmd2-imagenet-64": {"default_steps": 5, "noise_max": 100.0, "noise_min": 0.5},
    "edm-imagenet-64": {"default_steps": 50, "noise_max": 100.0, "noise_min": 0.0},
    "edm": {"default_steps": 18, "noise_max": 100.0, "noise_min": 0.0},
}
# The original's noise slider: log-linear in sigma between these (same as diffviews_core.core.schedules).
SIGMA_MIN, SIGMA_MAX = 0.002, 80.0
MAX_STEPS, MAX_GUIDANCE = 10_000, 1_000.0


def sigma_to_percent(sigma: float) -> float:
    pct = 100.0 * math.log(max(sigma, 1e-12) / SIGMA_MIN) / math.log(SIGMA_MAX / SIGMA_MIN)
    return min(100.0, max(0.0, pct))


def _number(path: Path, raw: dict, key: str, lo: float = -math.inf, hi: float = math.inf) -> float | None:
    if key not in raw or raw[key] is None:
        return None
    try:
        return v.number(raw[key], repr(key), lo, hi)
    except v.Invalid as exc:
        raise DataError(path, str(exc)) from None


def dataset_type_of(path: Path, raw: dict) -> str:
    """The activation/image subfolder name a config gives: a plain folder name (never a path that leads out)."""
    dataset_type = raw.get("dataset_type") or DEFAULT_DATASET_TYPE
    if (
        not isinstance(dataset_type, str)
        or any(c in dataset_type for c in "/\\\x00:")
        or dataset_type in (".", "..")
        or len(dataset_type.encode("utf-8", "surrogatepass")) > 255
    ):
        raise DataError(path, f"'dataset_type' must be a plain folder name, found {str(dataset_type)[:60]!r}")
    return dataset_type


def resolve_checkpoint(value: str | None, model_dir: Path, root_dir: Path | None) -> Path | None:
    """Checkpoint path tried relative to the model folder, then the data root, then the working directory."""
    if not value:
        return None
    try:
        p = Path(value).expanduser()
    except RuntimeError:  # "~someone" with no such user
        return None
    if p.is_absolute():
        return p if p.exists() else None
    for base in (model_dir, root_dir, Path.cwd()):
        if base is not None and (base / p).exists():
            return (base / p).resolve()
    return None


def normalise_config(path: Path, raw: dict, model_dir: Path, root_dir: Path | None) -> dict:
    """The config the app uses: adapter, checkpoint (Path or None), noise_max/noise_min in percent, defaults."""
    adapter = raw.get("adapter") or DEFAULT_ADAPTER
    if not isinstance(adapter, str) or len(adapter) > 255 or "\x00" in adapter:
        raise DataError(path, f"'adapter' must be an adapter name, found {str(adapter)[:60]!r}")
    fallback = ADAPTER_FALLBACKS.get(adapter, ADAPTER_FALLBACKS["edm"])
    cfg = dict(raw)
    cfg["adapter"] = adapter
    ckpt = raw.get("checkpoint")
    if ckpt is not None and (not isinstance(ckpt, str) or "\x00" in ckpt or len(ckpt) > 4096):
        raise DataError(path, f"'checkpoint' must be a path, found {str(ckpt)[:60]!r}")
    cfg["checkpoint_raw"] = ckpt
    cfg["checkpoint"] = resolve_checkpoint(ckpt, model_dir, root_dir)
    for pct_key, sigma_key in (("noise_max", "sigma_max"), ("noise_min", "sigma_min")):
        pct = _number(path, raw, pct_key, 0.0, 100.0)
        sigma = _number(path, raw, sigma_key)
        if pct is not None:
            cfg[pct_key] = pct
        elif sigma is not None:
            cfg[pct_key] = sigma_to_percent(sigma)
        else:
            cfg[pct_key] = fallback[pct_key]
    steps = _number(path, raw, "default_steps", 1, MAX_STEPS)
    cfg["default_steps"] = int(steps) if steps is not None else fallback["default_steps"]
    guidance = _number(path, raw, "default_guidance", 0.0, MAX_GUIDANCE)
    cfg["default_guidance"] = guidance if guidance is not None else 1.0
    cfg["conditioning_type"] = raw.get("conditioning_type") or "class"
    if not isinstance(cfg["conditioning_type"], str) or cfg["conditioning_type"] not in ("class", "text"):
        found = str(cfg["conditioning_type"])[:60]
        raise DataError(path, f"'conditioning_type' must be 'class' or 'text', found {found!r}")
    cfg["dataset_type"] = dataset_type_of(path, raw)
    return cfg
