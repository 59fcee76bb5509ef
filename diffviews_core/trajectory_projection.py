"""Placing a generation's denoising steps on a map, and measuring how far each step is from the selection's mean.

A map's projectors (``MapProjectors``) place new activations by kNN in the map's PCA space (no UMAP model needed);
``StepProjector`` turns one step's recorded activations into positions, distances and the flat rows a trajectory
keeps. Qt-free and torch-free: the app builds these in its worker jobs and the tests use them directly.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .embedding.projection import Projector


@dataclass(frozen=True)
class MapProjectors:
    """Everything that places activations of some layers on one map: 2D always, 3D when the map has it."""

    projector2d: Projector
    projector3d: Projector | None  # shares the 2D projector's PCA stage; None when the map has no 3D

    @classmethod
    def fit(cls, activations: np.ndarray, coords2d: np.ndarray, coords3d: np.ndarray | None,
            cancel: threading.Event | None = None) -> MapProjectors:  # fmt: skip
        """Scaler + PCA fitted on the map's rows (``activations``, (N, D)), shared by the 2D and 3D placements."""
        p2 = Projector.from_activations(activations, coords2d, cancel=cancel)
        return cls(p2, Projector(p2.stage, coords3d) if coords3d is not None else None)

    def nbytes(self) -> int:
        """Memory held by the arrays of both projectors and their PCA stage (each array counted once)."""
        seen: dict[int, int] = {}
        for obj in (self.projector2d, self.projector3d, self.projector2d.stage):
            for value in vars(obj).values() if obj is not None else ():
                if isinstance(value, np.ndarray):
                    seen[id(value)] = value.nbytes
        return sum(seen.values())


@dataclass(frozen=True)
class ProjectedSteps:
    """One denoising step of a batch of images placed on a map (row i is image i of the batch)."""

    coords2d: np.ndarray  # (n, 2) float32
    coords3d: np.ndarray | None  # (n, 3) float32, None when the map has no 3D
    distances: np.ndarray  # (n,) distance of each image's activations to the selection's mean
    activations: np.ndarray  # (n, D) float32: the layers flattened, in sorted layer order (the map's feature layout)


def flat_rows(activations: Mapping[str, np.ndarray]) -> np.ndarray:
    """(n, D) float32: each layer flattened per image, concatenated in sorted layer order (the stored layout)."""
    parts = [np.asarray(activations[k]).reshape(len(activations[k]), -1).astype(np.float32, copy=False)
             for k in sorted(activations)]  # fmt: skip
    return np.concatenate(parts, axis=1)


def selection_mean(model, sample_ids: Sequence[int | str], layers: Sequence[str],
                   extra: Sequence[np.ndarray] = ()) -> np.ndarray:  # fmt: skip
    """The selection's mean stored row, layers concatenated in sorted order (the map's feature layout, reduced where
    the dataset stores layers reduced); ``extra`` rows in that layout (generated images) are averaged in."""
    rows = sorted(model.samples.row_of(s) for s in sample_ids)
    if not rows and not extra:
        raise ValueError("no samples selected")
    matrix = model.activations(sorted(layers))
    if not extra:
        return np.asarray(matrix[rows], dtype=np.float64).mean(axis=0).astype(np.float32)
    width = matrix.shape[1]
    more = [np.asarray(x, dtype=np.float64).ravel() for x in extra]
    if any(x.shape[0] != width for x in more):
        raise ValueError(f"a generated image's activation does not match the map's {width} features")
    total = np.asarray(matrix[rows], dtype=np.float64).sum(axis=0) if rows else np.zeros(width)
    for x in more:
        total += x
    return (total / (len(rows) + len(more))).astype(np.float32)


class StepProjector:
    """Places steps on one map and measures them against one selection's mean."""

    def __init__(self, projectors: MapProjectors, mean: np.ndarray,
                 to_rows: Callable[[Mapping[str, np.ndarray]], np.ndarray] = flat_rows) -> None:  # fmt: skip
        self.projectors = projectors
        self.mean = np.asarray(mean, dtype=np.float32)
        self.to_rows = to_rows  # a model's ``stored_rows`` where its dataset stores layers reduced

    def project(self, activations: Mapping[str, np.ndarray]) -> ProjectedSteps:
        """Positions, distances and flat rows of one step's recorded activations (layer -> (n, ...))."""
        flat = self.to_rows(activations)
        p = self.projectors
        return ProjectedSteps(
            coords2d=p.projector2d.project(flat),
            coords3d=p.projector3d.project(flat) if p.projector3d is not None else None,
            distances=np.linalg.norm(flat - self.mean, axis=1),
            activations=flat,
        )
