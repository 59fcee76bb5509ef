"""Build a dataset in the project's format: clean images -> noised inputs -> layer activations, resumably.

Usage (Python)::

    from diffviews_core.pipelines.builder import BuildSpec, build_dataset
    from diffviews_core.pipelines.sources import ArraySource, FolderSource, GeneratedSource

    spec = BuildSpec(
        output=Path("data/fashion"),               # the model folder to create
        source=ArraySource(images, labels, names), # or any path source_paths.source_from reads, GeneratedSource(...)
        sigmas=[50.0, 14.0, 1.0, 0.05],
        layers=["encoder_bottleneck", "midblock"],
        label_mode="both",                         # "true", "null" or "both" (two rows per image and level)
        batch_size=64, seed=0,
    )
    path = build_dataset(spec, adapter=my_adapter, progress=lambda fraction, message: ..., cancel=threading.Event())

Without ``adapter`` the builder loads ``spec.adapter`` from ``spec.checkpoint``. Each image i at noise level l
is fed as ``x = image + sigma_l * eps`` with ``eps`` drawn from ``numpy.random.default_rng([seed, l, i])`` (image in
[-1, 1]), so the true- and null-label rows of an image share their noise. Rows are ordered level by level, then
label mode, then image. Work happens in ``<output>/.build/``: activations go into preallocated ``.npy`` files
(``open_memmap``) and ``progress.json`` is replaced atomically after every batch, so a build that is cancelled or
killed resumes at the next unfinished batch and ends with the same bytes as an uninterrupted one. The
``manifest.json`` is written last. Layout: docs/data-format.md.

``reductions={"midblock": ReductionSpec("pca", 64)}`` stores reduced rows instead of full ones (see
``diffviews_core.formats.reduction``): a PCA sketch is fitted first on the rows of a few evenly spaced batches (the
dataset's own rows) and kept in ``.build/reductions/`` so a resumed build applies the same one. The steps shared
with sharded and Ray builds (``noised_inputs``, ``forward_rows``, ``fit_build_reductions``, ``write_dataset_files``)
are module functions, so every engine computes the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import shutil
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.lib import format as npf

from ..atomic import atomic_path, atomic_write_json, replace_file
from ..class_index import imagenet_names, is_imagenet_model
from ..errors import DataError
from ..formats import native
from ..formats.files import read_json_object
from ..formats.reduction import DEFAULT_FIT_ROWS, LayerReduction, ReductionSpec, fit_reductions
from ..formats.table import write_csv
from ..jobs import Progress, check_cancelled, count_progress, report
from ..safe_io import preallocate
from .source_paths import source_from
from .sources import GeneratedSource, ImageSource

log = logging.getLogger(__name__)

LABEL_MODES = {"true": ("true",), "null": ("null",), "both": ("true", "null")}
WORK_DIR = ".build"


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
    reductions: Mapping[str, ReductionSpec] = field(default_factory=dict)  # layer -> stored reduction (none: full)
    reduction_fit_rows: int = DEFAULT_FIT_ROWS  # rows a PCA sketch is fitted on


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
    stray = sorted(set(spec.reductions) - set(spec.layers))
    if stray:
        raise ValueError(f"reduction given for {', '.join(stray)}, which is not among the layers built")


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
        if is_imagenet_model(spec.adapter or adapter.model_type, adapter.num_classes):
            known = imagenet_names()  # a source without names (names = the numbers) gets ImageNet's
            self.names = [known.get(c, n) if n == str(c) else n for c, n in zip(self.labels.tolist(), self.names)]
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
    fp = {
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
    if spec.reductions:  # only then, so fingerprints of full-size builds stay as they were
        fp["reductions"] = {k: v.describe() for k, v in sorted(spec.reductions.items())}
        fp["reduction_fit_rows"] = int(spec.reduction_fit_rows)
    return fp


def _image_rel(spec: BuildSpec, i: int) -> str:
    return f"images/{spec.dataset_type}/image_{i:06d}.png"


def _write_png(path: Path, img: np.ndarray) -> None:
    from PIL import Image

    im = Image.fromarray(img[:, :, 0] if img.shape[2] == 1 else img)
    with atomic_path(path) as tmp:
        im.save(tmp, format="PNG")


NOISE_NOTE = (
    "x = image + sigma * eps, eps ~ N(0, I) from numpy default_rng([seed, level, image_index]); image scaled to [-1, 1]"
)
ROW_ORDER = "level, label_mode, image"


def noised_inputs(clean: np.ndarray, sigma: float, level: int, first: int, seed: int) -> np.ndarray:
    """(n, C, H, W) float32 model inputs of clean uint8 images (n, H, W, C) numbered ``first``, ``first + 1``, ...:
    ``image + sigma * eps`` with eps drawn from ``default_rng([seed, level, image_index])``, so a row's noise
    depends only on the seed and the row, never on the batch or the machine that computes it."""
    x = np.asarray(clean, dtype=np.float32).transpose(0, 3, 1, 2) / 127.5 - 1.0
    eps = np.stack(
        [
            np.random.default_rng([int(seed), int(level), i]).standard_normal(x.shape[1:], dtype=np.float32)
            for i in range(first, first + len(x))
        ]
    )
    return x + np.float32(sigma) * eps


def forward_rows(
    adapter, x: np.ndarray, sigma: float, labels: Sequence[int | None], layers: Sequence[str]
) -> dict[str, np.ndarray]:
    """Per layer, the (n, C*H*W) float32 activations of one forward pass of the batch ``x`` at ``sigma``."""
    import torch

    from ..core.extractor import ActivationExtractor
    from ..core.generator import class_label_tensor

    n = len(x)
    device = adapter.device
    cond = class_label_tensor(list(labels), adapter.num_classes, n, device)
    sig = torch.full((n,), float(sigma), dtype=torch.float32)
    with ActivationExtractor(adapter, list(layers)) as ext, torch.no_grad():
        adapter.forward(torch.from_numpy(np.ascontiguousarray(x)).to(device), sig.to(device), cond)
        acts = ext.get_activations()
    return {name: acts[name].reshape(n, -1).numpy() for name in layers}


def reduce_rows(acts: Mapping[str, np.ndarray], reductions: Mapping[str, LayerReduction]) -> dict[str, np.ndarray]:
    """The rows as stored: reduced where the build reduces the layer, else as they are."""
    return {k: reductions[k].apply(v) if k in reductions else v for k, v in acts.items()}


def block_labels(plan: _Plan, block: int, a: int, z: int) -> list[int | None]:
    """The class labels given to the model for images a..z-1 in ``block`` (None: the null label)."""
    _li, mode = plan.blocks[block]
    return [int(v) for v in plan.labels[a:z]] if mode == "true" else [None] * (z - a)


def chunk_rows(adapter, plan: _Plan, spec: BuildSpec, clean: np.ndarray, chunk: int, block: int, layers) -> dict:
    """The full-size activations of one batch: images of ``chunk`` (clean uint8) at ``block``'s level and label."""
    li, _mode = plan.blocks[block]
    a, z = plan.chunks[chunk]
    x = noised_inputs(clean, plan.sigmas[li], li, a, spec.seed)
    return forward_rows(adapter, x, plan.sigmas[li], block_labels(plan, block, a, z), layers)


