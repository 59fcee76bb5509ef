"""A sharded build: the plan every shard shares, and building one shard in this process.

Everything lives inside the output folder while the build runs::

    <out>/shards/plan.json                 fingerprint, shard count, image ranges, layer records, config, checksums
    <out>/shards/samples.csv               the final sample table
    <out>/shards/reductions/               PCA sketches, fitted once on the build's own rows
    <out>/shards/shard-00001-of-00004/     <layer>.npy (the shard's rows: level, label mode, image) + shard.json
    <out>/images/<dataset_type>/...        clean images, written by the shard that holds them

The first process to arrive writes the plan; files are published with a hard link that fails if another process
got there first, so concurrent shards (a Slurm array on a shared file system) agree on one plan. A shard is built
in a hidden partial folder and renamed into place after its ``shard.json`` (checksums) is written, so a folder named
``shard-*`` is always complete; a killed shard is simply built again, finished ones are never redone.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
from numpy.lib import format as npf

from .. import validate as v
from ..atomic import atomic_write_json
from ..errors import DataError
from ..formats import native
from ..formats.files import read_json_object, sha256_file
from ..formats.reduction import REDUCTIONS_DIR, LayerReduction
from ..formats.table import write_csv
from ..jobs import Progress, check_cancelled, report
from ..safe_io import MAX_JSON_BYTES, parse_json, preallocate, read_regular_bytes
from .builder import (
    BuildSpec,
    _already_built,
    _check_spec,
    _fingerprint,
    _image_rel,
    _load_adapter,
    _Plan,
    _weights_sha256,
    _write_png,
    chunk_rows,
    dataset_config,
    fit_build_reductions,
    layer_entries,
    reduce_rows,
    sample_columns,
)
from .source_paths import source_from
from .sources import GeneratedSource, ImageSource

log = logging.getLogger(__name__)

SHARDS_DIR = "shards"
PLAN_FILE = "plan.json"
SHARD_FILE = "shard.json"
PLAN_FORMAT = "diffviews-shards/1"
RESUME = "cancelled; run it again with the same settings to resume"
MAX_SHARDS = 1_000_000
LAYER_DTYPES = ("float32", "float16")  # what a build stores (float16 only for reduced layers)


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/N"`` (0-based i) -> (i, N)."""
    i, sep, n = str(text).partition("/")
    if not sep or not i.strip().isdigit() or not n.strip().isdigit():
        raise ValueError(f"--shard takes i/N (e.g. 0/4), not {text!r}")
    i, n = int(i), int(n)
    if n < 1 or not 0 <= i < n:
        raise ValueError(f"--shard {text}: need 0 <= i < N")
    return i, n


def shard_name(index: int, count: int) -> str:
    return f"shard-{index:05d}-of-{count:05d}"


def split_chunks(num_chunks: int, count: int) -> list[tuple[int, int]]:
    """Contiguous, near-equal ranges of batch indices, one per shard (some empty when there are more shards)."""
    sizes = [len(part) for part in np.array_split(np.arange(num_chunks), count)]
    edges = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    return [(int(edges[i]), int(edges[i + 1])) for i in range(count)]


