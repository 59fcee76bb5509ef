"""Record layers a dataset did not store: rebuild each row's network input, run the model, keep the activations.

Usage (Python)::

    from diffviews_core.pipelines.layer_extraction import extract_layers

    paths = extract_layers(model, ["encoder_block_3"], progress=lambda done, total: ..., cancel=threading.Event())
    model.attach_layers(paths, {k: adapter.get_layer_shapes()[k] for k in paths})

Inputs are rebuilt with the recipe the rows were made with, so new columns line up with the stored ones:

- the project's own format (``manifest.json`` with a ``build`` record): exactly the builder's recipe,
  ``x = image + sigma * eps`` with ``eps`` from ``numpy.random.default_rng([seed, level_index, image_index])``, the
  true label on ``label_mode == "true"`` rows and the null label on ``null`` rows, batched block by block with the
  build's batch size, which makes the extracted rows bit-identical to what the build would have stored;
- the original layout (its rows were made from ``image * sigma`` with unrecorded settings, which cannot be
  replayed): ``x = image + sigma * eps`` with ``eps`` from ``default_rng([ORIGINAL_SEED, row])``, and the row's
  class label when the model is class-conditional (the original tool's extraction was conditional); the null
  label for unconditional models, text conditioning or a label outside the model's classes. A ``label_mode``
  column, where present, decides instead.

Images are fitted to the model's resolution and channels as the builder does. Each pass stops once the last wanted
layer has run (hookable order; whole passes when an adapter's order is not its execution order). Files go to
``<cache_dir>/layers/<key>/<layer>.npy``, (N, C*H*W) float32, never into the data folder (which may be read-only,
e.g. the demo inside site-packages). The key hashes the model folder, the checkpoint's SHA-256 (the weights' SHA-256
for an adapter built in memory), the rows and the input recipe. Work happens in ``.work-<layers>/`` beside the
results: preallocated ``.npy`` files and ``progress.json``, replaced atomically after every batch, so a cancelled
or killed extraction resumes at the next unfinished batch; finished files are moved into place with one rename each.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
import shutil
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.lib import format as npf

from ..atomic import atomic_write_json, replace_file
from ..errors import DataError
from ..formats.files import read_json_object, sha256_file
from ..formats.model import ModelData
from ..formats.npyio import npy_header
from ..jobs import Progress, check_cancelled, count_progress
from ..safe_io import preallocate
from .builder import _weights_sha256
from .sources import fit_image

log = logging.getLogger(__name__)

ORIGINAL_SEED = 0
DEFAULT_BATCH = 32
CACHE_SUBDIR = "layers"
BUILD_COLUMNS = ("image_index", "level_index", "label_mode")

_LAYER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


def load_adapter(model: ModelData, checkpoint: Path | str | None = None, adapter_name: str | None = None,
                 device: str = "cpu"):  # fmt: skip
    """The model's adapter from config.json's ``adapter`` and ``checkpoint`` (or the ones given)."""
    ckpt = checkpoint or checkpoint_of(model)
    from ..adapters import get_adapter

    return get_adapter(adapter_name or model.config["adapter"]).from_checkpoint(ckpt, device=device)


def checkpoint_of(model: ModelData) -> Path:
    """The weights file config.json names (resolved when the model was opened); a DataError saying why not."""
    ckpt = model.config.get("checkpoint")
    if ckpt:
        return Path(ckpt)
    raw = model.config.get("checkpoint_raw")
    reason = (
        f"checkpoint {raw!r} not found (tried the model folder, the data root and the working directory)"
        if raw
        else "config.json names no 'checkpoint'"
    )
    raise DataError(model.path / "config.json", f"generation and extraction need a checkpoint: {reason}")


def input_recipe(model: ModelData, batch_size: int | None = None) -> dict:
    """How every row's network input is rebuilt (JSON-ready; part of the cache key). See the module docstring."""
    build = (model.manifest or {}).get("build") or {}
    if "seed" in build and all(c in model.samples.columns for c in BUILD_COLUMNS):
        return {
            "kind": "build",
            "seed": int(build["seed"]),
            "noise": "x = image + sigma * eps, eps ~ default_rng([seed, level_index, image_index])",
            "labels": "label_mode column: true -> class label, null -> null label",
            "batch_size": int(batch_size or build.get("batch_size") or DEFAULT_BATCH),
            "batching": "per (level_index, label_mode) block",
        }
    return {
        "kind": "original",
        "seed": ORIGINAL_SEED,
        "noise": "x = image + sigma * eps, eps ~ default_rng([seed, row])",
        "labels": "label_mode column if any, else the class label (null if unconditional, text or out of range)",
        "batch_size": int(batch_size or DEFAULT_BATCH),
        "batching": "consecutive rows",
    }