def fit_sample_chunks(plan: _Plan, fit_rows: int) -> list[int]:
    """Evenly spaced batches whose rows (every level and label mode) a PCA sketch is fitted on: whole batches, so
    the sample rows are exactly the dataset's rows, whichever engine computes them."""
    per_chunk = plan.bs * len(plan.blocks)
    want = min(len(plan.chunks), max(1, math.ceil(int(fit_rows) / per_chunk)))
    return sorted({int(round(v)) for v in np.linspace(0, len(plan.chunks) - 1, want)})


def fit_build_reductions(
    spec: BuildSpec,
    adapter,
    source: ImageSource,
    plan: _Plan,
    shapes: Mapping[str, Sequence[int]],
    progress: Progress | None = None,
) -> dict[str, LayerReduction]:
    """The build's reductions; PCA sketches are fitted on the rows of ``fit_sample_chunks``."""
    pca_layers = sorted(k for k, v in spec.reductions.items() if v.method == "pca")
    samples: dict[str, list[np.ndarray]] = {k: [] for k in pca_layers}
    if pca_layers:
        chunks = fit_sample_chunks(plan, spec.reduction_fit_rows)
        log.info("fitting PCA sketches of %s on the rows of %d batches", ", ".join(pca_layers), len(chunks))
        for k, c in enumerate(chunks):
            report(progress, None, f"PCA sketch: rows of batch {k + 1} of {len(chunks)}")
            a, z = plan.chunks[c]
            clean = source.load(np.arange(a, z), adapter, c)
            for b in range(len(plan.blocks)):
                for k, v in chunk_rows(adapter, plan, spec, clean, c, b, pca_layers).items():
                    samples[k].append(v)
    stacked = {k: np.concatenate(v) for k, v in samples.items()}
    return fit_reductions(spec.reductions, shapes, stacked)


