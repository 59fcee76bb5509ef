"""``diffviews merge``: join the shards of a build into one dataset with a verified manifest.

Needs only the output folder (no model): the plan names every shard and file. Each shard's files are checked
against the SHA-256 its ``shard.json`` recorded (and the plan's sample table and PCA sketches against the plan's),
then rows are copied into ``activations/<layer>.npy`` in the single-process order (level, label mode, image), so
the merged dataset is byte for byte the one a single-process build writes. The manifest is written last, from the
merged files' own checksums; the shards folder is removed afterwards unless asked to keep it.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from pathlib import Path

from numpy.lib import format as npf

from ..atomic import atomic_path
from ..errors import DataError
from ..formats import native
from ..formats.files import sha256_file
from ..formats.npyio import npy_header
from ..jobs import Progress, check_cancelled, report
from ..safe_io import preallocate
from .builder import write_dataset_files
from .shards import RESUME, SHARD_FILE, ShardPlan

log = logging.getLogger(__name__)

COPY_BYTES = 64 << 20  # rows copied per step


def verify_shards(plan: ShardPlan, progress: Progress | None = None, cancel: threading.Event | None = None) -> None:
    """Every shard present and every file matching its recorded size and SHA-256; else a DataError naming it."""
    missing = plan.missing()
    if missing:
        listed = ", ".join(f"{i}/{plan.count}" for i in missing[:8]) + (" ..." if len(missing) > 8 else "")
        raise DataError(plan.root, f"{len(missing)} of {plan.count} shards are not built yet ({listed}): run "
                        "`diffviews build ... --shard i/N` for each, or the same --engine ray command again")  # fmt: skip
    for rel, digest in sorted(plan.data.get("checksums", {}).items()):
        if sha256_file(plan.root / rel) != digest:
            raise DataError(plan.root / rel, "SHA-256 differs from the one shards/plan.json recorded")
    for i in range(plan.count):
        check_cancelled(cancel, f"merge {RESUME}")
        folder = plan.shard_dir(i)
        info = plan.shard_info(i)
        if info.get("rows") != plan.shard_rows(i) or info.get("images") != list(plan.images[i]):
            raise DataError(folder / SHARD_FILE, "rows or images differ from the plan")
        for rel, rec in sorted(info["files"].items()):
            if sha256_file(folder / rel) != rec["sha256"]:
                raise DataError(folder / rel, f"SHA-256 differs from the one {SHARD_FILE} recorded (damaged shard)")
            if Path(rel).stem not in plan.widths:
                raise DataError(folder / SHARD_FILE, f"lists {rel!r}, a layer the plan does not name")
            width, dtype = plan.widths[Path(rel).stem]
            shape, file_dtype, _ = npy_header(folder / rel)
            if shape != (plan.shard_rows(i), width) or file_dtype != dtype:
                raise DataError(folder / rel, f"holds {shape} {file_dtype}, the plan expects "
                                f"{(plan.shard_rows(i), width)} {dtype}")  # fmt: skip
        report(progress, 0.5 * (i + 1) / plan.count, f"verified shard {i + 1} of {plan.count}")


def _merge_layer(plan: ShardPlan, layer: str, target: Path, cancel: threading.Event | None) -> None:
    width, dtype = plan.widths[layer]
    n_images = int(plan.data["num_images"])
    rows = int(plan.data["rows"])
    step = max(1, COPY_BYTES // max(1, width * dtype.itemsize))
    with atomic_path(target) as tmp:
        out = npf.open_memmap(str(tmp), mode="w+", dtype=dtype, shape=(rows, width))
        preallocate(tmp, tmp.stat().st_size)  # a memory-mapped write into a full disk is a SIGBUS
        for i in range(plan.count):
            a, z = plan.images[i]
            if z == a:
                continue
            part = npf.open_memmap(str(plan.shard_dir(i) / f"{layer}.npy"), mode="r")
            n = z - a
            for b in range(plan.blocks):
                check_cancelled(cancel, f"merge {RESUME}")
                for s in range(0, n, step):
                    e = min(n, s + step)
                    out[b * n_images + a + s : b * n_images + a + e] = part[b * n + s : b * n + e]
            del part
        out.flush()
        del out


def merge_shards(
    out: Path, keep_shards: bool = False, progress: Progress | None = None, cancel: threading.Event | None = None
) -> Path:
    """Verify the shards of the build in ``out`` and merge them into the dataset; returns ``out``."""
    out = Path(out)
    if native.is_native(out) and not (out / "shards").is_dir():
        return out  # merged already
    plan = ShardPlan(out)
    verify_shards(plan, progress, cancel)
    act_dir = out / "activations"
    act_dir.mkdir(parents=True, exist_ok=True)
    layers = sorted(plan.widths)
    for k, layer in enumerate(layers):
        _merge_layer(plan, layer, act_dir / f"{layer}.npy", cancel)
        report(progress, 0.5 + 0.45 * (k + 1) / len(layers), f"merged {layer}")
    extra = list(plan.data.get("extra_files", []))
    for rel in [native.SAMPLES, *extra]:
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        if keep_shards:
            shutil.copyfile(plan.root / rel, out / rel)
        else:
            os.replace(plan.root / rel, out / rel)
    write_dataset_files(out, int(plan.data["rows"]), plan.data["config"], plan.data["layers"], plan.fingerprint,
                        plan.data["dataset_type"], extra)  # fmt: skip
    manifest = native.read_manifest(out)  # sizes of every listed file, as a reader will check them
    for layer in layers:
        shape, _dtype, _ = npy_header(out / manifest["layers"][layer]["file"])
        if shape[0] != manifest["num_samples"]:
            raise DataError(out / manifest["layers"][layer]["file"], "merged row count differs from the manifest")
    if not keep_shards:
        shutil.rmtree(plan.root)
    report(progress, 1.0, f"merged {plan.count} shards into {out}")
    log.info("merged %d shards into %s (%d rows)", plan.count, out, manifest["num_samples"])
    return out


def merge_state(out: Path) -> dict:
    """How far a sharded build in ``out`` is: shard count, finished and missing shards (for the CLI)."""
    plan = ShardPlan(out)
    missing = plan.missing()
    return {"count": plan.count, "done": plan.count - len(missing), "missing": missing}
