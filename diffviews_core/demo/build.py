"""Build the demo data directory with the store's dataset builder, fit its 2D/3D embedding, measure its structure.

The folder is built beside its final place and swapped in at the end, so a rebuild never leaves half a dataset;
everything is seeded, so the same weights give the same files.
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import DEMO_ADAPTER, DEMO_GENERATION, DEMO_MODEL_NAME
from .fashion_mnist import CLASS_NAMES, balanced_subset, load_fashion_mnist

log = logging.getLogger(__name__)

DEMO_SIGMAS = (8.0, 2.0, 0.5, 0.1)
DEMO_LAYERS = ("encoder_bottleneck", "midblock")
DEMO_PER_CLASS = 7  # 70 test images x 4 levels x 2 label passes = 560 rows: 2 x 9 MB of float32 activations (each file under 10 MB)
EMBEDDING_NAME = "demo"
KNN_K = 5  # below the 8 images per class of a subset, so 1.0 is reachable


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


def demo_images(per_class: int, fashion_mnist: Path | None = None, resolution: int = 32):
    """A seeded balanced subset of the Fashion-MNIST test split, zero-padded like the training images."""
    images, labels = load_fashion_mnist("test", fashion_mnist)
    idx = balanced_subset(labels, per_class, seed=0)
    pad = (resolution - images.shape[1]) // 2
    padded = np.pad(
        images[idx], ((0, 0), (pad, resolution - images.shape[1] - pad), (pad, resolution - images.shape[2] - pad))
    )
    return padded, labels[idx]


def _fit_embedding(model_dir: Path) -> dict[tuple[float, str], dict[str, float]]:
    from ..embedding import fit_embeddings
    from ..store import open_data
    from ..store.embedding import write_embedding_files

    model = open_data(model_dir).models[model_dir.name]
    acts = np.asarray(model.activations(list(DEMO_LAYERS)))
    fitted = fit_embeddings(acts, dims=(2, 3), n_neighbors=15, min_dist=0.1)
    params = {
        **fitted[2].params,
        "layers": sorted(DEMO_LAYERS),
        "model": DEMO_MODEL_NAME,
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
    return knn


def build_demo_data(
    model: Path,
    data_root: Path,
    per_class: int | None = None,
    fashion_mnist: Path | None = None,
    progress: bool = False,
) -> DemoBuildReport:
    """Build ``data_root/<demo model>/`` from the weights at ``model`` (its config.json points back to them)."""
    from ..adapters import get_adapter
    from ..store.builder import BuildSpec, build_dataset
    from ..store.sources import ArraySource

    adapter = get_adapter(DEMO_ADAPTER).from_checkpoint(model)
    images, labels = demo_images(per_class or DEMO_PER_CLASS, fashion_mnist, adapter.resolution)
    final = Path(data_root) / DEMO_MODEL_NAME
    work = final.with_name(f".{DEMO_MODEL_NAME}.new")
    if work.exists():
        shutil.rmtree(work)
    checkpoint = Path(os.path.relpath(Path(model).resolve(), final.resolve().parent.joinpath(final.name)))
    spec = BuildSpec(
        output=work,
        source=ArraySource(images, labels, CLASS_NAMES, origin="Fashion-MNIST test split (balanced subset)"),
        sigmas=DEMO_SIGMAS,
        layers=DEMO_LAYERS,
        label_mode="both",
        batch_size=80,
        seed=0,
        dataset_type="fashion_mnist",
        config={
            "checkpoint": checkpoint.as_posix(),
            "default_steps": DEMO_GENERATION["num_steps"],
            "default_guidance": DEMO_GENERATION["guidance_scale"],
            "sampler": DEMO_GENERATION["sampler"],
            "noise_max": 100.0,
            "noise_min": 0.0,
        },
    )
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(desc="building demo data", unit="batch")

    def report(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    build_dataset(spec, adapter=adapter, progress=report if bar is not None else None)
    if bar is not None:
        bar.close()
    knn = _fit_embedding(work)
    if final.exists():
        shutil.rmtree(final)
    os.replace(work, final)
    size = sum(p.stat().st_size for p in final.rglob("*") if p.is_file())
    return DemoBuildReport(final, len(labels) * len(DEMO_SIGMAS) * 2, size, knn)