def _publish(path: Path, write: Callable[[Path], None]) -> bool:
    """Create ``path`` unless it exists: written to a temporary name, then hard-linked into place, which fails if
    another process published it first (theirs is kept). True when this call created it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    finally:
        os.unlink(tmp)


def _publish_array(path: Path, arr: np.ndarray) -> bool:
    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.save(fh, arr, allow_pickle=False)

    return _publish(path, write)


def _span(value, what: str) -> tuple[int, int]:
    """A [first, end) range of non-negative ints."""
    first, end = v.fixed_length(v.integers(value, what, 0, 2**62, 2), what, 2)
    if first > end:
        raise v.Invalid(f"{what} {[first, end]} runs backwards")
    return first, end


def _json_bytes(data) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n").encode()


class ShardPlan:
    """What every shard of one build shares, read back from ``plan.json`` (no model needed): used by the merge,
    the Ray engine's assembly step and ``shard_status``."""

    def __init__(self, out: Path) -> None:
        self.out = Path(out)
        self.root = self.out / SHARDS_DIR
        path = self.root / PLAN_FILE
        if not path.is_file():
            raise DataError(self.root, "no sharded build here (expected shards/plan.json): start one with "
                            "`diffviews build ... --shard i/N` or `--engine ray`")  # fmt: skip
        raw = read_regular_bytes(path, MAX_JSON_BYTES)
        self.data = parse_json(raw, path)
        if not isinstance(self.data, dict) or self.data.get("format") != PLAN_FORMAT:
            found = self.data.get("format") if isinstance(self.data, dict) else None
            raise DataError(path, f"'format' is {str(found)[:60]!r}, expected {PLAN_FORMAT!r}")
        self.id = hashlib.sha256(raw).hexdigest()
        try:
            self._check_fields()
        except v.Invalid as exc:
            raise DataError(path, str(exc)) from None

    def _check_fields(self) -> None:
        """Every field the merge uses typed, and every name it turns into a path kept inside the build folder."""
        d = self.data
        self.count = v.integer(d.get("count"), "'count'", 1, MAX_SHARDS)
        self.blocks = v.integer(d.get("blocks"), "'blocks'", 1, 2**31 - 1)
        v.integer(d.get("rows"), "'rows'", 0)
        v.integer(d.get("num_images"), "'num_images'", 0)
        for key in ("fingerprint", "config", "layers"):
            v.mapping(d.get(key), f"'{key}'")
        v.text(d.get("dataset_type"), "'dataset_type'", 255, empty=False)
        self.images = [_span(r, f"shard_images[{i}]") for i, r in enumerate(v.sequence(d.get("shard_images"),
                                                                                          "'shard_images'"))]  # fmt: skip
        self.chunks = [_span(r, f"shard_chunks[{i}]") for i, r in enumerate(v.sequence(d.get("shard_chunks"),
                                                                                          "'shard_chunks'"))]  # fmt: skip
        if len(self.images) != self.count or len(self.chunks) != self.count:
            raise v.Invalid("'shard_images' and 'shard_chunks' need one entry per shard")
        self.widths = {}
        for name, entry in v.mapping(d.get("widths"), "'widths'").items():
            if "/" in v.relative_path(f"{name}.npy", f"widths key {name!r}"):
                raise v.Invalid(f"widths key {name!r} is not a plain layer name")
            width, dtype = v.fixed_length(v.sequence(entry, f"widths[{name!r}]", 2), f"widths[{name!r}]", 2)
            self.widths[name] = (v.integer(width, f"widths[{name!r}][0]", 0, 2**40),
                                 np.dtype(v.choice(dtype, f"widths[{name!r}][1]", LAYER_DTYPES)))  # fmt: skip
        d["extra_files"] = [v.relative_path(rel, "an entry of 'extra_files'") for rel in
                            v.sequence(d.get("extra_files", []), "'extra_files'")]  # fmt: skip
        d["checksums"] = {v.relative_path(rel, "a path in 'checksums'"): v.text(h, f"checksums[{rel!r}]", 64)
                          for rel, h in v.mapping(d.get("checksums", {}), "'checksums'").items()}  # fmt: skip

    @property
    def fingerprint(self) -> dict:
        return self.data["fingerprint"]

    def shard_dir(self, index: int) -> Path:
        return self.root / shard_name(index, self.count)

    def shard_rows(self, index: int) -> int:
        a, z = self.images[index]
        return (z - a) * self.blocks

    def is_done(self, index: int) -> bool:
        """A finished shard of this plan (its record names this plan; sizes are checked, checksums at merge)."""
        info_path = self.shard_dir(index) / SHARD_FILE
        if not info_path.is_file():
            return False
        info = self.shard_info(index)
        return all((self.shard_dir(index) / rel).is_file() and (self.shard_dir(index) / rel).stat().st_size
                   == rec["bytes"] for rel, rec in info["files"].items())  # fmt: skip

    def shard_info(self, index: int) -> dict:
        """A shard's ``shard.json``: of this plan, its files plain names with a size and a SHA-256."""
        info_path = self.shard_dir(index) / SHARD_FILE
        info = read_json_object(info_path)
        if info.get("plan") != self.id:
            raise DataError(info_path, "belongs to a different build plan: delete the shards folder to start over")
        try:
            files = {}
            for rel, rec in v.mapping(info.get("files", {}), "'files'").items():
                if "/" in v.relative_path(rel, "a name in 'files'"):
                    raise v.Invalid(f"files key {rel!r} is not a file of the shard's own folder")
                rec = v.mapping(rec, f"files[{rel!r}]")
                files[rel] = {"bytes": v.integer(rec.get("bytes"), f"files[{rel!r}].bytes", 0),
                              "sha256": v.text(rec.get("sha256"), f"files[{rel!r}].sha256", 64)}  # fmt: skip
        except v.Invalid as exc:
            raise DataError(info_path, str(exc)) from None
        return {**info, "files": files}

    def missing(self) -> list[int]:
        return [i for i in range(self.count) if not self.is_done(i)]


