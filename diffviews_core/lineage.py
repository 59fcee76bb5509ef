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

from . import validate as v
from .atomic import atomic_write_text
from .errors import DataError
from .formats.files import sha256_file
from .mask_schedule import masked_steps
from .safe_io import read_json_file

LINEAGE_VERSION = 1
MAX_LINEAGE_BYTES = 64 << 20
MAX_SEED_DEPTH = 16  # generated images seeded by generated images...: a record nests at most this deep
MAX_SEEDS = 1024
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
    def from_dict(cls, data: Any) -> GenerationSettings:
        """Settings from a saved dict (unknown keys ignored, missing ones default); ``validate.Invalid`` names the
        first field with a wrong type or an out-of-range value."""
        data = v.mapping(data, "settings")
        out: dict[str, Any] = {}
        for key, check in _SETTING_CHECKS.items():
            if key in data:
                out[key] = check(data[key], f"settings.{key}")
        if out.get("step_range") is not None:
            first, last = v.fixed_length(out["step_range"], "settings.step_range", 2)
            if first > last:
                raise v.Invalid(f"settings.step_range {out['step_range']} runs backwards")
        if out.get("noise_min", 0.0) > out.get("noise_max", 100.0):
            raise v.Invalid("settings.noise_min is above settings.noise_max")
        return cls(**out)

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


MAX_STEPS = 10_000
MAX_SEED = 2**31 - 1  # the seed box's range (Qt spin boxes hold 32-bit ints)
NOISE_MODES = ("stochastic", "fixed", "zero")
CFG_PASSES = ("both", "cond", "uncond")
_SETTING_CHECKS = {
    "num_steps": lambda x, w: v.integer(x, w, 1, MAX_STEPS),
    "mask_steps": lambda x, w: v.optional_integer(x, w, 0, MAX_STEPS),
    "step_range": lambda x, w: None if x is None else v.integers(x, w, 1, MAX_STEPS, 2),
    "guidance_scale": lambda x, w: v.number(x, w, -1000.0, 1000.0),
    "noise_max": lambda x, w: v.number(x, w, 0.0, 100.0),
    "noise_min": lambda x, w: v.number(x, w, 0.0, 100.0),
    "noise_mode": lambda x, w: v.choice(x, w, NOISE_MODES),
    "seed": lambda x, w: v.integer(x, w, 0, MAX_SEED),
    "num_samples": lambda x, w: v.integer(x, w, 1, 1024),
    "cfg_pass": lambda x, w: v.choice(x, w, CFG_PASSES),
    "blend": lambda x, w: v.number(x, w, 0.0, 1.0),
    "sampler": lambda x, w: v.optional_text(x, w, 64),
}


@dataclass
class GeneratedSeed:
    """A generated image that joined a generation's mask: which image (``image``, its place in the batch) of which
    generation (``lineage``). Replaying regenerates it first, to recompute its activation."""

    lineage: Lineage
    image: int


@dataclass(frozen=True)
class SeedImage:
    """A generated image joining a mask, as a generation uses it: its final activation in the map's stored layout
    (the layers sorted, each flattened) and the record that regenerates it (kept in the new image's lineage)."""

    activation: np.ndarray
    source: GeneratedSeed


@dataclass
class Lineage:
    """Model, checkpoint hash, layers, source samples and generated images, class and every setting of one
    generation."""

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
    source_generated: list[GeneratedSeed] = field(default_factory=list)  # absent from records made before

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any, source: str = "lineage", depth: int = 0) -> Lineage:
        """A lineage record checked field by field; any wrong type or value is a DataError naming ``source``."""
        if depth > MAX_SEED_DEPTH:
            raise DataError(source, f"not a lineage record: generated seeds nest deeper than {MAX_SEED_DEPTH}")
        try:
            data = v.mapping(data, "the lineage record")
            if "version" in data and v.integer(data["version"], "version") != LINEAGE_VERSION:
                raise DataError(source, f"lineage version {data['version']!r}, expected {LINEAGE_VERSION}")
            if "version" not in data:
                raise v.Invalid("version missing")
            missing = [k for k in ("model", "adapter", "layers", "source_sample_ids", "settings") if k not in data]
            if missing:
                raise v.Invalid(f"missing field(s) {', '.join(missing)}")
            return cls(
                model=v.text(data["model"], "model"),
                adapter=v.text(data["adapter"], "adapter", 255),
                layers=v.texts(data["layers"], "layers", 4096),
                source_sample_ids=v.sample_ids(data["source_sample_ids"], "source_sample_ids", 10_000_000),
                class_label=v.optional_integer(data.get("class_label"), "class_label"),
                settings=GenerationSettings.from_dict(data["settings"]),
                masked=v.boolean(data.get("masked", True), "masked"),
                checkpoint=v.optional_text(data.get("checkpoint"), "checkpoint"),
                checkpoint_sha256=v.optional_text(data.get("checkpoint_sha256"), "checkpoint_sha256", 64),
                image_sha256=v.texts(data.get("image_sha256", []), "image_sha256", 1024),
                created=v.text(data.get("created", ""), "created", 64),
                source_generated=[cls._seed(x, f"source_generated[{i}]", source, depth) for i, x in
                                  enumerate(v.sequence(data.get("source_generated", []), "source_generated",
                                                       MAX_SEEDS))],
            )
        except v.Invalid as exc:
            raise DataError(source, f"not a lineage record: {exc}") from None

    @classmethod
    def _seed(cls, raw: Any, what: str, source: str, depth: int) -> GeneratedSeed:
        seed = v.mapping(raw, what)
        parent = cls.from_dict(seed.get("lineage"), source, depth + 1)
        return GeneratedSeed(parent, v.integer(seed.get("image"), f"{what}.image", 0, 1023))

    def save(self, path: str | os.PathLike) -> None:
        atomic_write_text(Path(path), json.dumps(self.to_dict(), indent=2))

    @classmethod
    def load(cls, path: str | os.PathLike) -> Lineage:
        p = Path(path)
        return cls.from_dict(read_json_file(p, MAX_LINEAGE_BYTES), str(p))
