"""Build the demo data directories with the store's dataset builder, fit their 2D/3D embedding, measure structure.

Two demos share one code path: the compact one shipped in ``resources/`` (70 images, 560 rows, under the size
limit) and the full one (400 shipped images, 3,200 rows) built on demand into the user cache. A folder is built
beside its final place and swapped in at the end, so a rebuild never leaves half a dataset; everything is seeded,
so the same weights give the same files.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..demo import DEMO_ADAPTER, DEMO_GENERATION, DEMO_MODEL_NAME
from ..demo.fashion_mnist import CLASS_NAMES, balanced_subset, load_fashion_mnist
from ..errors import DataError
from ..jobs import Progress, stage_progress

log = logging.getLogger(__name__)

DEMO_SIGMAS = (8.0, 2.0, 0.5, 0.1)
DEMO_LAYERS = ("encoder_bottleneck", "midblock")
# 70 test images x 4 levels x 2 label passes = 560 rows: 2 x 9 MB of float32 activations (each file under 10 MB)
DEMO_PER_CLASS = 7
FULL_PER_CLASS = 40  # the shipped full_images.npz: 400 test images x 4 levels x 2 label passes = 3,200 rows
FULL_MODEL_NAME = f"{DEMO_MODEL_NAME}-full"
FULL_CACHE_DIR = "demo-full"  # under paths.cache_dir()
EMBEDDING_NAME = "demo"
KNN_K = 5  # below the 8 images per class of a subset, so 1.0 is reachable
BUILD_SPAN = 0.8  # share of a demo build's progress given to the activations (the map fit gets the rest)


@dataclass
class DemoBuildReport:
    model_dir: Path
    rows: int
    bytes: int
    knn: dict[tuple[float, str], dict[str, float]] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """Human-readable summary: size, then kNN label agreement per noise level and label pass."""
        out = [
            f"built {self.model_dir} ({self.rows} rows, {self.bytes / 1e6:.1f} MB)",
            f"kNN label agreement (k={KNN_K}, within each noise level and label pass; chance 0.10):",
            f"{'sigma':>7s} {'labels':>6s} {'PCA-50 acts':>11s} {'UMAP 2D':>8s}",
        ]
        for (sigma, mode), v in sorted(self.knn.items(), key=lambda kv: (-kv[0][0], kv[0][1])):
            out.append(f"{sigma:7.2f} {mode:>6s} {v['activations']:11.3f} {v['umap2d']:8.3f}")
        return out


def knn_label_agreement(points: np.ndarray, labels: np.ndarray, k: int = KNN_K) -> float:
    """Mean fraction of each point's k nearest neighbours (itself excluded) that share its label."""
    from sklearn.neighbors import NearestNeighbors

    k = min(k, len(points) - 1)
    idx = NearestNeighbors(n_neighbors=k + 1).fit(points).kneighbors(points, return_distance=False)[:, 1:]
    return float((labels[idx] == labels[:, None]).mean())


def pad_images(images: np.ndarray, resolution: int = 32) -> np.ndarray:
    """uint8 (N, 28, 28) zero-padded (black) to the model resolution, like the training images."""
    top, left = (resolution - images.shape[1]) // 2, (resolution - images.shape[2]) // 2
    return np.pad(
        images, ((0, 0), (top, resolution - images.shape[1] - top), (left, resolution - images.shape[2] - left))
    )