class ShardWriter:
    """Rows of one shard, written into a hidden partial folder; ``finish`` records checksums and renames it into
    place (or drops it if another process finished the same shard first)."""

    def __init__(self, plan: ShardPlan, index: int) -> None:
        self.plan, self.index = plan, index
        self.final = plan.shard_dir(index)
        for stale in plan.root.glob(f".{self.final.name}.partial-*"):
            shutil.rmtree(stale, ignore_errors=True)  # left by a killed run of this shard
        self.tmp = Path(tempfile.mkdtemp(dir=plan.root, prefix=f".{self.final.name}.partial-"))
        self.first_image, self.last_image = plan.images[index]
        self.n = self.last_image - self.first_image
        rows = self.n * plan.blocks
        for name, (width, dtype) in plan.widths.items():
            if rows:
                npf.open_memmap(str(self.tmp / f"{name}.npy"), mode="w+", dtype=dtype, shape=(rows, width))
                preallocate(self.tmp / f"{name}.npy", (self.tmp / f"{name}.npy").stat().st_size)  # no SIGBUS when full
            else:  # an empty shard (more shards than batches): a memory map cannot be empty
                np.save(self.tmp / f"{name}.npy", np.empty((0, width), dtype=dtype))

    def put(self, first: int, block: int, rows: Mapping[str, np.ndarray]) -> None:
        """Stored rows of images ``first``.. at ``block``."""
        start = block * self.n + (first - self.first_image)
        for name, arr in rows.items():
            mm = npf.open_memmap(str(self.tmp / f"{name}.npy"), mode="r+")
            mm[start : start + len(arr)] = arr
            mm.flush()
            del mm

    def finish(self) -> Path:
        files = {}
        for name in sorted(self.plan.widths):
            p = self.tmp / f"{name}.npy"
            with open(p, "rb+") as fh:
                os.fsync(fh.fileno())
            files[p.name] = native.file_record(self.tmp, p.name)
        info = {"plan": self.plan.id, "index": self.index, "count": self.plan.count,
                "images": [self.first_image, self.last_image], "rows": self.n * self.plan.blocks, "files": files}  # fmt: skip
        atomic_write_json(self.tmp / SHARD_FILE, info)
        try:
            os.rename(self.tmp, self.final)
        except OSError:
            if not (self.final / SHARD_FILE).is_file():
                raise
            shutil.rmtree(self.tmp, ignore_errors=True)  # another process finished this shard first
        return self.final

    def abandon(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


class ShardedBuild:
    """A build split into ``count`` shards of whole batches, or into shards of ``shard_batches`` batches each (the
    model is needed; merging is not)."""

    def __init__(
        self, spec: BuildSpec, count: int | None = None, adapter=None, shard_batches: int | None = None
    ) -> None:
        _check_spec(spec)
        if (count is None) == (shard_batches is None):
            raise ValueError("give either the shard count or the batches per shard")
        if int(count or shard_batches) < 1:
            raise ValueError("the shard count and the batches per shard must be at least 1")
        self.spec = spec
        self.adapter = adapter if adapter is not None else _load_adapter(spec)
        unknown = [x for x in spec.layers if x not in self.adapter.hookable_layers]
        if unknown:
            raise ValueError(
                f"unknown layer(s) {', '.join(unknown)}; hookable: {', '.join(self.adapter.hookable_layers)}"
            )
        self.source: ImageSource = source_from(spec.source)
        if isinstance(self.source, GeneratedSource) and self.source.classes is None:
            self.source.classes = list(range(self.adapter.num_classes)) if self.adapter.num_classes else [-1]
        weights = _weights_sha256(self.adapter)
        self.fp = json.loads(json.dumps(_fingerprint(spec, self.adapter, self.source, weights)))
        self.out = Path(spec.output)
        self.root = self.out / SHARDS_DIR
        self.layers = sorted(spec.layers)
        self.shapes = {k: tuple(v) for k, v in self.adapter.get_layer_shapes().items() if k in spec.layers}
        self.plan = _Plan(spec, self.adapter, self.source)  # fixes the catalogue: source.load works after this
        self.count = int(count) if count is not None else math.ceil(len(self.plan.chunks) / int(shard_batches))
        self.shard_chunks = split_chunks(len(self.plan.chunks), self.count)
        self.reductions: dict[str, LayerReduction] = {}

    @property
    def finished(self) -> bool:
        """The merged dataset already exists (with these settings)."""
        return _already_built(self.out, self.fp)

    def shard_images(self, index: int) -> tuple[int, int]:
        c0, c1 = self.shard_chunks[index]
        if c0 == c1:
            a = self.plan.chunks[c0][0] if c0 < len(self.plan.chunks) else self.plan.n
            return a, a
        return self.plan.chunks[c0][0], self.plan.chunks[c1 - 1][1]

    def prepare(self, progress: Progress | None = None) -> ShardPlan:
        """Write (or check) the plan, the sample table and the reductions every shard uses; returns the plan."""
        plan_path = self.root / PLAN_FILE
        if plan_path.is_file():
            plan = ShardPlan(self.out)
            if plan.fingerprint != self.fp:
                raise DataError(plan_path, "a sharded build with different settings is here: use the same settings "
                                "to continue it, or delete the shards folder to start over")  # fmt: skip
            if plan.count != self.count:
                raise DataError(plan_path, f"this build is split into {plan.count} shards, not {self.count}")
            self.reductions = self._load_reductions()
            return plan
        if self.out.exists() and any(x.name not in (SHARDS_DIR, "images") for x in self.out.iterdir()):
            raise DataError(self.out, "folder is not empty: choose a new folder for the dataset")
        self.root.mkdir(parents=True, exist_ok=True)
        fitted = fit_build_reductions(self.spec, self.adapter, self.source, self.plan, self.shapes, progress)
        for layer, red in fitted.items():
            if red.spec.method == "pca":
                _publish_array(self.root / REDUCTIONS_DIR / f"{layer}.mean.npy", red.mean)
                _publish_array(self.root / REDUCTIONS_DIR / f"{layer}.components.npy", red.components)
        self.reductions = self._load_reductions()  # the published sketches, whichever process wrote them
        _publish(self.root / native.SAMPLES, lambda tmp: write_csv(tmp, sample_columns(self.plan, self.spec)))
        entries = layer_entries(self.layers, self.shapes, self.reductions)
        extra = sorted(f for red in self.reductions.values() for f in _sketch_files(red))
        record = {
            "format": PLAN_FORMAT,
            "fingerprint": self.fp,
            "count": self.count,
            "num_images": self.plan.n,
            "rows": self.plan.rows,
            "blocks": len(self.plan.blocks),
            "batch_size": self.plan.bs,
            "shard_chunks": [list(r) for r in self.shard_chunks],
            "shard_images": [list(self.shard_images(i)) for i in range(self.count)],
            "layers": entries,
            "widths": {k: self._width(k) for k in self.layers},
            "config": dataset_config(self.spec, self.adapter),
            "dataset_type": self.spec.dataset_type,
            "extra_files": extra,
            "checksums": {rel: sha256_file(self.root / rel) for rel in [native.SAMPLES, *extra]},
        }
        data = _json_bytes(record)
        if not _publish(plan_path, lambda tmp: tmp.write_bytes(data)) and plan_path.read_bytes() != data:
            raise DataError(plan_path, "another process planned this build differently at the same time")
        return ShardPlan(self.out)

    def _width(self, layer: str) -> list:
        red = self.reductions.get(layer)
        if red is not None:
            return [red.out_dim, red.dtype.name]
        return [int(np.prod(self.shapes[layer])), "float32"]

    def _load_reductions(self) -> dict[str, LayerReduction]:
        from .builder import load_build_reductions

        return load_build_reductions(self.spec, self.shapes, self.root, self.plan) if self.spec.reductions else {}

    def build_shard(self, index: int, progress: Progress | None = None, cancel: threading.Event | None = None) -> Path:
        """Build shard ``index`` in this process (nothing to do if it is finished); returns its folder."""
        if not 0 <= index < self.count:
            raise ValueError(f"shard {index} of {self.count} does not exist")
        plan = self.prepare(progress)
        if plan.is_done(index):
            log.info("%s is already built", plan.shard_dir(index))
            return plan.shard_dir(index)
        writer = ShardWriter(plan, index)
        c0, c1 = self.shard_chunks[index]
        steps = max(1, (c1 - c0) * len(self.plan.blocks))
        done = 0
        try:
            for c in range(c0, c1):
                a, z = self.plan.chunks[c]
                check_cancelled(cancel, f"shard {index}/{self.count} {RESUME}")
                clean = self.source.load(np.arange(a, z), self.adapter, c)
                for i in range(a, z):
                    _write_png(self.out / _image_rel(self.spec, i), clean[i - a])
                for b in range(len(self.plan.blocks)):
                    check_cancelled(cancel, f"shard {index}/{self.count} {RESUME}")
                    acts = chunk_rows(self.adapter, self.plan, self.spec, clean, c, b, self.layers)
                    writer.put(a, b, reduce_rows(acts, self.reductions))
                    done += 1
                    report(progress, done / steps, f"shard {index}/{self.count}: batch {done} of {steps}")
            return writer.finish()
        except BaseException:
            writer.abandon()
            raise


def _sketch_files(red: LayerReduction) -> list[str]:
    from ..formats.reduction import pca_files

    return sorted(pca_files(red.layer).values()) if red.spec.method == "pca" else []


def shard_status(out: Path) -> tuple[ShardPlan, list[int]]:
    """The plan of a sharded build in ``out`` and its missing shards."""
    plan = ShardPlan(out)
    return plan, plan.missing()
