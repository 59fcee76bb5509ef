"""Build a dataset in the project's format: clean images -> noised inputs -> layer activations, resumably.

Usage (Python)::

    from diffviews_core.store.builder import BuildSpec, build_dataset
    from diffviews_core.store.sources import ArraySource, FolderSource, GeneratedSource

    spec = BuildSpec(
        output=Path("data/fashion"),               # the model folder to create
        source=ArraySource(images, labels, names), # or FolderSource(dir), a dir/.npz path, GeneratedSource(...)
        sigmas=[50.0, 14.0, 1.0, 0.05],
        layers=["encoder_bottleneck", "midblock"],
        label_mode="both",                         # "true", "null" or "both" (two rows per image and level)
        batch_size=64, seed=0,
    )
    path = build_dataset(spec, adapter=my_adapter, progress=lambda done, total: ..., cancel=threading.Event())

Without ``adapter`` the builder loads ``spec.adapter`` from ``spec.checkpoint``. Each image i at noise level l
is fed as ``x = image + sigma_l * eps`` with ``eps`` drawn from ``numpy.random.default_rng([seed, l, i])`` (image in
[-1, 1]), so the true- and null-label rows of an image share their noise. Rows are ordered level by level, then
label mode, then image. Work happens in ``<output>/.build/``: activations go into preallocated ``.npy`` files
(``open_memmap``) and ``progress.json`` is replaced atomically after every batch, so a build that is cancelled or
killed resumes at the next unfinished batch and ends with the same bytes as an uninterrupted one. The
``manifest.json`` is written last. Layout: docs/data-format.md.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import shutil
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.lib import format as npf

from ..errors import CancelledError, DataError
from ..safe_io import preallocate
from . import native
from .files import atomic_path, atomic_write_json, read_json_object
from .sources import GeneratedSource, ImageSource, source_from
from .table import write_csv

log = logging.getLogger(__name__)

LABEL_MODES = {"true": ("true",), "null": ("null",), "both": ("true", "null")}
WORK_DIR = ".build"
Progress = Callable[[int, int], None]


@dataclass
class BuildSpec:
    """Everything that determines a dataset; the same spec always produces the same files."""

    output: Path
    source: ImageSource | str | Path
    sigmas: Sequence[float]
    layers: Sequence[str]
    adapter: str | None = None  # registry name; needed when no adapter object is passed
    checkpoint: Path | str | None = None
    batch_size: int = 32
    label_mode: str = "null"  # "true", "null" or "both"; null shows structure beyond the label
    seed: int = 0
    per_class: int | None = None  # first N images of each class (None: all)
    dataset_type: str = "custom"
    device: str = "cpu"
    config: dict = field(default_factory=dict)  # extra config.json keys (default_steps, noise_max, ...)


def _check_spec(spec: BuildSpec) -> None:
    if spec.label_mode not in LABEL_MODES:
        raise ValueError(f"label_mode must be one of {', '.join(LABEL_MODES)}, not {spec.label_mode!r}")
    sig = [float(s) for s in spec.sigmas]
    if not sig or not all(math.isfinite(s) and s > 0 for s in sig):
        raise ValueError(f"sigmas must be positive numbers, got {list(spec.sigmas)}")
    if int(spec.batch_size) < 1:
        raise ValueError("batch_size must be at least 1")
    if not spec.layers:
        raise ValueError("choose at least one layer")


def _weights_sha256(adapter) -> str | None:
    """SHA-256 over the network's parameters (sorted by name): identifies the weights a dataset came from."""
    net = getattr(adapter, "net", None)
    if net is None:
        return None
    h = hashlib.sha256()
    for name, t in sorted(net.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def _load_adapter(spec: BuildSpec):
    from ..adapters import get_adapter

    if not spec.adapter or not spec.checkpoint:
        raise ValueError("give an adapter object, or both spec.adapter (a name) and spec.checkpoint")
    return get_adapter(spec.adapter).from_checkpoint(spec.checkpoint, device=spec.device)


def _checkpoint_record(spec: BuildSpec, adapter) -> str | None:
    ckpt = spec.checkpoint or getattr(adapter, "checkpoint_path", None)
    return str(Path(ckpt).resolve()) if ckpt else None


class _Plan:
    """The fixed schedule of a build: which images, which rows, which batches."""

    def __init__(self, spec: BuildSpec, adapter, source: ImageSource) -> None:
        self.labels, self.names = source.catalogue(spec.per_class)
        self.n = len(self.labels)
        if self.n == 0:
            raise DataError(str(spec.output), "the image source holds no images")
        self.modes = LABEL_MODES[spec.label_mode]
        if adapter.num_classes == 0 and "true" in self.modes:
            raise ValueError("this model is unconditional: use label_mode='null'")
        if adapter.num_classes and "true" in self.modes:
            bad = self.labels[(self.labels < 0) | (self.labels >= adapter.num_classes)]
            if bad.size:
                raise DataError(
                    str(spec.output), f"class label {int(bad[0])} is outside the model's 0..{adapter.num_classes - 1}"
                )
        self.sigmas = [float(s) for s in spec.sigmas]
        self.bs = int(spec.batch_size)
        self.chunks = [(a, min(a + self.bs, self.n)) for a in range(0, self.n, self.bs)]
        self.blocks = [(li, m) for li in range(len(self.sigmas)) for m in self.modes]
        self.rows = self.n * len(self.blocks)
        self.total = len(self.chunks) * (1 + len(self.blocks))  # prepare chunks, then extraction batches
        self.id_offset = max(10000, 10 ** len(str(self.n - 1)))


def _fingerprint(spec: BuildSpec, adapter, source: ImageSource, weights: str | None) -> dict:
    return {
        "adapter": spec.adapter or adapter.model_type,
        "weights_sha256": weights,
        "resolution": adapter.resolution,
        "channels": adapter.img_channels,
        "source": source.describe(),
        "sigmas": [float(s) for s in spec.sigmas],
        "layers": sorted(spec.layers),
        "label_mode": spec.label_mode,
        "batch_size": int(spec.batch_size),
        "seed": int(spec.seed),
        "per_class": spec.per_class,
        "dataset_type": spec.dataset_type,
    }


def _image_rel(spec: BuildSpec, i: int) -> str:
    return f"images/{spec.dataset_type}/image_{i:06d}.png"


def _write_png(path: Path, img: np.ndarray) -> None:
    from PIL import Image

    im = Image.fromarray(img[:, :, 0] if img.shape[2] == 1 else img)
    with atomic_path(path) as tmp:
        im.save(tmp, format="PNG")


class _Builder:
    def __init__(self, spec: BuildSpec, adapter, source: ImageSource, plan: _Plan, fingerprint: dict) -> None:
        self.spec, self.adapter, self.source, self.plan, self.fp = spec, adapter, source, plan, fingerprint
        self.out = Path(spec.output)
        self.work = self.out / WORK_DIR
        self.shapes = {k: tuple(v) for k, v in adapter.get_layer_shapes().items() if k in spec.layers}
        self.layers = sorted(spec.layers)

    # --- state -----------------------------------------------------------------------------------
    def _progress_path(self) -> Path:
        return self.work / "progress.json"

    def start(self) -> int:
        """Create or reopen the work folder; returns how many steps are already done."""
        p = self._progress_path()
        if p.is_file():
            state = read_json_object(p)
            if state.get("fingerprint") != self.fp:
                raise DataError(
                    self.work,
                    "an unfinished build with different settings is here: use the same "
                    "settings to resume, or delete this folder to start over",
                )
            return int(state.get("done", 0))
        if self.out.exists() and any(x.name != WORK_DIR for x in self.out.iterdir()):
            raise DataError(self.out, "folder is not empty: choose a new folder for the dataset")
        self.work.mkdir(parents=True, exist_ok=True)
        res, ch = self.adapter.resolution, self.adapter.img_channels
        npf.open_memmap(str(self.work / "source.npy"), mode="w+", dtype=np.uint8, shape=(self.plan.n, res, res, ch))
        for name in self.layers:
            size = int(np.prod(self.shapes[name]))
            npf.open_memmap(str(self.work / f"{name}.npy"), mode="w+", dtype=np.float32, shape=(self.plan.rows, size))
        for p in self.work.glob("*.npy"):  # a memory-mapped write into a full disk is a SIGBUS: reserve space now
            preallocate(p, p.stat().st_size)
        self._save_progress(0)
        return 0

    def _save_progress(self, done: int) -> None:
        atomic_write_json(self._progress_path(), {"fingerprint": self.fp, "done": done, "total": self.plan.total})

    # --- steps -----------------------------------------------------------------------------------
    def run_step(self, step: int) -> None:
        nchunks = len(self.plan.chunks)
        if step < nchunks:
            self._prepare(step)
        else:
            b, c = divmod(step - nchunks, nchunks)
            self._extract(b, c)

    def _prepare(self, c: int) -> None:
        a, z = self.plan.chunks[c]
        imgs = self.source.load(np.arange(a, z), self.adapter, c)
        src = npf.open_memmap(str(self.work / "source.npy"), mode="r+")
        src[a:z] = imgs
        src.flush()
        del src
        for i in range(a, z):
            _write_png(self.out / _image_rel(self.spec, i), imgs[i - a])

    def _extract(self, b: int, c: int) -> None:
        import torch

        from ..core.extractor import ActivationExtractor
        from ..core.generator import class_label_tensor

        li, mode = self.plan.blocks[b]
        sigma = self.plan.sigmas[li]
        a, z = self.plan.chunks[c]
        src = npf.open_memmap(str(self.work / "source.npy"), mode="r")
        clean = np.asarray(src[a:z], dtype=np.float32).transpose(0, 3, 1, 2) / 127.5 - 1.0
        del src
        eps = np.stack(
            [
                np.random.default_rng([int(self.spec.seed), li, i]).standard_normal(clean.shape[1:], dtype=np.float32)
                for i in range(a, z)
            ]
        )
        x = torch.from_numpy(clean + np.float32(sigma) * eps)
        labels = [int(v) for v in self.plan.labels[a:z]] if mode == "true" else [None] * (z - a)
        device = self.adapter.device
        cond = class_label_tensor(labels, self.adapter.num_classes, z - a, device)
        sig = torch.full((z - a,), sigma, dtype=torch.float32)
        with ActivationExtractor(self.adapter, self.layers) as ext, torch.no_grad():
            self.adapter.forward(x.to(device), sig.to(device), cond)
            acts = ext.get_activations()
        row0 = b * self.plan.n + a
        for name in self.layers:
            mm = npf.open_memmap(str(self.work / f"{name}.npy"), mode="r+")
            mm[row0 : row0 + (z - a)] = acts[name].reshape(z - a, -1).numpy()
            mm.flush()
            del mm

    # --- finish ----------------------------------------------------------------------------------
    def _sample_columns(self) -> dict[str, np.ndarray]:
        p = self.plan
        cols: dict[str, list] = {
            k: []
            for k in (
                "sample_id",
                "class_label",
                "class_name",
                "image_path",
                "conditioning_sigma",
                "label_mode",
                "image_index",
                "level_index",
            )
        }
        for b, (li, mode) in enumerate(p.blocks):
            for i in range(p.n):
                cols["sample_id"].append(b * p.id_offset + i)
                cols["class_label"].append(int(p.labels[i]))
                cols["class_name"].append(p.names[i])
                cols["image_path"].append(_image_rel(self.spec, i))
                cols["conditioning_sigma"].append(p.sigmas[li])
                cols["label_mode"].append(mode)
                cols["image_index"].append(i)
                cols["level_index"].append(li)
        return {
            k: np.array(v, dtype=object if k in ("class_name", "image_path", "label_mode") else None)
            for k, v in cols.items()
        }

    def finish(self) -> Path:
        act_dir = self.out / "activations"
        act_dir.mkdir(parents=True, exist_ok=True)
        for name in self.layers:
            part = self.work / f"{name}.npy"
            if part.exists():
                with open(part, "rb+") as fh:
                    os.fsync(fh.fileno())
                os.replace(part, act_dir / f"{name}.npy")
        write_csv(self.out / native.SAMPLES, self._sample_columns())
        adapter_name = self.spec.adapter or self.adapter.model_type
        cfg = {
            "adapter": adapter_name,
            "checkpoint": _checkpoint_record(self.spec, self.adapter),
            "dataset_type": self.spec.dataset_type,
            "conditioning_type": "class",
            **self.spec.config,
        }
        atomic_write_json(self.out / "config.json", cfg)
        layers = {k: {"file": f"activations/{k}.npy", "shape": list(self.shapes[k])} for k in self.layers}
        files = [f"activations/{k}.npy" for k in self.layers] + [native.SAMPLES, "config.json"]
        build = {
            **self.fp,
            "noise": "x = image + sigma * eps, eps ~ N(0, I) from numpy default_rng([seed, level, "
            "image_index]); image scaled to [-1, 1]",
            "row_order": "level, label_mode, image",
        }
        native.write_manifest(
            self.out, self.plan.rows, layers, files, {"dataset_type": self.spec.dataset_type, "build": build}
        )
        shutil.rmtree(self.work)
        return self.out


def _already_built(out: Path, fp: dict) -> bool:
    if not native.is_native(out):
        return False
    manifest = native.read_manifest(out)
    built = {k: v for k, v in manifest.get("build", {}).items() if k in fp}
    if built != fp:
        raise DataError(out, "already holds a different dataset: choose a new folder")
    return True


def build_dataset(
    spec: BuildSpec,
    adapter=None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Build (or resume, or return the finished) dataset of ``spec``; returns the model folder.

    ``progress(done, total)`` is called after every batch; setting ``cancel`` stops after the current batch with
    CancelledError, and calling again with the same spec resumes.
    """
    _check_spec(spec)
    adapter = adapter if adapter is not None else _load_adapter(spec)
    unknown = [x for x in spec.layers if x not in adapter.hookable_layers]
    if unknown:
        raise ValueError(f"unknown layer(s) {', '.join(unknown)}; hookable: {', '.join(adapter.hookable_layers)}")
    source = source_from(spec.source)
    if isinstance(source, GeneratedSource) and source.classes is None:
        source.classes = list(range(adapter.num_classes)) if adapter.num_classes else [-1]
    fp = json.loads(json.dumps(_fingerprint(spec, adapter, source, _weights_sha256(adapter))))  # as stored
    out = Path(spec.output)
    if _already_built(out, fp):
        return out
    plan = _Plan(spec, adapter, source)
    builder = _Builder(spec, adapter, source, plan, fp)
    done = builder.start()
    if done:
        log.info("resuming build of %s at step %d of %d", out, done, plan.total)
    if progress:
        progress(done, plan.total)
    for step in range(done, plan.total):
        if cancel is not None and cancel.is_set():
            raise CancelledError(
                f"build of {out} cancelled after {step} of {plan.total} steps; run it again with "
                "the same settings to resume"
            )
        builder.run_step(step)
        builder._save_progress(step + 1)
        if progress:
            progress(step + 1, plan.total)
    return builder.finish()