def demo_images(per_class: int, fashion_mnist: Path | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The compact demo's images: a seeded balanced subset of the Fashion-MNIST test split (28 x 28 uint8)."""
    images, labels = load_fashion_mnist("test", fashion_mnist)
    idx = balanced_subset(labels, per_class, seed=0)
    return images[idx], labels[idx]


def first_per_class(labels: np.ndarray, per_class: int) -> np.ndarray:
    """Indices of the first ``per_class`` examples of every class, in source order."""
    return np.sort(np.concatenate([np.flatnonzero(labels == c)[:per_class] for c in np.unique(labels)]))


def write_full_images(path: Path, fashion_mnist: Path | None = None, per_class: int = FULL_PER_CLASS) -> Path:
    """Write the full demo's image subset (the first ``per_class`` test images of each class) as a shipped .npz."""
    images, labels = load_fashion_mnist("test", fashion_mnist)
    idx = first_per_class(labels, per_class)
    from ..atomic import atomic_path

    with atomic_path(Path(path)) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(
            fh, images=images[idx], labels=labels[idx].astype(np.uint8), test_index=idx.astype(np.int32)
        )
    return Path(path)


def read_full_images(path: Path, per_class: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The full demo's images (N, 28, 28) uint8 and labels, optionally only the first ``per_class`` of each class."""
    try:
        with np.load(path, allow_pickle=False) as z:
            images, labels = z["images"], z["labels"].astype(np.int64)
    except (OSError, KeyError, ValueError) as exc:
        raise DataError(path, f"cannot read the full demo's images: {exc}") from None
    if images.dtype != np.uint8 or images.ndim != 3 or len(images) != len(labels):
        raise DataError(path, f"expected N x 28 x 28 uint8 images with N labels, found {images.shape} {images.dtype}")
    if per_class is not None:
        idx = first_per_class(labels, per_class)
        images, labels = images[idx], labels[idx]
    return images, labels


def _fit_embedding(
    model_dir: Path, model_name: str, progress: Progress | None = None, cancel: threading.Event | None = None
) -> tuple[int, dict[tuple[float, str], dict[str, float]]]:
    """Fit and write the 2D/3D map of the demo layers; (rows, kNN label agreement per level and label pass)."""
    from ..embedding import fit_embeddings
    from ..formats import open_data
    from ..formats.embedding import write_embedding_files

    model = open_data(model_dir).models[model_dir.name]
    acts = np.asarray(model.activations(list(DEMO_LAYERS)))
    fitted = fit_embeddings(acts, dims=(2, 3), n_neighbors=15, min_dist=0.1, progress=progress, cancel=cancel)
    params = {
        **fitted[2].params,
        "layers": sorted(DEMO_LAYERS),
        "model": model_name,
        "n_components": 2,
        "params_3d": fitted[3].params,
    }
    write_embedding_files(
        model_dir / "embeddings" / f"{EMBEDDING_NAME}.csv", model.samples, fitted[2].coords, fitted[3].coords, params
    )
    table = model.samples
    modes = table.columns["label_mode"]
    knn = {}
    for sigma in np.unique(table.conditioning_sigma):
        for mode in ("null", "true"):
            rows = np.flatnonzero((table.conditioning_sigma == sigma) & (modes == mode))
            labels = table.class_label[rows]
            knn[(float(sigma), mode)] = {
                "activations": knn_label_agreement(fitted[2].stage.coords[rows], labels),
                "umap2d": knn_label_agreement(fitted[2].coords[rows], labels),
            }
    return len(acts), knn


def _build(
    model: Path,
    final: Path,
    images: np.ndarray,
    labels: np.ndarray,
    *,
    origin: str,
    checkpoint: str,
    stamp: dict | None = None,
    resume: bool = False,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> DemoBuildReport:
    """Build the model folder ``final`` from 28 x 28 images with the demo settings, fit its map, swap it in.

    ``progress`` follows the activations, then the map fit (the ``diffviews_core.jobs`` contract). With ``resume``
    an interrupted build (same weights and images) continues where it stopped; else it starts over.
    """
    from ..adapters import get_adapter
    from ..pipelines.builder import BuildSpec, build_dataset
    from ..pipelines.sources import ArraySource

    adapter = get_adapter(DEMO_ADAPTER).from_checkpoint(model)
    work = final.with_name(f".{final.name}.new")
    if work.exists() and not resume:
        shutil.rmtree(work)
    spec = BuildSpec(
        output=work,
        source=ArraySource(pad_images(images, adapter.resolution), labels, CLASS_NAMES, origin=origin),
        sigmas=DEMO_SIGMAS,
        layers=DEMO_LAYERS,
        label_mode="both",
        batch_size=80,
        seed=0,
        dataset_type="fashion_mnist",
        config={
            "checkpoint": checkpoint,
            "default_steps": DEMO_GENERATION["num_steps"],
            "default_guidance": DEMO_GENERATION["guidance_scale"],
            "sampler": DEMO_GENERATION["sampler"],
            "noise_max": 100.0,
            "noise_min": 0.0,
            **(stamp or {}),
        },
    )
    build_dataset(spec, adapter=adapter, progress=stage_progress(progress, 0.0, BUILD_SPAN), cancel=cancel)
    rows, knn = _fit_embedding(work, final.name, stage_progress(progress, BUILD_SPAN, 1.0), cancel)
    if final.exists():
        shutil.rmtree(final)
    os.replace(work, final)
    size = sum(p.stat().st_size for p in final.rglob("*") if p.is_file())
    return DemoBuildReport(final, rows, size, knn)


def build_demo_data(
    model: Path,
    data_root: Path,
    per_class: int | None = None,
    fashion_mnist: Path | None = None,
    progress: Progress | None = None,
) -> DemoBuildReport:
    """Build ``data_root/<demo model>/`` from the weights at ``model`` (its config.json points back to them)."""
    images, labels = demo_images(per_class or DEMO_PER_CLASS, fashion_mnist)
    final = Path(data_root) / DEMO_MODEL_NAME
    checkpoint = Path(os.path.relpath(Path(model).resolve(), final.resolve()))
    return _build(
        model,
        final,
        images,
        labels,
        origin="Fashion-MNIST test split (balanced subset)",
        checkpoint=checkpoint.as_posix(),
        progress=progress,
    )


def full_demo_root(out_dir: Path | None = None) -> Path:
    """The data root the full demo is built into: ``out_dir``, else ``<user cache>/demo-full``."""
    from ..paths import cache_dir

    return Path(out_dir) if out_dir is not None else cache_dir() / FULL_CACHE_DIR


def build_full_demo_report(
    out_dir: Path | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    per_class: int | None = None,
) -> DemoBuildReport | None:
    """Build the full demo (the shipped model on the shipped 400-image subset) unless it is built already (None).

    Resumable: a cancelled or killed build continues at its next batch on the next call. A build from other
    weights or another image count is replaced.
    """
    from ..atomic import atomic_write_json
    from ..demo import demo_model_path, demo_paths
    from ..formats.files import read_json_object, sha256_file

    model = demo_model_path()
    per_class = FULL_PER_CLASS if per_class is None else per_class
    final = full_demo_root(out_dir) / FULL_MODEL_NAME
    stamp = {"demo_model_sha256": sha256_file(model), "demo_per_class": per_class}
    if (final / "embeddings" / f"{EMBEDDING_NAME}.csv").is_file():
        if {k: read_json_object(final / "config.json").get(k) for k in stamp} == stamp:
            return None
    stamp_file = final.with_name(f".{final.name}.new.json")  # what the unfinished build beside it is built from
    resume = stamp_file.is_file() and read_json_object(stamp_file) == stamp
    if not resume:
        atomic_write_json(stamp_file, stamp)
    images, labels = read_full_images(demo_paths().full_images, per_class)
    report = _build(
        model,
        final,
        images,
        labels,
        origin=f"Fashion-MNIST test split (first {per_class} per class)",
        checkpoint=str(model.resolve()),
        stamp=stamp,
        resume=resume,
        progress=progress,
        cancel=cancel,
    )
    stamp_file.unlink()
    return report


def build_full_demo(
    out_dir: Path | None = None,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    per_class: int | None = None,
) -> Path:
    """The full demo's data root, built first if needed (minutes on a CPU, resumable; instant once built)."""
    build_full_demo_report(out_dir, progress, cancel, per_class)
    return full_demo_root(out_dir)