def _batches(model: ModelData, recipe: dict) -> list[tuple[int, int]]:
    """Row ranges fed together; for built datasets the build's own batches (same inputs -> same bits)."""
    n, bs = model.num_samples, recipe["batch_size"]
    starts = [0]
    if recipe["kind"] == "build":
        cols = model.samples.columns
        block = list(zip(cols["level_index"].tolist(), cols["label_mode"].tolist()))
        starts += [i for i in range(1, n) if block[i] != block[i - 1]]
    starts.append(n)
    return [(a, min(a + bs, z)) for s, z in zip(starts, starts[1:]) for a in range(s, z, bs)]


def _rows_fingerprint(model: ModelData) -> str:
    """Hash of what defines the rows: ids, labels, noise levels, images (and build columns when present)."""
    h = hashlib.sha256()
    s = model.samples
    for arr in (s.sample_id, s.class_label, s.conditioning_sigma):
        if arr.dtype == object:  # text ids: their characters (an object array's bytes are pointers)
            h.update("\n".join(map(str, arr)).encode())
        else:
            h.update(np.ascontiguousarray(arr).tobytes())
    h.update("\n".join(map(str, s.image_path)).encode())
    for col in BUILD_COLUMNS:
        if col in s.columns:
            h.update("\n".join(map(str, s.columns[col])).encode())
    return h.hexdigest()


@functools.lru_cache(maxsize=16)
def _file_sha256(path: str, size: int, mtime_ns: int) -> str:
    return sha256_file(Path(path))


def _weights_identity(model: ModelData, adapter) -> str:
    ckpt = checkpoint_of(model) if adapter is None else getattr(adapter, "checkpoint_path", None)
    if ckpt:
        st = Path(ckpt).stat()
        return "checkpoint:" + _file_sha256(str(Path(ckpt).resolve()), st.st_size, st.st_mtime_ns)
    weights = _weights_sha256(adapter)
    if weights is None:
        raise ValueError("the adapter has neither a checkpoint_path nor a .net whose weights identify it")
    return "weights:" + weights


def extraction_folder(model: ModelData, adapter=None, batch_size: int | None = None) -> Path:
    """``<cache_dir>/layers/<key>``: where this model's extracted layers live for these weights and inputs."""
    from ..paths import cache_dir

    source = {
        "model": str(model.path.resolve()),
        "weights": _weights_identity(model, adapter),
        "rows": _rows_fingerprint(model),
        "recipe": input_recipe(model, batch_size),
    }
    key = hashlib.sha256(json.dumps(source, sort_keys=True).encode()).hexdigest()[:24]
    folder = cache_dir() / CACHE_SUBDIR / key
    if not (folder / "source.json").is_file():
        atomic_write_json(folder / "source.json", source)
    return folder


def _finished(path: Path, rows: int) -> bool:
    if not path.is_file():
        return False
    try:
        shape, dtype, _ = npy_header(path)
    except DataError as exc:
        log.warning("re-extracting: %s", exc)
        return False
    return len(shape) == 2 and shape[0] == rows and dtype == np.float32


class _StopForward(Exception):
    """Raised by a hook once the last wanted layer has run: the rest of the network is not needed."""


