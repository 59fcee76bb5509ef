"""Lineage of generated images: everything needed to say where an image came from and to regenerate it."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .atomic import atomic_write_text
from .errors import DataError
from .formats.files import sha256_file
from .mask_schedule import masked_steps

LINEAGE_VERSION = 1
_hash_cache: dict[tuple[str, int, int], str] = {}


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 of a file, cached by (path, size, mtime): a checkpoint is hashed once per session."""
    p = Path(path)
    st = p.stat()
    key = (str(p.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _hash_cache:
        _hash_cache[key] = sha256_file(p)
    return _hash_cache[key]


def images_sha256(images: np.ndarray) -> list[str]:
    return [hashlib.sha256(np.ascontiguousarray(img).tobytes()).hexdigest() for img in images]


@dataclass
class GenerationSettings:
    """The user's generation controls (the Generation dock), in the units the user sets them."""

    num_steps: int = 10
    mask_steps: int | None = 1
    step_range: list[int] | None = None  # (first, last), 1-based inclusive; overrides mask_steps
    guidance_scale: float = 1.0
    noise_max: float = 100.0  # percent
    noise_min: float = 0.0  # percent
    noise_mode: str = "stochastic"
    seed: int = 0
    num_samples: int = 1
    cfg_pass: str = "both"
    blend: float = 1.0
    sampler: str | None = None  # None: the adapter's default

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GenerationSettings:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})

    def masked_steps(self) -> list[int]:
        """The 0-based steps the mask applies to, by ``ActivationMasker``'s own rule (``mask_schedule``)."""
        return masked_steps(self.num_steps, self.mask_steps, self.step_range)

    def with_model_defaults(self, config: dict[str, Any]) -> GenerationSettings:
        """These settings with a model's recommended ones from its config.json (``default_steps``, ``noise_max``,
        ``noise_min``, ``default_guidance``, ``sampler``); the steps stay when the config names none."""
        sampler = config.get("sampler")
        return replace(
            self,
            num_steps=int(config.get("default_steps") or self.num_steps),
            noise_max=float(config.get("noise_max", 100.0)),
            noise_min=float(config.get("noise_min", 0.0)),
            guidance_scale=float(config.get("default_guidance", 1.0)),
            sampler=sampler if isinstance(sampler, str) else None,
        )


@dataclass
class Lineage:
    """Model, checkpoint hash, layers, source samples, class and every setting of one generation."""

    model: str
    adapter: str
    layers: list[str]
    source_sample_ids: list[int | str]  # integer or text ids, as the model's sample table holds them
    class_label: int | None
    settings: GenerationSettings
    masked: bool = True
    checkpoint: str | None = None
    checkpoint_sha256: str | None = None
    image_sha256: list[str] = field(default_factory=list)
    created: str = field(default_factory=lambda: _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
    version: int = LINEAGE_VERSION

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "lineage") -> Lineage:
        try:
            if int(data.get("version", 0)) != LINEAGE_VERSION:
                raise DataError(source, f"lineage version {data.get('version')!r}, expected {LINEAGE_VERSION}")
            fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
            fields["settings"] = GenerationSettings.from_dict(data["settings"])
            return cls(**fields)
        except (KeyError, TypeError) as exc:
            raise DataError(source, f"not a lineage record ({exc})") from None

    def save(self, path: str | os.PathLike) -> None:
        atomic_write_text(Path(path), json.dumps(self.to_dict(), indent=2))

    @classmethod
    def load(cls, path: str | os.PathLike) -> Lineage:
        p = Path(path)
        try:
            return cls.from_dict(json.loads(p.read_text(encoding="utf-8")), str(p))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DataError(p, f"invalid JSON: {exc}") from None