def load_build_reductions(
    spec: BuildSpec, shapes: Mapping[str, Sequence[int]], folder: Path, plan: _Plan
) -> dict[str, LayerReduction]:
    """Reductions saved under ``folder`` by an earlier start of the same build (pooling needs no file)."""
    from ..formats.npyio import open_npy
    from ..formats.reduction import pca_files

    chunks = fit_sample_chunks(plan, spec.reduction_fit_rows)
    fit_rows = sum(plan.chunks[c][1] - plan.chunks[c][0] for c in chunks) * len(plan.blocks)
    out = {}
    for layer, rs in sorted(spec.reductions.items()):
        if rs.method == "pca":
            f = pca_files(layer)
            mean = np.asarray(open_npy(folder / f["mean"], ndim=1))
            comps = np.asarray(open_npy(folder / f["components"], ndim=2))
            out[layer] = LayerReduction(layer, rs, shapes[layer], mean, comps, fit_rows=fit_rows)
        else:
            out[layer] = LayerReduction(layer, rs, shapes[layer])
    return out


def layer_entries(layers: Sequence[str], shapes, reductions: Mapping[str, LayerReduction]) -> dict[str, dict]:
    """manifest.json ``layers``: file and per-row shape of each layer, and its reduction when it has one."""
    out = {}
    for k in sorted(layers):
        if k in reductions:
            out[k] = {"file": f"activations/{k}.npy", "shape": reductions[k].stored_shape,
                      "reduction": reductions[k].manifest_entry()}  # fmt: skip
        else:
            out[k] = {"file": f"activations/{k}.npy", "shape": list(shapes[k])}
    return out


def sample_columns(plan: _Plan, spec: BuildSpec) -> dict[str, np.ndarray]:
    """samples.csv of a build: one row per activation row, level by level, then label mode, then image."""
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
    for b, (li, mode) in enumerate(plan.blocks):
        for i in range(plan.n):
            cols["sample_id"].append(b * plan.id_offset + i)
            cols["class_label"].append(int(plan.labels[i]))
            cols["class_name"].append(plan.names[i])
            cols["image_path"].append(_image_rel(spec, i))
            cols["conditioning_sigma"].append(plan.sigmas[li])
            cols["label_mode"].append(mode)
            cols["image_index"].append(i)
            cols["level_index"].append(li)
    return {
        k: np.array(v, dtype=object if k in ("class_name", "image_path", "label_mode") else None)
        for k, v in cols.items()
    }


def dataset_config(spec: BuildSpec, adapter) -> dict:
    """config.json of a build."""
    return {
        "adapter": spec.adapter or adapter.model_type,
        "checkpoint": _checkpoint_record(spec, adapter),
        "dataset_type": spec.dataset_type,
        "conditioning_type": "class",
        **spec.config,
    }


def write_dataset_files(out: Path, rows: int, config: dict, layers: dict, fp: dict, dataset_type: str,
                        extra_files: Sequence[str] = ()) -> dict:  # fmt: skip
    """config.json, then manifest.json last (checksums of the activations, samples.csv, config and ``extra_files``,
    which must all be in place already)."""
    atomic_write_json(out / "config.json", config)
    files = [v["file"] for v in layers.values()] + [native.SAMPLES, "config.json", *extra_files]
    build = {**fp, "noise": NOISE_NOTE, "row_order": ROW_ORDER}
    return native.write_manifest(out, rows, layers, files, {"dataset_type": dataset_type, "build": build})


