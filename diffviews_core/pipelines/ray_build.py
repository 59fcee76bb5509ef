"""``diffviews build ... --engine ray``: the build as a Ray Data pipeline, on a local Ray instance or any Ray cluster.

The pipeline: batches of the build (``from_items``) -> read the batch's clean images and write them as PNGs, noise
them at every level (``noised_inputs``, one output row per level and label mode) -> model forward on a pool of
CPU or GPU actors, each holding the model once, which reduce the rows and write each batch's result as a piece file
-> the driver assembles a shard as soon as all its pieces are there, then merges the shards. The shards, plan and
merge are those of ``--shard i/N`` builds (``shards.py``), so the result is byte for byte the single-process
dataset, given the same torch thread count per forward pass.

An interrupted build resumes with the same command: finished shards and finished pieces are kept, only the rest
is computed. On a cluster the output folder (and an image folder source) must be on storage every node sees, and
diffviews-desktop must be installed on every node. Ray is imported only here (``pip install
diffviews-desktop[cluster]``), never by the app or at start-up.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..atomic import atomic_path
from ..errors import DataError, DiffViewsError
from ..jobs import Progress, check_cancelled, report
from .builder import BuildSpec, _image_rel, _write_png, forward_rows, noised_inputs, reduce_rows
from .merge import merge_shards
from .shards import RESUME, ShardedBuild, ShardPlan, ShardWriter
from .sources import GeneratedSource

log = logging.getLogger(__name__)

PIECES_DIR = "pieces"
DEFAULT_SHARD_BATCHES = 16  # batches per shard: the unit of resume and of the files merged


def import_ray():
    """Ray, or a message saying how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise DiffViewsError(
            "--engine ray needs Ray: pip install 'diffviews-desktop[cluster]' (or --shard i/N without Ray)"
        ) from None
    return ray


def piece_path(root: Path, chunk: int, block: int) -> Path:
    return root / PIECES_DIR / f"c{chunk:07d}-b{block:03d}.npz"


@dataclass(frozen=True)
class _ReadStage:
    """Read one batch's clean images, write their PNGs, emit its noised inputs at every level and label mode."""

    source: object
    chunks: Sequence[tuple[int, int]]
    blocks: Sequence[tuple[int, str]]
    sigmas: Sequence[float]
    labels: np.ndarray
    seed: int
    resolution: int
    channels: int
    out: str
    spec: BuildSpec
    todo: Mapping[int, Sequence[int]]  # chunk -> blocks still to compute

    def __call__(self, batch: dict) -> dict:
        chunk = int(batch["chunk"][0])
        a, z = self.chunks[chunk]
        shape = _Shape(self.resolution, self.channels)
        clean = self.source.load(np.arange(a, z), shape, chunk)
        for i in range(a, z):
            target = Path(self.out) / _image_rel(self.spec, i)
            if not target.is_file():
                _write_png(target, clean[i - a])
        rows = {"chunk": [], "block": [], "x": [], "sigma": [], "labels": [], "null_label": []}
        for b in self.todo[chunk]:
            li, mode = self.blocks[b]
            rows["chunk"].append(chunk)
            rows["block"].append(b)
            rows["x"].append(noised_inputs(clean, self.sigmas[li], li, a, self.seed))
            rows["sigma"].append(self.sigmas[li])
            rows["labels"].append(np.asarray(self.labels[a:z], dtype=np.int64))
            rows["null_label"].append(mode != "true")
        return {k: np.stack(v) if k in ("x", "labels") else np.asarray(v) for k, v in rows.items()}


@dataclass(frozen=True)
class _Shape:
    """What an image source needs to know of the model to fit images (no model in the read stage)."""

    resolution: int
    img_channels: int


@dataclass(frozen=True)
class _ForwardSettings:
    adapter: str
    checkpoint: str
    device: str
    threads: int
    weights_sha256: str | None
    layers: tuple[str, ...]
    reductions: Mapping  # layer -> ReductionSpec
    shapes: Mapping  # layer -> full per-row shape
    shards_root: str