def _stop_forward(_module, _inputs, _output) -> None:
    raise _StopForward


def _lock(folder: Path) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(str(folder), threading.Lock())


class _Extraction:
    """One resumable pass over all rows recording ``layers`` into ``work``."""

    def __init__(self, model: ModelData, adapter, layers: list[str], recipe: dict, folder: Path) -> None:
        self.model, self.adapter, self.layers, self.recipe = model, adapter, layers, recipe
        self.folder = folder
        self.work = folder / (".work-" + hashlib.sha256("\n".join(layers).encode()).hexdigest()[:12])
        self.batches = _batches(model, recipe)
        order = list(adapter.hookable_layers)  # execution order for the built-in adapters
        self.stop_after: str | None = max(layers, key=order.index)
        shapes = adapter.get_layer_shapes()
        self.sizes = {k: int(np.prod(shapes[k])) for k in layers}
        self.fingerprint = {"layers": layers, "rows": model.num_samples, "sizes": self.sizes,
                            "batches": len(self.batches), "folder": folder.name}  # fmt: skip

    def start(self) -> int:
        """Open or create the work folder; returns how many batches are already done."""
        progress = self.work / "progress.json"
        if progress.is_file():
            state = read_json_object(progress)
            if state.get("fingerprint") == self.fingerprint and all(
                _finished(self.work / f"{k}.npy", self.model.num_samples) for k in self.layers
            ):
                return int(state.get("done", 0))
            log.warning("discarding unusable partial extraction in %s", self.work)
            shutil.rmtree(self.work)
        self.work.mkdir(parents=True, exist_ok=True)
        for name in self.layers:
            shape = (self.model.num_samples, self.sizes[name])
            npf.open_memmap(str(self.work / f"{name}.npy"), mode="w+", dtype=np.float32, shape=shape)
            preallocate(self.work / f"{name}.npy", (self.work / f"{name}.npy").stat().st_size)  # no SIGBUS when full
        self.save(0)
        return 0

    def save(self, done: int) -> None:
        state = {"fingerprint": self.fingerprint, "done": done, "total": len(self.batches)}
        atomic_write_json(self.work / "progress.json", state)

    def _labels(self, a: int, z: int) -> list[int | None]:
        cols, num_classes = self.model.samples.columns, self.adapter.num_classes
        labels = self.model.samples.class_label[a:z].tolist()
        if "label_mode" in cols:
            return [int(c) if m == "true" else None for c, m in zip(labels, cols["label_mode"][a:z])]
        if not num_classes or self.model.config.get("conditioning_type") != "class":
            return [None] * (z - a)
        return [int(c) if 0 <= c < num_classes else None for c in labels]

    def inputs(self, a: int, z: int) -> tuple[np.ndarray, np.ndarray, list[int | None]]:
        """(x, sigma, labels) of rows a..z-1, computed exactly as the builder computes them."""
        res, ch = self.adapter.resolution, self.adapter.img_channels
        imgs = np.stack([fit_image(self.model.image(r), res, ch) for r in range(a, z)])
        clean = np.asarray(imgs, dtype=np.float32).transpose(0, 3, 1, 2) / 127.5 - 1.0
        seed, cols = self.recipe["seed"], self.model.samples.columns
        if self.recipe["kind"] == "build":
            keys = [[seed, int(li), int(i)] for li, i in zip(cols["level_index"][a:z], cols["image_index"][a:z])]
        else:
            keys = [[seed, r] for r in range(a, z)]
        eps = np.stack([np.random.default_rng(k).standard_normal(clean.shape[1:], dtype=np.float32) for k in keys])
        sigma = self.model.samples.conditioning_sigma[a:z].astype(np.float32)
        return clean + sigma[:, None, None, None] * eps, sigma, self._labels(a, z)

    def run_batch(self, step: int) -> None:
        import torch

        from ..core.extractor import ActivationExtractor
        from ..core.generator import class_label_tensor

        a, z = self.batches[step]
        x, sigma, labels = self.inputs(a, z)
        device = self.adapter.device
        cond = class_label_tensor(labels, self.adapter.num_classes, z - a, device)
        x_t, sigma_t = torch.from_numpy(x).to(device), torch.from_numpy(sigma).to(device)
        with ActivationExtractor(self.adapter, self.layers) as ext, torch.no_grad():
            stops = self.adapter.register_activation_hooks([self.stop_after], _stop_forward) if self.stop_after else []
            try:
                self.adapter.forward(x_t, sigma_t, cond)
            except _StopForward:
                pass
            finally:
                for handle in stops:
                    handle.remove()
            acts = ext.get_activations()
            if any(k not in acts for k in self.layers):  # layers do not run in hookable order: whole passes
                self.stop_after = None
                self.adapter.forward(x_t, sigma_t, cond)
                acts = ext.get_activations()
        for name in self.layers:
            mm = npf.open_memmap(str(self.work / f"{name}.npy"), mode="r+")
            mm[a:z] = acts[name].reshape(z - a, -1).numpy()
            mm.flush()
            del mm

    def finish(self) -> None:
        for name in self.layers:
            replace_file(self.work / f"{name}.npy", self.folder / f"{name}.npy")
        shutil.rmtree(self.work)