class _Builder:
    def __init__(self, spec: BuildSpec, adapter, source: ImageSource, plan: _Plan, fingerprint: dict) -> None:
        self.spec, self.adapter, self.source, self.plan, self.fp = spec, adapter, source, plan, fingerprint
        self.out = Path(spec.output)
        self.work = self.out / WORK_DIR
        self.shapes = {k: tuple(v) for k, v in adapter.get_layer_shapes().items() if k in spec.layers}
        self.layers = sorted(spec.layers)
        self.reductions: dict[str, LayerReduction] = {}

    # --- state -----------------------------------------------------------------------------------
    def _progress_path(self) -> Path:
        return self.work / "progress.json"

    def start(self, progress: Progress | None = None) -> int:
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
            self.reductions = load_build_reductions(self.spec, self.shapes, self.work, self.plan)
            return int(state.get("done", 0))
        if self.out.exists() and any(x.name != WORK_DIR for x in self.out.iterdir()):
            raise DataError(self.out, "folder is not empty: choose a new folder for the dataset")
        self.work.mkdir(parents=True, exist_ok=True)
        self.reductions = fit_build_reductions(self.spec, self.adapter, self.source, self.plan, self.shapes, progress)
        for red in self.reductions.values():
            red.save(self.work)
        res, ch = self.adapter.resolution, self.adapter.img_channels
        npf.open_memmap(str(self.work / "source.npy"), mode="w+", dtype=np.uint8, shape=(self.plan.n, res, res, ch))
        for name in self.layers:
            red = self.reductions.get(name)
            size, dtype = (red.out_dim, red.dtype) if red else (int(np.prod(self.shapes[name])), np.float32)
            npf.open_memmap(str(self.work / f"{name}.npy"), mode="w+", dtype=dtype, shape=(self.plan.rows, size))
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
        a, z = self.plan.chunks[c]
        src = npf.open_memmap(str(self.work / "source.npy"), mode="r")
        clean = np.array(src[a:z])
        del src
        acts = reduce_rows(chunk_rows(self.adapter, self.plan, self.spec, clean, c, b, self.layers), self.reductions)
        row0 = b * self.plan.n + a
        for name in self.layers:
            mm = npf.open_memmap(str(self.work / f"{name}.npy"), mode="r+")
            mm[row0 : row0 + (z - a)] = acts[name]
            mm.flush()
            del mm

    # --- finish ---------------------------------------------------------------------------------------
    def finish(self) -> Path:
        act_dir = self.out / "activations"
        act_dir.mkdir(parents=True, exist_ok=True)
        for name in self.layers:
            part = self.work / f"{name}.npy"
            if part.exists():
                replace_file(part, act_dir / f"{name}.npy")
        extra = []
        for red in self.reductions.values():
            extra += red.save(self.out)
        write_csv(self.out / native.SAMPLES, sample_columns(self.plan, self.spec))
        layers = layer_entries(self.layers, self.shapes, self.reductions)
        config = dataset_config(self.spec, self.adapter)
        write_dataset_files(self.out, self.plan.rows, config, layers, self.fp, self.spec.dataset_type, extra)
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

    ``progress(fraction, message)`` is called after every batch; setting ``cancel`` stops after the current batch
    with CancelledError, and calling again with the same spec resumes (the ``diffviews_core.jobs`` contract).
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
    done = builder.start(progress)
    if done:
        log.info("resuming build of %s at step %d of %d", out, done, plan.total)
    count_progress(progress, done, plan.total, "batches")
    for step in range(done, plan.total):
        check_cancelled(cancel, f"build of {out} cancelled after {step} of {plan.total} batches; run it again "
                                "with the same settings to resume")  # fmt: skip
        builder.run_step(step)
        builder._save_progress(step + 1)
        count_progress(progress, step + 1, plan.total, "batches")
    return builder.finish()