class _ForwardActor:
    """Holds the model once; runs a batch's forward pass, reduces its rows and writes them as a piece file."""

    def __init__(self, settings: _ForwardSettings) -> None:
        import torch

        from ..adapters import get_adapter
        from ..formats.npyio import open_npy
        from ..formats.reduction import LayerReduction, pca_files
        from .builder import _weights_sha256

        torch.set_num_threads(settings.threads)
        self.settings = settings
        self.adapter = get_adapter(settings.adapter).from_checkpoint(settings.checkpoint, device=settings.device)
        if settings.weights_sha256 and _weights_sha256(self.adapter) != settings.weights_sha256:
            raise DataError(settings.checkpoint, "this worker's checkpoint differs from the driver's (weights sha256)")
        root = Path(settings.shards_root)
        self.reductions = {}
        for layer, spec in settings.reductions.items():
            if spec.method == "pca":
                files = pca_files(layer)
                mean = np.asarray(open_npy(root / files["mean"], ndim=1))
                comps = np.asarray(open_npy(root / files["components"], ndim=2))
                self.reductions[layer] = LayerReduction(layer, spec, settings.shapes[layer], mean, comps)
            else:
                self.reductions[layer] = LayerReduction(layer, spec, settings.shapes[layer])

    def __call__(self, batch: dict) -> dict:
        root = Path(self.settings.shards_root)
        for j in range(len(batch["chunk"])):
            labels = [None] * len(batch["labels"][j]) if batch["null_label"][j] else batch["labels"][j].tolist()
            acts = forward_rows(self.adapter, batch["x"][j], float(batch["sigma"][j]), labels, self.settings.layers)
            rows = reduce_rows(acts, self.reductions)
            target = piece_path(root, int(batch["chunk"][j]), int(batch["block"][j]))
            with atomic_path(target, suffix=".npz") as tmp, open(tmp, "wb") as fh:
                np.savez(fh, **rows)
        return {"chunk": np.asarray(batch["chunk"]), "block": np.asarray(batch["block"]), "pid": np.full(
            len(batch["chunk"]), os.getpid())}  # fmt: skip


def _assemble(plan: ShardPlan, build: ShardedBuild, shard: int) -> None:
    """Write a shard from its pieces (all present), then drop the pieces."""
    writer = ShardWriter(plan, shard)
    try:
        c0, c1 = build.shard_chunks[shard]
        pieces = []
        for c in range(c0, c1):
            a, _z = build.plan.chunks[c]
            for b in range(plan.blocks):
                path = piece_path(plan.root, c, b)
                with np.load(path, allow_pickle=False) as z:
                    writer.put(a, b, {k: z[k] for k in z.files})
                pieces.append(path)
        writer.finish()
    except BaseException:
        writer.abandon()
        raise
    for p in pieces:
        p.unlink()


@dataclass
class RayBuildReport:
    """What a Ray build did: for the CLI and the benchmarks."""

    path: Path
    shards: int
    batches_run: int
    workers: int
    seconds: float
    worker_pids: int  # distinct actor processes that ran batches