def _check_weights(model: ModelData, adapter) -> None:
    """A built dataset records its weights' SHA-256: other weights would give rows unlike the stored ones."""
    recorded = ((model.manifest or {}).get("build") or {}).get("weights_sha256")
    if recorded and _weights_sha256(adapter) not in (None, recorded):
        where = getattr(adapter, "checkpoint_path", None) or "the adapter"
        raise DataError(where, f"weights differ from those {model.path / 'manifest.json'} records for this dataset; "
                               "extracted layers would not match its stored rows")  # fmt: skip


def extract_layers(
    model: ModelData,
    layers: Sequence[str],
    adapter=None,
    batch_size: int | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> dict[str, Path]:
    """Record ``layers`` for every row of ``model`` into the cache (or find them there); returns layer -> .npy.

    ``batch_size`` None uses the build's batch size (bit-identical rows) or 32. Without ``adapter`` it is loaded
    from the model's config, only if something is left to extract. ``progress(fraction, message)`` follows the
    batches; setting ``cancel`` stops after the current batch with CancelledError, and calling again resumes.
    """
    names = sorted(set(layers))
    if not names:
        raise ValueError("choose at least one layer")
    bad = [x for x in names if not _LAYER_RE.match(x)]
    if bad:
        raise ValueError(f"invalid layer name(s): {', '.join(map(repr, bad))}")
    folder = extraction_folder(model, adapter, batch_size)
    out = {k: folder / f"{k}.npy" for k in names}
    with _lock(folder):  # one extraction per model at a time: they would share the adapter's hooks
        todo = [k for k in names if not _finished(out[k], model.num_samples)]
        if not todo:
            return out
        adapter = adapter if adapter is not None else load_adapter(model)
        unknown = [x for x in todo if x not in adapter.hookable_layers]
        if unknown:
            raise ValueError(f"unknown layer(s) {', '.join(unknown)}; hookable: {', '.join(adapter.hookable_layers)}")
        _check_weights(model, adapter)
        job = _Extraction(model, adapter, todo, input_recipe(model, batch_size), folder)
        done, total = job.start(), len(job.batches)
        if done:
            log.info("resuming extraction of %s for %s at batch %d of %d", todo, model.name, done, total)
        for step in range(done, total):
            check_cancelled(cancel, f"extraction of {', '.join(todo)} cancelled after {step} of {total} batches; "
                                    "run it again to resume")  # fmt: skip
            job.run_batch(step)
            job.save(step + 1)
            count_progress(progress, step + 1, total, "batches")
        job.finish()
        log.info("extracted %s for %s (%d rows) into %s", todo, model.name, model.num_samples, folder)
    return out