def build_with_ray(
    spec: BuildSpec,
    *,
    address: str | None = None,
    workers: int = 2,
    gpus_per_worker: float = 0.0,
    threads_per_worker: int = 1,
    shard_batches: int = DEFAULT_SHARD_BATCHES,
    merge: bool = True,
    adapter=None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    ray_options: Mapping | None = None,
) -> RayBuildReport:
    """Build ``spec`` with Ray (a local instance unless ``address`` names a cluster); see the module docstring.

    ``adapter`` (optional) is the driver's copy for planning; actors load ``spec.adapter`` from ``spec.checkpoint``.
    """
    if not spec.adapter or not spec.checkpoint:
        raise ValueError("a Ray build needs spec.adapter (a name) and spec.checkpoint: every worker loads the model")
    if isinstance(spec.source, GeneratedSource):
        raise DiffViewsError("--engine ray reads images; to build from generated images use --shard i/N")
    if workers < 1 or threads_per_worker < 1 or shard_batches < 1:
        raise ValueError("workers, threads per worker and batches per shard must be at least 1")
    ray = import_ray()
    t0 = time.perf_counter()
    build = ShardedBuild(spec, adapter=adapter, shard_batches=shard_batches)
    if build.finished:
        return RayBuildReport(Path(spec.output), build.count, 0, workers, time.perf_counter() - t0, 0)
    plan = build.prepare(progress)
    missing = plan.missing()
    todo: dict[int, list[int]] = {}
    for s in missing:
        for c in range(*build.shard_chunks[s]):
            blocks = [b for b in range(plan.blocks) if not piece_path(plan.root, c, b).is_file()]
            if blocks:
                todo[c] = blocks
    left = {s: sum(1 for c in range(*build.shard_chunks[s]) for b in todo.get(c, ())) for s in missing}
    shard_of = {c: s for s in missing for c in range(*build.shard_chunks[s])}
    total = sum(left.values())
    pids: set[int] = set()
    for s in [s for s in missing if left[s] == 0]:  # every piece computed before an interruption
        _assemble(plan, build, s)
    if total:
        started = _start_ray(ray, address, workers, threads_per_worker, gpus_per_worker, ray_options)
        rows = None
        try:
            rows = iter(_pipeline(ray, build, plan, todo, workers, threads_per_worker, gpus_per_worker).iter_rows())
            done = 0
            for row in rows:
                check_cancelled(cancel, f"Ray build of {spec.output} {RESUME}")
                s = shard_of[int(row["chunk"])]
                pids.add(int(row["pid"]))
                left[s] -= 1
                done += 1
                if left[s] == 0:
                    _assemble(plan, build, s)
                report(progress, done / total, f"{done} of {total} batches on {workers} Ray workers")
        finally:
            if rows is not None:
                rows.close()  # stops the pipeline now, not when the iterator is collected
            if started:
                ray.shutdown()
    if merge:
        merge_shards(Path(spec.output), progress=None, cancel=cancel)
    return RayBuildReport(Path(spec.output), build.count, total, workers, time.perf_counter() - t0, len(pids))


def _start_ray(ray, address, workers, threads, gpus, options) -> bool:
    """Connect to ``address`` or start a local instance sized for the pool; True if this call started Ray."""
    if ray.is_initialized():
        return False
    logging.getLogger("ray").setLevel(logging.WARNING)
    kwargs = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.WARNING,
              "configure_logging": False, **(options or {})}  # fmt: skip
    if address:
        ray.init(address=address, **kwargs)
    else:
        kwargs.setdefault("num_cpus", workers * threads + 1)
        if gpus:
            kwargs.setdefault("num_gpus", math.ceil(workers * gpus))
        ray.init(**kwargs)
    return True


def _pipeline(ray, build: ShardedBuild, plan: ShardPlan, todo, workers, threads, gpus):
    ctx = ray.data.DataContext.get_current()
    logging.getLogger("ray.data").setLevel(logging.ERROR)  # progress goes through ``progress``, not Ray's bars
    ctx.enable_progress_bars = False
    spec, adapter = build.spec, build.adapter
    read = _ReadStage(
        source=build.source,
        chunks=build.plan.chunks,
        blocks=build.plan.blocks,
        sigmas=build.plan.sigmas,
        labels=build.plan.labels,
        seed=int(spec.seed),
        resolution=adapter.resolution,
        channels=adapter.img_channels,
        out=str(build.out),
        spec=spec,
        todo=todo,
    )
    settings = _ForwardSettings(
        adapter=spec.adapter,
        checkpoint=str(Path(spec.checkpoint).resolve()),
        device="cuda" if gpus else "cpu",
        threads=threads,
        weights_sha256=build.fp.get("weights_sha256"),
        layers=tuple(build.layers),
        reductions=dict(spec.reductions),
        shapes=build.shapes,
        shards_root=str(plan.root),
    )
    items = [{"chunk": c} for c in sorted(todo)]
    ds = ray.data.from_items(items, override_num_blocks=len(items))
    ds = ds.map_batches(read, batch_size=1)
    return ds.map_batches(
        _ForwardActor,
        batch_size=1,
        fn_constructor_args=(settings,),
        compute=ray.data.ActorPoolStrategy(size=min(workers, len(items))),
        num_cpus=threads,
        num_gpus=gpus or None,
    )
